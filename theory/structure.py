r"""The span S of the rows (and of Σ − I) and the reduction of a problem to it: linear algebra only.

Every population quantity depends on x only through its projection on
S = span(student rows ∪ teacher rows ∪ range(Σ − I)) (Σ = I or spiked, Σ = I + low rank), so a
problem in dimension d reduces to the same problem in dimension m = dim S with rows expressed in
any orthonormal basis of S (theory.spectra, theory.population.population_hessian use this).

Two ways to get coordinates of the rows R (n×d, n << d) in an orthonormal basis of S:

* a basis Q (d×m) from an SVD (d <= GRAM_BASIS_MIN_D) or from n×n Gram matrices
  (:func:`gram_span_basis`), coordinates R Q;
* for d > GRAM_BASIS_MIN_D and a well-conditioned Gram matrix G = R Rᵀ, its Cholesky factor:
  G = C Cᵀ with C lower triangular means R = C Qᵀ with Q = Rᵀ C⁻ᵀ orthonormal, so the rows of C
  ARE the coordinates of the rows of R in the basis Q; no d-long vector is formed beyond the one
  pass that computes G (:func:`gram_coordinates`). Forming G squares the condition number: the
  computed C is the exact factor of G + E with ‖E‖ ~ n·eps·‖G‖, which moves the rows by about
  n·eps·κ(R) relative to their size (κ(R) = √κ(G)), against n·eps for an orthogonal basis.
  Hence the path is taken only when λ_min >= GRAM_COORDINATES_MIN_RATIO · λ_max for the Gram
  matrix of the unit rows (κ <= 100 for the unit rows: each row moved by <= ~100·n·eps ≈ 1e-13
  of its norm for n <= 50; row norms themselves do not matter), which also excludes
  nearly (anti)parallel pairs (a pair at angle θ puts an eigenvalue <= 1 − |cos θ| ≈ sin²θ/2
  into the unit rows' Gram matrix), the pairs whose angle the closed forms recompute in
  extended precision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from theory.validation import SpikedCovariance

#: Above this many columns span_basis avoids LAPACK's QR/SVD of the tall matrix (a few seconds
#: at d = 10⁶ on a loaded machine) and works with n×n Gram matrices (BLAS, ~30 ms).
GRAM_BASIS_MIN_D = 4096


def span_basis(W: NDArray[np.float64], W_star: NDArray[np.float64]) -> NDArray[np.float64]:
    """Orthonormal basis Q (d×m) of span(rows of W and W_star), rank by SVD with tolerance
    max(shape)·eps·σ_max (numpy's matrix_rank rule).

    For d > GRAM_BASIS_MIN_D the same basis comes from :func:`gram_span_basis`.
    """
    rows = np.vstack([W, W_star])
    if rows.shape[1] > GRAM_BASIS_MIN_D:
        return gram_span_basis(rows)
    _, singular, vt = np.linalg.svd(rows, full_matrices=False)
    tol = singular.max() * max(rows.shape) * np.finfo(float).eps
    rank = int((singular > tol).sum())
    return vt[:rank].T


def gram_span_basis(rows: NDArray[np.float64], passes: int = 4) -> NDArray[np.float64]:
    """Orthonormal basis (d×m) of the row span of ``rows`` (n×d, n << d) from n×n Gram matrices.

    Each pass takes the eigenvectors of the residual's Gram matrix E Eᵀ with singular value
    σ > max(n, d)·eps·σ_max (σ² = eigenvalue), maps them to rows (combinations of the rows, so
    in the span up to rounding), orthogonalises them against the basis so far, and recomputes
    the residual E = R − (RQᵀ)Q. Directions whose singular value is below √eps·σ_max, lost by
    the squaring in one Gram matrix, are recovered from the residual in the next pass. A final
    Cholesky re-orthonormalisation makes QᵀQ = I to rounding. Cost O(n²d) per pass.
    """
    n, d = rows.shape
    eps = np.finfo(float).eps

    def times(small: NDArray, wide: NDArray) -> NDArray:
        # (k×n) @ (n×d) with both C-contiguous: BLAS's fast path (a transposed small operand
        # can fall into a slow threaded path, ~10x slower at d = 10⁶)
        return np.ascontiguousarray(small) @ wide

    gram = rows @ rows.T
    sigma_max = math.sqrt(max(float(np.linalg.eigvalsh(gram).max()), 0.0))
    tol = max(n, d) * eps * sigma_max
    basis = np.zeros((0, d))
    residual = rows
    passes_used = 0
    for _ in range(passes):
        values, vectors = np.linalg.eigh(gram)
        keep = values > tol * tol
        if not keep.any():
            break
        passes_used += 1
        new = times(vectors[:, keep].T, residual)
        if basis.shape[0]:
            new -= times(new @ basis.T, basis)
        new /= np.linalg.norm(new, axis=1, keepdims=True)
        values, vectors = np.linalg.eigh(new @ new.T)  # orthonormalise the new rows
        new = times(vectors.T / np.sqrt(values)[:, None], new)
        basis = np.vstack([basis, new])
        residual = rows - times(rows @ basis.T, basis)
        gram = residual @ residual.T
    if passes_used > 1:
        factor = np.linalg.cholesky(basis @ basis.T)
        basis = times(np.linalg.inv(factor), basis)
    return basis.T


#: Covariances Σ with rank(Σ − I) above this fraction of d are not treated as spiked.
SPIKED_RANK_FRACTION = 0.5


def covariance_spikes(sigma: NDArray[np.float64] | None) -> NDArray[np.float64] | None:
    """Orthonormal basis (d×r) of range(Σ − I), or None when Σ − I is not low rank.

    For a SpikedCovariance, the column span of its factor U (no d×d matrix is formed).

    Σ = I gives a d×0 basis. Rank by eigh with tolerance d·eps·max(1, |Σ|) (numpy's rule);
    "low rank" means r <= SPIKED_RANK_FRACTION·d.
    """
    if sigma is None:
        return None
    if isinstance(sigma, SpikedCovariance):
        factor = sigma.factor
        if factor.shape[0] > GRAM_BASIS_MIN_D:
            return gram_span_basis(np.ascontiguousarray(factor.T))
        u, singular, _ = np.linalg.svd(factor, full_matrices=False)
        return u[:, singular > singular.max() * max(factor.shape) * np.finfo(float).eps]
    d = sigma.shape[0]
    values, vectors = np.linalg.eigh(sigma - np.eye(d))
    tol = d * np.finfo(float).eps * max(1.0, float(np.abs(values).max()))
    keep = np.abs(values) > tol
    if keep.sum() > SPIKED_RANK_FRACTION * d:
        return None
    return vectors[:, keep]


#: The Cholesky-coordinates path needs λ_min(G)/λ_max(G) at least this (module docstring).
GRAM_COORDINATES_MIN_RATIO = 1e-4


#: gram_coordinates needs every squared row norm in [GRAM_SAFE_MIN, GRAM_SAFE_MAX].
GRAM_SAFE_MIN, GRAM_SAFE_MAX = 1e-250, 1e250


#: Columns per chunk of :func:`_gram` (n×chunk floats stay in cache: 2 MB for n = 8).
GRAM_CHUNK = 1 << 15


def _gram(blocks: list[NDArray[np.float64]]) -> NDArray[np.float64]:
    """G = R Rᵀ for R the vertical stack of ``blocks`` (each (n_b, d)), without forming R: the
    columns are stacked a chunk at a time into a small buffer and G accumulates its Gram
    matrix (one pass over the d-long rows, each product a cache-resident syrk)."""
    n = sum(b.shape[0] for b in blocks)
    d = blocks[0].shape[1]
    gram = np.zeros((n, n))
    buffer = np.empty((n, min(d, GRAM_CHUNK)))
    for start in range(0, d, GRAM_CHUNK):
        stop = min(d, start + GRAM_CHUNK)
        part = buffer[:, :stop - start]
        row = 0
        for block in blocks:
            part[row:row + block.shape[0]] = block[:, start:stop]
            row += block.shape[0]
        gram += part @ part.T
    return gram


def gram_coordinates(blocks: list[NDArray[np.float64]]) -> NDArray[np.float64] | None:
    """Coordinates C (n×n) of the stacked rows R = [blocks] in an orthonormal basis of their
    span (R = C Qᵀ, QᵀQ = I), from the Cholesky factor of G = R Rᵀ: with D = diag(|r_i|) and
    D⁻¹GD⁻¹ = L Lᵀ, C = D L. None when the unit rows are not linearly independent with
    λ_min ≥ GRAM_COORDINATES_MIN_RATIO·λ_max of D⁻¹GD⁻¹ (module docstring; then use a basis,
    :func:`gram_span_basis`), or when a squared norm is outside [GRAM_SAFE_MIN, GRAM_SAFE_MAX]."""
    gram = _gram(blocks)
    diagonal = np.diag(gram)
    # squared norms far from under/overflow: products of entries that underflow then cost
    # nothing relative to eps (otherwise the basis path, on rows the caller may rescale)
    if not (np.isfinite(gram).all() and diagonal.min() >= GRAM_SAFE_MIN
            and diagonal.max() <= GRAM_SAFE_MAX):
        return None
    # the test and the factor on unit rows (the correlation matrix): rows of very different
    # norms (scaled weights beside a spike factor) are not ill-conditioned for this purpose
    norms = np.sqrt(diagonal)
    correlation = gram / norms[:, None] / norms[None, :]
    values = np.linalg.eigvalsh(correlation)
    if values[0] < GRAM_COORDINATES_MIN_RATIO * values[-1]:
        return None
    return norms[:, None] * np.linalg.cholesky(correlation)


@dataclass(frozen=True)
class Reduction:
    """A problem's rows and covariance in an orthonormal basis Q (d×m) of S.

    W: (K, m), W_star: (K*, m), sigma: QᵀΣQ (m×m) or None for Σ = I; basis: Q, or None when
    the coordinates came from :func:`gram_coordinates` (Q is then never formed).
    """

    W: NDArray[np.float64]
    W_star: NDArray[np.float64]
    sigma: NDArray[np.float64] | None
    basis: NDArray[np.float64] | None
    d: int

    @property
    def m(self) -> int:
        return self.W.shape[1]


class NotSpikedError(ValueError):
    """Σ − I is not of low rank: the problem has no common scalar complement."""


def reduce_to_span(W: NDArray[np.float64], W_star: NDArray[np.float64],
                   sigma: NDArray[np.float64] | SpikedCovariance | None, *,
                   need_basis: bool = False) -> Reduction:
    """The rows and Σ in an orthonormal basis of S = span(rows ∪ range(Σ − I)).

    Raises NotSpikedError when Σ is not I + low rank (see :func:`covariance_spikes`).
    For d > GRAM_BASIS_MIN_D, Σ = I or a SpikedCovariance, and ``need_basis`` False, the
    coordinates come from :func:`gram_coordinates` when its conditioning test passes; otherwise
    from a basis Q (:func:`span_basis`, as before: its results are unchanged).
    """
    K, d = W.shape
    factor = sigma.factor if isinstance(sigma, SpikedCovariance) else None
    if not need_basis and d > GRAM_BASIS_MIN_D and (sigma is None or factor is not None):
        blocks = [W, W_star] if factor is None else [W, W_star, np.ascontiguousarray(factor.T)]
        coordinates = gram_coordinates(blocks)
        if coordinates is not None:
            K_star = W_star.shape[0]
            reduced_sigma = None
            if factor is not None:
                spike = coordinates[K + K_star:]  # coordinates of the columns of U
                reduced_sigma = np.eye(coordinates.shape[1]) + spike.T @ spike
            return Reduction(coordinates[:K], coordinates[K:K + K_star], reduced_sigma, None, d)
    spikes = None
    if sigma is not None:
        spikes = covariance_spikes(sigma)
        if spikes is None:
            raise NotSpikedError("input covariance Σ − I is not of low rank")
    basis = span_basis(W if spikes is None else np.vstack([W, spikes.T]), W_star)
    m = basis.shape[1]
    if sigma is None:
        reduced_sigma = None
    elif isinstance(sigma, SpikedCovariance):
        projected = basis.T @ sigma.factor
        reduced_sigma = np.eye(m) + projected @ projected.T
    else:
        reduced_sigma = basis.T @ sigma @ basis
    return Reduction(W @ basis, W_star @ basis, reduced_sigma, basis, d)
