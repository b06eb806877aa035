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

Coordinates of the rows in S: for d > GRAM_BASIS_MIN_D and Σ = I or spiked, from the Cholesky
factor of the rows' Gram matrix when it is well conditioned (theory.structure: no d-long basis
is formed, the only pass over the d-long rows is the one that forms G); otherwise from a basis.

κ needs only the extreme eigenvalues. The K·m in-span part is solved by LAPACK (all
eigenvalues, as :func:`spectrum`) up to K·m = DENSE_SPECTRUM_MAX_SIZE, and above that by ARPACK
on a matrix-free product of cost O(K²·m) (theory.operators; Σ = I, every activation; a spiked Σ
keeps the dense reduced matrix).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from theory.activations import get_activation
from theory.assembly import Problem, loss_order_weights, make_problem, problem_jacobian
from theory.operators import (
    ITERATIVE_NCV,
    IterativeNoConvergence,
    extreme_real_parts,
    jacobian_operator,
)
from theory.structure import (  # noqa: F401  (re-exported: their home before theory.structure)
    GRAM_BASIS_MIN_D,
    SPIKED_RANK_FRACTION,
    NotSpikedError,
    covariance_spikes,
    gram_coordinates,
    gram_span_basis,
    reduce_to_span,
    span_basis,
)
from theory.validation import (
    as_student_teacher,
    check_convention,
    check_method,
    dense_hessian_bytes,
    pair_bytes,
    require_memory,
)

#: Imaginary parts below this multiple of eps·|λ|_max are rounding, not a rotation: LAPACK's
#: nonsymmetric solver splits repeated real eigenvalues into pairs with tiny imaginary parts.
IMAG_ROUNDING_FACTOR = 1e4


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


#: condition_number solves the in-span K·m part with LAPACK (every eigenvalue, exact to rounding)
#: up to this size, and iteratively (ARPACK on the matrix-free product) above it, where the
#: dense matrix costs O((K·m)³) time and (K·m)² memory (K = 64, d = 1000: K·m = 8192, ~minutes).
DENSE_SPECTRUM_MAX_SIZE = 1024

EIGENSOLVERS = ("auto", "lapack", "arpack")


def check_eigensolver(eigensolver: str) -> str:
    if not isinstance(eigensolver, str) or eigensolver not in EIGENSOLVERS:
        raise ValueError(f"eigensolver must be one of {EIGENSOLVERS} ('auto': LAPACK up to "
                         f"K·m = {DENSE_SPECTRUM_MAX_SIZE}, ARPACK above); got {eigensolver!r}")
    return eigensolver


class _Setup:
    """The problem whose Jacobian is solved and the dimension d of the original one:
    ``structured`` False: the whole (K·d)² problem; True: the problem reduced to S (dimension
    m = dim S < d or = d with method='structured'), its complement Γ repeated d − m times."""

    def __init__(self, problem: Problem, d: int, structured: bool) -> None:
        self.problem, self.d, self.structured = problem, d, structured


def _gram_reduced(W, W_star, loss, activation, convention, sobolev_weight,
                  second_order_weight) -> _Setup | None:
    """Σ = I, d > GRAM_BASIS_MIN_D: validate the weights without copying them, take their
    coordinates in S from the Gram matrix (theory.structure.gram_coordinates) and build the
    problem on the K×m coordinates (validation and scaling then cost nothing). None when the
    Gram path does not apply (small d, ill-conditioned or overflowing Gram matrix)."""
    get_activation(activation)  # the same order of argument checks as make_problem
    loss_order_weights(loss, sobolev_weight, second_order_weight)
    check_convention(convention)
    if _plain_rows(W, W_star):
        # float64 (K, d) arrays: gram_coordinates succeeds only when every squared row norm is
        # finite and in [1e-250, 1e250], i.e. every entry finite and no row zero, which is all
        # as_student_teacher would check; if it fails, make_problem (in _setup) validates and
        # names the bad entry. One pass over the weights instead of two.
        student, teacher = W, W_star
    else:
        student, teacher = as_student_teacher(W, W_star)
    K, d = student.shape
    if d <= GRAM_BASIS_MIN_D or K + teacher.shape[0] >= d:
        return None
    coordinates = gram_coordinates([student, teacher])
    if coordinates is None:
        return None
    problem = make_problem(coordinates[:K], coordinates[K:], loss, activation=activation,
                           convention=convention, sobolev_weight=sobolev_weight,
                           second_order_weight=second_order_weight, input_covariance=None)
    return _Setup(problem, d, True)


def _plain_rows(W, W_star) -> bool:
    return all(isinstance(X, np.ndarray) and X.dtype == np.float64 and X.ndim == 2
               and X.shape[0] >= 1 for X in (W, W_star)) and (
        W.shape[1] == W_star.shape[1] > GRAM_BASIS_MIN_D)


def _setup(W, W_star, loss, *, convention, activation, sobolev_weight, second_order_weight,
           input_covariance, method) -> _Setup:
    check_method(method)
    if method != "dense" and input_covariance is None:
        fast = _gram_reduced(W, W_star, loss, activation, convention, sobolev_weight,
                             second_order_weight)
        if fast is not None:
            return fast
    problem = make_problem(W, W_star, loss, activation=activation, convention=convention,
                           sobolev_weight=sobolev_weight, second_order_weight=second_order_weight,
                           input_covariance=input_covariance)
    K, d = problem.W.shape
    reduction = None
    if method != "dense":
        try:
            reduction = reduce_to_span(problem.W, problem.W_star, problem.sigma)
        except NotSpikedError:
            if method == "structured":
                raise ValueError(
                    "method='structured' needs input_covariance = I + low rank (spiked, "
                    f"rank(Σ − I) <= {SPIKED_RANK_FRACTION:g}·d): this Σ is not, so the Hessian "
                    "has no common scalar complement; use method='dense' or 'auto'"
                ) from None
    if reduction is None or (method == "auto" and reduction.m == d):
        m = min(d, K + problem.W_star.shape[0])
        require_memory(dense_hessian_bytes(K, problem.W_star.shape[0], d),
                       f"the dense ({K * d})×({K * d}) Hessian",
                       "use method='structured' (size K·m with m = dim span of the rows, here "
                       f"m <= {m}, independent of d)" if m < d else
                       "use fewer neurons: the rows span all d dimensions, so the structured "
                       "method cannot make it smaller")
        return _Setup(problem, d, False)
    return _Setup(problem.reduced(reduction.W, reduction.W_star, reduction.sigma), d, True)


def _require_reduced_memory(problem: Problem) -> None:
    (K, m), K_star = problem.W.shape, problem.W_star.shape[0]
    require_memory(dense_hessian_bytes(K, K_star, m),
                   f"the reduced ({K * m})×({K * m}) Hessian of the structured method",
                   "use fewer neurons (the structured method needs (K·m)² entries, "
                   "m = dim span of the rows)")


def operator_bytes(K: int, K_star: int, m: int) -> float:
    """Peak bytes of the matrix-free path: the pair arrays, the K dense m×m diagonal blocks,
    the (K, K, m) pair directions and ARPACK's Krylov basis and workspace (~3·ncv vectors)."""
    n = K * m
    return pair_bytes(K, K_star, m) + 8.0 * (K * m * m + 2 * K * K * m
                                             + n * (3 * ITERATIVE_NCV + 10))


def _blocks(setup: _Setup, extremes_only: bool = False, eigensolver: str = "auto"
            ) -> list[tuple[NDArray, int]]:
    """The spectrum as (eigenvalues, multiplicity) blocks: [(all K·d, 1)] for the dense method;
    [(K·m in-span, 1), (K complement, d − m)] for the structured one (module docstring).
    With ``extremes_only`` the in-span block may hold only its two extreme eigenvalues (by real
    part), computed by ARPACK (see condition_number)."""
    problem, d = setup.problem, setup.d
    symmetric = _is_symmetric(problem)
    K, m = problem.W.shape
    if not setup.structured:
        parts = problem_jacobian(problem)
        return [(_eigenvalues(parts.dense.reshape(K * d, K * d), symmetric), 1)]
    iterative = extremes_only and (eigensolver == "arpack" or (
        eigensolver == "auto" and K * m > DENSE_SPECTRUM_MAX_SIZE))
    if iterative and problem.sigma is None and K * m > 8:
        require_memory(operator_bytes(K, problem.W_star.shape[0], m),
                       f"the matrix-free ({K * m})×({K * m}) reduced Hessian",
                       "use fewer neurons (its diagonal blocks need K·m² entries)")
        operator = jacobian_operator(problem)
        complement = problem_jacobian(problem, dense=False).complement
        try:
            smallest, largest = extreme_real_parts(operator, symmetric)
        except IterativeNoConvergence:
            pass  # fall back to LAPACK below (with its memory check)
        else:
            return [(np.array([smallest, largest]), 1),
                    (_eigenvalues(complement, symmetric), d - m)]
    _require_reduced_memory(problem)
    parts = problem_jacobian(problem)
    in_span = _eigenvalues(parts.dense.reshape(K * m, K * m), symmetric)
    return [(in_span, 1), (_eigenvalues(parts.complement, symmetric), d - m)]


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
    setup = _setup(W, W_star, loss, convention=convention, activation=activation,
                   sobolev_weight=sobolev_weight, second_order_weight=second_order_weight,
                   input_covariance=input_covariance, method=method)
    blocks = _blocks(setup)
    values = np.concatenate([v for v, _ in blocks])
    counts = np.concatenate([np.full(v.size, count, dtype=np.int64) for v, count in blocks])
    order = np.argsort(values.real, kind="stable")
    return np.repeat(values[order], counts[order])


def _extreme_real_parts(blocks: list[tuple[NDArray, int]]) -> tuple[float, float]:
    """(min Re λ, max Re λ) over the blocks that occur (multiplicity > 0), without expanding
    the repeated complement eigenvalues (4·10⁶ of them at K = 4, d = 10⁶)."""
    present = [np.real(values) for values, count in blocks if count > 0 and values.size]
    return (float(min(v.min() for v in present)), float(max(v.max() for v in present)))


def condition_number(W: ArrayLike, W_star: ArrayLike, loss: str = "h1", *,
                     convention: str = "expected", activation: str = "relu",
                     sobolev_weight: float = 1.0, second_order_weight: float = 1.0,
                     input_covariance: ArrayLike | None = None, method: str = "auto",
                     eigensolver: str = "auto") -> float:
    """κ = max Re λ / min Re λ of the population Hessian; math.inf where min Re λ <= 0.

    Arguments as :func:`spectrum`. For smooth activations the Hessian exists at the teacher
    (W = W*), so κ at the global minimum is defined.

    Only the extreme eigenvalues are computed (the complement's K eigenvalues are never
    repeated). eigensolver, for the in-span K·m part of the structured method:
    "lapack": every eigenvalue by LAPACK (as :func:`spectrum`); "arpack": the two extreme ones by
    ARPACK (Lanczos for the symmetric Jacobians, Arnoldi otherwise: smallest and largest real
    part) on the matrix-free product of theory.operators, relative tolerance ITERATIVE_TOL =
    1e-12 on each extreme eigenvalue (its residual; for the non-symmetric Jacobian times the
    eigenvector condition); "auto": LAPACK up to K·m = DENSE_SPECTRUM_MAX_SIZE = 1024, ARPACK
    above. ARPACK needs Σ = I (a spiked Σ, the dense method and a non-converging ARPACK run use
    LAPACK, with its memory check).
    """
    smallest, largest = extreme_eigenvalues(
        W, W_star, loss, convention=convention, activation=activation,
        sobolev_weight=sobolev_weight, second_order_weight=second_order_weight,
        input_covariance=input_covariance, method=method, eigensolver=eigensolver)
    if smallest <= 0:
        return math.inf
    return float(largest / smallest)


def extreme_eigenvalues(W: ArrayLike, W_star: ArrayLike, loss: str = "h1", *,
                        convention: str = "expected", activation: str = "relu",
                        sobolev_weight: float = 1.0, second_order_weight: float = 1.0,
                        input_covariance: ArrayLike | None = None, method: str = "auto",
                        eigensolver: str = "auto") -> tuple[float, float]:
    """(min Re λ, max Re λ) of the population Hessian, computed as :func:`condition_number`
    computes them (same arguments, same eigensolver choice and tolerance): κ = max / min."""
    check_eigensolver(eigensolver)
    setup = _setup(W, W_star, loss, convention=convention, activation=activation,
                   sobolev_weight=sobolev_weight, second_order_weight=second_order_weight,
                   input_covariance=input_covariance, method=method)
    return _extreme_real_parts(_blocks(setup, True, eigensolver))
