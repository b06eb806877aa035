"""Input checking shared by every public entry point.

Every check raises :class:`ValueError` whose message names the offending argument and says how
to fix it, so that bad input never surfaces as a NaN or as a traceback from deep inside numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

LOSSES = ("l2", "sobolev", "h1")
CONVENTIONS = ("expected", "exact")
SPECTRUM_METHODS = ("auto", "dense", "structured")

Loss = Literal["l2", "sobolev", "h1"]
Convention = Literal["expected", "exact"]


def as_weight_matrix(value: ArrayLike, name: str) -> NDArray[np.float64]:
    """Return ``value`` as a float64 array of shape (rows, d); a 1-D input is one neuron.

    Raises ValueError for non-numeric, empty, non-finite, zero-norm rows or >2-D input.
    """
    try:
        array = np.array(value, dtype=np.float64)
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
    norms = np.linalg.norm(array, axis=1)
    if (norms == 0).any():
        rows = np.flatnonzero(norms == 0).tolist()
        raise ValueError(
            f"{name} has zero-norm row(s) {rows}: a ReLU neuron with zero weights is dead and its "
            "angle to other neurons is undefined; remove those rows"
        )
    return array


def as_student_teacher(
    W: ArrayLike, W_star: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate a student ``W`` (K, d) and teacher ``W_star`` (K*, d) with matching d."""
    student = as_weight_matrix(W, "W")
    teacher = as_weight_matrix(W_star, "W_star")
    if student.shape[1] != teacher.shape[1]:
        raise ValueError(
            f"W and W_star must have the same input dimension d: W has d={student.shape[1]}, "
            f"W_star has d={teacher.shape[1]}"
        )
    return student, teacher


def check_loss(loss: str) -> str:
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}")
    return loss


def check_convention(convention: str) -> str:
    if convention not in CONVENTIONS:
        raise ValueError(
            f"convention must be one of {CONVENTIONS} ('expected': E_x of the pointwise gradient "
            f"as autograd computes it; 'exact': derivative of the population loss); "
            f"got {convention!r}"
        )
    return convention


def check_sobolev_weight(sobolev_weight: float) -> float:
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
    if method not in SPECTRUM_METHODS:
        raise ValueError(f"method must be one of {SPECTRUM_METHODS}; got {method!r}")
    return method


class NonDifferentiableError(ValueError):
    """The requested gradient or Hessian does not exist at this point.

    Raised, for example, for a Sobolev Hessian where a student row is parallel or antiparallel to
    another student row or to a teacher row (the angle has a cone singularity there). The message
    names the pair. It subclasses ValueError so that generic input handling still catches it.
    """


#: Every loss of theory's population functions. LOSSES above are the first-order ones that every
#: layer of the toolkit supports; "sobolev2" (J₂ alone) and "h2" (L + λJ + μJ₂) are theory's
#: second-order losses (smooth activations only).
SECOND_ORDER_LOSSES = ("sobolev2", "h2")
ALL_LOSSES = LOSSES + SECOND_ORDER_LOSSES


def check_population_loss(loss: str) -> str:
    """Like :func:`check_loss` but also accepting the second-order losses "sobolev2" and "h2"."""
    if loss not in ALL_LOSSES:
        raise ValueError(
            f"loss must be one of {ALL_LOSSES} (l2: E½(g−g*)², sobolev: E½|∇g−∇g*|², "
            f"h1: l2 + λ·sobolev, sobolev2: E½‖∇²g−∇²g*‖²_F, h2: l2 + λ·sobolev + μ·sobolev2); "
            f"got {loss!r}"
        )
    return loss


def check_second_order_weight(second_order_weight: float) -> float:
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
    try:
        sigma = np.array(input_covariance, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"input_covariance must be a numeric (d, d) array; could not convert it ({exc})"
        ) from None
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
