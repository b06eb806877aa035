r"""Spectra and condition numbers of the population Hessian (dense and structured).

Structure: every Jacobian block acts as a scalar on the orthogonal complement of
S = span(student rows ∪ teacher rows) (see theory.kernels). With m = dim S and Q (d×m) an
orthonormal basis of S, the Jacobian is block diagonal in R^K ⊗ S ⊕ R^K ⊗ S^⊥:

* on R^K ⊗ S it is the Jacobian of the same problem in dimension m (rows QᵀW, QᵀW*: norms and
  angles are unchanged), a (K·m)×(K·m) matrix;
* on R^K ⊗ S^⊥ it is Γ ⊗ I_{d−m} with Γ the K×K complement matrix.

So the spectrum is eig(K·m matrix) ∪ eig(Γ) repeated d − m times, at a cost independent of d.

The same holds for every activation (theory.pair_frame: the blocks are built from vectors in
span(a, b, range(Σ − I)) and from Σ itself) and for a spiked input covariance Σ = I + UUᵀ
(any Σ with Σ − I of low rank): take S = span(rows ∪ range(Σ − I)); Σ maps S into itself and
acts as I on S^⊥, so the reduced problem lives in S with covariance QᵀΣQ and the complement
matrix Γ is unchanged. A general Σ has no such complement: its spectrum is computed dense.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from theory.assembly import Problem, make_problem, problem_jacobian
from theory.validation import SpikedCovariance, check_method

#: Imaginary parts below this multiple of eps·|λ|_max are rounding, not a rotation: LAPACK's
#: nonsymmetric solver splits repeated real eigenvalues into pairs with tiny imaginary parts.
IMAG_ROUNDING_FACTOR = 1e4


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


def _is_symmetric(problem: Problem) -> bool:
    """Only the expected Sobolev Jacobian of a kinked activation is not symmetric."""
    return problem.activation.smooth or problem.convention == "exact" or 1 not in problem.weights


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


def spectrum(W: ArrayLike, W_star: ArrayLike, loss: str = "h1", *, convention: str = "expected",
             activation: str = "relu", sobolev_weight: float = 1.0,
             second_order_weight: float = 1.0, input_covariance: ArrayLike | None = None,
             method: str = "auto") -> NDArray:
    """Eigenvalues of the population Hessian (K·d of them), ascending by real part.

    Symmetric cases (l2, convention="exact", every smooth activation) use a symmetric
    eigensolver and return a real array. The expected Sobolev Jacobian of relu/leaky relu is not
    symmetric: its eigenvalues are returned real when every imaginary part is at rounding level
    (|Im λ| <= 1e4·eps·max|λ|), complex otherwise.

    method: "dense" (eigenvalues of the full (K·d)² matrix), "structured" (see module docstring;
    cost independent of d) or "auto" (structured when dim S < d, else dense).
    Input laws: Σ = I (input_covariance=None) and spiked Σ = I + low rank (rank(Σ − I) <= d/2,
    found by an eigendecomposition of Σ − I) keep the structure, with
    S = span(rows ∪ range(Σ − I)). For any other Σ, "auto" uses dense, and "structured" raises
    ValueError (the blocks no longer act as scalars on a common complement).
    Other arguments as theory.population_hessian. Raises NonDifferentiableError where the
    Hessian does not exist (see population_hessian).
    """
    check_method(method)
    problem = make_problem(W, W_star, loss, activation=activation, convention=convention,
                           sobolev_weight=sobolev_weight, second_order_weight=second_order_weight,
                           input_covariance=input_covariance)
    blocks = _spectrum_blocks(problem, method)
    values = np.concatenate([v for v, _ in blocks])
    counts = np.concatenate([np.full(v.size, count, dtype=np.int64) for v, count in blocks])
    order = np.argsort(values.real, kind="stable")
    return np.repeat(values[order], counts[order])


def _spectrum_blocks(problem: Problem, method: str) -> list[tuple[NDArray, int]]:
    """The spectrum as (eigenvalues, multiplicity) blocks: [(all K·d, 1)] for the dense method;
    [(K·m in-span, 1), (K complement, d − m)] for the structured one (module docstring)."""
    W, W_star, sigma = problem.W, problem.W_star, problem.sigma
    K, d = W.shape
    symmetric = _is_symmetric(problem)
    spikes = None
    if method != "dense" and sigma is not None:
        spikes = covariance_spikes(sigma)
        if spikes is None:
            if method == "structured":
                raise ValueError(
                    "method='structured' needs input_covariance = I + low rank (spiked, "
                    f"rank(Σ − I) <= {SPIKED_RANK_FRACTION:g}·d): this Σ is not, so the Hessian "
                    "has no common scalar complement; use method='dense' or 'auto'"
                )
            method = "dense"
    basis = None
    if method != "dense":
        extra = np.zeros((0, d)) if spikes is None else spikes.T
        basis = span_basis(np.vstack([W, extra]), W_star)
    if basis is None or (method == "auto" and basis.shape[1] == d):
        parts = problem_jacobian(problem)
        return [(_eigenvalues(parts.dense.reshape(K * d, K * d), symmetric), 1)]

    m = basis.shape[1]
    if sigma is None:
        reduced_sigma = None
    elif isinstance(sigma, SpikedCovariance):
        projected = basis.T @ sigma.factor
        reduced_sigma = np.eye(m) + projected @ projected.T
    else:
        reduced_sigma = basis.T @ sigma @ basis
    parts = problem_jacobian(problem.reduced(W @ basis, W_star @ basis, reduced_sigma))
    in_span = _eigenvalues(parts.dense.reshape(K * m, K * m), symmetric)
    return [(in_span, 1), (_eigenvalues(parts.complement, symmetric), d - m)]


def _extreme_real_parts(blocks: list[tuple[NDArray, int]]) -> tuple[float, float]:
    """(min Re λ, max Re λ) over the blocks that occur (multiplicity > 0), without expanding
    the repeated complement eigenvalues (4·10⁶ of them at K = 4, d = 10⁶)."""
    present = [np.real(values) for values, count in blocks if count > 0 and values.size]
    return (float(min(v.min() for v in present)), float(max(v.max() for v in present)))


def condition_number(W: ArrayLike, W_star: ArrayLike, loss: str = "h1", *,
                     convention: str = "expected", activation: str = "relu",
                     sobolev_weight: float = 1.0, second_order_weight: float = 1.0,
                     input_covariance: ArrayLike | None = None, method: str = "auto") -> float:
    """κ = max Re λ / min Re λ of the population Hessian; math.inf where min Re λ <= 0.

    Arguments as :func:`spectrum`. For smooth activations the Hessian exists at the teacher
    (W = W*), so κ at the global minimum is defined.
    """
    check_method(method)
    problem = make_problem(W, W_star, loss, activation=activation, convention=convention,
                           sobolev_weight=sobolev_weight, second_order_weight=second_order_weight,
                           input_covariance=input_covariance)
    smallest, largest = _extreme_real_parts(_spectrum_blocks(problem, method))
    if smallest <= 0:
        return math.inf
    return float(largest / smallest)
