r"""Spectra and condition numbers of the population Hessian (dense and structured).

Structure: every Jacobian block acts as a scalar on the orthogonal complement of
S = span(student rows ∪ teacher rows) (see theory.kernels). With m = dim S and Q (d×m) an
orthonormal basis of S, the Jacobian is block diagonal in R^K ⊗ S ⊕ R^K ⊗ S^⊥:

* on R^K ⊗ S it is the Jacobian of the same problem in dimension m (rows QᵀW, QᵀW*: norms and
  angles are unchanged), a (K·m)×(K·m) matrix;
* on R^K ⊗ S^⊥ it is Γ ⊗ I_{d−m} with Γ the K×K complement matrix.

So the spectrum is eig(K·m matrix) ∪ eig(Γ) repeated d − m times, at a cost independent of d.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from theory.assembly import jacobian_parts, loss_terms, make_pairs
from theory.validation import (
    check_method,
    dense_hessian_bytes,
    homogeneous_scaling,
    require_memory,
)

#: Imaginary parts below this multiple of eps·|λ|_max are rounding, not a rotation: LAPACK's
#: nonsymmetric solver splits repeated real eigenvalues into pairs with tiny imaginary parts.
IMAG_ROUNDING_FACTOR = 1e4
#: Largest condition number of the rows for which their span coordinates come from the Cholesky
#: factor of their Gram matrix (error ~eps·cond²); beyond it, an SVD.
GRAM_COND_MAX = 100.0


def span_basis(W: NDArray[np.float64], W_star: NDArray[np.float64]) -> NDArray[np.float64]:
    """Orthonormal basis Q (d×m) of span(rows of W and W_star), rank by SVD with tolerance
    max(shape)·eps·σ_max (numpy's matrix_rank rule)."""
    rows = np.vstack([W, W_star])
    _, singular, vt = np.linalg.svd(rows, full_matrices=False)
    tol = singular.max() * max(rows.shape) * np.finfo(float).eps
    rank = int((singular > tol).sum())
    return vt[:rank].T


def span_coordinates(W: NDArray[np.float64], W_star: NDArray[np.float64]
                     ) -> NDArray[np.float64]:
    """Coordinates (P×m) of the rows of [W; W*] in an orthonormal basis of their span.

    Equal, up to a rotation of the basis (which leaves every norm, angle and eigenvalue
    unchanged), to ``rows @ span_basis(W, W_star)``. When d >= 8P and the rows are well
    conditioned (cond <= GRAM_COND_MAX = 100), the coordinates are the Cholesky factor L of the
    Gram matrix rows·rowsᵀ = L Lᵀ (rows = L Qᵀ for the orthonormal Q of rowsᵀ's QR): three
    GEMMs over the rows instead of a P×d SVD, accurate to ~eps·cond² relative (<= 1e-12).
    Otherwise — small d, nearly dependent rows (small angles), rank deficiency — the SVD of
    :func:`span_basis` decides the rank and the basis.
    """
    P = W.shape[0] + W_star.shape[0]
    if W.shape[1] >= 8 * P:
        gram = np.block([[W @ W.T, W @ W_star.T], [W_star @ W.T, W_star @ W_star.T]])
        try:
            factor = np.linalg.cholesky(gram)
        except np.linalg.LinAlgError:
            factor = None
        if factor is not None:
            singular = np.linalg.svd(factor, compute_uv=False)  # those of the rows
            if singular.min() * GRAM_COND_MAX >= singular.max():
                return factor
    return np.vstack([W, W_star]) @ span_basis(W, W_star)


def _eigenvalues(matrix: NDArray[np.float64], symmetric: bool) -> NDArray:
    if matrix.size == 0:
        return np.zeros(0)
    if symmetric:
        return np.linalg.eigvalsh(matrix)
    values = np.linalg.eigvals(matrix)
    scale = np.abs(values).max(initial=0.0)
    if np.all(np.abs(values.imag) <= IMAG_ROUNDING_FACTOR * np.finfo(float).eps * scale):
        return np.sort(values.real)
    return values[np.argsort(values.real, kind="stable")]


def _is_symmetric(terms: list[tuple[float, str]]) -> bool:
    return all(kind != "step_expected" for _, kind in terms)


def spectrum(W: ArrayLike, W_star: ArrayLike, loss: str = "h1", *, convention: str = "expected",
             sobolev_weight: float = 1.0, method: str = "auto") -> NDArray:
    """Eigenvalues of the population Hessian (K·d of them), ascending by real part.

    Symmetric cases (l2, or convention="exact") use a symmetric eigensolver and return a real
    array. The expected Sobolev Jacobian is not symmetric: its eigenvalues are returned real when
    every imaginary part is at rounding level (|Im λ| <= 1e4·eps·max|λ|), complex otherwise.

    method: "dense" (eigenvalues of the full (K·d)² matrix), "structured" (see module docstring;
    cost independent of d) or "auto" (structured when dim S < d, else dense).
    Raises NonDifferentiableError where the Hessian does not exist (see population_hessian).
    """
    check_method(method)
    terms = loss_terms(loss, convention, sobolev_weight)
    W, W_star, _ = homogeneous_scaling(W, W_star)  # relu: the spectrum is scale-invariant
    blocks = _spectrum_blocks(W, W_star, terms, method)
    values = np.concatenate([v if count == 1 else np.repeat(v, count) for v, count in blocks])
    return values[np.argsort(values.real, kind="stable")]


def _spectrum_blocks(W: NDArray[np.float64], W_star: NDArray[np.float64],
                     terms: list[tuple[float, str]], method: str
                     ) -> list[tuple[NDArray, int]]:
    """The spectrum as (eigenvalues, multiplicity) blocks: [(all K·d, 1)] for the dense method;
    [(K·m in-span, 1), (K complement, d − m)] for the structured one (module docstring).
    Refuses (MemoryLimitError) a matrix that cannot fit before allocating it."""
    K, d = W.shape
    symmetric = _is_symmetric(terms)
    coordinates = span_coordinates(W, W_star) if method != "dense" else None
    if coordinates is None or (method == "auto" and coordinates.shape[1] == d):
        m = min(d, K + W_star.shape[0])
        require_memory(dense_hessian_bytes(K, W_star.shape[0], d),
                       f"the dense ({K * d})×({K * d}) Hessian",
                       "use method='structured' (size K·m with m = dim span of the rows, here "
                       f"m <= {m}, independent of d)" if m < d else
                       "use fewer neurons: the rows span all d dimensions, so the structured "
                       "method cannot make it smaller")
        parts = jacobian_parts(make_pairs(W, W_star), terms)
        return [(_eigenvalues(parts.dense.reshape(K * d, K * d), symmetric), 1)]
    m = coordinates.shape[1]
    require_memory(dense_hessian_bytes(K, W_star.shape[0], m),
                   f"the reduced ({K * m})×({K * m}) Hessian of the structured method",
                   "use fewer neurons (the structured method needs (K·m)² entries, "
                   "m = dim span of the rows)")
    reduced = make_pairs(coordinates[:K], coordinates[K:])
    parts = jacobian_parts(reduced, terms)
    in_span = _eigenvalues(parts.dense.reshape(K * m, K * m), symmetric)
    return [(in_span, 1), (_eigenvalues(parts.complement, symmetric), d - m)]


def _extreme_real_parts(blocks: list[tuple[NDArray, int]]) -> tuple[float, float]:
    """(min Re λ, max Re λ) over the blocks that occur (multiplicity > 0), without expanding
    the repeated complement eigenvalues (4·10⁶ of them at K = 4, d = 10⁶)."""
    present = [np.real(values) for values, count in blocks if count > 0 and values.size]
    return (float(min(v.min() for v in present)), float(max(v.max() for v in present)))


def condition_number(W: ArrayLike, W_star: ArrayLike, loss: str = "h1", *,
                     convention: str = "expected", sobolev_weight: float = 1.0,
                     method: str = "auto") -> float:
    """κ = max Re λ / min Re λ of the population Hessian; math.inf where min Re λ <= 0."""
    check_method(method)
    terms = loss_terms(loss, convention, sobolev_weight)
    W, W_star, _ = homogeneous_scaling(W, W_star)  # relu: κ is scale-invariant
    smallest, largest = _extreme_real_parts(_spectrum_blocks(W, W_star, terms, method))
    if smallest <= 0:
        return math.inf
    return float(largest / smallest)
