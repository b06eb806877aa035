r"""Claims about activations other than relu: the Sobolev gain at the global minimum.

The paper trains with relu, leaky relu, GELU, tanh and sine and reports that Sobolev training
helps for all of them, most for sine. At the population level, with the closed forms of theory,
these become (proofs_check.analysis.activation_gains says how every number is taken):

* ``activation-kappa-at-minimum-<σ>``: κ(h1) < κ(l2) at the global minimum W = W* (K = K*),
  one claim per closed-form activation, on a survey of K, d, seeds and teacher row norms;
* ``activation-gain-largest-for-sine``: ranked by κ(l2)/κ(h1) and by the predicted flow-rate
  ratio λmin(h1)/λmin(l2) on the same teachers, sine comes first — and how the ranking depends
  on the teacher's row norm;
* ``certified-one-neuron-kappa-at-minimum``: for one neuron at w = w* the spectrum is a closed
  form in r = |w*| (erf, sine), and κ(h1) < κ(l2) is proved with Arb ball arithmetic on a box.

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
from proofs_check.analysis.certify import arb_ctx, interval_max, interval_min, prove
from proofs_check.claims import Verdict, register
from proofs_check.claims._evidence import (
    bisect_threshold,
    find_region,
    headline,
    headline_or,
    region_terms,
    rule_status,
)

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


#: Relative width of a located row-norm bracket (bisection on the one-parameter curve).
LOCATE_RTOL = 1e-2


def _holds_at(activation: str, width: int, dim: int, seed: int, scale: float) -> bool:
    """κ(h1) < κ(l2) strictly (beyond TIE_RTOL) at the teacher rescaled to row norm ``scale``."""
    spectrum = gains.spectrum_at_minimum(gains.scaled_teacher(width, dim, seed, scale),
                                         activation, seed=seed)
    return bool(spectrum.defined and np.max(spectrum.kappa_ratios()) < 1 - TIE_RTOL)


def locate_row_norm(activation: str, points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For a smooth activation (the gain depends on the teacher's row norm s), bracket by
    bisection in s every change from holding to violating between two surveyed row norms of
    one teacher (K, d, seed). One neuron: the ratio depends on s only (not on d or the teacher's
    direction), so one bracket per s-interval serves every K = 1 teacher."""
    if gains.is_piecewise_linear(activation):
        return []
    curves: dict[tuple, list[dict[str, Any]]] = {}
    for p in points:
        if p["defined"]:
            curves.setdefault((p["K"], p["d"], p["seed"]), []).append(p)
    one_neuron: dict[tuple[float, float], dict[str, Any]] = {}
    out = []
    for (width, dim, seed), curve in sorted(curves.items()):
        curve = sorted(curve, key=lambda p: p["scale"])
        for a, b in zip(curve, curve[1:], strict=False):
            if not (a["ratio_max"] < 1 - TIE_RTOL and b["ratio_max"] > 1 + TIE_RTOL):
                continue
            key = (a["scale"], b["scale"])
            if width == 1 and key in one_neuron:
                found = one_neuron[key]
            else:
                found = bisect_threshold(
                    lambda scale, w=width, d=dim, s=seed: _holds_at(activation, w, d, s, scale),
                    a["scale"], b["scale"], rtol=LOCATE_RTOL)
                if width == 1:
                    one_neuron[key] = found
            out.append({"K": width, "d": dim, "seed": seed, "surveyed_holding": a["scale"],
                        "surveyed_failing": b["scale"], **found,
                        "note": "one neuron: the same for every d and direction"
                        if width == 1 else None})
            break
    return out


def gather_minimum(activation: str):
    """Evidence of the per-activation claim: one summarised point per surveyed teacher, and the
    located row-norm crossings (smooth activations)."""
    def gather(quick: bool) -> dict[str, Any]:
        records = [r for r in _survey(quick) if r["activation"] == activation]
        points = [_point(r) for r in records]
        return {"activation": activation, "how": records[0]["how"] if records else None,
                "survey": {k: list(v) for k, v in gains.survey_grid(quick).items()},
                "points": points, "crossings": locate_row_norm(activation, points),
                "locate_rtol": LOCATE_RTOL}
    return gather


# ------------------------------------------------------------------------------------ decide
_FEATURES = {"K": lambda p: p["K"], "teacher row norm": lambda p: p["scale"],
             "d": lambda p: p["d"]}


def _located_region(points: list[dict], good: np.ndarray, bad: np.ndarray,
                    crossings: list[dict], support: int) -> dict[str, Any] | None:
    """Row norm below the lowest located crossing: a region when every surveyed point there
    holds strictly and it has ``support`` points."""
    if not crossings:
        return None
    lowest = min(crossings, key=lambda c: c["last_holding"])
    scales = np.array([p["scale"] for p in points])
    inside = scales <= lowest["last_holding"]
    if (inside & ~good).any() or int(inside.sum()) < support:
        return None
    where = ("K = 1, any d" if lowest["K"] == 1 else
             f"K = {lowest['K']}, d = {lowest['d']}, seed {lowest['seed']}")
    return {"text": f"teacher row norm s ≤ {lowest['last_holding']:.4g} (holds strictly at "
                    f"all {int(inside.sum())} surveyed minima there, every row rescaled to "
                    f"norm s; located: the lowest of {len(crossings)} crossings, at {where}, lies "
                    f"in s ∈ [{lowest['last_holding']:.4g}, {lowest['first_failing']:.4g}] by "
                    f"bisection between the surveyed {lowest['surveyed_holding']:g} and "
                    f"{lowest['surveyed_failing']:g})",
            "strict": int(inside.sum()), "points": int(inside.sum()),
            "threshold_kind": "located", "crossing": lowest}


def _where_text(point: dict) -> str:
    if point["K"] == 1:
        return (f"K = 1 (any d: the one-neuron ratio depends on the row norm only), row norm "
                f"{point['scale']:g}")
    return f"K = {point['K']}, d = {point['d']}, row norm {point['scale']:g}"


def decide_minimum(evidence: dict[str, Any]) -> Verdict:
    """The verdict rule (proofs_check.claims._evidence) for κ(h1) < κ(l2) at the minimum.

    A point violates when κ(h1)/κ(l2) > 1 + TIE_RTOL along some direction (piecewise-linear:
    the worst of the directions), is a tie when no ratio exceeds 1 + TIE_RTOL but some is
    within TIE_RTOL of 1, and holds strictly otherwise. Points with an undefined κ (λmin <= 0)
    are set aside and counted. The region: below the lowest located row-norm crossing when
    the row norm decides (smooth activations), else the best region in K, row norm and d
    (grid values labelled).
    """
    points = [p for p in evidence["points"] if p["defined"]]
    undefined = len(evidence["points"]) - len(points)
    bad = np.array([p["ratio_max"] > 1 + TIE_RTOL for p in points], dtype=bool)
    good = np.array([p["ratio_max"] < 1 - TIE_RTOL for p in points], dtype=bool)
    n_ties = int((~bad & ~good).sum())
    bad_points = [p for p, b in zip(points, bad, strict=True) if b]
    summary_numbers = {
        "method": evidence.get("how"), "tie_rtol": TIE_RTOL, "survey": evidence.get("survey"),
        "points_compared": len(points), "points_undefined": undefined,
        "holds": int(good.sum()), "ties": n_ties, "violations": int(bad.sum()),
        "violations_by_K": _count(bad_points, "K"),
        "violations_by_scale": _count(bad_points, "scale"),
        "violating_points_fraction_of_directions": [p["fraction_of_directions_violating"]
                                                    for p in bad_points],
        "ratio_h1_over_l2": _spread([p["ratio_median"] for p in points]),
        "ratio_h1_over_l2_every_direction": {
            "min": min((p["ratio_min"] for p in points), default=None),
            "max": max((p["ratio_max"] for p in points), default=None)},
        "crossings_located": evidence.get("crossings", []),
        "points": points,
    }
    name = evidence["activation"]
    region = None
    if bad.any():
        support = max(3, math.ceil(0.1 * len(points)))
        region = _located_region(points, good, bad, evidence.get("crossings", []), support)
        if region is None:
            region = find_region(points, good, bad, features=_FEATURES, min_support=support,
                                 noun="surveyed minima")
    status = rule_status(satisfied=int(good.sum()), ties=n_ties, violations=int(bad.sum()),
                         region=region)
    if status == "inconclusive":
        return Verdict("inconclusive", f"{name}: no point with a strict inequality either way "
                       f"({n_ties} ties, {undefined} undefined)", summary_numbers,
                       headline=headline(f"{name}: ties only ({n_ties}), {undefined} undefined"))
    median = summary_numbers["ratio_h1_over_l2"]["median"]
    if status == "holds":
        return Verdict("holds", f"{name}: κ(h1) < κ(l2) at {int(good.sum())}/{len(points)} "
                       "minima"
                       + (f", ties (|ratio − 1| <= {TIE_RTOL:g}) at {n_ties}" if n_ties else "")
                       + f"; median κ(h1)/κ(l2) {median:.3g}", summary_numbers,
                       headline=headline(f"κ(h1) < κ(l2) at {int(good.sum())} of {len(points)} "
                                         f"minima, median ratio {median:.2g}"))
    worst = max(bad_points, key=lambda p: p["ratio_max"])
    counterexample = {**worst, "activation": name,
                      "teacher": "proofs_check.analysis.activation_gains."
                                 "scaled_teacher(K, d, seed, scale)"}
    located = evidence.get("crossings", [])
    located_text = ""
    if located:
        lowest = min(located, key=lambda c: c["last_holding"])
        located_text = (f"; the row norm decides along each failing teacher: "
                        f"{len(located)} crossing(s) located by bisection, the lowest in "
                        f"s ∈ [{lowest['last_holding']:.4g}, {lowest['first_failing']:.4g}]")
    text = (f"{name}: fails at {len(bad_points)}/{len(points)} minima (by K: "
            + ", ".join(f"K = {k}: {v}" for k, v in _count(bad_points, "K").items())
            + "; by row norm: "
            + ", ".join(f"{k}: {v}" for k, v in _count(bad_points, "scale").items())
            + f"); worst κ(h1)/κ(l2) = {worst['ratio_max']:.3g} at {_where_text(worst)}"
            + (f"; ties at {n_ties}" if n_ties else "") + f"; holds at {int(good.sum())}"
            + located_text)
    short = f"fails at {len(bad_points)} of {len(points)} minima"
    if status == "conditional":
        return Verdict("conditional", text, summary_numbers | {"region": region},
                       counterexample=counterexample, condition=region["text"],
                       headline=headline_or(f"holds where {region_terms(region)}",
                                            f"{short}; holds in a stated region"))
    return Verdict("fails", text + "; no region of K, row norm or d where it holds strictly at "
                   "every surveyed minimum", summary_numbers, counterexample=counterexample,
                   headline=headline(short))


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


#: The verdict each survey gives today (its numbers are in the check's output, not here).
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
    left_out = []
    for r in _survey(quick):
        key = (r["K"], r["d"], r["seed"], r["scale"])
        entry = teachers.setdefault(key, {"K": r["K"], "d": r["d"], "seed": r["seed"],
                                          "scale": r["scale"], "kappa_gain": {},
                                          "rate_gain": {}})
        if not r["defined"]:
            left_out.append({"activation": r["activation"], "K": r["K"], "d": r["d"],
                             "seed": r["seed"], "scale": r["scale"],
                             "reason": r.get("unresolved") or "λmin <= 0 for l2 or h1 "
                                                              "(κ undefined)"})
            continue
        kappa = np.asarray(r["kappa_l2"], float) / np.asarray(r["kappa_h1"], float)
        rate = np.asarray(r["lambda_min_h1"], float) / np.asarray(r["lambda_min_l2"], float)
        entry["kappa_gain"][r["activation"]] = float(np.median(kappa))
        entry["rate_gain"][r["activation"]] = float(np.median(rate))
    return {"activations": list(gains.CLOSED_FORM + gains.MEASURED),
            "measured_only": list(gains.MEASURED),
            "survey": {k: list(v) for k, v in gains.survey_grid(quick).items()},
            "teachers": list(teachers.values()), "left_out": left_out,
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
                       "finite gain", numbers,
                       headline=headline("no teacher with sine and another gain defined"))
    places = {m: [_sine_place(t[m]) for t in teachers] for m in ("kappa_gain", "rate_gain")}
    first_both = [p == "first" and q == "first"
                  for p, q in zip(places["kappa_gain"], places["rate_gain"], strict=True)]
    numbers["sine_first"] = {m: sum(p == "first" for p in v) for m, v in places.items()}
    numbers["sine_tied"] = {m: sum(p == "tie" for p in v) for m, v in places.items()}
    if all(first_both):
        return Verdict("holds", f"sine has the largest κ-gain and rate-gain at all "
                       f"{len(teachers)} teachers", numbers,
                       headline=headline(f"sine first by both gains at all {len(teachers)} "
                                         "teachers"))
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
                       numbers, counterexample=counterexample, condition=condition,
                       headline=headline(f"sine first by both gains at {sum(first_both)} of "
                                         f"{len(teachers)} teachers"))
    per_scale = "; ".join(
        f"row norm {scale}: " + ", ".join(f"{name} {count}" for name, count in
                                          sorted(counts.items(), key=lambda kv: -kv[1]))
        for scale, counts in leaders["kappa_gain"].items())
    return Verdict("fails", f"sine is first by both gains at only {sum(first_both)}/"
                   f"{len(teachers)} teachers and at no surveyed row norm throughout; teachers "
                   f"led by each activation's κ-gain per row norm: {per_scale}", numbers,
                   counterexample=counterexample,
                   headline=headline(f"sine first by both gains at {sum(first_both)} of "
                                     f"{len(teachers)} teachers"))


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
#: the resolution of the 53-bit enclosures (Arb balls, as mpmath.iv before), so the box stops
#: there.
CERTIFIED_BOXES = {"erf": (0.1, 10.0), "sine": (0.1, 2.5)}
QUICK_CERTIFIED_BOXES = {"erf": (0.3, 3.0), "sine": (0.3, 2.0)}
WHY_NOT = {
    "gelu": "its moments E[Φ(rz)² z²], E[Φ(rz)φ(rz) z³], … are arcsin/sqrt closed forms not "
            "derived here; without an elementary closed form there is nothing for ball "
            "arithmetic to enclose",
    "relu": "piecewise linear: at w = w* the Sobolev Jacobian is one-sided and both κ tend to 1 "
            "(κ(l2) − κ(h1) = t/((1 − 4t)(1 − 3t)), t = ρ sin θ/(2π) → 0): a tie, not a strict "
            "inequality; certified-kappa-h1-expected-below-l2 covers θ >= 1e-3",
    "leaky_relu(0.1)": "piecewise linear: one-sided Jacobian at w = w*, no closed form in r "
                       "derived here",
    "tanh": "no closed-form Gaussian kernel",
}


def _kappa_cross(activation: str):
    """f(r) = λmax(h1)·λmin(l2) − λmax(l2)·λmin(h1) on an r-ball (< 0 ⇔ κ(h1) < κ(l2) where both
    λmin > 0), from the closed forms in python-flint Arb balls."""

    def f(box):
        (r,) = box
        eig = gains.one_neuron_minimum(r, activation, arb_ctx)
        l2_min, l2_max = interval_min(*eig["l2"]), interval_max(*eig["l2"])
        h1_min, h1_max = interval_min(*eig["h1"]), interval_max(*eig["h1"])
        return arb_ctx.fmul(h1_max, l2_min) - arb_ctx.fmul(l2_max, h1_min)
    return f


def gather_certificates(quick: bool) -> dict[str, Any]:
    boxes = QUICK_CERTIFIED_BOXES if quick else CERTIFIED_BOXES
    results = {}
    for activation, box in boxes.items():
        result = prove(_kappa_cross(activation), [box], relation="<", names=("r",),
                       claim=f"κ(h1) < κ(l2) at w = w* (one {activation} neuron, λ = 1, d >= 2)",
                       min_width=1e-9, max_boxes=4000 if quick else 20000, arithmetic="arb")
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
                         "the evidence)", numbers,
                       headline=headline(f"proved for {', '.join(proved)} on their r-boxes"))
    if refuted and not proved and len(refuted) == len(results):
        a = refuted[0]
        return Verdict("fails", results[a]["statement"], numbers,
                       counterexample={"activation": a, **results[a]["counterexample"]},
                       headline=headline(f"certified counterexample for {', '.join(refuted)}"))
    if proved and refuted and len(proved) + len(refuted) == len(results):
        a = refuted[0]
        return Verdict("conditional", f"proved for {', '.join(proved)}; certified counterexample "
                       f"for {', '.join(refuted)}", numbers,
                       counterexample={"activation": a, **results[a]["counterexample"]},
                       condition=f"activation ∈ {{{', '.join(proved)}}}",
                       headline=headline(f"proved for {', '.join(proved)} only"))
    undecided = [a for a, r in results.items() if r["status"] == "undecided"]
    return Verdict("inconclusive", f"undecided for {', '.join(undecided)}", numbers,
                   headline=headline(f"undecided for {', '.join(undecided)}"))


@register(
    id="certified-one-neuron-kappa-at-minimum",
    statement="For one neuron at its global minimum w = w*, κ(h1) < κ(l2) for the activations "
              "whose spectrum there is a closed form in r = |w*| (erf, sine).",
    source="this toolkit's certificate; " + SURVEY_SOURCE,
    scope="K = K* = 1, λ = 1, d >= 2; r ∈ [0.1, 10] (erf), [0.1, 2.5] (sine); quick: [0.3, 3], "
          "[0.3, 2]; Arb ball arithmetic (python-flint), 53 bits",
    expected="proved",
    verdicts=("proved", "conditional", "fails", "inconclusive"),
    gather=gather_certificates,
)
def decide_one_neuron(evidence: dict[str, Any]) -> Verdict:
    return decide_certificates(evidence)
