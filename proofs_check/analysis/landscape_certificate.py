r"""Computer-assisted proofs about points of the relu student-teacher landscape.

Setting: relu student W ∈ R^{K×d}, orthonormal teacher W* = I_d, x ~ N(0, I_d) (Safran &
Shamir's hard case K = K* = d = k, and their over-parameterised K = k + 1 > K* = d = k); L the
l2 population loss, J the Sobolev loss, λ = 1 by
default; fields and Jacobians as in :mod:`proofs_check.analysis.enclosures`. Every statement is
proved on an explicit box B = W̃ + [−r, r]^{K×d} around a floating-point point W̃ (first
polished by Newton's method in float64 on the same field) with python-flint's Arb ball
arithmetic:

**Spurious l2 minimum** (:func:`certify_l2_minimum`). If (i) the Krawczyk test proves a unique
zero W° of ∇L in B (:mod:`proofs_check.analysis.krawczyk`), (ii) every symmetric matrix in the
enclosure of the Hessian ∇²L(B) is positive definite, and (iii) the enclosure of L(B) lies above
1e-3 (the loss of a global minimum is 0), then W° is a strict local minimum of L with
L(W°) ≥ 1e-3 — a spurious local minimum (Safran & Shamir 2018 proved such minima for 6 ≤ k ≤ 20
by interval arithmetic). (ii) fails the other way when a float vector v gives an enclosure of
vᵀ∇²L(B)v below 0: then W° is not a local minimum (certified; the result "fails").

**Stable equilibrium of the expected h1 field** (:func:`certify_h1_equilibrium`). The expected
field F_h1 = E_x ∇_W ℓ_h1 (what SGD on the Sobolev loss follows) is not a gradient and its
Jacobian J is not symmetric. If (i) Krawczyk proves a unique zero W° of F_h1 in B, (ii) for a
symmetric float matrix P (P ≈ the solution of JᵀP + PJ = 2I at the midpoint), P ≻ 0 and every
symmetric matrix in the enclosure of J(B)ᵀP + PJ(B) is positive definite (a Lyapunov
certificate: for Jv = μv, 2 Re μ · v*Pv = v*(JᵀP + PJ)v > 0), and (iii) the enclosure of the
l2 loss on B lies above 1e-3, then W° is a linearly stable equilibrium of dW/dt = −F_h1 at
positive l2 loss; every eigenvalue of J(W°) has Re μ ≥ λ_min(JᵀP + PJ)/(2 λ_max(P)).

**The h1 trap is not an h1 critical point** (:func:`certify_field_excludes_zero`): an enclosure
of the exact gradient ∇(L + λJ) on the equilibrium's box with a component whose ball excludes 0
⇒ L + λJ has no critical point in B; and an enclosure of F_h1 on the l2 minimum's box that
excludes 0 ⇒ the l2 minimum is not an h1 equilibrium.

Positive definiteness of a ball matrix (:func:`certify_positive_definite`): with V the float
eigenvectors of the symmetrised midpoint, D = VᵀH V is enclosed in Arb; if every Gershgorin
row bound D_ii − Σ_{j≠i}|D_ij| is > 0 and VᵀV is positive definite by the same test, every
symmetric H in the ball is positive definite (Sylvester's law of inertia), and
λ_min(H) ≥ min_i(D_ii − Σ|D_ij|) / λ_max(VᵀV).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import numpy as np
import scipy.linalg
from flint import arb, arb_mat
from numpy.typing import ArrayLike, NDArray

import theory
from proofs_check.analysis.enclosures import (
    DEFAULT_PREC,
    DegenerateBoxError,
    field_enclosure,
    loss_enclosure,
    midpoints,
    working_precision,
)
from proofs_check.analysis.krawczyk import DEFAULT_RADII, certify_zero

#: A point counts as spurious when its l2 loss is certified above this (Safran & Shamir's
#: "bad minimum" threshold; a global minimum has loss 0).
SPURIOUS_LOSS = 1e-3

ARITHMETIC = "python-flint (FLINT/Arb) ball arithmetic"

#: Statuses of a certificate: proved (every part certified), fails (the opposite certified: a
#: saddle, an unstable point or a loss below the threshold), inconclusive (not decided).
STATUSES = ("proved", "fails", "inconclusive")


# --------------------------------------------------------------------------- type tests

@dataclass(frozen=True)
class DefinitenessResult:
    """proved: every symmetric matrix in the ball is positive definite; lower_bound: a
    certified lower bound of their λ_min (None unless proved); min_pivot: the smallest
    Gershgorin row bound min_i(D_ii − Σ_{j≠i}|D_ij|) of D = VᵀHV (a float rounded down);
    negative_direction: when not proved, a float vector v with vᵀHv certified < 0 for every
    matrix of the ball, if one was found."""

    proved: bool
    lower_bound: float | None
    min_pivot: float
    negative_direction: NDArray[np.float64] | None


def _float_matrix(values: NDArray[np.float64]) -> arb_mat:
    return arb_mat([[arb(float(v)) for v in row] for row in values])


def _gershgorin_rows(D: arb_mat) -> list[arb]:
    """D_ii − Σ_{j≠i} |D_ij| as balls (their lower ends bound the symmetric members' λ_min)."""
    rows = D.tolist()
    out = []
    for i, row in enumerate(rows):
        off = sum((abs(v) for j, v in enumerate(row) if j != i), arb(0))
        out.append(row[i] - off)
    return out


def _gershgorin_upper(D: arb_mat) -> arb:
    rows = D.tolist()
    return max((sum((abs(v) for v in row), arb(0)) for row in rows), key=lambda b: b.upper())


def certify_positive_definite(H: arb_mat, prec: int = DEFAULT_PREC) -> DefinitenessResult:
    """Is every symmetric matrix in the ball matrix H positive definite (module docstring)?"""
    with working_precision(prec):
        mid = midpoints(H)
        sym = (mid + mid.T) / 2
        values, vectors = np.linalg.eigh(sym)
        V = _float_matrix(vectors)
        D = V.transpose() * H * V
        rows = _gershgorin_rows(D)
        min_pivot = min(down(r) for r in rows)
        negative = None
        if values[0] < 0:
            v = _float_matrix(vectors[:, :1])
            quad = (v.transpose() * H * v)[0, 0]
            if quad < 0:
                negative = vectors[:, 0].copy()
        if not all(r > 0 for r in rows):
            return DefinitenessResult(False, None, min_pivot, negative)
        gram = V.transpose() * V
        if not all(r > 0 for r in _gershgorin_rows(gram)):
            return DefinitenessResult(False, None, min_pivot, negative)
        pivot = min(rows, key=lambda r: r.lower())
        bound = arb(pivot.lower()) / _gershgorin_upper(gram)
        return DefinitenessResult(True, down(bound), min_pivot, None)


@dataclass(frozen=True)
class LyapunovResult:
    """proved: P ≻ 0 and every symmetric matrix of J(B)ᵀP + PJ(B) ≻ 0; margin: certified lower
    bound of λ_min(JᵀP + PJ) over the enclosure; real_part_bound: certified lower bound of
    Re μ over the eigenvalues μ of every J in the enclosure (margin / (2 λ_max(P)))."""

    proved: bool
    margin: float | None
    real_part_bound: float | None
    min_pivot: float
    reason: str


def certify_lyapunov(J: arb_mat, prec: int = DEFAULT_PREC) -> LyapunovResult:
    """Lyapunov certificate that every eigenvalue of every matrix in J has Re > 0."""
    with working_precision(prec):
        mid = midpoints(J)
        n = mid.shape[0]
        try:
            P = scipy.linalg.solve_continuous_lyapunov(mid.T, 2.0 * np.eye(n))
        except (np.linalg.LinAlgError, ValueError) as error:
            return LyapunovResult(False, None, None, -math.inf,
                                  f"the Lyapunov equation has no float solution ({error})")
        P = (P + P.T) / 2
        if not np.all(np.isfinite(P)):
            return LyapunovResult(False, None, None, -math.inf,
                                  "the float Lyapunov solution is not finite")
        P_ball = _float_matrix(P)
        p_test = certify_positive_definite(P_ball, prec)
        if not p_test.proved:
            return LyapunovResult(False, None, None, p_test.min_pivot,
                                  "P is not certified positive definite (the midpoint Jacobian "
                                  "has an eigenvalue with real part <= 0, or P is "
                                  "ill-conditioned)")
        T = P_ball * J
        Q = T.transpose() + T
        q_test = certify_positive_definite(Q, prec)
        if not q_test.proved:
            return LyapunovResult(False, None, None, q_test.min_pivot,
                                  "JᵀP + PJ is not certified positive definite on the whole "
                                  "enclosure")
        p_max = _gershgorin_upper(P_ball)
        real_bound = arb(q_test.lower_bound) / (2 * p_max)
        return LyapunovResult(True, q_test.lower_bound, down(real_bound),
                              q_test.min_pivot, "")


# --------------------------------------------------------------------------- certificates

@dataclass(frozen=True)
class LandscapeCertificate:
    """What was proved about one point, on which box.

    kind: "l2-spurious-minimum" or "h1-stable-equilibrium"; status: "proved", "fails" or
    "inconclusive"; statement: the theorem as proved (or what failed); width: k; radius: r of
    the box B = center + [−r, r]^{k×k} (None when no radius proved existence); center: the
    polished float point (k×k); l2_loss: [lower, upper] enclosure of the l2 loss on B;
    margin: certified lower bound of λ_min of the Hessian (l2) or of JᵀP + PJ (h1) on B;
    real_part_bound: h1: certified lower bound of Re μ over the Jacobian's eigenvalues;
    min_pivot: smallest Gershgorin row bound of the type test; min_sin: lower bound of sin θ
    over all pairs on B; contraction: max|K(B) − W̃|/r; newton_residual: ‖F(W̃)‖_F in float64
    after polishing; prec: Arb precision (bits); seconds: wall time; reason: why not proved.
    """

    kind: str
    status: str
    statement: str
    width: int
    radius: float | None
    center: list[list[float]] = field(repr=False)
    l2_loss: list[float] | None
    margin: float | None
    real_part_bound: float | None
    min_pivot: float | None
    min_sin: float | None
    contraction: float | None
    newton_residual: float
    prec: int
    seconds: float
    reason: str
    attempts: list[list[Any]]
    arithmetic: str = ARITHMETIC
    sobolev_weight: float | None = None

    @property
    def proved(self) -> bool:
        return self.status == "proved"

    def as_dict(self, with_center: bool = False) -> dict[str, Any]:
        record = asdict(self)
        if not with_center:
            record.pop("center")
        return record


def newton_polish(W: ArrayLike, loss: str, *, sobolev_weight: float = 1.0,
                  max_steps: int = 8) -> tuple[NDArray[np.float64], float]:
    """Newton's method in float64 on the population field (l2, or the expected h1 field) with
    teacher I_d; stops when ‖F‖_F stops decreasing. Returns (point, ‖F‖_F there)."""
    W = np.array(W, dtype=float)
    if W.ndim != 2 or W.shape[0] < 1 or W.shape[1] < 2:
        raise ValueError(f"W must be a K×d matrix of student rows (teacher I_d); got shape "
                         f"{W.shape}")
    teacher = np.eye(W.shape[1])

    def field_of(X: NDArray) -> NDArray:
        return theory.population_gradient(X, teacher, loss, convention="expected",
                                          sobolev_weight=sobolev_weight)

    F = field_of(W)
    norm = float(np.linalg.norm(F))
    for _ in range(max_steps):
        try:
            H = theory.population_hessian(W, teacher, loss, convention="expected",
                                          sobolev_weight=sobolev_weight)
            step = np.linalg.solve(H, F.ravel()).reshape(W.shape)
        except (np.linalg.LinAlgError, theory.NonDifferentiableError):
            break
        candidate = W - step
        F_new = field_of(candidate)
        new_norm = float(np.linalg.norm(F_new))
        if not new_norm < norm:
            break
        W, F, norm = candidate, F_new, new_norm
    return W, norm


def _directed_text(x: float, digits: int, rounding: str) -> str:
    value = Decimal(x)
    if not value.is_finite():
        raise ValueError(f"cannot print a bound that is not finite: {x!r}")
    if value == 0:
        return "0"
    quantum = Decimal(1).scaleb(value.adjusted() - digits + 1)
    text = format(value.quantize(quantum, rounding=rounding), "e" if abs(value.adjusted()) >= 5
                  else "f")
    if "e" not in text and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def lower_text(x: float, digits: int = 3) -> str:
    """x printed with ``digits`` significant digits rounded toward −∞ (a printed lower bound
    stays a lower bound)."""
    return _directed_text(x, digits, ROUND_FLOOR)


def upper_text(x: float, digits: int = 3) -> str:
    """x printed with ``digits`` significant digits rounded toward +∞."""
    return _directed_text(x, digits, ROUND_CEILING)


def down(ball: arb) -> float:
    """A float <= every point of the ball (its lower end, rounded down)."""
    return math.nextafter(float(ball.lower()), -math.inf)


def up(ball: arb) -> float:
    """A float >= every point of the ball (its upper end, rounded up)."""
    return math.nextafter(float(ball.upper()), math.inf)


def _interval(ball: arb) -> list[float]:
    return [down(ball), up(ball)]


def certify_l2_minimum(W: ArrayLike, *, radii: Sequence[float] = DEFAULT_RADII,
                       prec: int = DEFAULT_PREC, threshold: float = SPURIOUS_LOSS
                       ) -> LandscapeCertificate:
    """Prove that the l2 field has a unique zero near W that is a spurious strict local minimum
    (module docstring), or say what was not proved ("inconclusive") or what was proved
    against it ("fails": a certified saddle or a certified loss below ``threshold``)."""
    start = time.perf_counter()
    center, residual = newton_polish(W, "l2")
    k, d = center.shape
    zero = certify_zero(center, "l2", radii=radii, prec=prec, teacher_width=d)
    attempts = [list(a) for a in zero.attempts]
    common = dict(width=k, center=center.tolist(), newton_residual=residual, prec=prec,
                  attempts=attempts)
    if not zero.result.proved:
        return LandscapeCertificate(
            "l2-spurious-minimum", "inconclusive",
            "no box around the point was proved to contain a critical point of L",
            radius=None, l2_loss=None, margin=None, real_part_bound=None, min_pivot=None,
            min_sin=None, contraction=zero.result.contraction,
            seconds=time.perf_counter() - start, reason=zero.result.reason, **common)
    r = zero.result.radius
    loss = loss_enclosure(center, r, "l2", prec=prec, teacher_width=d)
    definite = certify_positive_definite(zero.jacobian, prec)
    box = f"B = W̃ + [−{r:g}, {r:g}]^({k}×{d})"
    base = dict(radius=r, l2_loss=_interval(loss), min_sin=zero.min_sin,
                contraction=zero.result.contraction, real_part_bound=None,
                min_pivot=definite.min_pivot, **common)
    if definite.negative_direction is not None:
        status, statement, reason = (
            "fails", f"∇L has a unique zero in {box}, and it is not a local minimum (a saddle "
            "or a maximum): a direction v has vᵀ∇²L v < 0 on all of B",
            "the Hessian has certified negative curvature")
    elif not definite.proved:
        status, statement, reason = (
            "inconclusive", f"∇L has a unique zero in {box}; its type was not decided",
            "the Hessian enclosure was not certified positive definite")
    elif loss.upper() < threshold:
        status, statement, reason = (
            "fails", f"∇L has a unique zero in {box}, a strict local minimum with loss below "
            f"{threshold:g} (not spurious)", f"loss enclosure below {threshold:g}")
    elif loss > threshold:
        status, statement, reason = (
            "proved", f"L has exactly one critical point in {box}; it is a strict local "
            f"minimum (λ_min(∇²L) >= {lower_text(definite.lower_bound, 4)} on B) with "
            f"L in [{lower_text(down(loss), 16)}, {upper_text(up(loss), 16)}] >= {threshold:g}: "
            "a spurious local minimum", "")
    else:
        status, statement, reason = (
            "inconclusive", f"∇L has a unique zero in {box}, a strict local minimum whose loss "
            f"enclosure contains {threshold:g}", "loss enclosure straddles the threshold")
    return LandscapeCertificate("l2-spurious-minimum", status, statement, margin=(
        definite.lower_bound), seconds=time.perf_counter() - start, reason=reason, **base)


def certify_h1_equilibrium(W: ArrayLike, *, sobolev_weight: float = 1.0,
                           radii: Sequence[float] = DEFAULT_RADII, prec: int = DEFAULT_PREC,
                           threshold: float = SPURIOUS_LOSS) -> LandscapeCertificate:
    """Prove that the expected h1 field has a unique zero near W that is a linearly stable
    equilibrium of dW/dt = −F_h1 at l2 loss above ``threshold`` (module docstring)."""
    start = time.perf_counter()
    center, residual = newton_polish(W, "h1", sobolev_weight=sobolev_weight)
    k, d = center.shape
    zero = certify_zero(center, "h1", convention="expected", sobolev_weight=sobolev_weight,
                        radii=radii, prec=prec, teacher_width=d)
    common = dict(width=k, center=center.tolist(), newton_residual=residual, prec=prec,
                  attempts=[list(a) for a in zero.attempts], sobolev_weight=sobolev_weight)
    if not zero.result.proved:
        return LandscapeCertificate(
            "h1-stable-equilibrium", "inconclusive",
            "no box around the point was proved to contain a zero of the expected h1 field",
            radius=None, l2_loss=None, margin=None, real_part_bound=None, min_pivot=None,
            min_sin=None, contraction=zero.result.contraction,
            seconds=time.perf_counter() - start, reason=zero.result.reason, **common)
    r = zero.result.radius
    loss = loss_enclosure(center, r, "l2", prec=prec, teacher_width=d)
    lyapunov = certify_lyapunov(zero.jacobian, prec)
    box = f"B = W̃ + [−{r:g}, {r:g}]^({k}×{d})"
    base = dict(radius=r, l2_loss=_interval(loss), min_sin=zero.min_sin,
                contraction=zero.result.contraction, min_pivot=lyapunov.min_pivot, **common)
    if not lyapunov.proved:
        status, statement, reason = (
            "inconclusive", f"the expected h1 field has a unique zero in {box}; its stability "
            "was not decided", lyapunov.reason)
    elif loss.upper() < threshold:
        status, statement, reason = (
            "fails", f"the expected h1 field has a unique, linearly stable zero in {box} with "
            f"l2 loss below {threshold:g} (not a spurious trap)",
            f"l2 loss enclosure below {threshold:g}")
    elif loss > threshold:
        status, statement, reason = (
            "proved", f"the expected h1 field (λ = {sobolev_weight:g}) has exactly one zero in "
            f"{box}; it is a linearly stable equilibrium of dW/dt = −F_h1 (every Jacobian "
            f"eigenvalue has Re >= {lower_text(lyapunov.real_part_bound, 4)}, Lyapunov "
            "certificate) at "
            f"l2 loss in [{lower_text(down(loss), 16)}, {upper_text(up(loss), 16)}] >= "
            f"{threshold:g}", "")
    else:
        status, statement, reason = (
            "inconclusive", f"the expected h1 field has a unique stable zero in {box} whose "
            f"l2 loss enclosure contains {threshold:g}", "loss straddles the threshold")
    return LandscapeCertificate("h1-stable-equilibrium", status, statement,
                                margin=lyapunov.margin,
                                real_part_bound=lyapunov.real_part_bound,
                                seconds=time.perf_counter() - start, reason=reason, **base)


@dataclass(frozen=True)
class ExclusionCertificate:
    """Whether an enclosure of a field on a box excludes 0.

    excluded: some component's ball excludes 0 (so the field has no zero on the box);
    norm_lower: certified lower bound of ‖F‖_F on the box; component: (i, a) of the largest
    certified |F_ia| lower bound; loss, convention: the field; radius: r of the box."""

    excluded: bool
    norm_lower: float
    component: tuple[int, int] | None
    loss: str
    convention: str
    radius: float
    prec: int
    seconds: float
    reason: str

    def as_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["component"] = list(self.component) if self.component else None
        return record


def certify_field_excludes_zero(center: ArrayLike, radius: float, loss: str, *,
                                convention: str = "expected", sobolev_weight: float = 1.0,
                                prec: int = DEFAULT_PREC) -> ExclusionCertificate:
    """Enclose the field on center + [−radius, radius]^{K×d} and test whether it excludes 0."""
    start = time.perf_counter()
    try:
        with working_precision(prec):
            F = field_enclosure(center, radius, loss, convention=convention,
                                sobolev_weight=sobolev_weight,
                                teacher_width=np.asarray(center).shape[1], prec=prec)
            lowers = [[max(down(abs(v)), 0.0) for v in row] for row in F.tolist()]
    except DegenerateBoxError as error:
        return ExclusionCertificate(False, 0.0, None, loss, convention, float(radius), prec,
                                    time.perf_counter() - start, str(error))
    best = max(((i, a) for i, row in enumerate(lowers) for a in range(len(row))),
               key=lambda ia: lowers[ia[0]][ia[1]])
    norm_lower = down(sum((arb(v) * arb(v) for row in lowers for v in row), arb(0)).sqrt())
    excluded = lowers[best[0]][best[1]] > 0
    reason = "" if excluded else "every component's enclosure contains 0"
    return ExclusionCertificate(excluded, norm_lower, best if excluded else None, loss,
                                convention, float(radius), prec, time.perf_counter() - start,
                                reason)


@dataclass(frozen=True)
class WidthCertificates:
    """The three statements at one width k, from a spurious l2 minimum W_l2 and the h1
    equilibrium W_h1 near it.

    l2: the spurious-minimum certificate; h1: the stable-equilibrium certificate;
    exact_at_h1: ∇(L + λJ) enclosed on h1's box (None when h1 proved no box); h1_at_l2: F_h1
    enclosed on l2's box (None when l2 proved no box); exact_zero_at_h1, h1_zero_at_l2: when an
    exclusion failed, the Krawczyk search for a zero of that field there (a proved zero
    refutes the statement); seconds: total wall time."""

    width: int
    l2: LandscapeCertificate
    h1: LandscapeCertificate
    exact_at_h1: ExclusionCertificate | None
    h1_at_l2: ExclusionCertificate | None
    exact_zero_at_h1: dict[str, Any] | None
    h1_zero_at_l2: dict[str, Any] | None
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {"k": self.width, "l2": self.l2.as_dict(), "h1": self.h1.as_dict(),
                "exact_h1_gradient_at_h1_equilibrium": (
                    self.exact_at_h1.as_dict() if self.exact_at_h1 else None),
                "h1_field_at_l2_minimum": self.h1_at_l2.as_dict() if self.h1_at_l2 else None,
                "exact_zero_at_h1_equilibrium": self.exact_zero_at_h1,
                "h1_zero_at_l2_minimum": self.h1_zero_at_l2, "seconds": self.seconds}


def _zero_search(center, loss: str, convention: str, sobolev_weight: float, radius: float,
                 prec: int) -> dict[str, Any]:
    center = np.asarray(center)
    zero = certify_zero(center, loss, convention=convention, sobolev_weight=sobolev_weight,
                        radii=(radius,), prec=prec, teacher_width=center.shape[1])
    return {"proved": zero.result.proved, "radius": radius, "reason": zero.result.reason,
            "field": f"{loss} ({convention})"}


def certify_width(W_l2: ArrayLike, W_h1: ArrayLike, *, sobolev_weight: float = 1.0,
                  radii: Sequence[float] = DEFAULT_RADII, prec: int = DEFAULT_PREC
                  ) -> WidthCertificates:
    """All three statements of the module docstring at one width."""
    start = time.perf_counter()
    l2 = certify_l2_minimum(W_l2, radii=radii, prec=prec)
    h1 = certify_h1_equilibrium(W_h1, sobolev_weight=sobolev_weight, radii=radii, prec=prec)
    exact_at_h1 = h1_at_l2 = exact_zero = h1_zero = None
    if h1.radius is not None:
        exact_at_h1 = certify_field_excludes_zero(h1.center, h1.radius, "h1",
                                                  convention="exact",
                                                  sobolev_weight=sobolev_weight, prec=prec)
        if not exact_at_h1.excluded:
            exact_zero = _zero_search(h1.center, "h1", "exact", sobolev_weight, h1.radius,
                                      prec)
    if l2.radius is not None:
        h1_at_l2 = certify_field_excludes_zero(l2.center, l2.radius, "h1",
                                               sobolev_weight=sobolev_weight, prec=prec)
        if not h1_at_l2.excluded:
            h1_zero = _zero_search(l2.center, "h1", "expected", sobolev_weight, l2.radius, prec)
    return WidthCertificates(l2.width, l2, h1, exact_at_h1, h1_at_l2, exact_zero, h1_zero,
                             time.perf_counter() - start)
