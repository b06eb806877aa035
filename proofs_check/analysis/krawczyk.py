r"""Existence and uniqueness of a zero of a field in a box: the Krawczyk test.

For F: R^n → R^n continuously differentiable on the box B = x̃ + [−r, r]^n, let J(B) be an
interval (ball) matrix containing the Jacobian F′(x) for every x ∈ B, and Y any real n×n matrix
(here the floating-point inverse of the midpoint of J(B)). The Krawczyk operator

    K(B) = x̃ − Y F(x̃) + (I − Y J(B)) (B − x̃)

satisfies: if K(B) ⊂ int B, then F has exactly one zero in B (and every matrix of J(B), and Y,
is non-singular). Existence: x ↦ x − Y F(x) maps B into K(B) ⊂ B by the mean-value theorem
(F(x) − F(x̃) = [∫₀¹ F′(x̃ + t(x − x̃)) dt](x − x̃), the integral lying in the convex hull of
J(B)), so Brouwer's theorem gives a fixed point, a zero of F once Y is shown non-singular;
uniqueness: ‖I − Y M‖ < 1 for every M ∈ J(B) in the scaled max norm makes the map a
contraction.

References: R. Krawczyk, "Newton-Algorithmen zur Bestimmung von Nullstellen mit
Fehlerschranken", Computing 4 (1969) 187–201; R. E. Moore, "A test for existence of solutions
to nonlinear systems", SIAM J. Numer. Anal. 14 (1977) 611–615; A. Neumaier, *Interval Methods
for Systems of Equations*, Cambridge University Press (1990), Thm. 5.1.7.

All interval arithmetic is python-flint's Arb ball arithmetic (outward rounding); Y is an exact
matrix of floats, so only F(x̃) and J(B) need to be enclosures.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from flint import arb, arb_mat
from numpy.typing import ArrayLike, NDArray

from proofs_check.analysis.enclosures import (
    DEFAULT_PREC,
    DegenerateBoxError,
    field_and_jacobian,
    field_enclosure,
    midpoints,
    working_precision,
)

#: Radii tried by :func:`radius_search`, in order (the first that proves is kept).
DEFAULT_RADII = (1e-10, 1e-8, 1e-12, 1e-6)


@dataclass(frozen=True)
class KrawczykResult:
    """Outcome of the Krawczyk test on one box.

    proved: K(B) ⊂ int B was certified (a unique zero of F in B). radius: r of the box.
    contraction: an upper bound of max_i (|K(B)_i − x̃_i|)/r (< 1 when proved), or None when no
    enclosure was formed. residual: an upper bound of ‖Y F(x̃)‖_∞ (the Newton step from x̃).
    reason: why it failed ("" when proved). seconds: wall time of the test.
    """

    proved: bool
    radius: float
    contraction: float | None
    residual: float | None
    reason: str
    seconds: float


def krawczyk_test(center: NDArray[np.float64], radius: float,
                  field_at_center: arb_mat, jacobian_on_box: arb_mat) -> KrawczykResult:
    """K(B) ⊂ int B for B = center + [−radius, radius]^n (center and the field flattened in
    the same order). ``field_at_center``: enclosure of F(x̃) (n×1 or any shape with n entries);
    ``jacobian_on_box``: n×n enclosure of F′ on all of B. Works at the current precision."""
    start = time.perf_counter()
    x = np.asarray(center, dtype=float).ravel()
    n = x.size
    if jacobian_on_box.nrows() != n or jacobian_on_box.ncols() != n:
        raise ValueError(f"jacobian_on_box must be {n}×{n}; got "
                         f"{jacobian_on_box.nrows()}×{jacobian_on_box.ncols()}")
    f_entries = [v for row in field_at_center.tolist() for v in row]
    if len(f_entries) != n:
        raise ValueError(f"field_at_center must have {n} entries; got {len(f_entries)}")
    J_mid = midpoints(jacobian_on_box)
    try:
        Y_float = np.linalg.inv(J_mid)
    except np.linalg.LinAlgError:
        return KrawczykResult(False, radius, None, None,
                              "the midpoint Jacobian is singular in floating point",
                              time.perf_counter() - start)
    if not np.all(np.isfinite(Y_float)):
        return KrawczykResult(False, radius, None, None,
                              "the midpoint Jacobian's inverse is not finite",
                              time.perf_counter() - start)
    Y = arb_mat([[arb(float(v)) for v in row] for row in Y_float])
    f = arb_mat([[v] for v in f_entries])
    step = Y * f  # Y F(x̃)
    M = arb_mat([[arb(1) if i == j else arb(0) for j in range(n)] for i in range(n)]) \
        - Y * jacobian_on_box
    box = arb_mat([[arb(0, radius)] for _ in range(n)])  # B − x̃
    deviation = M * box - step  # K(B) − x̃
    worst = max((deviation[i, 0].abs_upper() for i in range(n)), key=float)
    residual = math.nextafter(float(max((step[i, 0].abs_upper() for i in range(n)), key=float)),
                              math.inf)
    contraction = (math.nextafter(float(worst) / radius, math.inf) if radius > 0 else None)
    proved = radius > 0 and bool(worst < arb(radius))
    if proved:
        reason = ""
    elif radius == 0:
        reason = "a box of radius 0 cannot contain K(B) in its interior"
    elif residual >= radius:
        reason = (f"the Newton step from the centre, ‖Y F(x̃)‖ <= {residual:.3g}, is not "
                  f"below the radius {radius:g}: polish the centre or enlarge the box")
    else:
        reason = (f"K(B) is not inside B: max |K(B) − x̃| / r <= {contraction:.3g} "
                  f"(the Jacobian enclosure is too wide on a box of radius {radius:g})")
    return KrawczykResult(proved, radius, contraction, residual, reason,
                          time.perf_counter() - start)


@dataclass(frozen=True)
class ZeroCertificate:
    """A Krawczyk-certified box around a zero of a population field, with the enclosures.

    result: the successful (or last) KrawczykResult; jacobian: the Jacobian enclosure on the box
    (None if the box was refused); min_sin: lower bound of sin θ over all pairs on the box;
    attempts: (radius, reason) of the radii that did not prove.
    """

    result: KrawczykResult
    jacobian: arb_mat | None
    min_sin: float | None
    attempts: tuple[tuple[float, str], ...]


def certify_zero(center: ArrayLike, loss: str, *, convention: str = "expected",
                 sobolev_weight: float = 1.0, radii: Sequence[float] = DEFAULT_RADII,
                 prec: int = DEFAULT_PREC, teacher_width: int | None = None,
                 on_attempt: Callable[[KrawczykResult], None] | None = None
                 ) -> ZeroCertificate:
    """Radius search: the Krawczyk test of the population field ("l2", or "h1" in
    ``convention``) on the boxes center + [−r, r]^{K×d} for r in ``radii`` (teacher: the first
    ``teacher_width`` rows of I_d, default K),
    stopping at the first that proves. A box whose enclosures cannot exclude (anti)parallel
    rows is recorded as an attempt that failed, with the reason."""
    W = np.asarray(center, dtype=float)
    attempts: list[tuple[float, str]] = []
    if not radii:
        raise ValueError("radii must name at least one radius")
    with working_precision(prec):
        f0 = field_enclosure(W, 0.0, loss, convention=convention,
                             sobolev_weight=sobolev_weight, teacher_width=teacher_width,
                             prec=prec)
        last = KrawczykResult(False, float(radii[0]), None, None, "not attempted", 0.0)
        for r in radii:
            try:
                enc = field_and_jacobian(W, r, loss, convention=convention,
                                         sobolev_weight=sobolev_weight,
                                         teacher_width=teacher_width, prec=prec)
            except DegenerateBoxError as error:
                last = KrawczykResult(False, float(r), None, None, str(error), 0.0)
                attempts.append((float(r), str(error)))
                continue
            last = krawczyk_test(W, float(r), f0, enc.jacobian)
            if on_attempt is not None:
                on_attempt(last)
            if last.proved:
                return ZeroCertificate(last, enc.jacobian, enc.min_sin, tuple(attempts))
            attempts.append((float(r), last.reason))
    return ZeroCertificate(last, None, None, tuple(attempts))
