r"""Population loss, gradients and Hessians assembled over all neuron pairs.

With P the pair kernel of a loss (k for "l2", q for "sobolev", see :mod:`theory.kernels`),

    loss(W) = ½ Σ_{i,j} P(w_i, w_j) − Σ_{i,j} P(w_i, w*_j) + ½ Σ_{i,j} P(w*_i, w*_j).

The gradient with respect to row w_i and its Jacobian are

    F_i        = w_i/2 + Σ_{j≠i} g(w_i, w_j) − Σ_j g(w_i, w*_j)
    ∂F_i/∂w_i  = I/2   + Σ_{j≠i} A(w_i, w_j) − Σ_j A(w_i, w*_j)
    ∂F_i/∂w_k  = B(w_i, w_k)                                   (k ≠ i)

where g is the pair field of the convention ("relu" for l2; "step_exact" or "step_expected" for
the Sobolev part) and A, B are its Jacobian blocks. The self pair contributes w_i/2 because
k(w, w) = q(w, w) = |w|²/2. "h1" adds the l2 and λ × sobolev terms.

Flattening: the Hessian of W ∈ R^{K×d} is (K·d)×(K·d) with row/column index i·d + a.

Everything is vectorised over pairs; there is no Python loop over neurons or coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from theory import kernels
from theory.kernels import PairGeometry, pair_geometry
from theory.validation import (
    NonDifferentiableError,
    as_student_teacher,
    check_convention,
    check_loss,
    check_sobolev_weight,
    homogeneous_scaling,
    require_dense_hessian_memory,
    rescale,
)


def loss_terms(loss: str, convention: str, sobolev_weight: float) -> list[tuple[float, str]]:
    """The (weight, pair kind) terms of a loss: e.g. h1/expected -> [(1, relu), (λ, step_expected)].

    A zero Sobolev weight drops the Sobolev term altogether (then h1 is exactly l2, smooth
    wherever l2 is).
    """
    check_loss(loss)
    check_convention(convention)
    weight = check_sobolev_weight(sobolev_weight)
    step = "step_exact" if convention == "exact" else "step_expected"
    if loss == "l2":
        return [(1.0, "relu")]
    if loss == "sobolev":
        return [(1.0, step)]
    terms = [(1.0, "relu")]
    if weight > 0:
        terms.append((weight, step))
    return terms


@dataclass(frozen=True)
class Pairs:
    """Validated weights and the geometry of all student-student and student-teacher pairs."""

    W: NDArray[np.float64]
    W_star: NDArray[np.float64]
    student: PairGeometry  # pairs (w_i, w_j), leading shape (K, K)
    teacher: PairGeometry  # pairs (w_i, w*_j), leading shape (K, K*)

    @property
    def off_diagonal(self) -> NDArray[np.bool_]:
        return ~np.eye(self.W.shape[0], dtype=bool)


def make_pairs(W: ArrayLike, W_star: ArrayLike) -> Pairs:
    student, teacher = as_student_teacher(W, W_star)
    return Pairs(
        student,
        teacher,
        pair_geometry(student[:, None, :], student[None, :, :]),
        pair_geometry(student[:, None, :], teacher[None, :, :]),
    )


def require_nondegenerate(pairs: Pairs, what: str) -> None:
    """Raise NonDifferentiableError naming the first (anti)parallel pair, if there is one."""
    for label, geometry, mask in (
        ("student row {i} and student row {j}", pairs.student, pairs.off_diagonal),
        ("student row {i} and teacher row {j}", pairs.teacher, None),
    ):
        degenerate = geometry.degenerate if mask is None else geometry.degenerate & mask
        if degenerate.any():
            i, j = np.argwhere(degenerate)[0]
            relation = "parallel" if geometry.cos[i, j] > 0 else "antiparallel"
            raise NonDifferentiableError(
                f"{what} does not exist here: {label.format(i=i, j=j)} are {relation} "
                f"(sin θ = {geometry.sin[i, j]:.1e} <= {kernels.PARALLEL_SIN_TOL:g}), where the "
                "Sobolev term has a cone singularity in the angle. Evaluate at a nearby point "
                "(e.g. perturb W) or take a one-sided limit along a direction."
            )


def population_loss(W: ArrayLike, W_star: ArrayLike, loss: str = "h1", *,
                    sobolev_weight: float = 1.0) -> float:
    """Population loss E ½(g − g*)² ("l2"), E ½|∇g − ∇g*|² ("sobolev") or L + λJ ("h1").

    Args:
        W: student weights (K, d) or (d,) for one neuron. W_star: teacher weights (K*, d).
        loss: "l2", "sobolev" or "h1". sobolev_weight: λ >= 0 in H_λ = L + λJ.
    Returns:
        The loss as a float (closed form; absolute rounding error ~1e-16 × Σ|w|², so values
        far below that near the teacher carry no relative accuracy).
    """
    W, W_star, exponent = homogeneous_scaling(W, W_star)  # relu: loss(cW, cW*) = c²·loss
    pairs = make_pairs(W, W_star)
    teacher_teacher = pair_geometry(pairs.W_star[:, None, :], pairs.W_star[None, :, :])
    total = 0.0
    for weight, kind in loss_terms(loss, "expected", sobolev_weight):
        ss = kernels.kernel_value(kind, pairs.W[:, None], pairs.W[None, :], pairs.student)
        st = kernels.kernel_value(kind, pairs.W[:, None], pairs.W_star[None, :], pairs.teacher)
        tt = kernels.kernel_value(kind, pairs.W_star[:, None], pairs.W_star[None, :],
                                  teacher_teacher)
        total += weight * (0.5 * ss.sum() - st.sum() + 0.5 * tt.sum())
    return rescale(float(total), exponent, 2, "population loss")


def _gradient(pairs: Pairs, terms: list[tuple[float, str]]) -> NDArray[np.float64]:
    gradient = np.zeros_like(pairs.W)
    for weight, kind in terms:
        if kind in kernels.GRADIENT_SINGULAR_KINDS:
            require_nondegenerate(pairs, "The exact Sobolev gradient")
        ss = kernels.pair_gradient(kind, pairs.W[None, :, :], pairs.student)
        ss = np.where(pairs.off_diagonal[..., None], ss, 0.0)
        st = kernels.pair_gradient(kind, pairs.W_star[None, :, :], pairs.teacher)
        # The self pair contributes ∇_w [½ P(w, w)] = ∇_w |w|²/4 = w/2 for both kernels.
        gradient += weight * (0.5 * pairs.W + ss.sum(axis=1) - st.sum(axis=1))
    return gradient


def population_gradient(W: ArrayLike, W_star: ArrayLike, loss: str = "h1", *,
                        convention: str = "expected",
                        sobolev_weight: float = 1.0) -> NDArray[np.float64]:
    """Population gradient field F(W), shape (K, d) (one row per neuron).

    convention="expected": E_x[∇_W ℓ(x; W)] with the step function's derivative taken as 0 (what
    autograd and large-batch SGD follow; it drives training). Defined everywhere.
    convention="exact": ∇_W of the population loss. For "l2" both coincide; for the Sobolev part
    the exact one adds Σ ±|b| cos θ e/(2π) boundary terms and does not exist where a student row
    is parallel or antiparallel to another row (NonDifferentiableError).
    """
    W, W_star, exponent = homogeneous_scaling(W, W_star)  # relu: F(cW, cW*) = c·F
    pairs = make_pairs(W, W_star)
    return rescale(_gradient(pairs, loss_terms(loss, convention, sobolev_weight)), exponent, 1,
                   "population gradient")


@dataclass(frozen=True)
class JacobianParts:
    """The dense Jacobian (K, d, K, d) and its complement matrix Γ (K, K).

    Every block of the Jacobian acts as Γ[i, k] × identity on the orthogonal complement of
    S = span(student rows ∪ teacher rows); see theory.spectra.
    """

    dense: NDArray[np.float64] | None
    complement: NDArray[np.float64]


def _summed_blocks(gamma, C, a_hat, e) -> NDArray[np.float64]:
    """Σ_j of γ_ij(I − ââᵀ − eeᵀ) + [â e] C_ij [â e]ᵀ over the second pair axis -> (K, d, d)."""
    d = a_hat.shape[-1]
    gamma = kernels.complement_scalar(gamma, d)
    out = gamma.sum(axis=1)[:, None, None] * np.eye(d)
    for coefficient, left, right in (
        (C[..., 0, 0] - gamma, a_hat, a_hat),
        (C[..., 0, 1], a_hat, e),
        (C[..., 1, 0], e, a_hat),
        (C[..., 1, 1] - gamma, e, e),
    ):
        out += np.einsum("ij,ija,ijb->iab", coefficient, left, right, optimize=True)
    return out


def jacobian_parts(pairs: Pairs, terms: list[tuple[float, str]], *, dense: bool = True,
                   what: str = "The Hessian") -> JacobianParts:
    """Assemble the Jacobian of the gradient field for the given loss terms."""
    K, d = pairs.W.shape
    off = pairs.off_diagonal
    complement = np.zeros((K, K))
    jacobian = np.zeros((K, d, K, d)) if dense else None
    for weight, kind in terms:
        if kind in kernels.JACOBIAN_SINGULAR_KINDS:
            require_nondegenerate(pairs, what)
        ss = kernels.frame_blocks(kind, pairs.student)
        st = kernels.frame_blocks(kind, pairs.teacher)
        # Self pairs are handled by the ½I term; zero them (their step coefficients are NaN).
        gamma_A = np.where(off, ss.gamma_A, 0.0)
        C_A = np.where(off[..., None, None], ss.C_A, 0.0)
        gamma_B = np.where(off, ss.gamma_B, 0.0)
        C_B = np.where(off[..., None, None], ss.C_B, 0.0)

        term_complement = np.diag(0.5 + gamma_A.sum(axis=1) - st.gamma_A.sum(axis=1)) + gamma_B
        complement += weight * term_complement
        if jacobian is None:
            continue
        diagonal = (
            0.5 * np.eye(d)
            + _summed_blocks(gamma_A, C_A, pairs.student.a_hat, pairs.student.e)
            - _summed_blocks(st.gamma_A, st.C_A, pairs.teacher.a_hat, pairs.teacher.e)
        )
        off_blocks = kernels.frame_to_matrix(gamma_B, C_B, pairs.student.a_hat, pairs.student.e)
        off_blocks = off_blocks.transpose(0, 2, 1, 3)  # (i, a, k, b)
        idx = np.arange(K)
        off_blocks[idx, :, idx, :] = diagonal
        jacobian += weight * off_blocks
    return JacobianParts(jacobian, complement)


def population_hessian(W: ArrayLike, W_star: ArrayLike, loss: str = "h1", *,
                       convention: str = "expected",
                       sobolev_weight: float = 1.0) -> NDArray[np.float64]:
    """Jacobian of the population gradient field, shape (K·d, K·d), index i·d + a.

    convention="exact": the Hessian of the population loss (symmetric).
    convention="expected": the Jacobian of the expected gradient field (the "expected Hessian";
    not symmetric for the Sobolev part). The two coincide for "l2".
    The l2 Hessian exists at every W with non-zero rows; Sobolev/h1 Hessians (λ > 0) raise
    NonDifferentiableError where a student row is parallel or antiparallel to another student
    row or to a teacher row — in particular at the teacher itself.
    """
    W, W_star, _ = homogeneous_scaling(W, W_star)  # relu: the Hessian is scale-invariant
    require_dense_hessian_memory(W, W_star)
    pairs = make_pairs(W, W_star)
    parts = jacobian_parts(pairs, loss_terms(loss, convention, sobolev_weight))
    K, d = pairs.W.shape
    return parts.dense.reshape(K * d, K * d)


def smallest_pair_sine(W: ArrayLike, W_star: ArrayLike) -> float:
    """min sin θ over distinct student pairs and student-teacher pairs (1.0 if there are none).

    The Sobolev Hessians exist exactly where this is > 0 (numerically: > PARALLEL_SIN_TOL);
    their size grows like 1/sin θ as it shrinks.
    """
    pairs = make_pairs(W, W_star)
    values = [pairs.teacher.sin.ravel(), pairs.student.sin[pairs.off_diagonal]]
    return float(np.concatenate(values).min(initial=1.0))
