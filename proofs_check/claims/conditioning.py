r"""Claims about conditioning: κ(h1) vs κ(l2), how λ_min and λ_max move with λ, and whether the
predicted κ is what an independent Monte-Carlo Jacobian measures (proofs_check.analysis.compare).

Evidence (``survey``) is a deterministic set of configurations (theory.configurations: teacher
with N(0, 1/d) entries; student W* + r·Z/√d for r in RADII or random with N(0, 1/d) entries)
with theory's closed-form spectra (real parts). Each record carries where it lies in measured
quantities (proofs_check.claims._evidence.location: relative distance ‖W − W*_π‖/‖W*‖ and the
per-row angle to the matched teacher row). At the teacher itself the Sobolev Jacobian does not
exist; its one-sided limit J_D depends on the direction D of approach, so the survey adds, per
teacher, the limit along N_DIRECTIONS random directions (offset 1e-7·‖W*‖,
proofs_check.analysis.rates.local_jacobian) and reports κ's min / median / max over them; the
record compared is the direction with the largest κ(h1)/κ(l2) (the claim must hold along
every direction).

κ = max Re λ / min Re λ; only configurations where both Jacobians have spectra with positive real
parts are compared (κ is otherwise not a condition number of a minimum). Strict inequalities
use the relative tolerance _evidence.RTOL; ties are counted separately and are not violations.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

import theory
from proofs_check.analysis.compare import DEFAULT_GRID, compare_condition_numbers, format_table
from proofs_check.claims import Verdict, register
from proofs_check.claims._evidence import (
    RTOL,
    compare_strict,
    describe_location,
    failure_condition,
    headline,
    headline_or,
    location,
    region_terms,
    rule_status,
    spread,
)
from theory.configurations import make_configuration

#: Offsets r of the perturbed placements W* + r·Z/√d (and the random placement).
RADII = (0.01, 0.05, 0.3)
#: "barely changes": the relative change of λ_max stays within this fraction.
BARELY = 0.10
#: "significantly": λ_min of the normalised h1 Jacobian at least (1 + SIGNIFICANT)·λ_min(l2).
SIGNIFICANT = 0.5
#: Directions of approach per teacher for the one-sided limits at W*.
N_DIRECTIONS = 100
#: Offset of the one-sided limits (relative to ‖W*‖_F).
LIMIT_OFFSET = 1e-7
#: Tie tolerance of rows taken as one-sided limits: the limit is evaluated at a finite offset,
#: which moves eigenvalues by O(offset) (one neuron: λ(h1) = 1 − O(1e-7) instead of 1).
LIMIT_RTOL = 10 * LIMIT_OFFSET
#: Sobolev weights of the λ sweep.
WEIGHTS_QUICK = (0.1, 1.0, 10.0)
WEIGHTS_FULL = (0.1, 0.3, 1.0, 3.0, 10.0)
#: (K, K*) pairs of over- and under-parameterised students (random placement).
MISMATCHED = ((2, 1), (3, 1), (3, 2), (4, 2), (1, 2), (1, 3), (2, 3), (2, 4))


def _widths(quick: bool) -> tuple[int, ...]:
    return (1, 2, 3) if quick else (1, 2, 3, 4)


def _dims(quick: bool) -> tuple[int, ...]:
    return (2, 3, 5) if quick else (2, 3, 5, 8)


def _seeds(quick: bool) -> range:
    return range(3) if quick else range(8)


def _placements():
    yield from (("perturbed", radius) for radius in RADII)
    yield "random", 1.0


def _spectra(W, W_star, sobolev_weight: float = 1.0) -> dict[str, tuple[float, float]]:
    out = {}
    for name, loss, convention in (("l2", "l2", "exact"), ("h1_expected", "h1", "expected"),
                                   ("h1_exact", "h1", "exact")):
        real = np.real(theory.spectrum(W, W_star, loss, convention=convention,
                                       sobolev_weight=sobolev_weight))
        out[name] = (float(real.min()), float(real.max()))
    return out


def _record(width: int, teacher_width: int, dim: int, at: str, radius: float,
            seed: int) -> dict[str, Any] | None:
    config = make_configuration(width, teacher_width, dim, seed, at=at, radius=radius)
    try:
        spectra = _spectra(config.W, config.W_star)
    except theory.NonDifferentiableError:
        return None
    return {"K": width, "K*": teacher_width, "d": dim, "at": at, "radius": radius,
            "seed": seed, **location(config.W, config.W_star), **spectra}


def _teacher_limit(width: int, dim: int, seed: int, n_directions: int) -> dict[str, Any]:
    """κ(l2) at W* and κ(h1 expected) of the one-sided limits along random directions."""
    from proofs_check.analysis.rates import local_jacobian

    W_star = make_configuration(width, width, dim, seed, at="teacher").W_star
    l2 = np.linalg.eigvalsh(theory.population_hessian(W_star, W_star, "l2"))
    rng = np.random.default_rng([seed, 11])
    kappas, pairs = [], []
    for _ in range(n_directions):
        J, _ = local_jacobian(W_star, "h1", direction=rng.normal(size=W_star.shape),
                              offset=LIMIT_OFFSET)
        real = np.linalg.eigvals(J).real
        pairs.append((float(real.min()), float(real.max())))
        kappas.append(real.max() / real.min() if real.min() > 0 else math.inf)
    worst = int(np.argmax(kappas))
    rng = np.random.default_rng([seed, 11])
    for _ in range(worst + 1):
        D = rng.normal(size=W_star.shape)
    W = W_star + LIMIT_OFFSET * np.linalg.norm(W_star) * D / np.linalg.norm(D)
    return {"K": width, "K*": width, "d": dim, "at": "teacher (one-sided limit)",
            "radius": LIMIT_OFFSET, "seed": seed, "direction_index": worst,
            "direction_rng": f"numpy default_rng([{seed}, 11]), draw {worst} of {n_directions}",
            **location(W, W_star), "rtol": LIMIT_RTOL,
            "l2": (float(l2.min()), float(l2.max())), "h1_expected": pairs[worst],
            "h1_exact": None,
            "kappa_h1_over_directions": spread(kappas),
            "kappa_l2_at_teacher": float(l2.max() / l2.min())}


@functools.cache
def survey(quick: bool) -> tuple[dict[str, Any], ...]:
    """Spectra (λ_min, λ_max real parts) of l2, h1/expected and h1/exact at every survey point,
    K = K* (perturbed and random placements) and K ≠ K* (random), plus teacher limits."""
    records = []
    for width in _widths(quick):
        for dim in _dims(quick):
            for at, radius in _placements():
                for seed in _seeds(quick):
                    record = _record(width, width, dim, at, radius, seed)
                    if record is not None:
                        records.append(record)
    for width, teacher_width in MISMATCHED:
        if quick and max(width, teacher_width) > 3:
            continue
        for dim in _dims(quick):
            for seed in _seeds(quick):
                record = _record(width, teacher_width, dim, "random", 1.0, seed)
                if record is not None:
                    records.append(record)
    limit_widths = (1, 2, 3) if quick else (1, 2, 3, 4)
    limit_dims = (3,) if quick else (2, 3, 5)
    for width in limit_widths:
        for dim in limit_dims:
            records.append(_teacher_limit(width, dim, 0, N_DIRECTIONS))
    return tuple(records)


def _kappa(pair) -> float:
    return pair[1] / pair[0] if pair[0] > 0 else math.inf


def _kappa_rows(records, key: str) -> list[dict[str, Any]]:
    rows = []
    for record in records:
        if record.get(key) is None or record["l2"][0] <= 0 or record[key][0] <= 0:
            continue
        rows.append({k: record[k] for k in ("K", "K*", "d", "at", "radius", "seed",
                                            "relative_distance", "row_angles_deg")}
                    | {"kappa_l2": _kappa(record["l2"]), "kappa_h1": _kappa(record[key]),
                       "rtol": record.get("rtol", RTOL)}
                    | ({"kappa_h1_over_directions": record["kappa_h1_over_directions"],
                        "direction_index": record["direction_index"]}
                       if "kappa_h1_over_directions" in record else {}))
    return rows


def gather_kappa(quick: bool, key: str, matched: bool) -> dict[str, Any]:
    """Evidence for a κ claim: one row per compared configuration (κ_l2, κ_h1, location)."""
    records = [r for r in survey(quick) if (r["K"] == r["K*"]) == matched]
    convention = key.split("_")[1]
    limits = [r for r in records if "kappa_h1_over_directions" in r]
    return {
        "method": f"closed-form spectra (theory), h1 in the {convention} convention, λ = 1; "
                  "κ = max Re λ / min Re λ",
        "convention": convention, "rtol": RTOL,
        "configurations_surveyed": len(records),
        "seeds": f"theory.configurations seeds {list(_seeds(quick))}; teacher limits: seed 0, "
                 f"{N_DIRECTIONS} directions from default_rng([0, 11])",
        "teacher_limits": [{"K": r["K"], "d": r["d"],
                            "kappa_l2_at_teacher": r["kappa_l2_at_teacher"],
                            "kappa_h1_over_directions": r["kappa_h1_over_directions"]}
                           for r in limits] if convention == "expected" else
        "none: the exact Sobolev Hessian has no limit at the teacher (it grows like 1/θ)",
        "rows": _kappa_rows(records, key),
    }


def _where(row: dict[str, Any]) -> str:
    if "kappa_h1_over_directions" in row:
        return (f"the one-sided limit at the teacher (offset {LIMIT_OFFSET:g}·‖W*‖), worst of "
                f"{row['kappa_h1_over_directions']['count']} directions")
    return describe_location(row)


def _point(row: dict[str, Any]) -> dict[str, Any]:
    """The row's configuration with W and W* (rebuilt from its seed), for a counterexample."""
    at = row["at"] if row["at"] in ("perturbed", "random") else "teacher"
    config = make_configuration(row["K"], row["K*"], row["d"], row["seed"], at=at,
                                radius=row["radius"] if at != "teacher" else None)
    W = config.W
    if at == "teacher":
        rng = np.random.default_rng([row["seed"], 11])
        for _ in range(row["direction_index"] + 1):
            D = rng.normal(size=W.shape)
        W = config.W_star + LIMIT_OFFSET * np.linalg.norm(config.W_star) * D / np.linalg.norm(D)
    return row | {"W": W.tolist(), "W_star": config.W_star.tolist()}


def _teacher_text(limits) -> str:
    """At the teacher: along how many teachers' median / worst direction κ(h1) < κ(l2)."""
    if not isinstance(limits, list) or not limits:
        return ""
    median = sum(t["kappa_h1_over_directions"]["median"] < t["kappa_l2_at_teacher"]
                 for t in limits if t["K"] > 1)
    worst = sum(t["kappa_h1_over_directions"]["max"] < t["kappa_l2_at_teacher"]
                for t in limits if t["K"] > 1)
    count = sum(t["K"] > 1 for t in limits)
    directions = limits[0]["kappa_h1_over_directions"]["count"]
    return (f"; at the teacher (one-sided limits over {directions} directions, K >= 2): "
            f"κ(h1) < κ(l2) along the median direction at {median} of {count} teachers, "
            f"along every direction at {worst} of {count}")


def decide_kappa(evidence: dict[str, Any]) -> Verdict:
    """κ(h1) < κ(l2) strictly (relative tolerance evidence["rtol"]) at every compared row.

    holds: no violation (ties listed); conditional: violations, and a computed region (a range
    of K, K*, d, relative distance or row angle) where every row holds strictly;
    fails: violations without such a region; inconclusive: no row compared or only ties.
    """
    rows = evidence["rows"]
    if not rows:
        return Verdict("inconclusive", "no configuration where both Jacobians are positive "
                       "definite in real part", evidence,
                       headline=headline("no configuration with both spectra positive"))
    kappa_h1 = np.array([r["kappa_h1"] for r in rows])
    kappa_l2 = np.array([r["kappa_l2"] for r in rows])
    comparison = compare_strict(kappa_h1, kappa_l2, "<", rtol=[r["rtol"] for r in rows])
    counts = comparison.counts()
    evidence = evidence | {"comparison": counts,
                           "kappa_ratio_h1_over_l2": spread(kappa_h1 / kappa_l2)}
    ties = (f"; {counts['ties']} tie(s) (|Δκ| <= rtol·κ, rtol {evidence['rtol']:g}, "
            f"{LIMIT_RTOL:g} for teacher limits)" if counts["ties"] else "")
    ties += _teacher_text(evidence.get("teacher_limits"))
    where = (failure_condition(rows, comparison.violations, comparison.satisfied,
                               noun="compared configurations")
             if comparison.violations.any() else None)
    status = rule_status(satisfied=counts["satisfied"], ties=counts["ties"],
                         violations=counts["violations"],
                         region=where["regions"][0] if where and where["regions"] else None)
    tie_note = f", {counts['ties']} ties" if counts["ties"] else ""
    if status == "inconclusive":
        return Verdict("inconclusive", f"all {len(rows)} compared rows are ties", evidence,
                       headline=headline(f"ties at all {len(rows)} configurations"))
    if status == "holds":
        return Verdict("holds", f"κ(h1) < κ(l2) at {counts['satisfied']} of {len(rows)} "
                       f"configurations (largest ratio {(kappa_h1 / kappa_l2).max():.3g}){ties}",
                       evidence, headline=headline(f"κ(h1) < κ(l2) at {counts['satisfied']} of "
                                                   f"{len(rows)} configurations{tie_note}"))
    ratios = np.where(comparison.violations, kappa_h1 / kappa_l2, -np.inf)
    worst = rows[int(np.argmax(ratios))]
    evidence["failures"] = where
    counterexample = _point(worst)
    text = (f"{where['failures']}; worst κ(h1)/κ(l2) = {worst['kappa_h1']:.3g}/"
            f"{worst['kappa_l2']:.3g} (K = {worst['K']}, K* = {worst['K*']}, d = {worst['d']}, "
            f"{_where(worst)}){ties}")
    short = f"fails at {counts['violations']} of {len(rows)} configurations"
    if status == "conditional":
        return Verdict("conditional", text, evidence, counterexample=counterexample,
                       condition=where["condition"],
                       headline=headline_or(f"holds where {region_terms(where['condition'])}",
                                            f"holds in a stated region; {short}"))
    return Verdict("fails", text, evidence, counterexample=counterexample,
                   headline=headline(short))


_VERDICTS = ("holds", "conditional", "fails", "inconclusive")


@register(
    id="kappa-h1-below-l2",
    statement="Sobolev training improves the conditioning: κ(h1) < κ(l2) for the Jacobian of "
              "the expected gradient field (the one gradient flow and SGD follow), λ = 1, "
              "K = K*.",
    source="Oh, Lyu, Son (2025), arXiv:2509.19773, as summarised",
    scope="K = K* in {1, 2, 3(, 4)}, d in {2, 3, 5(, 8)}, W at W* + r·Z/√d (r = 0.01, 0.05, 0.3),"
          " random W, and one-sided limits at W* along 100 directions; where both Jacobians "
          "have positive real spectra",
    expected="conditional", verdicts=_VERDICTS,
    gather=lambda quick: gather_kappa(quick, "h1_expected", matched=True),
)
def check_kappa_expected(evidence: dict[str, Any]) -> Verdict:
    return decide_kappa(evidence)


@register(
    id="kappa-h1-below-l2-exact-hessian",
    statement="κ(h1) < κ(l2) also for the exact Hessian of the population loss, λ = 1, K = K*.",
    source="the same claim read with the other gradient convention",
    scope="as kappa-h1-below-l2 without the teacher limits (the exact Hessian has none)",
    expected="fails", verdicts=_VERDICTS,
    gather=lambda quick: gather_kappa(quick, "h1_exact", matched=True),
)
def check_kappa_exact(evidence: dict[str, Any]) -> Verdict:
    return decide_kappa(evidence)


@register(
    id="kappa-h1-below-l2-mismatched-widths",
    statement="κ(h1) < κ(l2) (expected convention, λ = 1) also for over- and "
              "under-parameterised students (K ≠ K*).",
    source="Oh, Lyu, Son (2025), arXiv:2509.19773: the conditioning claim beyond K = K*",
    scope="(K, K*) in {(2,1), (3,1), (3,2), (4,2), (1,2), (1,3), (2,3), (2,4)} (quick: widths "
          "<= 3), d in {2, 3, 5(, 8)}, random W with N(0, 1/d) entries; where both Jacobians "
          "have positive real spectra",
    expected="conditional", verdicts=_VERDICTS,
    gather=lambda quick: gather_kappa(quick, "h1_expected", matched=False),
)
def check_kappa_mismatched(evidence: dict[str, Any]) -> Verdict:
    return decide_kappa(evidence)


# --------------------------------------------------------------------------- λ_min / λ_max

def gather_lambda(quick: bool) -> dict[str, Any]:
    """λ_min and λ_max of l2 and h1 (expected, λ = 1) at the survey points where both are PD."""
    rows = []
    for record in survey(quick):
        if record["l2"][0] <= 0 or record["h1_expected"][0] <= 0:
            continue
        rows.append({k: record[k] for k in ("K", "K*", "d", "at", "radius", "seed",
                                            "relative_distance", "row_angles_deg")}
                    | {"rtol": record.get("rtol", RTOL), "lambda_min_l2": record["l2"][0],
                       "lambda_max_l2": record["l2"][1],
                       "lambda_min_h1": record["h1_expected"][0],
                       "lambda_max_h1": record["h1_expected"][1]})
    return {"method": "closed-form spectra (theory), expected convention, λ = 1 (real parts)",
            "sobolev_weight": 1.0, "barely": BARELY, "rtol": RTOL, "rows": rows,
            "seeds": f"theory.configurations seeds {list(_seeds(quick))}"}


def _normalisation_outcome(rows, scale: float) -> dict[str, Any]:
    rtol = np.array([r["rtol"] for r in rows])
    min_h1 = np.array([r["lambda_min_h1"] for r in rows]) * scale
    max_h1 = np.array([r["lambda_max_h1"] for r in rows]) * scale
    min_l2 = np.array([r["lambda_min_l2"] for r in rows])
    max_l2 = np.array([r["lambda_max_l2"] for r in rows])
    grows = compare_strict(min_h1, min_l2, ">", rtol=rtol)
    change = np.abs(max_h1 / max_l2 - 1)
    barely = change <= BARELY
    return {"grows": grows, "barely": barely,
            "satisfied": grows.satisfied & barely, "violations": grows.violations | ~barely,
            "summary": {"lambda_min_ratio": spread(min_h1 / min_l2),
                        "lambda_max_ratio": spread(max_h1 / max_l2),
                        "lambda_min_grows": grows.counts(),
                        "lambda_max_within_barely": int(barely.sum())}}


@register(
    id="lambda-min-grows-lambda-max-barely-changes",
    statement="Adding the Sobolev term raises the smallest eigenvalue while barely changing the "
              f"largest (|Δλ_max|/λ_max <= {BARELY:.0%}), expected convention, λ = 1.",
    source="Oh, Lyu, Son (2025), arXiv:2509.19773, as summarised",
    scope="the survey of kappa-h1-below-l2 and of the K ≠ K* claim; read with H = L + λJ and "
          "with H = (L + λJ)/(1 + λ)",
    expected="conditional", verdicts=_VERDICTS, gather=gather_lambda,
)
def check_lambda_normalisation(evidence: dict[str, Any]) -> Verdict:
    """holds: true unnormalised at every row; conditional: true for H/(1+λ) everywhere, or for
    H/(1+λ) on a computed region; fails: neither; inconclusive: no rows or only ties."""
    rows = evidence["rows"]
    if not rows:
        return Verdict("inconclusive", "no configuration with both spectra positive", evidence,
                       headline=headline("no configuration with both spectra positive"))
    weight = evidence["sobolev_weight"]
    outcomes = {"unnormalised": _normalisation_outcome(rows, 1.0),
                "normalised": _normalisation_outcome(rows, 1.0 / (1.0 + weight))}
    evidence = evidence | {name: o["summary"] for name, o in outcomes.items()}
    raw, norm = outcomes["unnormalised"], outcomes["normalised"]
    raw_max = evidence["unnormalised"]["lambda_max_ratio"]
    raw_text = (f"unnormalised λ_max(h1)/λ_max(l2) ∈ [{raw_max['min']:.3g}, {raw_max['max']:.3g}]"
                f" (beyond {BARELY:.0%} at {int((~raw['barely']).sum())} of {len(rows)} rows)")
    raw_status = rule_status(satisfied=int(raw["satisfied"].sum()),
                             ties=int((~raw["satisfied"] & ~raw["violations"]).sum()),
                             violations=int(raw["violations"].sum()))
    if raw_status in ("holds", "inconclusive"):
        if raw_status == "inconclusive":
            return Verdict("inconclusive", "every row ties (λ_min equal within rtol)", evidence,
                           headline=headline(f"ties at all {len(rows)} rows"))
        return Verdict("holds", f"holds at {int(raw['satisfied'].sum())} of {len(rows)} rows "
                       "without normalisation", evidence,
                       headline=headline(f"holds unnormalised at {len(rows)} of {len(rows)} rows"))
    bad = np.where(raw["violations"])[0]
    counterexample = _point(rows[int(bad[0])])
    n_ties = int((~norm["satisfied"] & ~norm["violations"]).sum())
    if not norm["violations"].any() and norm["satisfied"].any():
        region = {"text": f"λ normalised: H = (L + λJ)/(1 + λ) (holds strictly at all "
                          f"{int(norm['satisfied'].sum())} rows there)",
                  "strict": int(norm["satisfied"].sum())}
        if n_ties:  # ties are not violations, but a region is strict at every point
            where = failure_condition(rows, norm["violations"], norm["satisfied"],
                                      noun="rows (normalised H/(1 + λ))")
            region = where["regions"][0] if where["regions"] else None
            if region is not None:
                region = region | {"text": "λ normalised as H = (L + λJ)/(1 + λ) and "
                                           + region["text"]}
        summary = (f"the unnormalised reading fails at {int(raw['violations'].sum())} of "
                   f"{len(rows)} rows; for H/(1 + λ) no violation ({n_ties} ties); " + raw_text)
        status = rule_status(satisfied=int(raw["satisfied"].sum()), ties=0,
                             violations=int(raw["violations"].sum()), region=region)
        if status == "conditional":
            return Verdict("conditional", summary, evidence, counterexample=counterexample,
                           condition=region["text"],
                           headline=headline("holds for H/(1 + λ) only, not unnormalised"))
        return Verdict("fails", summary, evidence, counterexample=counterexample,
                       headline=headline("fails unnormalised; H/(1 + λ) only ties"))
    where = failure_condition(rows, norm["violations"], norm["satisfied"],
                              noun="rows (normalised H/(1 + λ))")
    evidence["failures_normalised"] = where
    counterexample = _point(rows[int(np.argmax(norm["violations"]))])
    region = where["regions"][0] if where["regions"] else None
    status = rule_status(satisfied=int(norm["satisfied"].sum()), ties=n_ties,
                         violations=int(norm["violations"].sum()), region=region)
    summary = (f"unnormalised: fails at {int(raw['violations'].sum())} of {len(rows)} rows; "
               f"normalised: {where['failures']}; {raw_text}")
    short = f"fails at {int(norm['violations'].sum())} of {len(rows)} rows even for H/(1 + λ)"
    if status == "conditional":
        return Verdict("conditional", summary, evidence, counterexample=counterexample,
                       condition=f"λ normalised as H = (L + λJ)/(1 + λ) and {where['condition']}",
                       headline=headline_or(f"holds for H/(1 + λ) where "
                                            f"{region_terms(where['condition'])}",
                                            "holds for H/(1 + λ) in a stated region"))
    return Verdict("fails", summary, evidence, counterexample=counterexample,
                   headline=headline(short))


@functools.cache
def gather_gain(quick: bool) -> dict[str, Any]:
    """λ_min(H_λ)/((1 + λ)·λ_min(L)) (expected convention) at every survey point and λ."""
    rows = []
    weights = WEIGHTS_QUICK if quick else WEIGHTS_FULL
    for record in survey(quick):
        if record["l2"][0] <= 0 or "kappa_h1_over_directions" in record:
            continue
        at = record["at"]
        config = make_configuration(record["K"], record["K*"], record["d"], record["seed"],
                                    at=at, radius=record["radius"])
        for weight in weights:
            if weight == 1.0:  # the survey's h1 (expected, λ = 1) spectrum at this point
                lambda_min = record["h1_expected"][0]
            else:
                lambda_min = float(np.real(theory.spectrum(
                    config.W, config.W_star, "h1", convention="expected",
                    sobolev_weight=weight)).min())
            rows.append({k: record[k] for k in ("K", "K*", "d", "at", "radius", "seed",
                                                "relative_distance")}
                        | {"λ": weight, "lambda_min_l2": record["l2"][0],
                           "lambda_min_h1": lambda_min,
                           "gain": lambda_min / ((1 + weight) * record["l2"][0])})
    return {"method": "closed-form spectra (theory), expected convention; gain = "
                      "λ_min(L + λJ)/((1 + λ)·λ_min(L)) (normalised so that λ_max is unchanged "
                      "for one neuron)", "threshold": 1 + SIGNIFICANT, "rtol": RTOL,
            "weights": list(weights), "rows": rows,
            "seeds": f"theory.configurations seeds {list(_seeds(quick))}"}


def _gain_table(rows) -> dict[str, Any]:
    """Median gain by λ, K, K* and d (how the gain depends on each)."""
    table = {}
    for key in ("λ", "K", "K*", "d"):
        values = sorted({r[key] for r in rows})
        table[key] = {f"{v:g}": float(np.median([r["gain"] for r in rows if r[key] == v]))
                      for v in values}
    return table


@register(
    id="lambda-min-gain-significant",
    statement=f"The Sobolev term raises λ_min significantly: λ_min(L + λJ)/(1 + λ) >= "
              f"{1 + SIGNIFICANT:g}·λ_min(L) (expected convention), for every λ > 0.",
    source="Oh, Lyu, Son (2025), arXiv:2509.19773 ('increases the smallest eigenvalue "
           "significantly'); the threshold 1.5 is this toolkit's reading of 'significantly'",
    scope="the survey of kappa-h1-below-l2 and of the K ≠ K* claim (points where λ_min(L) > 0, "
          "teacher limits excluded), λ in {0.1, 1, 10} (quick) / {0.1, 0.3, 1, 3, 10}",
    expected="fails", verdicts=_VERDICTS, gather=gather_gain,
)
def check_gain(evidence: dict[str, Any]) -> Verdict:
    """Strict gain > threshold at every (point, λ): holds; on a computed region: conditional;
    nowhere identifiable: fails; no rows or only ties: inconclusive."""
    rows = evidence["rows"]
    if not rows:
        return Verdict("inconclusive", "no survey point with λ_min(L) > 0", evidence,
                       headline=headline("no survey point with λ_min(L) > 0"))
    gains = np.array([r["gain"] for r in rows])
    comparison = compare_strict(gains, evidence["threshold"], ">", rtol=evidence["rtol"])
    counts = comparison.counts()
    evidence = evidence | {"comparison": counts, "gain": spread(gains),
                           "median_gain_by": _gain_table(rows)}
    by = evidence["median_gain_by"]
    trend = (", ".join(f"λ = {k}: {v:.3g}" for k, v in by["λ"].items()) + "; by K (all λ): "
             + ", ".join(f"K = {k}: {v:.3g}" for k, v in by["K"].items()))
    features = {"λ": lambda r: r["λ"], "K": lambda r: r["K"], "K*": lambda r: r["K*"],
                "d": lambda r: r["d"], "relative distance": lambda r: r["relative_distance"]}
    where = (failure_condition(rows, comparison.violations, comparison.satisfied,
                               features=features, noun="(point, λ) rows")
             if comparison.violations.any() else None)
    status = rule_status(satisfied=counts["satisfied"], ties=counts["ties"],
                         violations=counts["violations"],
                         region=where["regions"][0] if where and where["regions"] else None)
    threshold = evidence["threshold"]
    if status == "inconclusive":
        return Verdict("inconclusive", "every gain ties the threshold", evidence,
                       headline=headline(f"every gain ties {threshold:g}"))
    if status == "holds":
        return Verdict("holds", f"gain > {threshold:g} at all {len(rows)} (point, λ) "
                       f"rows; median gain {trend}", evidence,
                       headline=headline(f"gain > {threshold:g} at all {len(rows)} (point, λ)"))
    evidence["failures"] = where
    worst = rows[int(np.argmin(gains))]
    counterexample = _point(worst)
    text = (f"gain <= {threshold:g}: {where['failures']}; median gain {trend}; "
            f"smallest {worst['gain']:.3g} (K = {worst['K']}, K* = {worst['K*']}, "
            f"d = {worst['d']}, λ = {worst['λ']:g})")
    short = (f"gain ≤ {threshold:g} at {counts['violations']} of {len(rows)} (point, λ); "
             f"median {float(np.median(gains)):.3g}")
    if status == "conditional":
        return Verdict("conditional", text, evidence, counterexample=counterexample,
                       condition=where["condition"],
                       headline=headline_or(f"gain > {threshold:g} where "
                                            f"{region_terms(where['condition'])}",
                                            f"gain > {threshold:g} in a stated region"))
    return Verdict("fails", text, evidence, counterexample=counterexample,
                   headline=headline(short))


# ------------------------------------------------------------------ predicted vs Monte-Carlo

def gather_monte_carlo(quick: bool) -> dict[str, Any]:
    n_samples = 80_000 if quick else 400_000
    rows = compare_condition_numbers(DEFAULT_GRID, n_samples=n_samples)
    return {"method": rows[0].method, "table": format_table(rows),
            "rows": [row.as_dict() for row in rows], "n_samples": n_samples,
            "seeds": "Monte-Carlo replicates seeds 0..15; configurations seed 0"}


@register(
    id="predicted-kappa-matches-monte-carlo",
    statement="The condition number predicted by the closed-form Jacobian is what an "
              "independent Monte-Carlo estimate of the expected gradient field's Jacobian "
              "measures.",
    source="this toolkit (consistency of theory and numerics)",
    scope="proofs_check.analysis.compare.DEFAULT_GRID (K, K* in {1, 2, 3}, d in {2, 3}), "
          "l2 and h1, expected convention",
    expected="holds", verdicts=("holds", "fails", "inconclusive"), gather=gather_monte_carlo,
)
def check_predicted_vs_measured(evidence: dict[str, Any]) -> Verdict:
    rows = evidence["rows"]
    disagree = [row for row in rows if row["verdict"] == "disagrees"]
    agree = sum(row["verdict"] == "agrees" for row in rows)
    threshold = rows[0]["threshold"] if rows else math.nan
    if disagree:
        return Verdict("fails", f"{len(disagree)} of {len(rows)} rows disagree beyond "
                       f"t·SE (t = {threshold:.2f})", evidence, counterexample=disagree[0],
                       headline=headline(f"{len(disagree)} of {len(rows)} rows disagree beyond "
                                         f"{threshold:.2f}·SE"))
    if agree == 0:
        return Verdict("inconclusive", "no row resolved κ at this sample size", evidence,
                       headline=headline("no row resolved κ at this sample size"))
    return Verdict("holds", f"{agree}/{len(rows)} rows agree within t·SE (t = {threshold:.2f}, "
                   f"jackknife SE over {rows[0]['replicates']} replicates, {evidence['n_samples']} "
                   "samples, "
                   "family-wise false-alarm rate 1%)"
                   + (f" ({len(rows) - agree} inconclusive)" if agree < len(rows) else ""),
                   evidence, headline=headline(f"{agree} of {len(rows)} rows agree within "
                                               f"{threshold:.2f}·SE (Monte-Carlo)"))
