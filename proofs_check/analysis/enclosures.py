r"""Rigorous ball-arithmetic enclosures of the relu population field on a box of weights.

Setting: relu student W ∈ R^{K×d} (rows w_i), teacher W* = the first K* rows of I_d (orthonormal
rows; Safran & Shamir's hard case is K = K* = d = k), x ~ N(0, I_d). For a box

    B = W̃ + [−r, r]^{K×d}

every function here returns a ball (python-flint ``arb``; a matrix of balls, ``arb_mat``) that
contains the value of the closed form at **every** point of B: FLINT/Arb's ball arithmetic
rounds outward at every operation, so the enclosure is rigorous at any working precision (the
precision only sets how tight it is).

Closed forms (the same pair kernels as theory.kernels and theory.assembly, re-implemented here
operation by operation in ball arithmetic). For a pair (a, b), θ = angle(a, b), s = sin θ,
c = cos θ, â = a/|a|, b̂ = b/|b|, ρ = |b|/|a|:

    k(a, b) = |a||b| (s + (π − θ) c) / (2π)                      (l2 pair kernel)
    q(a, b) = a·b (π − θ) / (2π)                                 (Sobolev pair kernel)
    loss    = ½ Σ_{i,j} P(w_i, w_j) − Σ_{i,j} P(w_i, w*_j) + ½ Σ_{i,j} P(w*_i, w*_j)
    F_i     = w_i/2 + Σ_{j≠i} g(w_i, w_j) − Σ_j g(w_i, w*_j)      (per loss term)

with the pair fields (theory.kernels' three kinds)

    relu           g = [(π − θ) b + |b| s â] / (2π)                     (Tian 2017)
    step_expected  g = (π − θ) b / (2π)               (E of the pointwise gradient; SGD's field)
    step_exact     g = [(π − θ) b + (c/s)(b − |b| c â)] / (2π)   (∇_a q: adds the boundary term)

"l2" uses relu; "h1" = l2 + λ·Sobolev uses relu + λ·step_expected ("expected" convention) or
relu + λ·step_exact ("exact": the gradient of L + λJ). The Jacobian of F has blocks
∂F_i/∂w_i = I/2 + Σ_{j≠i} A(w_i, w_j) − Σ_j A(w_i, w*_j) and ∂F_i/∂w_k = B(w_i, w_k), with
A = ∂g/∂a, B = ∂g/∂b given by theory.kernels' frame table (coefficients γ on the complement of
span(â, e) and a 2×2 matrix C in the basis (â, e), e the unit vector along b − (b·â)â). Here
they are rewritten in the basis (â, b̂) with e = (b̂ − c â)/s:

    M = γ I + x ââᵀ + y âb̂ᵀ + z b̂âᵀ + w b̂b̂ᵀ,
    w = (C₁₁ − γ)/s²,  y = C₀₁/s − c w,  z = C₁₀/s − c w,  x = C₀₀ − γ − c (C₀₁ + C₁₀)/s + c² w.

Stable geometry: θ = atan2(|a∧b|, a·b) with |a∧b|² = Σ_{p<q} (a_p b_q − a_q b_p)² (Lagrange's
identity; for a teacher row e_j it is Σ_{p≠j} a_p²), so sin θ = |a∧b|/(|a||b|) has no
cancellation near θ = 0 or π. The closed forms hold only where no two rows are parallel or
antiparallel (the Sobolev field has a cone singularity there, and the (â, b̂) basis
degenerates); a box on which the enclosure of some |a∧b| contains 0, or of some |w_i|,
is refused with :class:`DegenerateBoxError` — rigorously: a box is accepted only when every
pair's sin θ is certified > 0 on all of B.

Precision: every public function takes ``prec`` (bits, default :data:`DEFAULT_PREC`) and
restores python-flint's global precision afterwards.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from flint import arb, arb_mat, ctx
from numpy.typing import ArrayLike, NDArray

#: Working precision in bits (Arb balls: a 128-bit midpoint and a radius).
DEFAULT_PREC = 128

LOSSES = ("l2", "h1")
CONVENTIONS = ("expected", "exact")


class DegenerateBoxError(ValueError):
    """The box contains a point where two rows are (anti)parallel or a row is zero, or its
    enclosures cannot exclude that: the closed forms do not apply on all of it."""


@contextlib.contextmanager
def working_precision(bits: int) -> Iterator[None]:
    """Set python-flint's global precision to ``bits`` for the block, then restore it."""
    if not isinstance(bits, (int, np.integer)) or bits < 30:
        raise ValueError(f"prec must be an integer number of bits >= 30; got {bits!r}")
    saved = ctx.prec
    ctx.prec = int(bits)
    try:
        yield
    finally:
        ctx.prec = saved


def _check_center(center: ArrayLike) -> NDArray[np.float64]:
    W = np.asarray(center, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] < 1 or W.shape[1] < 1:
        raise ValueError(f"center must be a (K, d) matrix of weights; got shape {W.shape}")
    if not np.all(np.isfinite(W)):
        raise ValueError("center must be finite; it has inf or nan entries")
    return W


def _check_radius(radius: float) -> float:
    if not (isinstance(radius, (int, float, np.floating)) and math.isfinite(radius)
            and radius >= 0):
        raise ValueError(f"radius must be a finite number >= 0; got {radius!r}")
    return float(radius)


def box_entries(center: ArrayLike, radius: float) -> list[list[arb]]:
    """The box W̃ + [−r, r]^{K×d} as rows of balls arb(W̃_ip, r) (float centres are exact)."""
    W = _check_center(center)
    r = _check_radius(radius)
    return [[arb(float(x), r) if r > 0 else arb(float(x)) for x in row] for row in W]


def _check_teacher_width(teacher_width: int | None, K: int, d: int) -> int:
    K_star = K if teacher_width is None else teacher_width
    if not isinstance(K_star, (int, np.integer)) or not 1 <= K_star <= d:
        raise ValueError(f"teacher_width must be an integer in [1, d = {d}] (W* = first K* rows "
                         f"of I_d); got {teacher_width!r}")
    return int(K_star)


def _check_weight(sobolev_weight: float) -> float:
    if not (isinstance(sobolev_weight, (int, float, np.floating))
            and math.isfinite(sobolev_weight) and sobolev_weight >= 0):
        raise ValueError(f"sobolev_weight must be a finite number >= 0; got {sobolev_weight!r}")
    return float(sobolev_weight)


@dataclass(frozen=True)
class Pair:
    """Ball geometry of one pair (a, b): norms, dot product, sin θ, cos θ, θ."""

    norm_a: arb
    norm_b: arb
    dot: arb
    sin: arb
    cos: arb
    theta: arb

    @property
    def ratio(self) -> arb:
        return self.norm_b / self.norm_a


def _pair(norm_a: arb, norm_b: arb, dot: arb, wedge_squared: arb, label: str) -> Pair:
    if not wedge_squared > 0:
        raise DegenerateBoxError(
            f"{label} may be parallel or antiparallel on this box (|a∧b|² enclosure "
            f"{wedge_squared.str(5, radius=True)} is not certainly > 0); the closed forms do "
            "not apply there: use a smaller radius or a point away from the singular set")
    wedge = wedge_squared.sqrt()
    product = norm_a * norm_b
    return Pair(norm_a, norm_b, dot, wedge / product, dot / product, arb.atan2(wedge, dot))


class BoxGeometry:
    """Norms, unit rows and the pair geometry of every student-student and student-teacher pair
    of a ball matrix of weights (rows of balls), teacher = first K* rows of I_d."""

    def __init__(self, rows: list[list[arb]], teacher_width: int) -> None:
        self.rows = rows
        self.K = len(rows)
        self.d = len(rows[0])
        self.K_star = teacher_width
        K, d = self.K, self.d
        squares = [[x * x for x in row] for row in rows]
        norms2 = [sum(row, arb(0)) for row in squares]
        for i, n2 in enumerate(norms2):
            if not n2 > 0:
                raise DegenerateBoxError(f"student row {i} may be zero on this box "
                                         f"(|w|² enclosure {n2.str(5, radius=True)})")
        self.norms = [n2.sqrt() for n2 in norms2]
        self.units = [[x / n for x in row] for row, n in zip(rows, self.norms, strict=True)]
        gram = arb_mat(rows) * arb_mat(rows).transpose()
        self.student: dict[tuple[int, int], Pair] = {}
        for i in range(K):
            for j in range(i + 1, K):
                a, b = rows[i], rows[j]
                wedge2 = arb(0)
                for p in range(d):
                    for q in range(p + 1, d):
                        t = a[p] * b[q] - a[q] * b[p]
                        wedge2 += t * t
                pair = _pair(self.norms[i], self.norms[j], gram[i, j], wedge2,
                             f"student rows {i} and {j}")
                self.student[(i, j)] = pair
                self.student[(j, i)] = Pair(pair.norm_b, pair.norm_a, pair.dot, pair.sin,
                                            pair.cos, pair.theta)
        self.teacher: dict[tuple[int, int], Pair] = {}
        for i in range(K):
            for j in range(self.K_star):
                wedge2 = sum((squares[i][p] for p in range(d) if p != j), arb(0))
                self.teacher[(i, j)] = _pair(self.norms[i], arb(1), rows[i][j], wedge2,
                                             f"student row {i} and teacher row {j}")

    def min_sin_lower(self) -> float:
        """A lower bound of min sin θ over all pairs (a float rounded down from the balls)."""
        values = [p.sin.lower() for p in (*self.student.values(), *self.teacher.values())]
        return float(min(values, key=float)) if values else 1.0


def _teacher_unit(j: int, d: int) -> list[arb]:
    return [arb(1) if p == j else arb(0) for p in range(d)]


def _terms(loss: str, convention: str, sobolev_weight: float) -> list[tuple[float, str]]:
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}")
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}; got {convention!r}")
    weight = _check_weight(sobolev_weight)
    if loss == "l2" or weight == 0:
        return [(1.0, "relu")]
    return [(1.0, "relu"), (weight, "step_exact" if convention == "exact" else "step_expected")]


# --------------------------------------------------------------------------- loss and field

def _loss(geo: BoxGeometry, terms: list[tuple[float, str]]) -> arb:
    pi = arb.pi()
    total = arb(0)
    for weight, kind in terms:
        self_terms = sum((n * n for n in geo.norms), arb(0)) / 2  # P(w, w) = |w|²/2
        if kind == "relu":
            def kernel(p: Pair) -> arb:
                return p.norm_a * p.norm_b * (p.sin + (pi - p.theta) * p.cos) / (2 * pi)
            # k(e_i, e_j) = 1/(2π) for i ≠ j, 1/2 for i = j
            teacher_teacher = (arb(geo.K_star) / 2
                               + arb(geo.K_star * (geo.K_star - 1)) / (2 * pi))
        else:
            def kernel(p: Pair) -> arb:
                return p.dot * (pi - p.theta) / (2 * pi)
            teacher_teacher = arb(geo.K_star) / 2  # q(e_i, e_j) = δ_ij/2
        student = self_terms + sum((kernel(p) for p in geo.student.values()), arb(0))
        cross = sum((kernel(p) for p in geo.teacher.values()), arb(0))
        total += arb(weight) * (student / 2 - cross + teacher_teacher / 2)
    return total


def _pair_field(kind: str, p: Pair, a_hat: list[arb], b: list[arb], pi: arb) -> list[arb]:
    remaining = (pi - p.theta) / (2 * pi)
    if kind == "relu":
        t = p.norm_b * p.sin / (2 * pi)
        return [remaining * bq + t * aq for bq, aq in zip(b, a_hat, strict=True)]
    if kind == "step_expected":
        return [remaining * bq for bq in b]
    # step_exact: + (c/s)(b − |b| c â)/(2π)
    cot = p.cos / p.sin / (2 * pi)
    nbc = p.norm_b * p.cos
    return [remaining * bq + cot * (bq - nbc * aq) for bq, aq in zip(b, a_hat, strict=True)]


def _field(geo: BoxGeometry, terms: list[tuple[float, str]]) -> list[list[arb]]:
    pi = arb.pi()
    K, d = geo.K, geo.d
    out = [[arb(0)] * d for _ in range(K)]
    for weight, kind in terms:
        w = arb(weight)
        for i in range(K):
            acc = [x / 2 for x in geo.rows[i]]
            for j in range(K):
                if j != i:
                    g = _pair_field(kind, geo.student[(i, j)], geo.units[i], geo.rows[j], pi)
                    acc = [x + y for x, y in zip(acc, g, strict=True)]
            for j in range(geo.K_star):
                g = _pair_field(kind, geo.teacher[(i, j)], geo.units[i],
                                _teacher_unit(j, d), pi)
                acc = [x - y for x, y in zip(acc, g, strict=True)]
            out[i] = [o + w * x for o, x in zip(out[i], acc, strict=True)]
    return out


# --------------------------------------------------------------------------- Jacobian

def _frame(kind: str, p: Pair, pi: arb) -> tuple[tuple[arb, ...], tuple[arb, ...]]:
    """(γ, C₀₀, C₀₁, C₁₀, C₁₁) of A = ∂g/∂a and of B = ∂g/∂b (theory.kernels' table), /2π."""
    s, c, rho = p.sin, p.cos, p.ratio
    rem = pi - p.theta
    zero = arb(0)
    if kind == "relu":
        A = (rho * s, zero, zero, zero, 2 * rho * s)
        B = (rem, rem + s * c, s * s, s * s, rem - s * c)
    elif kind == "step_expected":
        A = (zero, zero, rho * c, zero, rho * s)
        B = (rem, rem + s * c, -c * c, s * s, rem - s * c)
    else:  # step_exact
        A = (-rho * c * c / s, zero, zero, zero, 2 * rho * s)
        B = (rem + c / s, rem + s * c, -c * c, 1 + s * s, rem - s * c)
    scale = 2 * pi
    return tuple(v / scale for v in A), tuple(v / scale for v in B)


def _cartesian(frame: tuple[arb, ...], p: Pair) -> tuple[arb, ...]:
    """(γ, x, y, z, w) of M = γI + x ââᵀ + y âb̂ᵀ + z b̂âᵀ + w b̂b̂ᵀ (module docstring)."""
    gamma, c00, c01, c10, c11 = frame
    s, c = p.sin, p.cos
    w = (c11 - gamma) / (s * s)
    y = c01 / s - c * w
    z = c10 / s - c * w
    x = c00 - gamma - c * (c01 + c10) / s + c * c * w
    return gamma, x, y, z, w


def _combined(geo: BoxGeometry, terms, pair: Pair, pi: arb) -> tuple[tuple, tuple]:
    """Weighted sum over the loss terms of the Cartesian A and B coefficients of one pair."""
    A_total = [arb(0)] * 5
    B_total = [arb(0)] * 5
    for weight, kind in terms:
        fa, fb = _frame(kind, pair, pi)
        w = arb(weight)
        A_total = [t + w * v for t, v in zip(A_total, _cartesian(fa, pair), strict=True)]
        B_total = [t + w * v for t, v in zip(B_total, _cartesian(fb, pair), strict=True)]
    return tuple(A_total), tuple(B_total)


def _jacobian(geo: BoxGeometry, terms: list[tuple[float, str]]) -> arb_mat:
    pi = arb.pi()
    K, d = geo.K, geo.d
    n = K * d
    half = sum((arb(weight) for weight, _ in terms), arb(0)) / 2  # Σ_terms weight · I/2
    entries = [[arb(0)] * n for _ in range(n)]
    for i in range(K):
        a_hat = geo.units[i]
        gamma_sum, x_sum = half, arb(0)
        y_vec = [arb(0)] * d
        z_vec = [arb(0)] * d
        w_mat = [[arb(0)] * d for _ in range(d)]
        for j in range(K):
            if j == i:
                continue
            A, B = _combined(geo, terms, geo.student[(i, j)], pi)
            b_hat = geo.units[j]
            gamma_sum += A[0]
            x_sum += A[1]
            y_vec = [v + A[2] * bq for v, bq in zip(y_vec, b_hat, strict=True)]
            z_vec = [v + A[3] * bq for v, bq in zip(z_vec, b_hat, strict=True)]
            wb = [A[4] * bq for bq in b_hat]
            for p in range(d):
                row = w_mat[p]
                for q in range(d):
                    row[q] += wb[p] * b_hat[q]
            # off-diagonal block (i, j): B(w_i, w_j)
            g, x, y, z, w = B
            ya = [y * ap for ap in a_hat]
            zb = [z * bp for bp in b_hat]
            xa = [x * ap for ap in a_hat]
            wbb = [w * bp for bp in b_hat]
            for p in range(d):
                row = entries[i * d + p]
                for q in range(d):
                    value = (xa[p] + zb[p]) * a_hat[q] + (ya[p] + wbb[p]) * b_hat[q]
                    row[j * d + q] = value + g if p == q else value
        for j in range(geo.K_star):
            A, _ = _combined(geo, terms, geo.teacher[(i, j)], pi)
            # b̂ = e_j: subtract γ I + x ââᵀ + y â e_jᵀ + z e_j âᵀ + w e_j e_jᵀ
            gamma_sum -= A[0]
            x_sum -= A[1]
            y_vec[j] -= A[2]
            z_vec[j] -= A[3]
            w_mat[j][j] -= A[4]
        for p in range(d):
            row = entries[i * d + p]
            for q in range(d):
                value = (x_sum * a_hat[p] + z_vec[p]) * a_hat[q] + a_hat[p] * y_vec[q] \
                    + w_mat[p][q]
                row[i * d + q] = value + gamma_sum if p == q else value
    return arb_mat(entries)


# --------------------------------------------------------------------------- public API

def _geometry(center: ArrayLike, radius: float, teacher_width: int | None) -> BoxGeometry:
    rows = box_entries(center, radius)
    K_star = _check_teacher_width(teacher_width, len(rows), len(rows[0]))
    return BoxGeometry(rows, K_star)


def loss_enclosure(center: ArrayLike, radius: float, loss: str = "l2", *,
                   sobolev_weight: float = 1.0, teacher_width: int | None = None,
                   prec: int = DEFAULT_PREC) -> arb:
    """Ball containing the population loss ("l2": L; "h1": L + λJ) at every point of the box
    center + [−radius, radius]^{K×d} (teacher: first K* rows of I_d, K* = K by default): the
    intersection of the direct evaluation and the mean-value form L(W̃) + ∇L(B)·(B − W̃),
    which is much tighter near a critical point."""
    with working_precision(prec):
        geo = _geometry(center, radius, teacher_width)
        direct = _loss(geo, _terms(loss, "expected", sobolev_weight))
        if radius == 0:
            return direct
        # mean-value form L(W̃) + ∇L(B)·(B − W̃) (L is C¹ on a box without parallel pairs; the
        # exact convention is ∇ of L + λJ), intersected with the direct evaluation
        terms = _terms(loss, "exact", sobolev_weight)
        value = _loss(_geometry(center, 0.0, teacher_width), terms)
        gradient = _field(geo, terms)
        offset = arb(0, _check_radius(radius))
        value += sum((g * offset for row in gradient for g in row), arb(0))
        return direct.intersection(value)


def field_enclosure(center: ArrayLike, radius: float, loss: str = "l2", *,
                    convention: str = "expected", sobolev_weight: float = 1.0,
                    teacher_width: int | None = None, prec: int = DEFAULT_PREC) -> arb_mat:
    """K×d ball matrix containing the population field F(W) (gradient of L for "l2"; the
    "expected" h1 field E_x∇_W ℓ, or the "exact" gradient ∇(L + λJ)) for every W in the box."""
    with working_precision(prec):
        geo = _geometry(center, radius, teacher_width)
        return arb_mat(_field(geo, _terms(loss, convention, sobolev_weight)))


def jacobian_enclosure(center: ArrayLike, radius: float, loss: str = "l2", *,
                       convention: str = "expected", sobolev_weight: float = 1.0,
                       teacher_width: int | None = None, prec: int = DEFAULT_PREC) -> arb_mat:
    """(K·d)×(K·d) ball matrix (index i·d + a) containing the Jacobian of the field for every W
    in the box: the Hessian of L for "l2" (symmetric), the "expected Hessian" of h1 (not
    symmetric) or the Hessian of L + λJ ("exact")."""
    with working_precision(prec):
        geo = _geometry(center, radius, teacher_width)
        return _jacobian(geo, _terms(loss, convention, sobolev_weight))


@dataclass(frozen=True)
class BoxEnclosures:
    """Field and Jacobian enclosures on one box, from one pass over its pair geometry."""

    field: arb_mat
    jacobian: arb_mat
    min_sin: float


def field_and_jacobian(center: ArrayLike, radius: float, loss: str = "l2", *,
                       convention: str = "expected", sobolev_weight: float = 1.0,
                       teacher_width: int | None = None, prec: int = DEFAULT_PREC
                       ) -> BoxEnclosures:
    """:func:`field_enclosure` and :func:`jacobian_enclosure` of the same box, sharing the
    geometry; ``min_sin`` is a lower bound of sin θ over all pairs on the box."""
    with working_precision(prec):
        geo = _geometry(center, radius, teacher_width)
        terms = _terms(loss, convention, sobolev_weight)
        return BoxEnclosures(arb_mat(_field(geo, terms)), _jacobian(geo, terms),
                             geo.min_sin_lower())


def midpoints(matrix: arb_mat) -> NDArray[np.float64]:
    """Float64 matrix of the ball midpoints (rounded to nearest)."""
    return np.array([[float(x.mid()) for x in row] for row in matrix.tolist()], dtype=float)


def contains_values(matrix: arb_mat, values: ArrayLike) -> bool:
    """True when every float of ``values`` (same shape) lies in the corresponding ball."""
    values = np.asarray(values, dtype=float)
    rows = matrix.tolist()
    if values.shape != (len(rows), len(rows[0]) if rows else 0):
        raise ValueError(f"values has shape {values.shape}, the matrix "
                         f"{(len(rows), len(rows[0]) if rows else 0)}")
    return all(ball.contains(arb(float(v))) for row, vrow in zip(rows, values, strict=True)
               for ball, v in zip(row, vrow, strict=True))
