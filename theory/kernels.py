r"""Closed-form Gaussian pair kernels and their derivatives.

Every population quantity of the shallow ReLU student-teacher model is a sum over neuron pairs
(a, b) of two Gaussian kernels, x ~ N(0, I_d), θ = angle(a, b):

    k(a, b) = E[relu(a·x) relu(b·x)]      = |a||b| (sin θ + (π − θ) cos θ) / (2π)
    q(a, b) = E[1{a·x>0} 1{b·x>0}] a·b    = a·b (π − θ) / (2π)

``k`` builds the L2 loss, ``q`` the Sobolev loss (the input-gradient of relu(a·x) is
1{a·x>0} a).  This module evaluates, for every pair at once (vectorised over leading axes):

* the value of the kernel,
* the pair gradient ``g(a, b)`` that enters the gradient of the loss with respect to ``a``,
* the two Jacobian blocks ``A = ∂g/∂a`` and ``B = ∂g/∂b``.

Three pair fields are provided ("kinds"):

``"relu"``            g = ∇_a k = [(π − θ) b + |b| sin θ â] / (2π)                    (Tian 2017)
``"step_exact"``      g = ∇_a q = [(π − θ) b + |b| cos θ e] / (2π)
``"step_expected"``   g = E[1{a·x>0}1{b·x>0}] b = (π − θ) b / (2π)

where â = a/|a| and e is the unit vector along the part of b orthogonal to a.  ``step_exact``
differs from ``step_expected`` by the boundary term |b| cos θ e / (2π): differentiating under the
expectation drops the jump of the step function (the "expected" convention of autograd and SGD).

Jacobian blocks in the pair frame
---------------------------------
Each block acts in the plane span(â, e) as a 2×2 matrix ``C`` (basis (â, e)) and as the scalar
``γ`` on the orthogonal complement of that plane:

    M = γ (I − ââᵀ − eeᵀ) + [â e] C [â e]ᵀ

With s = sin θ, c = cos θ, ρ = |b|/|a| (all blocks divided by 2π):

====================  =============  ==================================================
block                 γ · 2π          C · 2π
====================  =============  ==================================================
relu, A               ρ s            [[0, 0], [0, 2ρs]]
relu, B               π − θ          [[π−θ+sc, s²], [s², π−θ−sc]]
step_exact, A         −ρ c²/s        [[0, 0], [0, 2ρs]]
step_exact, B         π − θ + c/s    [[π−θ+sc, −c²], [1+s², π−θ−sc]]
step_expected, A      0              [[0, ρc], [0, ρs]]
step_expected, B      π − θ          [[π−θ+sc, −c²], [s², π−θ−sc]]
====================  =============  ==================================================

The relu blocks are continuous at θ ∈ {0, π} (k is C² there, but not C³: k − a·b/2 ~ |θ|³).
The step blocks depend on e with a non-vanishing coefficient, so they have no limit at
θ ∈ {0, π}: the Sobolev field is not differentiable where a pair is parallel or antiparallel.
``step_exact``'s gradient itself has no limit there (J has a cone singularity).

Angles use θ = 2·atan2(|â − b̂|, |â + b̂|), accurate for all θ (arccos of a normalised dot product
loses half the digits near 0 and π).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

PAIR_KINDS = ("relu", "step_exact", "step_expected")

#: Pairs with sin θ at or below this are treated as exactly parallel or antiparallel: float64
#: input cannot resolve a smaller angle (rounding alone moves a direction by ~1e-16·√d).
PARALLEL_SIN_TOL = 1e-12

#: Kinds whose gradient (``g``) has no limit at θ ∈ {0, π}.
GRADIENT_SINGULAR_KINDS = frozenset({"step_exact"})
#: Kinds whose pair field (``g``) uses the in-plane direction e (the others need only θ and â).
GRADIENT_FRAME_KINDS = frozenset({"step_exact"})
#: Kinds whose Jacobian blocks (``A``, ``B``) have no limit at θ ∈ {0, π}.
JACOBIAN_SINGULAR_KINDS = frozenset({"step_exact", "step_expected"})

#: π as the formulas use it. The frame coefficients are plain arithmetic in (ρ, sin θ, cos θ, θ, π),
#: so tests can evaluate this very code exactly by binding PI to sympy.pi (see
#: tests/test_symbolic_vs_theory.py).
PI = np.pi


@dataclass(frozen=True)
class PairGeometry:
    """Norms, angle and in-plane frame of pairs (a, b), vectorised over leading axes.

    Attributes (``...`` is the broadcast leading shape, d the dimension):
        norm_a, norm_b: (...)   Euclidean norms |a|, |b|.
        theta: (...)            angle in [0, π].
        sin, cos: (...)         sin θ, cos θ.
        a_hat: (..., d)         a / |a|.
        e: (..., d)             unit vector along b − (b·â)â; where the pair is degenerate, some
                                unit vector ⟂ â (zero if d = 1). None if built with
                                frame=False.
        degenerate: (...)       True where sin θ <= PARALLEL_SIN_TOL (parallel or antiparallel).
    """

    norm_a: NDArray[np.float64]
    norm_b: NDArray[np.float64]
    theta: NDArray[np.float64]
    sin: NDArray[np.float64]
    cos: NDArray[np.float64]
    a_hat: NDArray[np.float64]
    e: NDArray[np.float64]
    degenerate: NDArray[np.bool_]

    @property
    def ratio(self) -> NDArray[np.float64]:
        """ρ = |b| / |a|."""
        return self.norm_b / self.norm_a


def _norm(x: NDArray) -> NDArray:
    return np.sqrt(np.einsum("...i,...i->...", x, x))


def stable_angle(a_hat: NDArray, b_hat: NDArray) -> NDArray:
    """Angle between unit vectors along the last axis: 2·atan2(|â − b̂|, |â + b̂|), in [0, π]."""
    return 2.0 * np.arctan2(_norm(a_hat - b_hat), _norm(a_hat + b_hat))


#: Pairs with sin θ below this are recomputed in extended precision (float64 leaves a relative
#: error ~eps/sin θ in θ and e, which is < 3e-12 above it).
EXTENDED_PRECISION_BELOW = 1e-4


def _geometry_fields(a: NDArray, b: NDArray, frame: bool = True) -> list[NDArray]:
    """norm_a, norm_b, θ, sin θ, cos θ, â, e, degenerate — in the dtype of ``a`` and ``b``.

    With ``frame=False`` the direction e (needed only by Jacobian blocks and the exact Sobolev
    field) is not computed and returned as None; every other field is computed identically.
    """
    norm_a = _norm(a)
    norm_b = _norm(b)
    a_hat = a / norm_a[..., None]
    b_hat = b / norm_b[..., None]
    difference, total = a_hat - b_hat, a_hat + b_hat
    theta = 2.0 * np.arctan2(_norm(difference), _norm(total))  # stable_angle(a_hat, b_hat)
    sin = np.sin(theta)
    cos = np.cos(theta)
    degenerate = sin <= PARALLEL_SIN_TOL
    if not frame:
        return [norm_a, norm_b, theta, sin, cos, a_hat, None, degenerate]
    # b̂ − â (exactly −(â − b̂)) for cos θ >= 0, else b̂ + â: the shorter of the two
    shifted = np.where((cos >= 0)[..., None], -difference, total)
    perp = shifted - (shifted * a_hat).sum(axis=-1, keepdims=True) * a_hat
    # A degenerate pair has no plane; any unit e ⟂ â serves (the relu blocks do not depend on
    # it in the limit, the step blocks do not exist). Take the axis least aligned with â.
    if degenerate.any() and a.shape[-1] >= 2:
        axis = np.argmin(np.abs(a_hat), axis=-1)
        fallback = (np.arange(a.shape[-1]) == axis[..., None]).astype(a.dtype)
        # â's entry on that axis (the one-hot product sums it with exact zeros)
        fallback = fallback - (fallback * a_hat).sum(axis=-1, keepdims=True) * a_hat
        perp = np.where(degenerate[..., None], fallback, perp)
    perp_norm = _norm(perp)
    e = perp / np.where(perp_norm == 0, 1.0, perp_norm)[..., None]
    return [norm_a, norm_b, theta, sin, cos, a_hat, e, degenerate]


#: Pair arrays up to this many entries are broadcast by copying (two C-level operations)
#: rather than by np.broadcast_arrays, whose Python-level overhead dominates small problems.
SMALL_BROADCAST_ENTRIES = 4096


def _broadcast_pair(a: NDArray, b: NDArray) -> tuple[NDArray, NDArray]:
    """``a`` and ``b`` as float64 arrays of their common broadcast shape (values unchanged)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape == b.shape:
        return a, b
    shape = np.broadcast(a, b).shape
    if math.prod(shape) > SMALL_BROADCAST_ENTRIES:
        return tuple(np.broadcast_arrays(a, b))
    full_a, full_b = np.empty(shape), np.empty(shape)
    full_a[...], full_b[...] = a, b
    return full_a, full_b


def float64_field_geometry(a: NDArray[np.float64], b: NDArray[np.float64]) -> PairGeometry:
    """:func:`pair_geometry` with ``frame=False`` and without its extended-precision pass: the
    norms, unit vectors and θ (stable_angle, accurate in float64 for every θ) that the "relu"
    and "step_expected" pair fields need. For hot loops over many stacked students (the
    landscape census), where the e direction and its near-parallel refinement are not used."""
    a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
    return PairGeometry(*_geometry_fields(a, b, frame=False))


def pair_geometry(a: NDArray[np.float64], b: NDArray[np.float64], frame: bool = True
                  ) -> PairGeometry:
    """Geometry of the pairs (a, b); ``a`` and ``b`` broadcast over leading axes, last axis d.

    ``frame=False`` skips the in-plane direction e (then ``e`` is None): enough for kernel
    values and for the "relu" and "step_expected" pair fields.

    Rows must be non-zero (callers validate). The small quantities of a nearly (anti)parallel
    pair — θ or π − θ, and the direction e — come from a difference of nearly equal unit
    vectors, whose rounding error is ~eps/θ relative. Pairs with sin θ < 1e-4 are therefore
    recomputed in extended precision (np.longdouble) from the float64 inputs and rounded to
    float64, which keeps θ, sin θ and e accurate to ~1e-19/θ on x86-64 (quadruple precision on
    aarch64). The direction e is b̂ ∓ â (whichever is shorter) with â projected out.
    """
    a, b = _broadcast_pair(a, b)
    fields = _geometry_fields(a, b, frame)
    # Identical vectors (self pairs) are exactly parallel in any precision: no recomputation.
    near = (fields[3] < EXTENDED_PRECISION_BELOW) & (a != b).any(axis=-1)
    if near.any():
        precise = _geometry_fields(a[near].astype(np.longdouble), b[near].astype(np.longdouble),
                                   frame)
        for target, value in zip(fields, precise, strict=True):
            if target is not None:
                target[near] = value
    return PairGeometry(*fields)


def refined_pair_geometry(a: NDArray[np.float64], b: NDArray[np.float64],
                          extended: NDArray[np.bool_], frame: bool = True) -> PairGeometry:
    """:func:`pair_geometry` of pairs (a, b), shape (n, d), whose extended-precision pass the
    caller has chosen: the pairs marked by ``extended`` (n,) are computed in np.longdouble from
    the float64 inputs and rounded to float64, the others in float64.

    pair_geometry marks the pairs with sin θ < EXTENDED_PRECISION_BELOW from its own float64
    pass; a caller that already has an estimate of sin θ (theory.fast_field, from the Gram
    matrix) saves that pass when every pair is marked. Identical vectors give θ = 0 exactly in
    either precision. Rows must be non-zero.
    """
    if extended.all():
        fields = _geometry_fields(a.astype(np.longdouble), b.astype(np.longdouble), frame)
        return PairGeometry(*(field if field is None or field.dtype == np.bool_
                              else field.astype(np.float64) for field in fields))
    fields = _geometry_fields(a, b, frame)
    if extended.any():
        precise = _geometry_fields(a[extended].astype(np.longdouble),
                                   b[extended].astype(np.longdouble), frame)
        for target, value in zip(fields, precise, strict=True):
            if target is not None:
                target[extended] = value
    return PairGeometry(*fields)


def kernel_value(kind: str, a: NDArray[np.float64], b: NDArray[np.float64],
                 geometry: PairGeometry) -> NDArray[np.float64]:
    """Value of the pair kernel: k(a, b) for "relu", q(a, b) for both step kinds. Shape (...)."""
    g = geometry
    if kind == "relu":
        return g.norm_a * g.norm_b * (g.sin + (PI - g.theta) * g.cos) / (2 * PI)
    if kind in ("step_exact", "step_expected"):
        return np.sum(a * b, axis=-1) * (PI - g.theta) / (2 * PI)
    raise ValueError(f"kind must be one of {PAIR_KINDS}; got {kind!r}")


def pair_gradient(kind: str, b: NDArray[np.float64], geometry: PairGeometry) -> NDArray[np.float64]:
    """Pair field g(a, b), shape (..., d) (see the module docstring for the three kinds).

    For "step_exact" at degenerate pairs the result is not defined; callers must check
    ``geometry.degenerate`` first (the value returned there drops the e-term).
    """
    g = geometry
    field = ((PI - g.theta) / (2 * PI))[..., None] * b
    if kind == "relu":
        return field + (g.norm_b * g.sin / (2 * PI))[..., None] * g.a_hat
    if kind == "step_exact":
        return field + (g.norm_b * g.cos / (2 * PI))[..., None] * g.e
    if kind == "step_expected":
        return field
    raise ValueError(f"kind must be one of {PAIR_KINDS}; got {kind!r}")


@dataclass(frozen=True)
class FrameBlocks:
    """Jacobian blocks A = ∂g/∂a and B = ∂g/∂b in the pair frame (see module docstring).

    gamma_A, gamma_B: (...) complement scalars; C_A, C_B: (..., 2, 2) in-plane matrices in the
    basis (â, e).
    """

    gamma_A: NDArray[np.float64]
    C_A: NDArray[np.float64]
    gamma_B: NDArray[np.float64]
    C_B: NDArray[np.float64]


def _two_by_two(c00, c01, c10, c11) -> NDArray:
    """The (..., 2, 2) array [[c00, c01], [c10, c11]] of broadcast entries (any dtype, e.g.
    SymPy objects), filled in place rather than stacked."""
    entries = (c00, c01, c10, c11)
    shape = getattr(c00, "shape", None)
    if not (type(c00) is np.ndarray and c00.dtype == np.float64 and all(
            type(c) is np.ndarray and c.dtype == np.float64 and c.shape == shape
            for c in entries[1:])):
        shape = np.broadcast_shapes(*(np.shape(c) for c in entries))
        dtype = np.result_type(*(c.dtype if isinstance(c, np.ndarray) else np.asarray(c).dtype
                                 for c in entries))
        out = np.empty(shape + (2, 2), dtype=dtype)
    else:  # float64 arrays of one shape (the numeric route)
        out = np.empty(shape + (2, 2))
    out[..., 0, 0], out[..., 0, 1], out[..., 1, 0], out[..., 1, 1] = entries
    return out


def frame_blocks(kind: str, geometry: PairGeometry) -> FrameBlocks:
    """Frame coefficients of the Jacobian blocks of the pair field ``kind``.

    Not defined at degenerate pairs for the step kinds; there the coefficients returned are
    ``nan`` so that no caller can use them by accident (the assembly raises before that).
    """
    g = geometry
    s, c, rho = g.sin, g.cos, g.ratio
    remaining = PI - g.theta
    zero = np.zeros_like(s)
    sc = s * c  # shared products (the same operations as written out in each entry)
    if kind == "relu":
        gamma_A = rho * s
        ss = s * s
        C_A = _two_by_two(zero, zero, zero, 2 * gamma_A)  # 2·(ρs) = (2ρ)·s exactly
        gamma_B = remaining
        C_B = _two_by_two(remaining + sc, ss, ss, remaining - sc)
    elif kind == "step_exact":
        with np.errstate(divide="ignore", invalid="ignore"):
            cot = np.where(g.degenerate, np.nan, c / np.where(g.degenerate, 1.0, s))
        gamma_A = -rho * c * cot
        C_A = _two_by_two(zero, zero, zero, 2 * rho * s)
        gamma_B = remaining + cot
        C_B = _two_by_two(remaining + sc, -c * c, 1 + s * s, remaining - sc)
    elif kind == "step_expected":
        gamma_A = zero
        C_A = _two_by_two(zero, rho * c, zero, rho * s)
        gamma_B = remaining
        C_B = _two_by_two(remaining + sc, -c * c, s * s, remaining - sc)
    else:
        raise ValueError(f"kind must be one of {PAIR_KINDS}; got {kind!r}")
    blocks = FrameBlocks(gamma_A / (2 * PI), C_A / (2 * PI), gamma_B / (2 * PI), C_B / (2 * PI))
    if kind in JACOBIAN_SINGULAR_KINDS and g.degenerate.any():
        mask = g.degenerate
        for array in (blocks.gamma_A, blocks.gamma_B):
            array[mask] = np.nan
        for array in (blocks.C_A, blocks.C_B):
            array[mask] = np.nan
    return blocks


def complement_scalar(gamma: NDArray[np.float64], d: int) -> NDArray[np.float64]:
    """γ where the complement of the pair plane is non-trivial (d >= 3), else exactly 0."""
    return gamma if d >= 3 else np.zeros_like(gamma)


def frame_to_matrix(gamma: NDArray[np.float64], C: NDArray[np.float64],
                    a_hat: NDArray[np.float64], e: NDArray[np.float64]) -> NDArray[np.float64]:
    """Dense blocks γ(I − ââᵀ − eeᵀ) + [â e] C [â e]ᵀ, shape (..., d, d).

    For d <= 2 the complement of the plane is {0} and γ is dropped exactly: forming
    γ(I − ââᵀ − eeᵀ) in floating point would leave γ·eps, and γ ~ 1/sin θ near parallel pairs.
    """
    d = a_hat.shape[-1]
    gamma = complement_scalar(gamma, d)
    outer = np.einsum
    matrix = gamma[..., None, None] * np.eye(d)
    matrix = matrix + outer("...,...i,...j->...ij", C[..., 0, 0] - gamma, a_hat, a_hat)
    matrix = matrix + outer("...,...i,...j->...ij", C[..., 0, 1], a_hat, e)
    matrix = matrix + outer("...,...i,...j->...ij", C[..., 1, 0], e, a_hat)
    matrix = matrix + outer("...,...i,...j->...ij", C[..., 1, 1] - gamma, e, e)
    return matrix
