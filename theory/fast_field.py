r"""Lean evaluation of the population field and loss at Σ = I, and the prepared field.

relu family: angles from the Gram matrix (below). Smooth activations (erf, sine, gelu): the
chain rule of theory.pair_frame on one (K, K + K*) grid of pairs (w_i, z_q) instead of a
student grid and a teacher grid (smooth_gradient, smooth_loss). Both skip the general route's
per-call validation: the settings are validated once per distinct value (cached) and the
weights by one exact check of their squared row norms. theory.population dispatches here first
and prepares :class:`theory.GradientField` from :func:`lean_plan` and :func:`teacher_rows`.

The general route (theory.assembly's ``general_population_gradient`` / ``general_population_loss``)
validates every argument, rescales the weights by a power of two, and builds the geometry of
every neuron pair as (K, K + K*, d) arrays. For the two-slope family at Σ = I the same closed
forms (theory.kernels) need only the Gram matrix of the rows. With Z = [W; W*] (N = K + K* rows),
n_p = |z_p|, ẑ_p = z_p/n_p, C = [ŝ_i·ẑ_q] (K × N), θ = arccos C, and the signs σ_q = +1 for
student columns, −1 for teacher columns, the field of theory.assembly is

    F_i = Σ_q σ_q [ (w₀ + w₁)(π − θ_iq)/(2π) z_q         (every kind: (π − θ) b/(2π))
                    + w₀ n_q sin θ_iq/(2π) ŝ_i            ("relu": |b| sin θ â/(2π))
                    + w₁ᵉ cot θ_iq (z_q − n_q cos θ_iq ŝ_i)/(2π) ]
                                                          ("step_exact": |b| cos θ e/(2π))

(w₀ the L2 weight, w₁ = λ the Sobolev weight, w₁ᵉ = w₁ in the "exact" convention and 0 in the
"expected" one). The self pair q = i has θ = 0 and contributes exactly ½(w₀ + w₁) w_i, the
½W term of the assembly. This is two matrix products of size K × N × d instead of ~20 passes
over K × N × d arrays; the loss sums the pair kernel over the N × N Gram matrix in blocks,
½ Σ_ss − Σ_st + ½ Σ_tt. At W = W* (row for row) field and loss are returned as exactly 0, as
the general route's term-by-term cancellation gives them.

Precision. An angle from a Gram entry carries an absolute error ~ε/sin θ (the information
about a small angle is in the last digits of cos θ), against ~ε for the stable angle
2·atan2(|â − b̂|, |â + b̂|) of theory.kernels. Pairs with sin θ >= LEAN_GRAM_MIN_SIN = 0.1 keep
that error below ~3e-15 (measured for d = 3 … 1000); every other pair (nearly parallel or
antiparallel) takes θ, sin θ, cos θ and e from its row differences by the general route's
formulas (theory.kernels.refined_pair_geometry), in extended precision where sin θ < 1e-4
(EXTENDED_PRECISION_BELOW) as the general route does. So the lean route agrees with the general
one to ~1e-15 × Σ_q |z_q| (field) and ~1e-15 × (Σ_q |z_q|)² (loss).

When the lean route is taken (else the general route runs, unchanged, and raises its errors):
the activation has a closed form (relu family: no second-order term), Σ = I (``input_covariance``
None, or a valid covariance exactly equal to I, as the general route treats it), W and W* are
float64 numpy arrays of matching d whose squared row norms lie in [2⁻⁴⁰⁰, 2⁴⁰⁰] (so every row
is finite and non-zero, no rescaling is needed and every intermediate is far from over- and
underflow), and — in the "exact" convention with λ > 0 — no pair is degenerate (there the
general route raises NonDifferentiableError naming the pair).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from theory import kernels
from theory.activations import ClosedFormActivation, get_activation
from theory.kernels import PI
from theory.pair_frame import consistent_gram, pair_derivatives
from theory.validation import (
    check_convention,
    check_input_covariance,
    loss_weights,
    require_memory,
)

Array = NDArray[np.float64]

#: Pairs whose Gram-estimated sin θ is below this are evaluated from row differences
#: (theory.kernels.pair_geometry, with its extended-precision pass), all others from the Gram
#: matrix (absolute angle error <= ~3e-15 above it).
LEAN_GRAM_MIN_SIN = 0.1
#: Squared row norms outside [2⁻⁴⁰⁰, 2⁴⁰⁰] (or not finite) take the general route, which
#: validates and rescales them.
LEAN_MIN_SQUARED_NORM = 2.0**-400
LEAN_MAX_SQUARED_NORM = 2.0**400
#: Pair grids above this many entries ask theory.validation.require_memory first.
_ALWAYS_ALLOWED_PAIRS = 2**21


_FLOAT64 = np.dtype(np.float64)
_SIGNS: dict[tuple[int, int], Array] = {}


def _signs(K: int, N: int) -> Array:
    """σ: +1 for the K student columns, −1 for the N − K teacher columns (read-only, cached)."""
    sign = _SIGNS.get((K, N))
    if sign is None:
        if len(_SIGNS) > 256:
            _SIGNS.clear()
        sign = np.ones(N)
        sign[K:] = -1.0
        sign.setflags(write=False)
        _SIGNS[(K, N)] = sign
    return sign


def representable(n2: Array) -> bool:
    """All squared norms in [LEAN_MIN_SQUARED_NORM, LEAN_MAX_SQUARED_NORM] (False for NaN)."""
    return bool(LEAN_MIN_SQUARED_NORM <= np.minimum.reduce(n2)
                and np.maximum.reduce(n2) <= LEAN_MAX_SQUARED_NORM)


@dataclass(frozen=True)
class LeanPlan:
    """Validated settings of the lean two-slope route.

    slope: α (0 for relu); l2: w₀; sobolev: w₁ = λ; exact: the "exact" convention's boundary
    term enters (w₁ > 0); terms: the (weight, pair kind) terms of theory.kernels, for the pairs
    evaluated from row differences.
    """

    slope: float
    l2: float
    sobolev: float
    exact: bool
    terms: tuple[tuple[float, str], ...]


@dataclass(frozen=True)
class SmoothPlan:
    """Validated settings of the lean route of a smooth activation (erf, sine, gelu): the
    activation and the (order n, weight w_n) of its loss terms (theory.pair_frame)."""

    activation: ClosedFormActivation
    weights: tuple[tuple[int, float], ...]


@functools.lru_cache(maxsize=128, typed=True)
def _cached_plan(loss, convention, activation, sobolev_weight, second_order_weight
                 ) -> LeanPlan | SmoothPlan | None:
    # the same checks, in the same order, as theory.assembly.make_problem before it looks at W
    act = get_activation(activation)
    w0, w1, w2 = loss_weights(loss, sobolev_weight, second_order_weight)
    check_convention(convention)
    if act.smooth:  # "expected" and "exact" are the same field
        weights = tuple((n, w) for n, w in enumerate((w0, w1, w2)) if w != 0.0)
        return SmoothPlan(act, weights)
    if w2 != 0.0:
        return None  # J₂ is infinite for the relu family: the general route raises
    step = "step_exact" if convention == "exact" else "step_expected"
    terms = tuple((w, kind) for w, kind in ((w0, "relu"), (w1, step)) if w != 0.0)
    return LeanPlan(float(act.slope), w0, w1, convention == "exact" and w1 != 0.0, terms)


def lean_plan(loss, convention, activation, sobolev_weight, second_order_weight
              ) -> LeanPlan | SmoothPlan | None:
    """The lean route's settings, or None where only the general route applies.

    Raises the general route's ValueError for an unknown activation, loss or convention or a
    bad weight (validated once per distinct setting: the result is cached).
    """
    try:
        hash((loss, convention, activation, sobolev_weight, second_order_weight))
    except TypeError:
        return None  # e.g. a 0-d array as weight: the general route validates it
    return _cached_plan(loss, convention, activation, sobolev_weight, second_order_weight)


def lean_rows(W: object, W_star: object) -> tuple[Array, Array, int] | None:
    """(Z = [W; W*], squared row norms of Z, K) when both are float64 arrays fit for the lean
    route (module docstring), else None. Exact: a non-finite entry makes its squared norm inf
    or NaN, a squared norm that overflows is inf, a zero row gives 0 — all outside the range."""
    if type(W) is not np.ndarray or type(W_star) is not np.ndarray:
        return None
    if W.dtype is not _FLOAT64 or W_star.dtype is not _FLOAT64:
        return None
    if W.ndim == 1:
        W = W[None, :]
    if W_star.ndim == 1:
        W_star = W_star[None, :]
    if W.ndim != 2 or W_star.ndim != 2 or W.size == 0 or W_star.size == 0:
        return None
    if W.shape[1] != W_star.shape[1]:
        return None
    Z = np.concatenate((W, W_star))
    n2 = np.einsum("ij,ij->i", Z, Z)
    if not representable(n2):
        return None
    return Z, n2, W.shape[0]


def teacher_rows(W_star: Array) -> tuple[Array, Array] | None:
    """(W*, its squared row norms) if the teacher is fit for the lean route, else None."""
    n2 = np.einsum("ij,ij->i", W_star, W_star)
    if not representable(n2):
        return None
    return W_star, n2


def _check_pair_memory(K: int, N: int, d: int) -> None:
    if K * N > _ALWAYS_ALLOWED_PAIRS:
        require_memory(8.0 * 12 * K * N + 8.0 * 4 * N * d, f"the pair arrays for K={K}, "
                       f"K*={N - K}, d={d}", "use fewer neurons (they grow like K·(K+K*))")


def _at_teacher(Z: Array, K: int) -> bool:
    """W = W* row for row (Z = [W; W*])."""
    return (2 * K == Z.shape[0] and Z[0, 0] == Z[K, 0]  # cheap first look, then every entry
            and bool((Z[:K] == Z[K:]).all()))


def _angles(Zh: Array, Z: Array, K: int, frame: bool):
    """(C = cos θ, θ, sin θ, near) for the pairs (rows of Z[:K]) × (rows of Z).

    Self pairs get C = 1, θ = 0, sin θ = 0 exactly. Other pairs come from the Gram matrix of
    the unit rows Zh, except those with sin θ < LEAN_GRAM_MIN_SIN there: ``near`` is then
    (rows, cols, geometry) with their theory.kernels.pair_geometry (``frame``: with the
    direction e), whose θ, sin θ, cos θ replace the Gram values; else ``near`` is None.
    """
    N = Zh.shape[0]
    C = Zh[:K] @ Zh.T
    np.minimum(C, 1.0, out=C)  # rounding can leave |cos θ| slightly above 1
    np.maximum(C, -1.0, out=C)
    diagonal = slice(0, None, N + 1)  # the flat positions of (i, i), i < K
    C.flat[diagonal] = 1.0
    theta = np.arccos(C)
    sin = np.sin(theta)
    small = sin < LEAN_GRAM_MIN_SIN
    near = None
    if np.count_nonzero(small) > K:  # the K self pairs (sin θ = 0) are always below
        small.flat[diagonal] = False
        rows, cols = np.nonzero(small)
        extended = sin[rows, cols] < kernels.EXTENDED_PRECISION_BELOW
        geometry = kernels.refined_pair_geometry(Z[rows], Z[cols], extended, frame)
        theta[rows, cols] = geometry.theta
        sin[rows, cols] = geometry.sin
        C[rows, cols] = geometry.cos
        near = rows, cols, geometry
    return C, theta, sin, near


def two_slope_gradient(plan: LeanPlan, Z: Array, n2: Array, K: int) -> Array | None:
    """The population gradient (K, d) of the relu family at Σ = I on the lean route (module
    docstring), or None where the general route must decide (a degenerate pair in the exact
    convention).

    At W = W* (row for row) the result is 0 exactly, as the general route's term-by-term
    cancellation gives it (a Gram matrix computed by BLAS need not give bitwise equal entries
    for equal columns, so the lean sums would leave rounding noise there).
    """
    N, d = Z.shape
    if _at_teacher(Z, K):  # every student term cancels its teacher term, as in the general route
        return None if plan.exact else np.zeros((K, d))  # exact: degenerate pairs (it raises)
    _check_pair_memory(K, N, d)
    norms = np.sqrt(n2)
    Zh = Z / norms[:, None]
    C, theta, sin, near = _angles(Zh, Z, K, plan.exact)
    # (π − θ) b/(2π) of every kind: the self pair gives ½(w₀ + w₁) w_i
    A = PI - theta
    A *= (plan.l2 + plan.sobolev) / (2 * PI)
    radial = sin * (plan.l2 / (2 * PI)) if plan.l2 else None
    if plan.exact:
        if near is not None and near[2].degenerate.any():
            return None  # the exact Sobolev gradient does not exist: the general route raises
        # |b| cos θ e/(2π) = cot θ (b − |b| cos θ â)/(2π); the self pair has no such term, the
        # near pairs take e from their pair geometry (below)
        sin.flat[:: N + 1] = 1.0
        if near is not None:
            sin[near[0], near[1]] = 1.0
        Q = C / sin
        Q *= plan.sobolev / (2 * PI)
        Q.flat[:: N + 1] = 0.0
        if near is not None:
            Q[near[0], near[1]] = 0.0
        A += Q
        QC = Q * C
        radial = -QC if radial is None else radial - QC
    W, W_star = Z[:K], Z[K:]
    F = A[:, :K] @ W - A[:, K:] @ W_star
    if radial is not None:
        F += (radial[:, :K] @ norms[:K] - radial[:, K:] @ norms[K:])[:, None] * Zh[:K]
    if plan.exact and near is not None:
        rows, cols, geometry = near
        coefficient = (plan.sobolev / (2 * PI)) * _signs(K, N)[cols] * norms[cols] * geometry.cos
        scatter = np.zeros((K, rows.size))
        scatter[rows, np.arange(rows.size)] = coefficient
        F += scatter @ geometry.e
    if plan.slope:
        u = W.sum(axis=0) - W_star.sum(axis=0)  # the linear part α·t (theory.assembly)
        F = (1 - plan.slope) ** 2 * F + (plan.slope * (plan.l2 + plan.sobolev)) * u
    return F


def two_slope_loss(plan: LeanPlan, Z: Array, n2: Array, K: int) -> float:
    """The population loss of the relu family at Σ = I on the lean route:
    ½ Σ P(w_i, w_j) − Σ P(w_i, w*_j) + ½ Σ P(w*_i, w*_j) over the blocks of the N × N pairs of
    rows of Z = [W; W*], with 2π P = n_p n_q [w₀ (sin θ + (π − θ) cos θ) + w₁ (π − θ) cos θ]
    (0 exactly at W = W* row for row, as in the general route)."""
    N, d = Z.shape
    if _at_teacher(Z, K):
        return 0.0
    _check_pair_memory(N, N, d)
    norms = np.sqrt(n2)
    Zh = Z / norms[:, None]
    C, theta, sin, _ = _angles(Zh, Z, N, False)
    P = PI - theta
    P *= C
    P *= plan.l2 + plan.sobolev
    if plan.l2:
        P += plan.l2 * sin
    P *= norms
    P *= norms[:, None]
    total = (0.5 * np.add.reduce(P[:K, :K], axis=None) - np.add.reduce(P[:K, K:], axis=None)
             + 0.5 * np.add.reduce(P[K:, K:], axis=None)) / (2 * PI)
    if plan.slope:
        u = Z[:K].sum(axis=0) - Z[K:].sum(axis=0)
        total = (1 - plan.slope) ** 2 * total + plan.slope * 0.5 * (plan.l2 + plan.sobolev) * (
            u @ u)
    return float(total)


def smooth_gradient(plan: SmoothPlan, Z: Array, n2: Array, K: int) -> Array:
    """The population gradient (K, d) of a smooth activation at Σ = I on the lean route: the
    chain rule of theory.pair_frame on one (K, K + K*) grid of pairs (w_i, z_q) instead of a
    student grid and a teacher grid (half the partials evaluations). With Σ = I, c = e = w·z:

        F_i = 2 (Σ_j F_sa(w_i, w_j) − Σ_j F_sa(w_i, w*_j)) w_i
              + Σ_j (F_c + F_e)(w_i, w_j) w_j − Σ_j (F_c + F_e)(w_i, w*_j) w*_j.

    0 exactly at W = W* row for row (every student term cancels its teacher term)."""
    N, d = Z.shape
    if _at_teacher(Z, K):
        return np.zeros((K, d))
    _check_pair_memory(K, N, d)
    W, W_star = Z[:K], Z[K:]
    c = consistent_gram(W @ Z.T, W, Z, n2)
    D = pair_derivatives(plan.activation.partials, dict(plan.weights), n2[:K, None],
                         n2[None, :], c, c, 1)
    F_sa, G = D.first["sa"], D.first["c"] + D.first["e"]
    radial = 2.0 * (F_sa[:, :K].sum(axis=1) - F_sa[:, K:].sum(axis=1))
    return radial[:, None] * W + (G[:, :K] @ W - G[:, K:] @ W_star)


def smooth_loss(plan: SmoothPlan, Z: Array, n2: Array, K: int) -> float:
    """The population loss of a smooth activation at Σ = I on the lean route: the pair kernel
    F = Σ_n w_n eⁿ h_n on one (K + K*)² grid, summed by blocks ½ Σ_ss − Σ_st + ½ Σ_tt (0
    exactly at W = W* row for row)."""
    N, d = Z.shape
    if _at_teacher(Z, K):
        return 0.0
    _check_pair_memory(N, N, d)
    c = consistent_gram(Z @ Z.T, Z, Z, n2)
    value = pair_derivatives(plan.activation.partials, dict(plan.weights), n2[:, None],
                             n2[None, :], c, c, 0).value
    return float(0.5 * value[:K, :K].sum() - value[:K, K:].sum() + 0.5 * value[K:, K:].sum())


def lean_gradient(W, W_star, loss, convention, activation, sobolev_weight, second_order_weight,
                  input_covariance) -> Array | None:
    """population_gradient on the lean route, or None where the general route must run."""
    route = _lean_route(W, W_star, loss, convention, activation, sobolev_weight,
                        second_order_weight, input_covariance)
    if route is None:
        return None
    plan, rows = route
    if isinstance(plan, SmoothPlan):
        return smooth_gradient(plan, *rows)
    return two_slope_gradient(plan, *rows)


def lean_loss(W, W_star, loss, activation, sobolev_weight, second_order_weight,
              input_covariance) -> float | None:
    """population_loss on the lean route, or None where the general route must run."""
    route = _lean_route(W, W_star, loss, "expected", activation, sobolev_weight,
                        second_order_weight, input_covariance)
    if route is None:
        return None
    plan, rows = route
    if isinstance(plan, SmoothPlan):
        return smooth_loss(plan, *rows)
    return two_slope_loss(plan, *rows)


def _lean_route(W, W_star, loss, convention, activation, sobolev_weight, second_order_weight,
                input_covariance):
    """(plan, rows) when the lean route applies to these arguments, else None."""
    plan = lean_plan(loss, convention, activation, sobolev_weight, second_order_weight)
    if plan is None:
        return None
    rows = lean_rows(W, W_star)
    if rows is None or not _isotropic(input_covariance, rows[0].shape[1]):
        return None
    return plan, rows


def _isotropic(input_covariance, d: int) -> bool:
    """Σ = I: None, or a valid covariance that equals I exactly (theory.validation's check
    raises its ValueError for an invalid one — after W was found valid, as the general route
    would)."""
    return input_covariance is None or check_input_covariance(input_covariance, d) is None
