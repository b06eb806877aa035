r"""One assembly for every activation: sums over neuron pairs of kernels of the pair's Gram entries.

For x ~ N(0, Σ) and a pair of weight vectors (a, b) let

    s_a = aᵀΣa,   s_b = bᵀΣb,   c = aᵀΣb   (the law of (a·x, b·x)),     e = a·b (Euclidean).

The pair kernel of a loss is a function F(s_a, s_b, c, e) = Σ_n w_n eⁿ h_n(s_a, s_b, c) with
h_n = ∂ⁿk/∂cⁿ (Price's theorem: h_n = E[φ^(n)(a·x) φ^(n)(b·x)]; see theory.activations). The
Sobolev terms measure the Euclidean input gradient (n = 1: ∇_x g = Σ φ'(w·x) w, pair factor a·b)
and Hessian (n = 2: ∇²_x g = Σ φ''(w·x) wwᵀ, pair factor (a·b)²), hence the factor eⁿ with the
Euclidean e even when Σ ≠ I. w_0 = 1 (L2 term), w_1 = λ (sobolev_weight), w_2 = μ
(second_order_weight). The loss of W (K×d) against W* (K*×d) is

    ½ Σ_{i,j} F(w_i, w_j) − Σ_{i,j} F(w_i, w*_j) + ½ Σ_{i,j} F(w*_i, w*_j).

Chain rule (∂s_a/∂a = 2Σa, ∂c/∂a = Σb, ∂e/∂a = b; by symmetry of F the ½ cancels):

    ∇_{w_i} = Σ_j ∂_a F(w_i, w_j) − Σ_j ∂_a F(w_i, w*_j),
    ∂_a F   = F_sa·2Σa + F_c·Σb + F_e·b,
    A(a, b) = ∂²F/∂a∂a = 2F_sa Σ + Σ_{u,v ∈ {s_a, c, e}} F_uv ∂_a u ∂_a vᵀ,
    B(a, b) = ∂²F/∂a∂b = F_c Σ + F_e I + Σ_{u ∈ {s_a,c,e}, v ∈ {s_b,c,e}} F_uv ∂_a u ∂_b vᵀ,

with ∂_b s_b = 2Σb, ∂_b c = Σa, ∂_b e = a. The Hessian block (i, k) is B(w_i, w_k) for k ≠ i and
Σ_j A(w_i, w_j) − Σ_j A(w_i, w*_j) + B(w_i, w_i) on the diagonal (the self pair j = i enters
both through its first slot, in A, and through the second, in B).

Structure: every vector above lies in span(a, b, range(Σ − I)); on the orthogonal complement Σ
acts as I, so A acts there as the scalar 2F_sa and B as F_c + F_e. With Σ = I (or spiked,
Σ = I + low rank) the Hessian therefore acts as Γ ⊗ I on R^K ⊗ (complement of
span(rows ∪ range(Σ − I))), Γ the K×K complement matrix (theory.spectra uses it).

Everything is vectorised over pairs: coefficient matrices (K, M) and rank-one terms contracted
by broadcasting and matrix products; there is no Python loop over neurons.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from theory.validation import SpikedCovariance

Array = NDArray[np.float64]

#: A partials provider: (n, order, s_a, s_b, c) -> tuple of h_n and its partials
#: (theory.activations._partials order: h, h_sa, h_sb, h_c, h_sasa, h_sasb, h_sac, h_sbsb, h_sbc,
#: h_cc).
Partials = Callable[[int, int, Array, Array, Array], tuple[Array, ...]]


def covariance_apply(X: Array, sigma) -> Array:
    """Rows Σx_i of X (Σ symmetric; a matrix, a SpikedCovariance, or None for the identity)."""
    if sigma is None:
        return X
    if isinstance(sigma, SpikedCovariance):
        return sigma.apply(X)
    return X @ sigma


def covariance_matrix(sigma, d: int) -> Array:
    """Σ as a dense d×d matrix (I for None)."""
    if sigma is None:
        return np.eye(d)
    if isinstance(sigma, SpikedCovariance):
        return sigma.matrix()
    return sigma


@dataclass
class PairDerivatives:
    """F and its partial derivatives on a (K, M) grid of pairs.

    first: dict over "sa", "sb", "c", "e"; second: dict over ordered pairs of those names
    (symmetric: both orders are present).
    """

    value: Array
    first: dict[str, Array]
    second: dict[tuple[str, str], Array]


class NonFiniteResultError(ValueError):
    """A pair sum overflowed float64 (or produced NaN) although every input was in range."""


def _weights_text(weights: dict[int, float]) -> str:
    names = {0: "l2 weight", 1: "sobolev_weight", 2: "second_order_weight"}
    return ", ".join(f"{names.get(n, n)} = {w:g}" for n, w in sorted(weights.items()) if n)


def finite_result(function):
    """Run a pair-sum function with float warnings silenced and refuse a non-finite result.

    The weights w_n multiply eⁿ·h_n (e = a·b Euclidean): a huge sobolev_weight or
    second_order_weight, or a Euclidean a·b far beyond the Σ-norms (input_covariance ≪ I), can
    overflow although each factor is finite; the result is then a ValueError naming those
    arguments instead of inf or NaN."""
    import functools

    @functools.wraps(function)
    def guarded(*args, **kwargs):
        with np.errstate(all="ignore"):
            result = function(*args, **kwargs)
        arrays = result if isinstance(result, tuple) else (result,)
        if all(a is None or np.isfinite(a).all() for a in arrays):
            return result
        weights = next((a for a in args if isinstance(a, dict)), None)
        text = f" ({_weights_text(weights)})" if weights and _weights_text(weights) else ""
        raise NonFiniteResultError(
            f"the population sum over neuron pairs overflows float64{text}: the Sobolev terms "
            "scale like sobolev_weight·(a·b)·h₁ and second_order_weight·(a·b)²·h₂ and must stay "
            f"below {np.finfo(float).max:.3g}. Reduce sobolev_weight or second_order_weight, "
            "or rescale W and W_star (a·b is Euclidean: an input_covariance far below I "
            "leaves it large)")
    return guarded


_SECOND_KEYS = (("sa", "sa"), ("sa", "sb"), ("sa", "c"), ("sb", "sb"), ("sb", "c"), ("c", "c"))

#: Number of values a partials provider returns for order 0, 1, 2 (h, its 3 first and 6 second
#: partials in (s_a, s_b, c)).
_COUNT = (1, 4, 10)


def _stacked(h, count: int, shape: tuple[int, ...]) -> Array:
    """A provider's values as one (count, *shape) array: its ``stacked`` array when it
    carries one of that shape (theory.activations), else the values broadcast and stacked."""
    stacked = getattr(h, "stacked", None)
    if stacked is not None and stacked.shape == (count, *shape):
        return stacked
    return np.stack([np.broadcast_to(v, shape) for v in h[:count]])


def pair_derivatives(partials: Partials, weights: dict[int, float], sa: Array, sb: Array,
                     cc: Array, e: Array, order: int, sign: Array | None = None
                     ) -> PairDerivatives:
    """F = Σ_n w_n eⁿ h_n(s_a, s_b, c) and its partials up to ``order`` (0, 1, 2).

    ``sign`` (optional, entries ±1, broadcast with the pairs) multiplies F and every partial,
    exactly (a product with ±1 does not round): −1 on the teacher pairs of a grid of rows
    (W, W*) makes one pair sum Σ_j F(w_i, w_j) − Σ_j F(w_i, w*_j).

    With d(eⁿ)/de = n e^{n−1} and d²(eⁿ)/de² = n(n−1) e^{n−2}, summed over n in the order of
    ``weights``: F and its (s_a, s_b, c) partials are Σ_n w_n eⁿ·(h_n and its partials), the
    e-partials Σ_n w_n n e^{n−1}·(h_n and its first partials) and F_ee = Σ_n w_n n(n−1)
    e^{n−2} h_n. Symmetric second partials are one array under both orders of their names.
    """
    shape = cc.shape
    count = _COUNT[order]
    main = np.zeros((count, *shape))  # w_n eⁿ × (h, h_sa, h_sb, h_c, h_sasa, ..., h_cc)
    along_e = np.zeros((min(count, 4) if order >= 2 else 1, *shape)) if order >= 1 else None
    ee = np.zeros(shape) if order >= 2 else None
    for n, weight in weights.items():
        if weight == 0:
            continue
        H = _stacked(partials(n, order, sa, sb, cc), count, shape)
        factor = weight * e**n
        main += (factor if sign is None else factor * sign) * H
        if order < 1 or n < 1:
            continue
        factor = weight * n * e ** (n - 1)
        along_e += (factor if sign is None else factor * sign) * H[:along_e.shape[0]]
        if order >= 2 and n >= 2:
            factor = weight * n * (n - 1) * e ** (n - 2)
            ee += (factor if sign is None else factor * sign) * H[0]
    value = main[0]
    first: dict[str, Array] = {}
    second: dict[tuple[str, str], Array] = {}
    if order >= 1:
        first = {"sa": main[1], "sb": main[2], "c": main[3], "e": along_e[0]}
    if order >= 2:
        for index, (u, v) in enumerate(_SECOND_KEYS, start=4):
            second[(u, v)] = second[(v, u)] = main[index]
        for index, name in enumerate(("sa", "sb", "c"), start=1):
            second[(name, "e")] = second[("e", name)] = along_e[index]
        second[("e", "e")] = ee
    return PairDerivatives(value, first, second)


@dataclass(frozen=True)
class Grams:
    """Gram entries of the pairs (rows of X) × (rows of Y) under Σ, and the Σ-images of the rows."""

    X: Array
    Y: Array
    SX: Array
    SY: Array
    sa: Array  # (K, 1)
    sb: Array  # (1, M)
    c: Array   # (K, M)
    e: Array   # (K, M)


def grams(X: Array, Y: Array, sigma: Array | None) -> Grams:
    """Gram entries of every pair (x_i, y_j); identical rows get exactly consistent entries.

    For x_i = y_j (bitwise), c_ij is set to s_a,i (= s_b,j) and e_ij to x_i·x_i as computed for
    the diagonal: a matrix product and a row-wise dot product round differently, and the smooth
    kernels need √(s_a s_b) − |c| exactly 0 for such a pair (theory.activations.erf: otherwise
    its error, ~1e-16·s, is amplified by s in Δ² and the kernels lose every digit for s ≳ 1e8).
    """
    with np.errstate(over="ignore", invalid="ignore"):  # out-of-range entries are refused
        SX = covariance_apply(X, sigma)                 # where they are used (the kernels)
        SY = covariance_apply(Y, sigma)
        sa = np.einsum("ia,ia->i", X, SX)[:, None]
        sb = sa.T if Y is X else np.einsum("ia,ia->i", Y, SY)[None, :]
        e = X @ Y.T
        c = e if sigma is None else X @ SY.T
    identical = _identical_rows(X, Y)
    if identical is not None:
        rows, cols = identical
        c[rows, cols] = sa[rows, 0]  # with Σ = I, e is c
        if sigma is not None:
            e[rows, cols] = np.einsum("ia,ia->i", X[rows], X[rows])
    return Grams(X, Y, SX, SY, sa, sb, c, e)


def column_grams(g: Grams, columns: slice) -> Grams:
    """The Gram entries of the pairs (x_i, y_j) for j in ``columns`` (views; SY stays the
    same object as Y when it was, so the rank-one sums keep merging their terms)."""
    Y = g.Y[columns]
    SY = Y if g.SY is g.Y else g.SY[columns]
    return Grams(g.X, Y, g.SX, SY, g.sa, g.sb[:, columns], g.c[:, columns], g.e[:, columns])


def consistent_gram(c: Array, X: Array, Y: Array, n2: Array) -> Array:
    """Set c[i, j] = n2[i] where X[i] == Y[j] bitwise (in place; Σ = I, n2[i] = x_i·x_i as
    computed row-wise): the exact consistency :func:`grams` gives identical rows."""
    identical = _identical_rows(X, Y)
    if identical is not None:
        rows, cols = identical
        c[rows, cols] = n2[rows]
    return c


def _identical_rows(X: Array, Y: Array) -> tuple[Array, Array] | None:
    """Indices (i, j) with X[i] == Y[j] bitwise (the diagonal among them when Y is X), or
    None; by hashing the rows' bytes, O((K + M)·d)."""
    table: dict[bytes, list[int]] = {}
    for j, row in enumerate(np.ascontiguousarray(Y)):
        table.setdefault(row.tobytes(), []).append(j)
    pairs = [(i, j) for i, row in enumerate(np.ascontiguousarray(X))
             for j in table.get(row.tobytes(), ())]
    if not pairs:
        return None
    rows, cols = np.array(pairs, dtype=np.intp).T
    return rows, cols


@finite_result
def pair_sum_value(partials: Partials, weights: dict[int, float], g: Grams) -> float:
    return float(pair_derivatives(partials, weights, g.sa, g.sb, g.c, g.e, 0).value.sum())


@finite_result
def pair_sum_gradient(D: PairDerivatives, g: Grams) -> Array:
    """Σ_j ∂_a F(x_i, y_j), shape (K, d)."""
    f = D.first
    F_sa, F_c, F_e = f["sa"], f["c"], f["e"]
    out = 2.0 * F_sa.sum(axis=1)[:, None] * g.SX + F_e @ g.Y
    if g.SY is g.Y:
        out += F_c @ g.Y
    else:
        out += F_c @ g.SY
    return out


class _RankOneSum:
    """Accumulates Σ_j T[i, j] L ⊗ R over terms whose L, R are i-vectors or j-vectors.

    Terms with the same (L, R) arrays share one einsum (with Σ = I, SX is X and most merge).
    """

    def __init__(self) -> None:
        self.terms: dict[tuple[int, str, int, str], list] = {}

    def add(self, T: Array, left: Array, left_side: str, right: Array, right_side: str) -> None:
        key = (id(left), left_side, id(right), right_side)
        if key in self.terms:
            self.terms[key][0] = self.terms[key][0] + T
        else:
            self.terms[key] = [T, left, right]


def _diagonal_blocks(acc: _RankOneSum, K: int, d: int) -> Array:
    """Σ_j over pairs (i, j) -> (K, d, d)."""
    out = np.zeros((K, d, d))
    for (_, ls, _, rs), (T, L, R) in acc.terms.items():
        # outer products by broadcasting and Σ_j as one GEMM (no einsum path search per call)
        if ls == "i" and rs == "i":
            out += (T.sum(axis=1)[:, None] * L)[:, :, None] * R[:, None, :]
        elif ls == "i":
            out += L[:, :, None] * (T @ R)[:, None, :]
        elif rs == "i":
            out += (T @ L)[:, :, None] * R[:, None, :]
        else:  # Σ_j (T_ij L_ja) R_jb: a (K, M, d) temporary (as the pair arrays), not M·d²
            out += np.matmul((T[:, :, None] * L[None, :, :]).transpose(0, 2, 1), R)
    return out


def _pair_blocks(acc: _RankOneSum, K: int, d: int) -> Array:
    """Blocks (i, k) of student pairs -> (K, d, K, d); 'i'/'k' sides given as 'i'/'j'."""
    out = np.zeros((K, d, K, d))
    for (_, ls, _, rs), (T, L, R) in acc.terms.items():
        # T_ik · L_(i or k)a · R_(i or k)b by broadcasting over the axes (i, a, k, b)
        left = L[:, :, None, None] if ls == "i" else L.T[None, :, :, None]
        right = R[:, None, None, :] if rs == "i" else R[None, None, :, :]
        out += (T[:, None, :, None] * left) * right
    return out


def _vectors_a(g: Grams) -> dict[str, tuple[Array, str, float]]:
    """∂_a of (s_a, c, e): (array, side, factor)."""
    return {"sa": (g.SX, "i", 2.0), "c": (g.SY, "j", 1.0), "e": (g.Y, "j", 1.0)}


def _vectors_b(g: Grams) -> dict[str, tuple[Array, str, float]]:
    """∂_b of (s_b, c, e) for pairs (x_i, y_j)."""
    return {"sb": (g.SY, "j", 2.0), "c": (g.SX, "i", 1.0), "e": (g.X, "i", 1.0)}


@dataclass(frozen=True)
class BlockCoefficients:
    """What a pair contributes to the Jacobian, as coefficients of F's partials.

    A = a_sigma·Σ + Σ_{u,v} A_uv ∂_a u ∂_a vᵀ;  B = b_sigma·Σ + b_identity·I + Σ B_uv ∂_a u ∂_b vᵀ.
    For a gradient field this is the Hessian of F (symmetric coefficients); the "expected"
    convention of a kinked activation keeps only the e-row (see theory.activations.relu).
    """

    a_sigma: Array
    A: dict[tuple[str, str], Array]
    b_sigma: Array
    b_identity: Array
    B: dict[tuple[str, str], Array]


def exact_coefficients(D: PairDerivatives) -> BlockCoefficients:
    """Blocks of the gradient field ∂_a F: the Hessian of F by the chain rule."""
    f, s = D.first, D.second
    A = {(u, v): s[(u, v)] for u in ("sa", "c", "e") for v in ("sa", "c", "e")}
    B = {(u, v): s[(u, v)] for u in ("sa", "c", "e") for v in ("sb", "c", "e")}
    return BlockCoefficients(2.0 * f["sa"], A, f["c"], f["e"], B)


def expected_coefficients(D: PairDerivatives) -> BlockCoefficients:
    """Blocks of the "expected" field G(a, b) = F_e·b of a kinked activation's Sobolev term.

    G = E[φ'(a·x)φ'(b·x)] b drops the derivative of the step inside the expectation, so only
    the e-row of the chain rule survives: ∂G/∂a = b ∇_a F_eᵀ, ∂G/∂b = F_e I + b ∇_b F_eᵀ.
    """
    f, s = D.first, D.second
    zero = np.zeros_like(f["e"])
    A = {("e", v): s[("e", v)] for v in ("sa", "c", "e")}
    B = {("e", v): s[("e", v)] for v in ("sb", "c", "e")}
    return BlockCoefficients(zero, A, zero, f["e"], B)


def column_coefficients(coef: BlockCoefficients, columns: slice) -> BlockCoefficients:
    """The coefficients of the pairs (x_i, y_j) for j in ``columns`` (views)."""
    return BlockCoefficients(coef.a_sigma[:, columns],
                             {k: v[:, columns] for k, v in coef.A.items()},
                             coef.b_sigma[:, columns], coef.b_identity[:, columns],
                             {k: v[:, columns] for k, v in coef.B.items()})


def mask_coefficients(coef: BlockCoefficients, mask: Array) -> BlockCoefficients:
    """Zero the pairs where ``mask`` is False (np.where: excluded pairs may hold inf/nan)."""
    def keep(T: Array) -> Array:
        return np.where(mask, T, 0.0)
    return BlockCoefficients(keep(coef.a_sigma), {k: keep(v) for k, v in coef.A.items()},
                             keep(coef.b_sigma), keep(coef.b_identity),
                             {k: keep(v) for k, v in coef.B.items()})


@finite_result
def diagonal_sum(coef: BlockCoefficients, g: Grams, sigma: Array | None, dense: bool = True
                 ) -> tuple[Array | None, Array]:
    """(Σ_j A(x_i, y_j) as (K, d, d) or None, Σ_j of A's complement scalar as (K,))."""
    scalar = coef.a_sigma.sum(axis=1)
    if not dense:
        return None, scalar
    K, d = g.X.shape
    va = _vectors_a(g)
    acc = _RankOneSum()
    for (u, v), T in coef.A.items():
        left, ls, fl = va[u]
        right, rs, fr = va[v]
        acc.add(fl * fr * T, left, ls, right, rs)
    blocks = _diagonal_blocks(acc, K, d)
    if sigma is None:
        idx = np.arange(d)
        blocks[:, idx, idx] += scalar[:, None]
    else:
        blocks += scalar[:, None, None] * covariance_matrix(sigma, d)
    return blocks, scalar


@finite_result
def pair_blocks(coef: BlockCoefficients, g: Grams, sigma: Array | None, dense: bool = True
                ) -> tuple[Array | None, Array]:
    """(B(x_i, x_k) for all student pairs as (K, d, K, d) or None, complement scalars (K, K))."""
    complement = coef.b_sigma + coef.b_identity
    if not dense:
        return None, complement
    K, d = g.X.shape
    va, vb = _vectors_a(g), _vectors_b(g)
    acc = _RankOneSum()
    for (u, v), T in coef.B.items():
        left, ls, fl = va[u]
        right, rs, fr = vb[v]
        acc.add(fl * fr * T, left, ls, right, rs)
    blocks = _pair_blocks(acc, K, d)
    idx = np.arange(d)
    if sigma is None:
        blocks[:, idx, :, idx] += complement  # the (a, a) entries: shape (d, K, K)
    else:
        blocks[:, idx, :, idx] += coef.b_identity
        blocks += np.einsum("ik,ab->iakb", coef.b_sigma, covariance_matrix(sigma, d))
    return blocks, complement
