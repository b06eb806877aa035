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
on a matrix-free product of cost O(K²·m) and memory O(K·m + K²) (theory.operators; Σ = I, every
activation; a spiked Σ keeps the dense reduced matrix).

With Σ = I and K + K* < d the rows are reduced to S before any pair array exists (no
K·(K+K*)·d array at any d), and the memory of the reduced solve is checked before the O(d)
pass that forms the coordinates; a refusal names the largest width that fits.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from theory import validation
from theory.activations import get_activation
from theory.assembly import Problem, loss_order_weights, make_problem, problem_jacobian
from theory.operators import (
    ITERATIVE_NCV,
    PAIR_CHUNK_BYTES,
    IterativeNoConvergence,
    as_linear_operator,
    extreme_real_parts,
    jacobian_product,
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
from theory.threads import with_toolkit_blas_threads
from theory.validation import (
    as_student_teacher,
    check_convention,
    check_method,
    dense_hessian_bytes,
    require_memory,
    row_scales,
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


def _span_first(W, W_star, loss, activation, convention, sobolev_weight, second_order_weight,
                extremes_only: bool, eigensolver: str
                ) -> _Setup | tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """Σ = I and K + K* < d: the problem on the rows' coordinates in S (m = dim S <= K + K*),
    formed before any pair array, so nothing of size K·(K+K*)·d is ever built.

    Order: the arguments are checked, then the memory the reduced solve will need (an upper
    bound with m = K + K*, theory.validation.require_memory) BEFORE any O(d) pass; then the
    coordinates: for d > GRAM_BASIS_MIN_D from the Gram matrix (theory.structure.
    gram_coordinates, one chunked pass, no copy of float64 (K, d) weights, whose validation
    that pass performs: a NaN, inf or zero row makes it fail, and the validation below names
    it); otherwise (or when the Gram test fails) from an orthonormal basis of S
    (theory.structure.reduce_to_span) of the validated rows, scaled by the power of two
    make_problem would apply (relu family), so the result is the one of the full problem.
    When the span path does not apply (K + K* >= d): the validated (W, W_star), or None if
    they were not validated here (d > GRAM_BASIS_MIN_D), for make_problem."""
    act = get_activation(activation)  # the same order of argument checks as make_problem
    loss_order_weights(loss, sobolev_weight, second_order_weight)
    check_convention(convention)
    validated = not _plain_rows(W, W_star)
    if validated:
        student, teacher = as_student_teacher(W, W_star, copy=False)
    else:
        student, teacher = W, W_star
    (K, d), K_star = student.shape, teacher.shape[0]
    if K + K_star >= d:
        return (student, teacher) if validated else None
    _require_solve_memory(K, K_star, K + K_star, act.smooth, extremes_only, eigensolver, d)
    coordinates = None
    if d > GRAM_BASIS_MIN_D:
        coordinates = gram_coordinates([student, teacher])
    if coordinates is None:
        student, teacher = as_student_teacher(student, teacher, copy=False)
        if act.homogeneous:
            exponent = math.frexp(max(float(row_scales(student).max()),
                                      float(row_scales(teacher).max())))[1]
            exponent -= exponent % 2
            if exponent:
                student, teacher = np.ldexp(student, -exponent), np.ldexp(teacher, -exponent)
        reduction = reduce_to_span(student, teacher, None)
        coordinates = np.vstack([reduction.W, reduction.W_star])
    # the reduced solve's memory was checked above (its pair arrays, dense or chunked)
    problem = make_problem(coordinates[:K], coordinates[K:], loss, activation=activation,
                           convention=convention, sobolev_weight=sobolev_weight,
                           second_order_weight=second_order_weight, input_covariance=None,
                           pair_memory=False)
    return _Setup(problem, d, True)


def _plain_rows(W, W_star) -> bool:
    return all(isinstance(X, np.ndarray) and X.dtype == np.float64 and X.ndim == 2
               and X.shape[0] >= 1 for X in (W, W_star)) and (
        W.shape[1] == W_star.shape[1] > GRAM_BASIS_MIN_D)


def _iterative(K: int, m: int, extremes_only: bool, eigensolver: str) -> bool:
    """Whether the in-span part is solved by ARPACK (see condition_number)."""
    return extremes_only and K * m > 8 and (eigensolver == "arpack" or (
        eigensolver == "auto" and K * m > DENSE_SPECTRUM_MAX_SIZE))


def _solve_bytes(K: int, K_star: int, m: int, extremes_only: bool, eigensolver: str) -> float:
    if _iterative(K, m, extremes_only, eigensolver):
        return operator_bytes(K, K_star, m)
    return dense_hessian_bytes(K, K_star, m)


def _require_solve_memory(K: int, K_star: int, m: int, smooth: bool, extremes_only: bool,
                          eigensolver: str, d: int) -> None:
    """MemoryLimitError, before any O(d) work, when the reduced solve (m <= K + K*) cannot fit;
    the message names the largest width K that would fit beside K* at this d."""
    nbytes = _solve_bytes(K, K_star, m, extremes_only, eigensolver)
    if nbytes <= validation.ALWAYS_ALLOWED_BYTES:
        return
    available = validation.available_memory_bytes()
    if available is None or nbytes <= validation.MEMORY_FRACTION * available:
        return
    limit = validation.MEMORY_FRACTION * available
    fits = [k for k in range(K - 1, 0, -1)
            if _solve_bytes(k, K_star, min(d - 1, k + K_star), extremes_only, eigensolver)
            <= limit][:1]
    route = ("the matrix-free product and ARPACK" if _iterative(K, m, extremes_only, eigensolver)
             else f"the dense reduced ({K * m})×({K * m}) matrix")
    instead = (f"at K* = {K_star}, d = {d} a width K <= {fits[0]} fits" if fits else
               f"no width fits beside K* = {K_star} teacher rows")
    if not _iterative(K, m, extremes_only, eigensolver):
        instead += ("; condition_number (extreme eigenvalues by ARPACK, O(K·m + K²) memory) "
                    "fits much larger K")
    require_memory(nbytes, f"the spectrum of the reduced (K·m = {K}·{m}) Hessian via {route}",
                   instead)


def _setup(W, W_star, loss, *, convention, activation, sobolev_weight, second_order_weight,
           input_covariance, method, extremes_only: bool = False,
           eigensolver: str = "auto") -> _Setup:
    check_method(method)
    validated = False
    if method != "dense" and input_covariance is None:
        fast = _span_first(W, W_star, loss, activation, convention, sobolev_weight,
                           second_order_weight, extremes_only, eigensolver)
        if isinstance(fast, _Setup):
            return fast
        if fast is not None:  # checked once there: make_problem does not repeat it
            (W, W_star), validated = fast, True
    problem = make_problem(W, W_star, loss, activation=activation, convention=convention,
                           sobolev_weight=sobolev_weight, second_order_weight=second_order_weight,
                           input_covariance=input_covariance, validated=validated)
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
    """Peak bytes of the matrix-free path (theory.operators): ARPACK's Krylov basis and
    workspace (~3·ncv vectors of K·m) and about 20 more K·m arrays (rows, product
    temporaries), about 40 K×(K + K*) coefficient arrays, and the pair-geometry chunks."""
    n = K * m
    chunks = min(2.0 * PAIR_CHUNK_BYTES, 2 * 64.0 * K * (K + K_star) * m)
    return 8.0 * (n * (3 * ITERATIVE_NCV + 20) + 40 * K * (K + K_star)) + chunks


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
    if _iterative(K, m, extremes_only, eigensolver) and problem.sigma is None:
        require_memory(operator_bytes(K, problem.W_star.shape[0], m),
                       f"the matrix-free ({K * m})×({K * m}) reduced Hessian",
                       "use fewer neurons")
        product = jacobian_product(problem)
        operator, complement = as_linear_operator(product), product.complement
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


@with_toolkit_blas_threads
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


@with_toolkit_blas_threads
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


@with_toolkit_blas_threads
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
                   input_covariance=input_covariance, method=method, extremes_only=True,
                   eigensolver=eigensolver)
    return _extreme_real_parts(_blocks(setup, True, eigensolver))
