r"""Claims about activations other than relu (issue 12): the Sobolev gain at the global minimum.

The paper trains with relu, leaky relu, GELU, tanh and sine and reports that Sobolev training
helps for all of them, most for sine. At the population level, with the closed forms of theory,
these become (proofs_check.analysis.activation_gains says how every number is taken):

* ``activation-kappa-at-minimum-<σ>``: κ(h1) < κ(l2) at the global minimum W = W* (K = K*),
  one claim per closed-form activation, on a survey of K, d, seeds and teacher row norms;
* ``activation-gain-largest-for-sine``: ranked by κ(l2)/κ(h1) and by the predicted flow-rate
  ratio λmin(h1)/λmin(l2) on the same teachers, sine comes first — and how the ranking depends
  on the teacher's row norm;
* ``certified-one-neuron-kappa-at-minimum``: for one neuron at w = w* the spectrum is a closed
  form in r = |w*| (erf, sine), and κ(h1) < κ(l2) is proved with interval arithmetic on a box.

Only K = K* is surveyed: for K > K* the global minima form a manifold (a zero eigenvalue, κ = ∞)
and for K < K* the global minimum is not W*. Ties: a ratio within TIE_RTOL of 1 is a tie,
reported separately and not a violation.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from proofs_check.analysis import activation_gains as gains
from proofs_check.analysis.certify import interval_max, interval_min, prove
from proofs_check.claims import Verdict, register

#: |κ(h1)/κ(l2) − 1| <= TIE_RTOL is a tie (covers the one-sided offset's O(ε) bias and rounding).
TIE_RTOL = 1e-5
#: A rank statement is decided with this relative margin: a gain within it of sine's is a tie.
RANK_RTOL = 1e-3
SURVEY_SOURCE = "Oh, Lyu, Son (2025), arXiv:2509.19773, experiments across activations"


# ------------------------------------------------------------------------------------ gather
@functools.cache
def _survey(quick: bool) -> tuple[dict[str, Any], ...]:
    return tuple(gains.survey(quick, gains.CLOSED_FORM + gains.MEASURED))


def _point(record: dict[str, Any]) -> dict[str, Any]:
    where = {"K": record["K"], "K*": record["K*"], "d": record["d"], "seed": record["seed"],
             "scale": record["scale"], "directions": len(record["kappa_l2"])}
    if not record["defined"]:  # some λmin <= 0: κ is not a finite condition number
        return {**where, "defined": False,
                "reason": "λmin <= 0 for l2 or h1 (κ undefined)",
                "lambda_min_l2": min(record["lambda_min_l2"]),
                "lambda_min_h1": min(record["lambda_min_h1"])}
    ratios = np.asarray(record["kappa_h1"], dtype=float) / np.asarray(record["kappa_l2"],
                                                                       dtype=float)
    return {**where,
            "ratio_min": float(np.min(ratios)), "ratio_median": float(np.median(ratios)),
            "ratio_max": float(np.max(ratios)),
            "fraction_of_directions_violating": float(np.mean(ratios > 1 + TIE_RTOL)),
            "kappa_l2_median": float(np.median(record["kappa_l2"])),
            "kappa_h1_median": float(np.median(record["kappa_h1"])),
            "defined": bool(record["defined"])}


def gather_minimum(activation: str):
    """Evidence of the per-activation claim: one summarised point per surveyed teacher."""
    def gather(quick: bool) -> dict[str, Any]:
        records = [r for r in _survey(quick) if r["activation"] == activation]
        return {"activation": activation, "how": records[0]["how"] if records else None,
                "survey": {k: list(v) for k, v in gains.survey_grid(quick).items()},
                "points": [_point(r) for r in records]}
    return gather


# ------------------------------------------------------------------------------------ decide
_FIELD_NAMES = {"K": "K", "scale": "teacher row norm", "d": "d"}


def _threshold_condition(bad: list[dict], good: list[dict]) -> str | None:
    """Where the claim held, as thresholds computed from the points: for each FIELD in (K,
    teacher row norm, d), the largest region FIELD <= t (or >= t) holding no violation and at
    least one strict point; the regions found are joined by 'or' (each is violation-free, so
    their union is). None when no such region exists."""
    regions = []
    for name, label in _FIELD_NAMES.items():
        bad_values = [p[name] for p in bad]
        good_values = [p[name] for p in good]
        below = [v for v in good_values if v < min(bad_values)]
        above = [v for v in good_values if v > max(bad_values)]
        if below:
            regions.append(f"{label} <= {max(below):g}")
        if above:
            regions.append(f"{label} >= {min(above):g}")
    if not regions:
        return None
    return (" or ".join(regions) + " (violations at "
            + ", ".join(f"{label} in {{{', '.join(f'{v:g}' for v in sorted({p[n] for p in bad}))}}}"
                        for n, label in _FIELD_NAMES.items()) + ")")


def decide_minimum(evidence: dict[str, Any]) -> Verdict:
    """holds / conditional / fails / inconclusive for κ(h1) < κ(l2) at the minimum.

    A point violates when κ(h1)/κ(l2) > 1 + TIE_RTOL along some direction (piecewise-linear:
    the worst of the directions), is a tie when every ratio is within TIE_RTOL of 1, and holds
    otherwise. Points with an undefined κ (λmin <= 0) are set aside and counted.
    """
    points = [p for p in evidence["points"] if p["defined"]]
    undefined = len(evidence["points"]) - len(points)
    bad = [p for p in points if p["ratio_max"] > 1 + TIE_RTOL]
    ties = [p for p in points if p not in bad and p["ratio_min"] >= 1 - TIE_RTOL]
    good = [p for p in points if p not in bad and p not in ties]
    summary_numbers = {
        "method": evidence.get("how"), "tie_rtol": TIE_RTOL, "survey": evidence.get("survey"),
        "points_compared": len(points), "points_undefined": undefined,
        "holds": len(good), "ties": len(ties), "violations": len(bad),
        "violations_by_K": _count(bad, "K"), "violations_by_scale": _count(bad, "scale"),
        "ties_by_K": _count(ties, "K"),
        "violating_points_fraction_of_directions": [p["fraction_of_directions_violating"]
                                                    for p in bad],
        "ratio_h1_over_l2": _spread([p["ratio_median"] for p in points]),
        "ratio_h1_over_l2_every_direction": {
            "min": min((p["ratio_min"] for p in points), default=None),
            "max": max((p["ratio_max"] for p in points), default=None)},
        "points": points,
    }
    name = evidence["activation"]
    if not good and not bad:
        return Verdict("inconclusive", f"{name}: no point with a strict inequality either way "
                       f"({len(ties)} ties, {undefined} undefined)", summary_numbers)
    if not bad:
        return Verdict("holds", f"{name}: κ(h1) < κ(l2) at {len(good)}/{len(points)} minima"
                       + (f", ties (|ratio − 1| <= {TIE_RTOL:g}) at {len(ties)}" if ties else "")
                       + "; median κ(h1)/κ(l2) "
                       + f"{summary_numbers['ratio_h1_over_l2']['median']:.3g}", summary_numbers)
    worst = max(bad, key=lambda p: p["ratio_max"])
    counterexample = {**worst, "activation": name,
                      "teacher": "proofs_check.analysis.activation_gains."
                                 "scaled_teacher(K, d, seed, scale)"}
    condition = _threshold_condition(bad, good)
    if condition is not None:
        return Verdict(
            "conditional",
            f"{name}: fails at {len(bad)}/{len(points)} minima (worst κ(h1)/κ(l2) = "
            f"{worst['ratio_max']:.3g} at K = {worst['K']}, d = {worst['d']}, row norm "
            f"{worst['scale']:g}); holds at {len(good)}", summary_numbers,
            counterexample=counterexample, condition=condition)
    return Verdict("fails", f"{name}: κ(h1) >= κ(l2) at {len(bad)}/{len(points)} minima, with no "
                   f"K, scale or d threshold separating them (worst ratio "
                   f"{worst['ratio_max']:.3g})", summary_numbers, counterexample=counterexample)


def _count(points: list[dict], name: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in points:
        out[f"{p[name]:g}"] = out.get(f"{p[name]:g}", 0) + 1
    return out


def _spread(values: list[float]) -> dict[str, float | None]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return {"min": None, "median": None, "max": None}
    return {"min": float(min(finite)), "median": float(np.median(finite)),
            "max": float(max(finite))}


#: What the survey shows (quick and full): erf everywhere; the two-slope family fails along some
#: one-sided directions at K = 3; gelu fails at row norm 3 (K <= 2); sine, barely, at K = 3 and
#: row norm 3 (κ ratio 1.007).
_EXPECTED_MINIMUM = {
    "relu": "conditional", "leaky_relu(0.1)": "conditional", "gelu": "conditional",
    "erf": "holds", "sine": "conditional",
}


def _register_minimum(activation: str) -> None:
    kind = ("one-sided along 100 Gaussian directions at offset 1e-7·‖W*‖ (expected convention)"
            if gains.is_piecewise_linear(activation) else "at W = W* (both conventions coincide)")
    register(
        id=f"activation-kappa-at-minimum-{activation}",
        statement=f"For σ = {activation}, Sobolev training improves the conditioning at the "
                  "global minimum: κ(h1) < κ(l2) for the Jacobian of the population gradient "
                  "field at W = W*, λ = 1.",
        source=SURVEY_SOURCE,
        scope="K = K* in {1, 2, 3(, 4)}, d in {2, 3, 5(, 8)}, seeds {0, 1(, 2)}, teacher row "
              f"norms {{0.3, 1, 3}}; Jacobian {kind}; ties |κ(h1)/κ(l2) − 1| <= {TIE_RTOL:g}",
        expected=_EXPECTED_MINIMUM[activation],
        verdicts=("holds", "conditional", "fails", "inconclusive"),
        gather=gather_minimum(activation),
    )(decide_minimum)


for _name in gains.CLOSED_FORM:
    _register_minimum(_name)


# ------------------------------------------------------------------------- ranking (sine?)
def gather_ranking(quick: bool) -> dict[str, Any]:
    """Per teacher: κ-gain and rate-gain (medians over directions) of every activation."""
    teachers: dict[tuple, dict[str, Any]] = {}
    for r in _survey(quick):
        key = (r["K"], r["d"], r["seed"], r["scale"])
        entry = teachers.setdefault(key, {"K": r["K"], "d": r["d"], "seed": r["seed"],
                                          "scale": r["scale"], "kappa_gain": {},
                                          "rate_gain": {}})
        if not r["defined"]:
            continue
        kappa = np.asarray(r["kappa_l2"], float) / np.asarray(r["kappa_h1"], float)
        rate = np.asarray(r["lambda_min_h1"], float) / np.asarray(r["lambda_min_l2"], float)
        entry["kappa_gain"][r["activation"]] = float(np.median(kappa))
        entry["rate_gain"][r["activation"]] = float(np.median(rate))
    return {"activations": list(gains.CLOSED_FORM + gains.MEASURED),
            "measured_only": list(gains.MEASURED),
            "survey": {k: list(v) for k, v in gains.survey_grid(quick).items()},
            "teachers": list(teachers.values()),
            "how": "κ-gain = κ(l2)/κ(h1), rate-gain = λmin(h1)/λmin(l2) at W = W*, λ = 1 "
                   "(piecewise-linear: median over 100 one-sided directions; tanh: "
                   "numerics.quadrature Jacobian)"}


def _sine_place(gain: dict[str, float]) -> str | None:
    """'first', 'tie' (within RANK_RTOL of the best other) or 'behind'; None if sine missing."""
    if "sine" not in gain or len(gain) < 2:
        return None
    best_other = max(v for k, v in gain.items() if k != "sine")
    if gain["sine"] > best_other * (1 + RANK_RTOL):
        return "first"
    if gain["sine"] >= best_other * (1 - RANK_RTOL):
        return "tie"
    return "behind"


def _leaders(teachers: list[dict], measure: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for t in teachers:
        gain = t[measure]
        if gain:
            best = max(gain, key=gain.get)
            out.setdefault(f"{t['scale']:g}", {})
            out[f"{t['scale']:g}"][best] = out[f"{t['scale']:g}"].get(best, 0) + 1
    return out


def decide_ranking(evidence: dict[str, Any]) -> Verdict:
    """Is sine first by both gains on every teacher? If only at some row norms: conditional.

    Per teacher and measure sine is 'first' (gain above every other activation's by more than
    RANK_RTOL), 'tie' or 'behind'. holds: first everywhere by both measures; conditional: first
    by both measures at every teacher of some row norms (the condition lists them) or by one
    measure everywhere; fails: otherwise (counterexample: the teacher where sine is furthest
    behind); inconclusive: no teacher with sine and another activation defined.
    """
    teachers = [t for t in evidence["teachers"] if _sine_place(t["kappa_gain"]) is not None
                and _sine_place(t["rate_gain"]) is not None]
    leaders = {m: _leaders(teachers, m) for m in ("kappa_gain", "rate_gain")}
    numbers = {"method": evidence["how"], "rank_rtol": RANK_RTOL, "survey": evidence["survey"],
               "teachers_compared": len(teachers), "leader_counts_by_scale": leaders,
               "measured_only": evidence.get("measured_only"),
               "mean_gain_by_scale": _mean_gains(teachers)}
    if not teachers:
        return Verdict("inconclusive", "no teacher where sine and another activation both have a "
                       "finite gain", numbers)
    places = {m: [_sine_place(t[m]) for t in teachers] for m in ("kappa_gain", "rate_gain")}
    first_both = [p == "first" and q == "first"
                  for p, q in zip(places["kappa_gain"], places["rate_gain"], strict=True)]
    numbers["sine_first"] = {m: sum(p == "first" for p in v) for m, v in places.items()}
    numbers["sine_tied"] = {m: sum(p == "tie" for p in v) for m, v in places.items()}
    if all(first_both):
        return Verdict("holds", f"sine has the largest κ-gain and rate-gain at all "
                       f"{len(teachers)} teachers", numbers)
    scales = sorted({t["scale"] for t in teachers})
    winning_scales = [s for s in scales
                      if all(f for f, t in zip(first_both, teachers, strict=True)
                             if t["scale"] == s)]
    winning_measures = [m for m, v in places.items() if all(p == "first" for p in v)]

    def margin(t):
        g = t["kappa_gain"]
        return g["sine"] / max(v for k, v in g.items() if k != "sine")

    worst = min(teachers, key=margin)
    best_other = max((k for k in worst["kappa_gain"] if k != "sine"),
                     key=worst["kappa_gain"].get)
    counterexample = {**worst, "leader": best_other,
                      "sine_over_leader_kappa_gain": margin(worst)}
    if winning_scales or winning_measures:
        condition = "; ".join(
            ([f"teacher row norm in {{{', '.join(f'{s:g}' for s in winning_scales)}}} (of "
              f"{{{', '.join(f'{s:g}' for s in scales)}}} surveyed)"] if winning_scales else [])
            + ([f"gain measured by {' and '.join(winning_measures)}"]
               if winning_measures else []))
        return Verdict("conditional",
                       f"sine is first by both gains at {sum(first_both)}/{len(teachers)} "
                       f"teachers; at row norm {worst['scale']:g} {best_other} leads (sine's "
                       f"κ-gain is {margin(worst):.3g}× the leader's)",
                       numbers, counterexample=counterexample, condition=condition)
    return Verdict("fails", f"sine is first by both gains at only {sum(first_both)}/"
                   f"{len(teachers)} teachers and at no surveyed row norm throughout; leaders by "
                   f"κ-gain per row norm: {leaders['kappa_gain']}", numbers,
                   counterexample=counterexample)


def _mean_gains(teachers: list[dict]) -> dict[str, dict[str, dict[str, float]]]:
    out: dict[str, dict[str, dict[str, float]]] = {}
    for measure in ("kappa_gain", "rate_gain"):
        by_scale: dict[str, dict[str, list[float]]] = {}
        for t in teachers:
            for name, value in t[measure].items():
                by_scale.setdefault(f"{t['scale']:g}", {}).setdefault(name, []).append(value)
        out[measure] = {s: {n: float(np.exp(np.mean(np.log(v)))) for n, v in d.items()}
                        for s, d in by_scale.items()}
    return out


@register(
    id="activation-gain-largest-for-sine",
    statement="The Sobolev gain is largest for sine: ranked by κ(l2)/κ(h1) and by the predicted "
              "flow-rate ratio λmin(h1)/λmin(l2) at the global minimum, sine comes first.",
    source=SURVEY_SOURCE + " ('largest for sine')",
    scope="the teachers of activation-kappa-at-minimum-*, row norms {0.3, 1, 3}; activations "
          "relu, leaky_relu(0.1), gelu, erf, sine (closed forms) and tanh (quadrature, where "
          "resolved); λ = 1",
    expected="fails",
    verdicts=("holds", "conditional", "fails", "inconclusive"),
    gather=gather_ranking,
)
def decide_sine_largest(evidence: dict[str, Any]) -> Verdict:
    return decide_ranking(evidence)


# ---------------------------------------------------------------- one-neuron certificates
#: r = |w*| boxes. Sine's gain tends to 1 like e^{−2r²}: beyond r ≈ 2.5 κ(l2) − κ(h1) is below
#: the resolution of the 53-bit enclosures, so the box stops there.
CERTIFIED_BOXES = {"erf": (0.1, 10.0), "sine": (0.1, 2.5)}
QUICK_CERTIFIED_BOXES = {"erf": (0.3, 3.0), "sine": (0.3, 2.0)}
WHY_NOT = {
    "gelu": "its moments E[Φ(rz)² z²], E[Φ(rz)φ(rz) z³], … are arcsin/sqrt closed forms not "
            "derived here; without an elementary enclosure mpmath.iv cannot bound them",
    "relu": "piecewise linear: at w = w* the Sobolev Jacobian is one-sided and both κ tend to 1 "
            "(κ(l2) − κ(h1) = t/((1 − 4t)(1 − 3t)), t = ρ sin θ/(2π) → 0): a tie, not a strict "
            "inequality; certified-kappa-h1-expected-below-l2 covers θ >= 1e-3",
    "leaky_relu(0.1)": "piecewise linear: one-sided Jacobian at w = w*, no closed form in r "
                       "derived here",
    "tanh": "no closed-form Gaussian kernel",
}


def _kappa_cross(activation: str):
    from mpmath import iv

    def f(box):
        (r,) = box
        eig = gains.one_neuron_minimum(r, activation, iv)
        l2_min, l2_max = interval_min(*eig["l2"]), interval_max(*eig["l2"])
        h1_min, h1_max = interval_min(*eig["h1"]), interval_max(*eig["h1"])
        return h1_max * l2_min - l2_max * h1_min
    return f


def gather_certificates(quick: bool) -> dict[str, Any]:
    boxes = QUICK_CERTIFIED_BOXES if quick else CERTIFIED_BOXES
    results = {}
    for activation, box in boxes.items():
        result = prove(_kappa_cross(activation), [box], relation="<", names=("r",),
                       claim=f"κ(h1) < κ(l2) at w = w* (one {activation} neuron, λ = 1, d >= 2)",
                       min_width=1e-9, max_boxes=4000 if quick else 20000)
        results[activation] = result.to_dict()
    return {"results": results, "why_not": WHY_NOT,
            "formulas": "proofs_check.analysis.activation_gains module docstring (one neuron)"}


def decide_certificates(evidence: dict[str, Any]) -> Verdict:
    """proved: every activation with a closed form proved on its box; fails: a certified
    counterexample for every one; conditional: proved for some, certified counterexample for
    others (condition = the proved activations); inconclusive: something undecided."""
    results = evidence["results"]
    proved = [a for a, r in results.items() if r["status"] == "proved"]
    refuted = [a for a, r in results.items() if r["status"] == "counterexample"]
    numbers = {**evidence}
    if proved and len(proved) == len(results):
        return Verdict("proved", "; ".join(results[a]["statement"] for a in proved)
                       + f". Not certified: {', '.join(evidence['why_not'])} (reasons in "
                         "the evidence)", numbers)
    if refuted and not proved and len(refuted) == len(results):
        a = refuted[0]
        return Verdict("fails", results[a]["statement"], numbers,
                       counterexample={"activation": a, **results[a]["counterexample"]})
    if proved and refuted and len(proved) + len(refuted) == len(results):
        a = refuted[0]
        return Verdict("conditional", f"proved for {', '.join(proved)}; certified counterexample "
                       f"for {', '.join(refuted)}", numbers,
                       counterexample={"activation": a, **results[a]["counterexample"]},
                       condition=f"activation in {{{', '.join(proved)}}}")
    undecided = [a for a, r in results.items() if r["status"] == "undecided"]
    return Verdict("inconclusive", f"undecided for {', '.join(undecided)}", numbers)


@register(
    id="certified-one-neuron-kappa-at-minimum",
    statement="For one neuron at its global minimum w = w*, κ(h1) < κ(l2) for the activations "
              "whose spectrum there is a closed form in r = |w*| (erf, sine).",
    source="issue 12 of sobolev-verify; " + SURVEY_SOURCE,
    scope="K = K* = 1, λ = 1, d >= 2; r ∈ [0.1, 10] (erf), [0.1, 2.5] (sine); quick: [0.3, 3], "
          "[0.3, 2]; mpmath.iv",
    expected="proved",
    verdicts=("proved", "conditional", "fails", "inconclusive"),
    gather=gather_certificates,
)
def decide_one_neuron(evidence: dict[str, Any]) -> Verdict:
    return decide_certificates(evidence)
