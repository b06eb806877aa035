"""Input checking shared by every public entry point.

Every check raises :class:`ValueError` whose message names the offending argument and says how
to fix it, so that bad input never surfaces as a NaN or as a traceback from deep inside numpy.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

LOSSES = ("l2", "sobolev", "h1")
CONVENTIONS = ("expected", "exact")
SPECTRUM_METHODS = ("auto", "dense", "structured")

Loss = Literal["l2", "sobolev", "h1"]
Convention = Literal["expected", "exact"]


def as_weight_matrix(value: ArrayLike, name: str, *, copy: bool = True
                     ) -> NDArray[np.float64]:
    """Return ``value`` as a float64 array of shape (rows, d); a 1-D input is one neuron.

    Raises ValueError for non-numeric, empty, non-finite, zero-norm rows or >2-D input.
    ``copy=False`` (internal callers that only read, e.g. theory's make_problem): a float64
    2-D array with at least LEAN_CHECK_MIN_SIZE entries is returned as a read-only view of the
    caller's data, checked by two reductions without temporaries (:func:`row_scales`); with
    the default every result is a fresh array, so nothing returned aliases the caller's.
    """
    if (type(value) is np.ndarray and value.dtype == np.float64 and 1 <= value.ndim <= 2
            and value.size and (value.size < LEAN_CHECK_MIN_SIZE or copy)):
        # the common case, checked with a few whole-array operations (same outcome as below)
        array = np.array(value, dtype=np.float64, ndmin=2)
        if np.isfinite(array).all() and (array != 0).any(axis=1).all():
            return array
    elif _is_complex(value):
        raise ValueError(
            f"{name} has complex entries; weights must be real numbers (pass the real part "
            "explicitly, e.g. np.real(W), if the imaginary part is rounding noise)"
        )
    if (not copy and isinstance(value, np.ndarray) and value.dtype == np.float64
            and value.ndim == 2 and value.size >= LEAN_CHECK_MIN_SIZE):
        lean = _lean_weight_matrix(value)
        if lean is not None:
            return lean
    try:
        array = np.array(value, dtype=np.float64)
    except OverflowError:
        raise ValueError(
            f"{name} has an entry too large for float64 (|x| > {np.finfo(float).max:.3g}); "
            "rescale the weights"
        ) from None
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be a numeric array of shape (neurons, d) or (d,); "
            f"could not convert it to float64 ({exc})"
        ) from None
    if array.ndim == 1:
        array = array[np.newaxis, :]
    if array.ndim != 2:
        raise ValueError(
            f"{name} must have shape (neurons, d) or (d,) for one neuron; got shape {array.shape}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(
            f"{name} is empty (shape {array.shape}); give at least one neuron with d >= 1 entries"
        )
    bad = ~np.isfinite(array)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"{name} has a non-finite entry ({array[row, col]!r} at row {row}, column {col}); "
            "all weights must be finite numbers"
        )
    zero = ~np.any(array != 0, axis=1)  # exact: a norm would underflow for tiny rows
    if zero.any():
        rows = np.flatnonzero(zero).tolist()
        raise ValueError(
            f"{name} has zero-norm row(s) {rows}: a ReLU neuron with zero weights is dead and its "
            "angle to other neurons is undefined; remove those rows"
        )
    return array


#: float64 2-D weight arrays with at least this many entries are validated without a copy
#: (:func:`_lean_weight_matrix`); smaller ones take the full checks (their cost is negligible).
LEAN_CHECK_MIN_SIZE = 1 << 16


def row_scales(array: NDArray[np.float64]) -> NDArray[np.float64]:
    """max_a |W_ia| per row, as max(max W_i·, −min W_i·): two reductions, no |W| temporary.

    NaN propagates through max and min, and a ±inf entry makes the row's scale inf, so the
    result is finite exactly when every entry is; it is 0 exactly for the all-zero rows."""
    return np.maximum(array.max(axis=1), -array.min(axis=1))


def _lean_weight_matrix(array: NDArray[np.float64]) -> NDArray[np.float64] | None:
    """A read-only view of a float64 (rows, d) array when every entry is finite and no row is
    zero (checked by :func:`row_scales`, which cannot miss a NaN or inf); None otherwise (the
    caller's full checks then name the problem). No copy of the caller's data is made, and the
    view cannot be written through, so the caller's array is never modified."""
    if array.shape[0] == 0 or array.shape[1] == 0:
        return None
    scales = row_scales(array)
    if not (np.isfinite(scales).all() and (scales > 0).all()):
        return None
    view = array.view()
    view.flags.writeable = False
    return view


def _is_complex(value: object) -> bool:
    if isinstance(value, complex) or np.iscomplexobj(value):
        return True
    if isinstance(value, (list, tuple)):
        return any(_is_complex(item) for item in value)
    if isinstance(value, np.ndarray) and value.dtype == object:
        return any(_is_complex(item) for item in value.ravel())
    return False


def as_student_teacher(
    W: ArrayLike, W_star: ArrayLike, *, copy: bool = True
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate a student ``W`` (K, d) and teacher ``W_star`` (K*, d) with matching d
    (``copy``: see :func:`as_weight_matrix`)."""
    student = as_weight_matrix(W, "W", copy=copy)
    teacher = as_weight_matrix(W_star, "W_star", copy=copy)
    if student.shape[1] != teacher.shape[1]:
        raise ValueError(
            f"W and W_star must have the same input dimension d: W has d={student.shape[1]}, "
            f"W_star has d={teacher.shape[1]}"
        )
    return student, teacher


def _check_name(value: object, name: str, allowed: tuple[str, ...]) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, one of {allowed}; got {type(value).__name__} "
                         f"{value!r}")


def check_loss(loss: str) -> str:
    _check_name(loss, "loss", LOSSES)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}")
    return loss


def check_convention(convention: str) -> str:
    _check_name(convention, "convention", CONVENTIONS)
    if convention not in CONVENTIONS:
        raise ValueError(
            f"convention must be one of {CONVENTIONS} ('expected': E_x of the pointwise gradient "
            f"as autograd computes it; 'exact': derivative of the population loss); "
            f"got {convention!r}"
        )
    return convention


def check_seed(seed: object, name: str = "seed") -> int:
    """A seed for numpy's default_rng: a non-negative integer (ValueError naming ``name``)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{name} must be a non-negative integer (a seed of numpy's "
                         f"default_rng); got {seed!r}")
    return int(seed)


def check_sobolev_weight(sobolev_weight: float) -> float:
    if type(sobolev_weight) in (float, int) and 0 <= sobolev_weight < math.inf:
        return float(sobolev_weight)  # the common case, accepted by the checks below as well
    if isinstance(sobolev_weight, (str, bytes)) or np.ndim(sobolev_weight) != 0:
        raise ValueError(
            f"sobolev_weight must be a non-negative real number; got {sobolev_weight!r}"
        )
    if np.iscomplexobj(sobolev_weight):
        raise ValueError(f"sobolev_weight must be real; got {sobolev_weight!r}")
    try:
        weight = float(sobolev_weight)
    except (TypeError, ValueError):
        raise ValueError(
            f"sobolev_weight must be a non-negative real number; got {sobolev_weight!r}"
        ) from None
    if not math.isfinite(weight) or weight < 0:
        raise ValueError(
            f"sobolev_weight must be finite and >= 0 (H = L + sobolev_weight * J); got {weight!r}"
        )
    return weight


def check_method(method: str) -> str:
    _check_name(method, "method", SPECTRUM_METHODS)
    if method not in SPECTRUM_METHODS:
        raise ValueError(f"method must be one of {SPECTRUM_METHODS}; got {method!r}")
    return method


class NonDifferentiableError(ValueError):
    """The requested gradient or Hessian does not exist at this point.

    Raised, for example, for a Sobolev Hessian where a student row is parallel or antiparallel to
    another student row or to a teacher row (the angle has a cone singularity there). The message
    names the pair. It subclasses ValueError so that generic input handling still catches it.
    """


#: After scaling, rows whose largest entry is below this fraction of the largest entry of W and
#: W_star cannot be handled in float64 (their squared norms underflow).
MIN_RELATIVE_ROW_SCALE = 2.0**-450


def homogeneous_scaling(
    W: ArrayLike, W_star: ArrayLike, *, homogeneous: bool = True, pair_memory: bool = True,
    validated: bool = False
) -> tuple[NDArray[np.float64], NDArray[np.float64], int]:
    """Validate (W, W_star) and scale both by the same power of two: returns (W, W_star, e).

    For a positively homogeneous activation of degree 1 (the two-slope family: relu, leaky relu,
    |x|), every pair kernel is homogeneous of degree 2, so with the inputs divided by 2^e

        loss(W, W*) = 4^e · loss(W/2^e, W*/2^e),   F(W, W*) = 2^e · F(W/2^e, W*/2^e),
        Hessian(W, W*) = Hessian(W/2^e, W*/2^e),    spectra likewise unchanged.

    e is even and chosen so that the largest |entry| lies in [0.5, 2): scaling by 2^e is exact
    in binary floating point (so is its square root, e being even), and the closed forms then run
    far from overflow (|w| ≳ 1e154 squared) and underflow (|w| ≲ 1e-154 squared). Undo it with
    :func:`rescale`. For other activations (homogeneous=False) the arrays are only validated and
    e = 0.

    ``validated=True``: W and W_star are already the arrays :func:`as_student_teacher`
    returned (internal callers that checked them once), so that check is not repeated.

    Raises MemoryLimitError when the pair arrays would not fit in memory (check_pair_memory;
    not checked with ``pair_memory=False``),
    ValueError (as as_student_teacher does) and also when some row is more than 2^450
    (≈ 1e135) times smaller than the largest entry: float64 cannot form that row's squared norm
    beside the others.
    """
    if not validated:  # only read (ldexp makes new arrays)
        W, W_star = as_student_teacher(W, W_star, copy=False)
    if pair_memory:
        check_pair_memory(W, W_star)
    if not homogeneous:
        return W, W_star, 0
    scales = (row_scales(W), row_scales(W_star))
    largest = max(float(scales[0].max()), float(scales[1].max()))
    exponent = math.frexp(largest)[1]
    exponent -= exponent % 2
    if exponent:
        W, W_star = np.ldexp(W, -exponent), np.ldexp(W_star, -exponent)
    for name, row_scale in zip(("W", "W_star"), scales, strict=True):
        smallest = float(row_scale.min())
        if math.ldexp(smallest, -exponent) < MIN_RELATIVE_ROW_SCALE:
            row = int(np.argmin(row_scale))
            raise ValueError(
                f"{name} row {row} is more than 1e135 times smaller than the largest weight "
                f"({smallest:.3g} vs {largest:.3g}); float64 cannot represent the products "
                "the closed forms need at once. Remove the row, or treat it as zero"
            )
    return W, W_star, exponent


def rescale(value, exponent: int, degree: int, what: str):
    """value · 2^(degree·exponent), undoing :func:`homogeneous_scaling` for a quantity
    homogeneous of ``degree`` (2 for a loss, 1 for a gradient, 0 for a Hessian or spectrum).

    Exact unless the result under- or overflows: results below float64's smallest normal number
    (2.2e-308) keep only the precision of subnormals; a result beyond float64's largest number
    (1.8e308) raises ValueError instead of returning inf or NaN.
    """
    if degree == 0 or exponent == 0:
        return value
    with np.errstate(over="ignore"):
        scaled = np.ldexp(value, degree * exponent)
    if not np.all(np.isfinite(scaled)):
        raise ValueError(
            f"the {what} at this scale exceeds float64's largest number "
            f"({np.finfo(float).max:.3g}): at the weights divided by 2^{exponent} it is "
            f"{np.max(np.abs(value)):.6g}, and it is homogeneous of degree {degree} in "
            "(W, W_star). "
            f"Rescale the weights (e.g. by c = 2^-{exponent}) and multiply the result by "
            f"c^-{degree} in a wider arithmetic"
        )
    return float(scaled) if np.ndim(scaled) == 0 else scaled


# ---------------------------------------------------------------------------- memory requests

#: A single request may plan to use at most this fraction of the memory available when it starts.
MEMORY_FRACTION = 0.5
#: Requests below this size are never refused (and never query the system).
ALWAYS_ALLOWED_BYTES = 2**28
_FLOAT = 8  # bytes


class MemoryLimitError(ValueError):
    """A request would need more memory than MEMORY_FRACTION of what is available.

    Raised before anything large is allocated; the message gives the estimate, the limit and a
    way to get the answer instead (the structured method, fewer samples, a smaller size).
    """


def available_memory_bytes() -> int | None:
    """Memory available to a new allocation (Linux: MemAvailable; else free pages); None if
    unknown (then no request is refused)."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def _gigabytes(nbytes: float) -> str:
    return f"{nbytes / 1e9:.3g} GB"


def require_memory(nbytes: float, what: str, instead: str) -> None:
    """Raise MemoryLimitError when ``nbytes`` exceeds MEMORY_FRACTION of the available memory."""
    if nbytes <= ALWAYS_ALLOWED_BYTES:  # no need to ask the system (hot paths call this)
        return
    available = available_memory_bytes()
    if available is None or nbytes <= MEMORY_FRACTION * available:
        return
    raise MemoryLimitError(
        f"{what} would need about {_gigabytes(nbytes)}, more than {MEMORY_FRACTION:.0%} of the "
        f"memory available now ({_gigabytes(available)}); {instead}"
    )


def pair_bytes(K: int, K_star: int, d: int) -> float:
    """Peak bytes of the pair arrays of the closed forms: about 24 float arrays of K·(K+K*)·d."""
    return 24.0 * _FLOAT * K * (K + K_star) * d


def dense_hessian_bytes(K: int, K_star: int, d: int) -> float:
    """Peak bytes of a dense (K·d)² Jacobian and its eigenvalues: about 6 (K·d)² float arrays
    (the (K, d, K, d) Jacobian, the off-diagonal blocks, their frame products, the solver's copy
    and workspace) plus the pair arrays."""
    return 6.0 * _FLOAT * (K * d) ** 2 + pair_bytes(K, K_star, d)


def check_pair_memory(W: NDArray[np.float64], W_star: NDArray[np.float64]) -> None:
    """Refuse (MemoryLimitError) inputs whose pair arrays cannot fit in memory."""
    (K, d), K_star = W.shape, W_star.shape[0]
    require_memory(pair_bytes(K, K_star, d), f"the pair arrays for K={K}, K*={K_star}, d={d}",
                   "use fewer neurons (the pair arrays grow like K·(K+K*)·d)")


def require_dense_hessian_memory(W: NDArray[np.float64], W_star: NDArray[np.float64]) -> None:
    """Refuse (MemoryLimitError) a dense (K·d)² Hessian that cannot fit in memory."""
    (K, d), K_star = W.shape, W_star.shape[0]
    require_memory(dense_hessian_bytes(K, K_star, d), f"the dense ({K * d})×({K * d}) Hessian",
                   "for its eigenvalues use theory.spectrum(..., method='structured') (size K·m, "
                   "m = dim span of the rows, independent of d), or fewer neurons")
#: Every loss of theory's population functions. LOSSES above are the first-order ones that every
#: layer of the toolkit supports; "sobolev2" (J₂ alone) and "h2" (L + λJ + μJ₂) are theory's
#: second-order losses (smooth activations only).
SECOND_ORDER_LOSSES = ("sobolev2", "h2")
ALL_LOSSES = LOSSES + SECOND_ORDER_LOSSES


def check_population_loss(loss: str) -> str:
    """Like :func:`check_loss` but also accepting the second-order losses "sobolev2" and "h2"."""
    _check_name(loss, "loss", ALL_LOSSES)
    if loss not in ALL_LOSSES:
        raise ValueError(
            f"loss must be one of {ALL_LOSSES} (l2: E½(g−g*)², sobolev: E½|∇g−∇g*|², "
            f"h1: l2 + λ·sobolev, sobolev2: E½‖∇²g−∇²g*‖²_F, h2: l2 + λ·sobolev + μ·sobolev2); "
            f"got {loss!r}"
        )
    return loss


def loss_weights(loss: str, sobolev_weight: float = 1.0, second_order_weight: float = 1.0
                 ) -> tuple[float, float, float]:
    """(c₀, c₁, c₂): the weights of L, J and J₂ in ``loss`` (validated, ValueError naming the
    argument): l2 (1, 0, 0), sobolev (0, 1, 0), h1 (1, λ, 0), sobolev2 (0, 0, 1), h2 (1, λ, μ)."""
    check_population_loss(loss)
    lam = check_sobolev_weight(sobolev_weight)
    mu = check_second_order_weight(second_order_weight)
    return {"l2": (1.0, 0.0, 0.0), "sobolev": (0.0, 1.0, 0.0), "h1": (1.0, lam, 0.0),
            "sobolev2": (0.0, 0.0, 1.0), "h2": (1.0, lam, mu)}[loss]


def check_second_order_weight(second_order_weight: float) -> float:
    if type(second_order_weight) in (float, int) and 0 <= second_order_weight < math.inf:
        return float(second_order_weight)  # the common case, accepted below as well
    try:
        weight = float(second_order_weight)
    except (TypeError, ValueError):
        raise ValueError(
            f"second_order_weight must be a non-negative real number; got {second_order_weight!r}"
        ) from None
    if not math.isfinite(weight) or weight < 0:
        raise ValueError(
            "second_order_weight must be finite and >= 0 (H2 = L + λJ + second_order_weight·J₂); "
            f"got {weight!r}"
        )
    return weight


@dataclass(frozen=True)
class SpikedCovariance:
    """Σ = I + U Uᵀ given by its factor U (d×r), never formed unless a dense result needs it.

    Pass it as ``input_covariance`` to keep the structured spectrum at any d (e.g. 10⁶, where a
    d×d matrix would not fit in memory): theory.spectra reduces to
    S = span(rows ∪ columns of U). Always positive definite.
    """

    factor: NDArray[np.float64]

    def apply(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """Rows Σx of X: X + (X U) Uᵀ."""
        return X + (X @ self.factor) @ self.factor.T

    def matrix(self) -> NDArray[np.float64]:
        """The dense d×d matrix I + U Uᵀ."""
        return np.eye(self.factor.shape[0]) + self.factor @ self.factor.T


def check_input_covariance(input_covariance: ArrayLike | SpikedCovariance | None, d: int
                           ) -> NDArray[np.float64] | SpikedCovariance | None:
    """Validate Σ, the covariance of x ~ N(0, Σ): symmetric positive definite d×d, finite.

    Returns None for the identity (None, or a matrix exactly equal to I) so that callers take
    the isotropic code path, else the matrix as float64 (symmetrised exactly: (Σ + Σᵀ)/2), or
    a :class:`SpikedCovariance` with a checked float64 factor (d, r).
    """
    if input_covariance is None:
        return None
    if isinstance(input_covariance, SpikedCovariance):
        if _is_complex(input_covariance.factor):
            raise ValueError("input_covariance.factor has complex entries; a covariance factor "
                             "must be real")
        try:
            factor = np.array(input_covariance.factor, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"input_covariance.factor must be a numeric (d, r) array ({exc})"
                             ) from None
        if factor.ndim == 1:
            factor = factor[:, None]
        if factor.ndim != 2 or factor.shape[0] != d:
            raise ValueError(f"input_covariance.factor must have shape (d, r) with d = {d}; "
                             f"got {factor.shape}")
        if not np.isfinite(factor).all():
            raise ValueError("input_covariance.factor has non-finite entries")
        if not factor.any():
            return None
        return SpikedCovariance(factor)
    if _is_complex(input_covariance):
        raise ValueError(
            "input_covariance has complex entries; the covariance of a real Gaussian input "
            "must be a real symmetric positive definite (d, d) matrix"
        )
    try:
        sigma = np.array(input_covariance, dtype=np.float64)
    except OverflowError:
        raise ValueError(
            f"input_covariance has an entry too large for float64 (|x| > "
            f"{np.finfo(float).max:.3g})"
        ) from None
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"input_covariance must be a numeric (d, d) array; could not convert it ({exc})"
        ) from None
    if sigma.size == 0:
        raise ValueError(f"input_covariance is empty (shape {sigma.shape}); give a (d, d) "
                         f"matrix with d = {d}")
    if sigma.shape != (d, d):
        raise ValueError(
            f"input_covariance must have shape (d, d) = ({d}, {d}) to match W; got {sigma.shape}"
        )
    if not np.isfinite(sigma).all():
        raise ValueError("input_covariance has non-finite entries; give a finite SPD matrix")
    scale = max(float(np.abs(sigma).max()), np.finfo(float).tiny)
    if np.abs(sigma - sigma.T).max() > 1e-12 * scale:
        raise ValueError(
            "input_covariance is not symmetric (max |Σ − Σᵀ| = "
            f"{np.abs(sigma - sigma.T).max():.3g}); a covariance must be symmetric"
        )
    sigma = 0.5 * (sigma + sigma.T)
    if np.array_equal(sigma, np.eye(d)):
        return None
    try:
        np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        smallest = float(np.linalg.eigvalsh(sigma).min())
        raise ValueError(
            f"input_covariance is not positive definite (smallest eigenvalue {smallest:.3g}); "
            "x ~ N(0, Σ) needs Σ symmetric positive definite"
        ) from None
    return sigma
