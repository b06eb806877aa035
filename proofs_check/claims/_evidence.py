r"""The verdict rule every claim follows, and the evidence helpers its ``decide`` uses.

The rule (one for every claim; ``docs/verdicts.md`` explains it with examples). A claim is an
inequality or a property checked at surveyed points; each point is *satisfied* (holds
strictly), a *tie* (equal within a stated tolerance: not a violation, but not strict either)
or a *violation*. Then (:func:`rule_status`):

* **holds** — no violation, and at least one satisfied point;
* **conditional** — violations, and a *region*, stated in the claim's own terms (its
  parameters: K, d, row norm, activation, convention, ...) and computed from the evidence,
  inside which the claim holds strictly at every surveyed point (no violation, no tie), with
  the violations outside it. A region says where the evidence holds; where it fails goes in the
  summary, never in the condition (:func:`condition_describes_failures` guards the text);
* **fails** — violations (a counterexample is attached) and no such region;
* **inconclusive** — no violation and no satisfied point (nothing comparable, ties only, or a
  statistical test that decides neither way).

A statistical claim (a test over seeds, per activation or per width) reads "satisfied" as "the
test rejects in the claim's favour at the stated level" and "violation" as "rejects against
it"; a point where the test decides neither way is *undecided*: not a violation, but "holds"
needs every point decided in the claim's favour, so undecided points leave the verdict
conditional (region: the points decided in favour) or, with none in favour, inconclusive.
Proof-based claims add **proved** for a certificate on a stated box.

A threshold in a region is either *located* — bracketed by :func:`bisect_threshold` between the
last holding and the first failing value of the one parameter that decides — or labelled as a
*surveyed grid value*, with what the next surveyed value showed (:func:`find_region` does this).

Helpers (pure functions of measured numbers, so ``decide(evidence)`` stays pure):

* :func:`compare_strict` — a strict inequality ``left < right`` (or ``>``) read with a stated
  relative tolerance: each point is *satisfied*, a *tie* (``|left − right| <= rtol·max(|left|,
  |right|)``; reported separately, never a violation) or a *violation*.
* :func:`find_region` / :func:`failure_condition` — the region where the claim holds strictly
  (conjunctions of at most two constraints on the records' features, grid edges labelled) and,
  for the summary, the ranges of the failing points.
* :func:`location` / :func:`describe_location` — where a configuration lies relative to its
  teacher: per-row angle (degrees) to the matched teacher row and the relative distance
  ‖W − W*_π‖_F/‖W*‖_F (K = K*; permutation π by linear_sum_assignment on squared distances).
  Describe points this way, never as "near the teacher".
* :func:`spread` — min / median / max (and count) of a sample, e.g. κ over ≥ 100 directions.
* :func:`finite_or_none` — a float for JSON, ``None`` for inf/NaN (the report adds the reason).
* :func:`headline` — the verdict's short clause for the terminal table (≤ 80 characters, no
  Python reprs), built from the evidence.

Records are plain dicts (JSON-ready); features are read from them by key.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import linear_sum_assignment

#: Default relative tolerance of strict comparisons: differences below it are ties (rounding
#: in float64 eigenvalue computations is ~1e-12 relative; 1e-9 leaves a wide margin).
RTOL = 1e-9

SATISFIED, TIE, VIOLATION = "satisfied", "tie", "violation"


@dataclass(frozen=True)
class StrictComparison:
    """Outcome of ``left REL right`` per point (REL is "<" or ">"), with ties separated.

    outcome: array of "satisfied" / "tie" / "violation"; rtol: the tolerance used.
    """

    outcome: np.ndarray
    relation: str
    rtol: float

    @property
    def satisfied(self) -> np.ndarray:
        return self.outcome == SATISFIED

    @property
    def ties(self) -> np.ndarray:
        return self.outcome == TIE

    @property
    def violations(self) -> np.ndarray:
        return self.outcome == VIOLATION

    def counts(self) -> dict[str, int]:
        return {"points": int(self.outcome.size), "satisfied": int(self.satisfied.sum()),
                "ties": int(self.ties.sum()), "violations": int(self.violations.sum()),
                "relation": self.relation, "rtol": self.rtol,
                "tie_rule": f"|left − right| <= {self.rtol:g}·max(|left|, |right|)"}


def compare_strict(left: ArrayLike, right: ArrayLike, relation: str = "<", *,
                   rtol: float | ArrayLike = RTOL) -> StrictComparison:
    """Classify ``left REL right`` elementwise with relative tolerance ``rtol``.

    rtol may be an array (one tolerance per point, e.g. larger for one-sided limits taken at a
    finite offset); ``counts()`` then reports the largest.

    A point is a tie when both sides are finite and |left − right| <= rtol·max(|left|, |right|),
    or when they are equal (two equal infinities tie; a finite value and an infinity never do);
    otherwise satisfied when the strict relation holds, a violation when it does not.
    NaN on either side is a violation (it cannot satisfy the claim).
    """
    if relation not in ("<", ">"):
        raise ValueError(f"relation must be '<' or '>'; got {relation!r}")
    tolerance = np.asarray(rtol, dtype=float)
    if not (np.all(np.isfinite(tolerance)) and np.all(tolerance >= 0)):
        raise ValueError(f"rtol must be finite and >= 0; got {rtol!r}")
    a = np.atleast_1d(np.asarray(left, dtype=float))
    b = np.atleast_1d(np.asarray(right, dtype=float))
    a, b, tolerance = np.broadcast_arrays(a, b, tolerance)
    with np.errstate(invalid="ignore"):
        scale = np.maximum(np.abs(a), np.abs(b))
        close = np.isfinite(a) & np.isfinite(b) & (np.abs(a - b) <= tolerance * scale)
        tie = (a == b) | close
        strict = (a < b) if relation == "<" else (a > b)
    outcome = np.where(tie, TIE, np.where(strict, SATISFIED, VIOLATION))
    outcome = np.where(np.isnan(a) | np.isnan(b), VIOLATION, outcome)
    return StrictComparison(outcome, relation, float(tolerance.max(initial=0.0)))


def spread(values: ArrayLike) -> dict[str, Any]:
    """{"count", "min", "median", "max"} of the finite values, plus how many were not finite."""
    array = np.asarray(values, dtype=float).ravel()
    finite = array[np.isfinite(array)]
    out: dict[str, Any] = {"count": int(array.size), "non_finite": int(array.size - finite.size)}
    if finite.size:
        out.update(min=float(finite.min()), median=float(np.median(finite)),
                   max=float(finite.max()))
    else:
        out.update(min=None, median=None, max=None)
    return out


def finite_or_none(value: float) -> float | None:
    """float(value) if finite, else None (the JSON writer records the reason)."""
    value = float(value)
    return value if math.isfinite(value) else None


# ------------------------------------------------------------------------------ locations

def _angles_deg(W: np.ndarray, W_star: np.ndarray) -> np.ndarray:
    """(K, K*) angles in degrees between student and teacher rows (stable atan2 form)."""
    a = W / np.linalg.norm(W, axis=1, keepdims=True)
    b = W_star / np.linalg.norm(W_star, axis=1, keepdims=True)
    diff = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)
    summ = np.linalg.norm(a[:, None, :] + b[None, :, :], axis=-1)
    return np.degrees(2 * np.arctan2(diff, summ))


def location(W: ArrayLike, W_star: ArrayLike) -> dict[str, Any]:
    """Where W lies relative to W*, in measured quantities.

    K = K*: rows matched by the permutation π minimising ‖W − W*_π‖_F; returns
    ``relative_distance`` = ‖W − W*_π‖_F/‖W*‖_F and ``row_angles_deg`` (angle of each student row
    to its matched teacher row). K ≠ K*: each student row's angle to its nearest teacher row
    (``matched`` says which) and ``relative_distance`` None (no matching exists).
    """
    W = np.atleast_2d(np.asarray(W, dtype=float))
    W_star = np.atleast_2d(np.asarray(W_star, dtype=float))
    angles = _angles_deg(W, W_star)
    if W.shape[0] == W_star.shape[0]:
        cost = ((W[:, None, :] - W_star[None, :, :]) ** 2).sum(axis=-1)
        rows, cols = linear_sum_assignment(cost)
        distance = float(np.linalg.norm(W[rows] - W_star[cols]) / np.linalg.norm(W_star))
        return {"relative_distance": distance,
                "row_angles_deg": [float(angles[r, c]) for r, c in zip(rows, cols, strict=True)],
                "matched": [int(c) for c in cols], "matching": "permutation (K = K*)"}
    nearest = angles.argmin(axis=1)
    return {"relative_distance": None,
            "row_angles_deg": [float(angles[i, j]) for i, j in enumerate(nearest)],
            "matched": [int(j) for j in nearest],
            "matching": "nearest teacher row by angle (K ≠ K*: no permutation)"}


def describe_location(where: Mapping[str, Any]) -> str:
    """One phrase from :func:`location`: relative distance and per-row angles."""
    angles = ", ".join(f"{a:.3g}°" for a in where["row_angles_deg"])
    if where.get("relative_distance") is None:
        return f"row angles to the nearest teacher rows {angles} (K ≠ K*)"
    return (f"relative distance ‖W − W*‖/‖W*‖ = {where['relative_distance']:.3g}, row angles "
            f"to the matched teacher rows {angles}")


# --------------------------------------------------------------------- failure conditions

#: Features describing survey records: label -> how to read it from a record.
SURVEY_FEATURES: dict[str, Callable[[Mapping[str, Any]], float | None]] = {
    "K": lambda r: r.get("K"),
    "K*": lambda r: r.get("K*"),
    "d": lambda r: r.get("d"),
    "relative distance": lambda r: r.get("relative_distance"),
    "largest row angle (°)": lambda r: (max(r["row_angles_deg"]) if r.get("row_angles_deg")
                                        else None),
}


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.3g}"


def _describe_values(label: str, values: np.ndarray) -> str:
    distinct = np.unique(values)
    if distinct.size == 1:
        return f"{label} = {_fmt(distinct[0])}"
    if distinct.size <= 4 and all(float(v).is_integer() for v in distinct):
        return f"{label} ∈ {{{', '.join(_fmt(v) for v in distinct)}}}"
    return f"{label} ∈ [{_fmt(distinct.min())}, {_fmt(distinct.max())}]"


def _read(records: Sequence[Mapping[str, Any]], read: Callable) -> list:
    return [read(r) for r in records]


def _numeric_column(raw: list) -> np.ndarray | None:
    """Floats (NaN where unknown) when every known value is a number, else None."""
    known = [v for v in raw if v is not None]
    if not known or not all(isinstance(v, (int, float, np.integer, np.floating))
                            and not isinstance(v, bool) for v in known):
        return None
    return np.array([np.nan if v is None else float(v) for v in raw])


def _edge_note(label: str, values: np.ndarray, threshold: float, side: str,
               violations: np.ndarray, ties: np.ndarray) -> str:
    """What the next surveyed value beyond a grid threshold showed."""
    beyond = values[values > threshold] if side == "below" else values[values < threshold]
    if beyond.size == 0:
        return f"{label} = {_fmt(threshold)} is the last surveyed value"
    nxt = beyond.min() if side == "below" else beyond.max()
    at = values == nxt
    n_bad, n_tie = int((violations & at).sum()), int((ties & at).sum())
    shown = ", ".join(part for part in (f"{n_bad} violation{'s' * (n_bad != 1)}" if n_bad
                                        else "", f"{n_tie} tie{'s' * (n_tie != 1)}" if n_tie
                                        else "") if part) or "no violation (other points)"
    return f"next surveyed {label} = {_fmt(nxt)}: {shown}"


def find_region(records: Sequence[Mapping[str, Any]], satisfied: ArrayLike,
                violations: ArrayLike, *, features: Mapping[str, Callable] | None = None,
                min_support: int | None = None, noun: str = "surveyed points",
                max_terms: int = 2) -> dict[str, Any] | None:
    """The largest region, in the records' own features, where the claim holds strictly at
    every surveyed point (the rule's "conditional" region), or None.

    A region is a conjunction of at most ``max_terms`` constraints, each ``feature <= t`` or
    ``feature >= t`` for a numeric feature (t a surveyed value: the grid edge is labelled with
    what the next surveyed value showed; an integer-valued feature such as K may be bounded on
    both sides, a grid slice) or ``feature ∈ S`` for a categorical one. Every point
    inside must be strictly satisfied (no violation and no tie: a tie is not a violation, but
    the claim does not hold strictly there) and at least ``min_support`` points must lie inside
    (default max(3, 10 % of the records); never fewer than 2: one point is not a region).
    Points whose feature is unknown lie outside. Between regions the one with more points
    wins, then the one with fewer constraints.

    Returns {"text", "constraints": [{"feature", "kind", "value", "edge"}], "points", "strict",
    "threshold_kind": "surveyed grid value"} or None.
    """
    features = dict(SURVEY_FEATURES if features is None else features)
    good = np.asarray(satisfied, dtype=bool)
    bad_mask = np.asarray(violations, dtype=bool)
    if good.shape != (len(records),) or bad_mask.shape != (len(records),):
        raise ValueError(f"satisfied and violations must be boolean masks of length "
                         f"{len(records)}")
    ties = ~good & ~bad_mask
    bad = ~good
    n = len(records)
    support = max(3, math.ceil(0.1 * n)) if min_support is None else max(2, min_support)
    columns: dict[str, tuple[str, np.ndarray]] = {}
    for label, read in features.items():
        raw = _read(records, read)
        numeric = _numeric_column(raw)
        if numeric is not None:
            columns[label] = ("numeric", numeric)
        elif any(v is not None for v in raw):
            columns[label] = ("categorical", np.array(["" if v is None else str(v)
                                                       for v in raw], dtype=object))

    def candidates(label: str, inside: np.ndarray):
        """Constraints on one feature that exclude every bad point of ``inside``."""
        kind, values = columns[label]
        bad_in = bad & inside
        if kind == "categorical":
            allowed = sorted({v for v in values[inside & good] if v}
                             - {v for v in values[bad_in]})
            if allowed:
                yield ({"feature": label, "kind": "in", "value": allowed},
                       np.isin(values, allowed))
            return
        known = ~np.isnan(values)
        if not bad_in.any():
            return
        bad_values = values[bad_in]
        if np.isnan(bad_values).any():
            return
        below = values[known & inside & good & (values < bad_values.min())]
        if below.size:
            t = float(below.max())
            yield ({"feature": label, "kind": "<=", "value": t}, known & (values <= t))
        above = values[known & inside & good & (values > bad_values.max())]
        if above.size:
            t = float(above.min())
            yield ({"feature": label, "kind": ">=", "value": t}, known & (values >= t))

    def integer_valued(label: str) -> bool:
        kind, values = columns[label]
        known = values[~np.isnan(values)] if kind == "numeric" else None
        return known is not None and bool(np.all(known == np.round(known)))

    everywhere = np.ones(n, dtype=bool)
    found = []
    for first, mask in ((c, m) for label in columns for c, m in candidates(label, everywhere)):
        found.append(([(first, mask)], mask))
    if max_terms >= 2:
        for label in columns:
            kind, values = columns[label]
            if kind == "categorical":
                splits = [({"feature": label, "kind": "in", "value": [v]}, values == v)
                          for v in sorted(set(values[good]) - {""})]
            else:
                splits = []
                for t in np.unique(values[~np.isnan(values) & good]):
                    for side in ("<=", ">="):
                        mask = (values <= t) if side == "<=" else (values >= t)
                        splits.append(({"feature": label, "kind": side, "value": float(t)},
                                       mask))
            for first, inside in splits:
                if not (bad & inside).any():
                    continue  # a single constraint: found above
                for other in columns:
                    if other == label and not integer_valued(label):
                        continue  # an integer feature (K, d) may bound itself: a grid slice
                    for second, mask in candidates(other, inside):
                        found.append(([(first, inside), (second, mask)], inside & mask))
    best = None
    for constraints, mask in found:
        strict = int((mask & good).sum())
        if (mask & bad).any() or strict < support:
            continue
        key = (strict, -len(constraints))
        if best is None or key > best[0]:
            best = (key, constraints, mask)
    if best is None:
        return None
    _, pairs, mask = best
    strict = int(mask.sum())
    constraints = []
    for i, (constraint, _) in enumerate(pairs):
        others = np.ones(n, dtype=bool)
        for j, (_, other_mask) in enumerate(pairs):
            if j != i:
                others &= other_mask
        edge = None
        if constraint["kind"] != "in":
            values = columns[constraint["feature"]][1]
            keep = others & ~np.isnan(values)
            edge = _edge_note(constraint["feature"], values[keep], constraint["value"],
                              "below" if constraint["kind"] == "<=" else "above",
                              bad_mask[keep], ties[keep])
            surveyed = columns[constraint["feature"]][1]
            if constraint["value"] in (np.nanmin(surveyed), np.nanmax(surveyed)) and (
                    (constraint["kind"] == "<=") == (constraint["value"] == np.nanmin(surveyed))):
                constraint = constraint | {"kind": "=="}  # the region holds one surveyed value
        constraints.append(constraint | {"edge": edge})
    if len(constraints) == 2 and constraints[0]["feature"] == constraints[1]["feature"]:
        low = max(c["value"] for c in constraints if c["kind"] in (">=", "=="))
        high = min(c["value"] for c in constraints if c["kind"] in ("<=", "=="))
        label = constraints[0]["feature"]
        terms = [f"{label} = {_fmt(low)}" if low == high else
                 f"{_fmt(low)} ≤ {label} ≤ {_fmt(high)}"]
    else:
        terms = [_constraint_text(c) for c in constraints]
    edges = [c["edge"] for c in constraints if c["edge"]]
    text = (" and ".join(terms) + f" (holds strictly at all {strict} {noun} there"
            + (f"; grid values, {'; '.join(edges)}" if edges else "") + ")")
    return {"text": text, "constraints": constraints, "points": strict, "strict": strict,
            "threshold_kind": "surveyed grid value", "min_support": support}


def _constraint_text(constraint: Mapping[str, Any]) -> str:
    if constraint["kind"] == "in":
        values = constraint["value"]
        return (f"{constraint['feature']} = {values[0]}" if len(values) == 1 else
                f"{constraint['feature']} ∈ {{{', '.join(values)}}}")
    relation = {"<=": "≤", ">=": "≥", "==": "="}[constraint["kind"]]
    return f"{constraint['feature']} {relation} {_fmt(constraint['value'])}"


def failure_condition(records: Sequence[Mapping[str, Any]], failed: ArrayLike,
                      satisfied: ArrayLike | None = None, *,
                      features: Mapping[str, Callable] | None = None,
                      min_support: int | None = None, noun: str = "surveyed points"
                      ) -> dict[str, Any]:
    """Where a claim fails (for the summary) and the region where it holds (for the condition).

    records: one dict per point; failed: boolean mask of violations; satisfied: mask of points
    where the claim holds strictly (default: not failed; points in neither are ties). The
    failures are described by the range of each feature over the failing points; the region is
    :func:`find_region`'s (strict at every point inside, no tie, no violation).

    Returns {"failures": "fails at 3 of 62 surveyed points: K ∈ {2, 3}, d ∈ [2, 5], ...",
    "n_failed", "n_points", "ranges": {label: [min, max]}, "regions": [region] or [],
    "min_support", "condition": the region's text or None}.
    """
    features = dict(SURVEY_FEATURES if features is None else features)
    failed = np.asarray(failed, dtype=bool)
    if failed.shape != (len(records),):
        raise ValueError(f"failed must be a boolean mask of length {len(records)}")
    satisfied = ~failed if satisfied is None else np.asarray(satisfied, dtype=bool)
    n_failed, n = int(failed.sum()), len(records)
    parts, ranges = [], {}
    for label, read in features.items():
        numeric = _numeric_column(_read(records, read))
        if numeric is None:
            values = sorted({str(v) for v, f in zip(_read(records, read), failed, strict=True)
                             if f and v is not None})
            if values:
                parts.append(f"{label} ∈ {{{', '.join(values)}}}" if len(values) > 1
                             else f"{label} = {values[0]}")
            continue
        fail_values = numeric[failed & ~np.isnan(numeric)]
        if fail_values.size == 0:
            continue
        ranges[label] = [float(fail_values.min()), float(fail_values.max())]
        parts.append(_describe_values(label, fail_values))
    region = find_region(records, satisfied, failed, features=features,
                         min_support=min_support, noun=noun)
    support = max(3, math.ceil(0.1 * n)) if min_support is None else max(2, min_support)
    text = f"fails at {n_failed} of {n} {noun}"
    if parts:
        text += ": " + ", ".join(parts)
    return {"failures": text, "n_failed": n_failed, "n_points": n, "ranges": ranges,
            "regions": [region] if region else [], "min_support": support,
            "condition": region["text"] if region else None}


# ------------------------------------------------------------------------- the verdict rule

def rule_status(*, satisfied: int, ties: int, violations: int,
                region: Mapping[str, Any] | None = None) -> str:
    """The one verdict rule (module docstring), from counts and the computed region.

    holds: no violation and at least one strict point; inconclusive: no violation and no
    strict point (nothing compared, or ties only); conditional: violations and a region with
    at least one point, every point inside strict; fails: violations and no such region.
    """
    if min(satisfied, ties, violations) < 0:
        raise ValueError("satisfied, ties and violations must be counts >= 0")
    if violations == 0:
        return "holds" if satisfied > 0 else "inconclusive"
    if region is not None and region.get("strict", 0) > 0 and region.get("violations", 0) == 0:
        return "conditional"
    return "fails"


#: Words that describe where a claim fails; a conditional verdict's condition (the region
#: where it holds) must not contain them.
FAILURE_WORDS = ("fails", "violat", "lost", "trapped", "breaks", "counterexample")


def condition_describes_failures(condition: str) -> bool:
    """Whether a condition text speaks of failures (it must state where the claim holds)."""
    head = condition.split("(")[0].lower()
    return any(word in head for word in FAILURE_WORDS)


# -------------------------------------------------------------------- located thresholds

def bisect_threshold(holds: Callable[[float], bool], low: float, high: float, *,
                     rtol: float = 1e-4, max_steps: int = 60) -> dict[str, Any]:
    """Bracket the boundary of a one-parameter claim by bisection.

    holds(low) must be True and holds(high) False (the last holding and first failing surveyed
    values). Returns {"last_holding", "first_failing", "evaluations", "rtol"}: a bracket of
    relative width <= rtol containing a change from holding to failing (the first such change
    found by bisection; other changes between low and high are not excluded). Raises ValueError
    when the ends do not bracket a change.
    """
    if not (math.isfinite(low) and math.isfinite(high) and low != high):
        raise ValueError(f"low and high must be distinct finite numbers; got {low!r}, {high!r}")
    if not holds(low) or holds(high):
        raise ValueError("bisect_threshold needs holds(low) True and holds(high) False")
    evaluations = 2
    for _ in range(max_steps):
        if abs(high - low) <= rtol * max(abs(low), abs(high)):
            break
        middle = 0.5 * (low + high)
        evaluations += 1
        if holds(middle):
            low = middle
        else:
            high = middle
    return {"last_holding": float(low), "first_failing": float(high),
            "evaluations": evaluations, "rtol": rtol,
            "how": "bisection between the last holding and the first failing value"}


# ----------------------------------------------------------------------------- headlines

#: Longest headline (the terminal verdict table's clause).
HEADLINE_WIDTH = 80


def headline(*parts: str) -> str:
    """A verdict's headline: the non-empty parts joined by '; ', checked to be at most
    HEADLINE_WIDTH characters and free of Python reprs (brackets, double quotes, quoted
    strings; set braces and an apostrophe are ordinary notation and allowed)."""
    text = "; ".join(part for part in parts if part)
    if len(text) > HEADLINE_WIDTH:
        raise ValueError(f"headline longer than {HEADLINE_WIDTH} characters: {text!r}")
    if any(char in text for char in '[]"') or text.count("'") > 1:
        raise ValueError(f"headline contains a Python repr character: {text!r}")
    return text


def region_terms(region: Mapping[str, Any] | str) -> str:
    """The constraints of a region (its text without the parenthesised support note)."""
    text = region if isinstance(region, str) else region["text"]
    return text.split(" (holds strictly")[0]


def headline_or(primary: str, fallback: str) -> str:
    """``primary`` when it is a valid headline (see :func:`headline`), else ``fallback``."""
    try:
        return headline(primary)
    except ValueError:
        return headline(fallback)
