r"""Shared evidence utilities for claim modules (underscore: not loaded as a topic).

Every helper here is a pure function of measured numbers, so a claim's ``decide(evidence)`` can
use it and stay pure. Use them to keep verdicts honest:

* :func:`compare_strict` — a strict inequality ``left < right`` (or ``>``) read with a stated
  relative tolerance: each point is *satisfied*, a *tie* (``|left − right| <= rtol·max(|left|,
  |right|)``; reported separately, never a violation) or a *violation*.
* :func:`failure_condition` — which points fail, described by measured features (counts, K, K*,
  d, relative distance, angles), and the largest computed region where the claim holds strictly
  (e.g. "holds at all 48 points with K < 2"). The text of a conditional verdict's ``condition``
  comes from here, never typed in.
* :func:`location` / :func:`describe_location` — where a configuration lies relative to its
  teacher: per-row angle (degrees) to the matched teacher row and the relative distance
  ‖W − W*_π‖_F/‖W*‖_F (K = K*; permutation π by linear_sum_assignment on squared distances).
  Describe points this way, never as "near the teacher".
* :func:`spread` — min / median / max (and count) of a sample, e.g. κ over ≥ 100 directions.
* :func:`finite_or_none` — a float for JSON, ``None`` for inf/NaN (the report adds the reason).

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


def failure_condition(records: Sequence[Mapping[str, Any]], failed: ArrayLike,
                      satisfied: ArrayLike | None = None, *,
                      features: Mapping[str, Callable] | None = None,
                      min_support: int | None = None, noun: str = "surveyed points"
                      ) -> dict[str, Any]:
    """Describe where a claim fails and compute where it holds, from the records themselves.

    records: one dict per point; failed: boolean mask of violations; satisfied: mask of points
    where the claim holds strictly (default: not failed; pass the complement of failed and ties
    so ties count for neither side). For each feature (default :data:`SURVEY_FEATURES`) the
    failing points span a range; the points strictly below its smallest failing value (or above
    its largest) form a candidate region. A region *supports* a condition when every point in
    it is violated nowhere (ties allowed: they are not violations) and it has at least
    ``min_support`` points where the claim holds strictly (default max(3, 10 % of the records)).

    Returns {"failures": "fails at 3 of 62 surveyed points: K ∈ {2, 3}, d ∈ [2, 5], ...",
    "n_failed", "n_points", "ranges": {label: [min, max]}, "regions": [{"feature", "side",
    "threshold", "points", "text"}...], "condition": text of the best region (most points) or
    None}.
    """
    features = dict(SURVEY_FEATURES if features is None else features)
    failed = np.asarray(failed, dtype=bool)
    if failed.shape != (len(records),):
        raise ValueError(f"failed must be a boolean mask of length {len(records)}")
    satisfied = ~failed if satisfied is None else np.asarray(satisfied, dtype=bool)
    support = max(3, math.ceil(0.1 * len(records))) if min_support is None else min_support
    n_failed, n = int(failed.sum()), len(records)
    parts, ranges, regions = [], {}, []
    for label, read in features.items():
        raw = [read(r) for r in records]
        known = np.array([v is not None for v in raw])
        if not known.any():
            continue
        values = np.array([np.nan if v is None else float(v) for v in raw])
        fail_values = values[failed & known]
        if fail_values.size == 0:
            continue
        ranges[label] = [float(fail_values.min()), float(fail_values.max())]
        parts.append(_describe_values(label, fail_values))
        for side, mask, threshold in (
                ("below", known & (values < fail_values.min()), fail_values.min()),
                ("above", known & (values > fail_values.max()), fail_values.max())):
            count, strict = int(mask.sum()), int((mask & satisfied).sum())
            if strict >= support and not bool((mask & failed).any()):
                relation = "<" if side == "below" else ">"
                ties = count - strict
                regions.append({"feature": label, "side": side, "threshold": float(threshold),
                                "points": count, "strict": strict,
                                "text": f"{label} {relation} {_fmt(threshold)} (holds strictly "
                                        f"at {strict} of the {count} {noun} there"
                                        + (f", {ties} ties)" if ties else ", no tie)")})
    regions.sort(key=lambda region: -region["strict"])
    text = f"fails at {n_failed} of {n} {noun}"
    if parts:
        text += ": " + ", ".join(parts)
    return {"failures": text, "n_failed": n_failed, "n_points": n, "ranges": ranges,
            "regions": regions, "min_support": support,
            "condition": regions[0]["text"] if regions else None}
