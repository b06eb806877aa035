r"""Population loss, gradients and Hessians assembled over all neuron pairs.

Why one file of ~630 lines: it is the general route — one Problem and its assembly for every
(activation, loss, Σ) — whose parts (pairs, Jacobian blocks, structured Hessian) are used together.

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

The formulas above are the relu family at Σ = I (theory.kernels' angle-based kinds, kept for
their precision near θ = 0, π and their two conventions). The general route here covers
every (activation, loss, Σ); theory.population picks it or the lean route of theory.fast_field.
Smooth activations (erf, sine, gelu) and
the second-order losses go through the one chain-rule assembly of theory.pair_frame; leaky relu
is α·(linear activation) + (1 − α)²·relu; relu with Σ ≠ I evaluates its L2 part on whitened
rows Lᵀw (Σ = LLᵀ) and its Sobolev part through theory.pair_frame with the stable Σ-angle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from theory import kernels
from theory.activations import ClosedFormActivation, get_activation
from theory.kernels import PI, PairGeometry, pair_geometry
from theory.pair_frame import (
    column_coefficients,
    column_grams,
    covariance_apply,
    covariance_matrix,
    diagonal_sum,
    exact_coefficients,
    expected_coefficients,
    grams,
    mask_coefficients,
    pair_blocks,
    pair_derivatives,
    pair_sum_gradient,
    pair_sum_value,
)
from theory.validation import (
    NonDifferentiableError,
    SpikedCovariance,
    as_student_teacher,
    check_convention,
    check_input_covariance,
    check_loss,
    check_sobolev_weight,
    homogeneous_scaling,
    loss_weights,
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
    #: both at once, leading shape (K, K + K*): columns j < K the student pairs, then the
    #: teacher pairs (student and teacher are its column slices); None if not built that way
    joint: PairGeometry | None = None

    @property
    def off_diagonal(self) -> NDArray[np.bool_]:
        return ~np.eye(self.W.shape[0], dtype=bool)


def _column_slice(geometry: PairGeometry, columns: slice) -> PairGeometry:
    return PairGeometry(*(None if field is None else field[:, columns]
                          for field in (geometry.norm_a, geometry.norm_b, geometry.theta,
                                        geometry.sin, geometry.cos, geometry.a_hat, geometry.e,
                                        geometry.degenerate)))


def _joint_pairs(student: NDArray[np.float64], teacher: NDArray[np.float64],
                 frame: bool = True) -> Pairs:
    """Pairs whose student and teacher geometries are column slices of one pair_geometry call
    over (w_i, r_j), r = the rows of W then of W* (element-wise the same arithmetic as two
    separate calls, at half the per-call cost)."""
    K = student.shape[0]
    rows = np.concatenate((student, teacher))
    joint = pair_geometry(student[:, None, :], rows[None, :, :], frame)
    return Pairs(student, teacher, _column_slice(joint, slice(None, K)),
                 _column_slice(joint, slice(K, None)), joint)


def make_pairs(W: ArrayLike, W_star: ArrayLike) -> Pairs:
    student, teacher = as_student_teacher(W, W_star)
    return _joint_pairs(student, teacher)


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


def _relu_loss(pairs: Pairs, terms: list[tuple[float, str]]) -> float:
    """½ΣP(w_i, w_j) − ΣP(w_i, w*_j) + ½ΣP(w*_i, w*_j) for the relu pair kinds (Σ = I).

    Absolute rounding error ~1e-16 × Σ|w|², so values far below that near the teacher carry no
    relative accuracy.
    """
    teacher_teacher = pair_geometry(pairs.W_star[:, None, :], pairs.W_star[None, :, :],
                                    frame=False)
    total = 0.0
    for weight, kind in terms:
        ss = kernels.kernel_value(kind, pairs.W[:, None], pairs.W[None, :], pairs.student)
        st = kernels.kernel_value(kind, pairs.W[:, None], pairs.W_star[None, :], pairs.teacher)
        tt = kernels.kernel_value(kind, pairs.W_star[:, None], pairs.W_star[None, :],
                                  teacher_teacher)
        total += weight * (0.5 * ss.sum() - st.sum() + 0.5 * tt.sum())
    return float(total)


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


@dataclass(frozen=True)
class JacobianParts:
    """The dense Jacobian (K, d, K, d) and its complement matrix Γ (K, K).

    Every block of the Jacobian acts as Γ[i, k] × identity on the orthogonal complement of
    S = span(student rows ∪ teacher rows); see theory.spectra.
    """

    dense: NDArray[np.float64] | None
    complement: NDArray[np.float64]


def _joint_geometry(pairs: Pairs) -> PairGeometry:
    """The (K, K + K*) geometry of the student pairs then the teacher pairs."""
    if pairs.joint is not None:
        return pairs.joint
    names = ("norm_a", "norm_b", "theta", "sin", "cos", "a_hat", "e", "degenerate")
    fields = [(getattr(pairs.student, name), getattr(pairs.teacher, name)) for name in names]
    return PairGeometry(*(None if s is None else np.concatenate((s, t), axis=1)
                          for s, t in fields))


def jacobian_parts(pairs: Pairs, terms: list[tuple[float, str]], *, dense: bool = True,
                   what: str = "The Hessian") -> JacobianParts:
    """Assemble the Jacobian of the gradient field for the given loss terms.

    The terms share the pair frames, so their frame coefficients (theory.kernels.frame_blocks)
    are summed first with the weights w_t and every block is formed once. Over the K + K*
    columns of the joint pair geometry (student pairs j ≠ i with sign +, teacher pairs −; the
    self pairs are the ½I term and dropped), with A or B = γ I + [â e](C − γI₂)[â e]ᵀ (γ
    dropped exactly for d <= 2, where the complement of the pair plane is {0}):

        ∂F_i/∂w_i = (Σ_t w_t/2) I + Σ_j ± A_ij,    ∂F_i/∂w_k = B_ik (k ≠ i),
        Γ = diag((Σ_t w_t/2) + Σ_j ± γ^A_ij) + γ^B (zero diagonal).
    """
    K, d = pairs.W.shape
    M = K + pairs.W_star.shape[0]
    if any(kind in kernels.JACOBIAN_SINGULAR_KINDS for _, kind in terms):
        require_nondegenerate(pairs, what)
    if not terms:
        raise ValueError("jacobian_parts needs at least one loss term")
    joint = _joint_geometry(pairs)
    half = 0.0
    for index, (weight, kind) in enumerate(terms):
        blocks = kernels.frame_blocks(kind, joint)  # fresh arrays, scaled in place below
        half += 0.5 * weight
        if index == 0:
            gamma_A, C_A = blocks.gamma_A, blocks.C_A
            gamma_B, C_B = blocks.gamma_B[:, :K], blocks.C_B[:, :K]
            if weight != 1.0:
                for array in (gamma_A, C_A, gamma_B, C_B):
                    array *= weight
        else:
            gamma_A += weight * blocks.gamma_A
            C_A += weight * blocks.C_A
            gamma_B += weight * blocks.gamma_B[:, :K]
            C_B += weight * blocks.C_B[:, :K]
    # the self pairs (their step coefficients are NaN) are the ½I term; teacher pairs enter −
    idx = np.arange(K)
    for array in (gamma_A, C_A, gamma_B, C_B):
        array[idx, idx] = 0.0
    gamma_A[:, K:] *= -1.0
    C_A[:, K:] *= -1.0
    scalars = gamma_A.sum(axis=1)
    complement = gamma_B.copy()
    complement[idx, idx] = half + scalars
    if not dense:
        return JacobianParts(None, complement)
    frame = np.stack((joint.a_hat, joint.e), axis=-1)  # (K, M, d, 2)
    idx_d = np.arange(d)
    if d >= 3:  # C − γI₂ (for d <= 2 the complement scalar is dropped exactly)
        for C, gamma in ((C_A, gamma_A), (C_B, gamma_B)):
            C[..., 0, 0] -= gamma
            C[..., 1, 1] -= gamma
    # Σ_j ± [â e](C − γI₂)[â e]ᵀ as one product over the 2M in-plane columns of each row i
    left = np.matmul(frame, C_A).transpose(0, 2, 1, 3).reshape(K, d, 2 * M)
    diagonal = np.matmul(left, frame.transpose(0, 1, 3, 2).reshape(K, 2 * M, d))
    diagonal[:, idx_d, idx_d] += (half + scalars)[:, None] if d >= 3 else half
    student_frame = frame[:, :K]
    off = np.matmul(np.matmul(student_frame, C_B), student_frame.transpose(0, 1, 3, 2))
    if d >= 3:
        off[:, :, idx_d, idx_d] += gamma_B[..., None]
    jacobian = off.transpose(0, 2, 1, 3).copy()  # (i, a, k, b)
    jacobian[idx, :, idx, :] = diagonal
    return JacobianParts(jacobian, complement)


def smallest_pair_sine(W: ArrayLike, W_star: ArrayLike) -> float:
    """min sin θ over distinct student pairs and student-teacher pairs (1.0 if there are none).

    The Sobolev Hessians exist exactly where this is > 0 (numerically: > PARALLEL_SIN_TOL);
    their size grows like 1/sin θ as it shrinks.
    """
    pairs = make_pairs(W, W_star)
    values = [pairs.teacher.sin.ravel(), pairs.student.sin[pairs.off_diagonal]]
    return float(np.concatenate(values).min(initial=1.0))


# ---------------------------------------------------------------------------------------------
# Public entry points: every activation, every loss, any input covariance Σ.
# ---------------------------------------------------------------------------------------------

def pairs_of(student: NDArray[np.float64], teacher: NDArray[np.float64],
             frame: bool = True) -> Pairs:
    """Pairs of already validated weights (no checks; see make_pairs). ``frame=False`` skips
    the in-plane directions e (enough for losses and the relu/step_expected fields)."""
    return _joint_pairs(student, teacher, frame)


def loss_order_weights(loss: str, sobolev_weight: float = 1.0,
                       second_order_weight: float = 1.0) -> dict[int, float]:
    """{n: w_n}: the weight of the n-th order term (0: L2, 1: Sobolev J, 2: second-order J₂).

    l2 -> {0: 1}; sobolev -> {1: 1}; h1 -> {0: 1, 1: λ}; sobolev2 -> {2: 1};
    h2 -> {0: 1, 1: λ, 2: μ}. Zero weights are dropped (h1 with λ = 0 is exactly l2).
    """
    weights = loss_weights(loss, sobolev_weight, second_order_weight)
    return {n: w for n, w in enumerate(weights) if w != 0.0}


@dataclass(frozen=True)
class Problem:
    """A validated population problem: weights, activation, loss orders, convention, Σ."""

    W: NDArray[np.float64]
    W_star: NDArray[np.float64]
    activation: ClosedFormActivation
    weights: dict[int, float]
    convention: str
    sigma: NDArray[np.float64] | SpikedCovariance | None  # None: Σ = I
    #: W and W* are the caller's weights divided by 2^exponent (theory.validation.
    #: homogeneous_scaling; non-zero only for the positively homogeneous two-slope family)
    exponent: int = 0

    @property
    def relu_terms(self) -> list[tuple[float, str]]:
        """The relu kinds of theory.kernels for the weights (two-slope family, Σ = I)."""
        step = "step_exact" if self.convention == "exact" else "step_expected"
        kinds = {0: "relu", 1: step}
        return [(w, kinds[n]) for n, w in sorted(self.weights.items())]

    def reduced(self, W, W_star, sigma) -> Problem:
        """The same problem on other rows and covariance (the structured spectrum's reduction)."""
        return Problem(W, W_star, self.activation, self.weights, self.convention, sigma)


def make_problem(W: ArrayLike, W_star: ArrayLike, loss: str, *, activation: str,
                 convention: str, sobolev_weight: float, second_order_weight: float,
                 input_covariance: ArrayLike | None, pair_memory: bool = True,
                 validated: bool = False) -> Problem:
    """Validate every argument of the public entry points (ValueError naming the argument).

    ``pair_memory=False`` skips the check that the K·(K+K*)·d pair arrays fit (for callers
    that never build them at once: the chunked matrix-free spectra check their own memory).
    ``validated=True``: W and W_star are already the arrays theory.validation.
    as_student_teacher returned (a caller that checked them once), so that check is skipped;
    every other argument is still checked, in the same order."""
    act = get_activation(activation)
    weights = loss_order_weights(loss, sobolev_weight, second_order_weight)
    check_convention(convention)
    # relu / leaky relu: loss(cW, cW*) = c²·loss for any Σ, so run at a power-of-two scale that
    # keeps squared norms representable (smooth activations are not homogeneous: unscaled)
    student, teacher, exponent = homogeneous_scaling(W, W_star, homogeneous=act.homogeneous,
                                                     pair_memory=pair_memory,
                                                     validated=validated)
    sigma = check_input_covariance(input_covariance, student.shape[1])
    if act.homogeneous and 2 in weights:
        raise ValueError(
            f"loss={loss!r} needs the second-order term J₂ = E ½‖∇²g − ∇²g*‖², which is infinite "
            f"for activation={act.name!r}: its second derivative is a Dirac mass "
            f"(φ'' = {1 - act.slope:g}·δ), so E[φ''(a·x)φ''(b·x)] diverges. Use a smooth "
            "activation ('erf', 'sine', 'gelu') or loss 'l2', 'sobolev', 'h1'"
        )
    return Problem(student, teacher, act, weights, convention, sigma, exponent)


# --- the linear part α·t of leaky relu -------------------------------------------------------

def _linear_parts(p: Problem) -> tuple[float, NDArray, float, NDArray]:
    """Loss, gradient row, Jacobian block and complement scalar of the linear activation t.

    With u = Σ_i w_i − Σ_j w*_j: L = ½ uᵀΣu, J = ½|u|² (J₂ = 0); every row's gradient is
    w_0 Σu + w_1 u and every Jacobian block (i, k) is w_0 Σ + w_1 I.
    """
    u = p.W.sum(axis=0) - p.W_star.sum(axis=0)
    w0, w1 = p.weights.get(0, 0.0), p.weights.get(1, 0.0)
    su = covariance_apply(u[None, :], p.sigma)[0]
    loss = 0.5 * w0 * float(u @ su) + 0.5 * w1 * float(u @ u)
    d = u.shape[0]
    block = w0 * covariance_matrix(p.sigma, d) + w1 * np.eye(d)
    return loss, w0 * su + w1 * u, block, w0 + w1


# --- two-slope family (relu, leaky relu) with a general Σ -----------------------------------

@dataclass(frozen=True)
class _Whitened:
    """Rows whitened by Σ = L Lᵀ (row w ↦ Lᵀw), their pairs, and the Σ-geometry."""

    L: NDArray[np.float64]
    pairs: Pairs


def _whiten(p: Problem) -> _Whitened:
    L = np.linalg.cholesky(covariance_matrix(p.sigma, p.W.shape[1]))
    return _Whitened(L, pairs_of(p.W @ L, p.W_star @ L))


def _relu_sobolev_partials(geometry: PairGeometry):
    """Partials provider for h_1 = (π − θ_Σ)/(2π) from the stable Σ-angle of each pair."""
    theta = geometry.theta
    d_value = geometry.norm_a * geometry.norm_b * geometry.sin

    def partials(n, order, sa, sb, cc):
        from theory.activations import relu as relu_activation  # SymPy-generated, on first use

        return relu_activation.sobolev_partials(sa, sb, cc, theta, d_value, order)
    return partials


def _relu_sigma_sobolev_gradient(p: Problem, white: _Whitened, weight: float) -> NDArray:
    off = white.pairs.off_diagonal
    gs, gt = grams(p.W, p.W, p.sigma), grams(p.W, p.W_star, p.sigma)
    if p.convention == "expected":
        # E[φ'(a·x)φ'(b·x)] b with the step's derivative dropped: (π − θ_Σ)/(2π) · b
        hs = np.where(off, (PI - white.pairs.student.theta) / (2 * PI), 0.0)
        ht = (PI - white.pairs.teacher.theta) / (2 * PI)
        return weight * (0.5 * p.W + hs @ p.W - ht @ p.W_star)
    require_nondegenerate(white.pairs, "The exact Sobolev gradient")
    out = 0.5 * p.W.copy()
    for g, geometry, sign, mask in ((gs, white.pairs.student, 1.0, off),
                                    (gt, white.pairs.teacher, -1.0, None)):
        partials = _relu_sobolev_partials(geometry)
        with np.errstate(divide="ignore", invalid="ignore"):
            D = pair_derivatives(partials, {1: 1.0}, g.sa, g.sb, g.c, g.e, 1)
        if mask is not None:
            D.first.update({k: np.where(mask, v, 0.0) for k, v in D.first.items()})
        out += sign * pair_sum_gradient(D, g)
    return weight * out


def _relu_sigma_sobolev_jacobian(p: Problem, white: _Whitened, weight: float, dense: bool
                                 ) -> JacobianParts:
    require_nondegenerate(white.pairs, "The Sobolev Hessian")
    K, d = p.W.shape
    off = white.pairs.off_diagonal
    gs, gt = grams(p.W, p.W, p.sigma), grams(p.W, p.W_star, p.sigma)
    sums, scalars = [], []
    blocks = complement_b = None
    for g, geometry, mask in ((gs, white.pairs.student, off), (gt, white.pairs.teacher, None)):
        D = pair_derivatives(_relu_sobolev_partials(geometry), {1: 1.0}, g.sa, g.sb, g.c, g.e, 2)
        coef = exact_coefficients(D) if p.convention == "exact" else expected_coefficients(D)
        if mask is not None:
            coef = mask_coefficients(coef, mask)
        block_sum, scalar = diagonal_sum(coef, g, p.sigma, dense)
        sums.append(block_sum)
        scalars.append(scalar)
        if mask is not None:
            blocks, complement_b = pair_blocks(coef, g, p.sigma, dense)
    complement = complement_b + np.diag(0.5 + scalars[0] - scalars[1])
    if not dense:
        return JacobianParts(None, weight * complement)
    idx = np.arange(K)
    blocks[idx, :, idx, :] += 0.5 * np.eye(d) + sums[0] - sums[1]
    return JacobianParts(weight * blocks, weight * complement)


def _two_slope_loss(p: Problem) -> float:
    if p.sigma is None:
        value = _relu_loss(pairs_of(p.W, p.W_star, frame=False), p.relu_terms)
    else:
        white = _whiten(p)
        value = 0.0
        if 0 in p.weights:
            value += p.weights[0] * _relu_loss(white.pairs, [(1.0, "relu")])
        if 1 in p.weights:
            tt = pair_geometry(white.pairs.W_star[:, None], white.pairs.W_star[None, :])
            total = 0.0
            for X, Y, geometry, factor in ((p.W, p.W, white.pairs.student, 0.5),
                                           (p.W, p.W_star, white.pairs.teacher, -1.0),
                                           (p.W_star, p.W_star, tt, 0.5)):
                total += factor * float(((X @ Y.T) * (PI - geometry.theta)).sum()) / (2 * PI)
            value += p.weights[1] * total
    alpha = p.activation.slope
    if alpha == 0.0:
        return value
    return (1 - alpha) ** 2 * value + alpha * _linear_parts(p)[0]


def _two_slope_gradient(p: Problem) -> NDArray[np.float64]:
    if p.sigma is None:
        frame = any(kind in kernels.GRADIENT_FRAME_KINDS for _, kind in p.relu_terms)
        gradient = _gradient(pairs_of(p.W, p.W_star, frame), p.relu_terms)
    else:
        white = _whiten(p)
        gradient = np.zeros_like(p.W)
        if 0 in p.weights:
            gradient += p.weights[0] * _gradient(white.pairs, [(1.0, "relu")]) @ white.L.T
        if 1 in p.weights:
            gradient += _relu_sigma_sobolev_gradient(p, white, p.weights[1])
    alpha = p.activation.slope
    if alpha == 0.0:
        return gradient
    return (1 - alpha) ** 2 * gradient + alpha * _linear_parts(p)[1][None, :]


def _two_slope_jacobian(p: Problem, dense: bool) -> JacobianParts:
    K, d = p.W.shape
    if p.sigma is None:
        parts = jacobian_parts(pairs_of(p.W, p.W_star), p.relu_terms, dense=dense)
    else:
        white = _whiten(p)
        matrix = np.zeros((K, d, K, d)) if dense else None
        complement = np.zeros((K, K))
        if 0 in p.weights:
            l2 = jacobian_parts(white.pairs, [(1.0, "relu")], dense=dense)
            complement += p.weights[0] * l2.complement
            if dense:
                L = white.L
                matrix += p.weights[0] * np.einsum("ap,ipkq,bq->iakb", L, l2.dense, L,
                                                   optimize=True)
        if 1 in p.weights:
            sob = _relu_sigma_sobolev_jacobian(p, white, p.weights[1], dense)
            complement += sob.complement
            if dense:
                matrix += sob.dense
        parts = JacobianParts(matrix, complement)
    alpha = p.activation.slope
    if alpha == 0.0:
        return parts
    _, _, block, scalar = _linear_parts(p)
    scale = (1 - alpha) ** 2
    complement = scale * parts.complement + alpha * scalar
    if not dense:
        return JacobianParts(None, complement)
    matrix = scale * parts.dense + alpha * np.broadcast_to(block[None, :, None, :], (K, d, K, d))
    return JacobianParts(matrix, complement)


# --- smooth activations -----------------------------------------------------------------------

def _smooth_loss(p: Problem) -> float:
    partials = p.activation.partials
    total = 0.0
    for X, Y, factor in ((p.W, p.W, 0.5), (p.W, p.W_star, -1.0), (p.W_star, p.W_star, 0.5)):
        total += factor * pair_sum_value(partials, p.weights, grams(X, Y, p.sigma))
    return total


def _smooth_gradient(p: Problem) -> NDArray[np.float64]:
    partials = p.activation.partials
    gs, gt = grams(p.W, p.W, p.sigma), grams(p.W, p.W_star, p.sigma)
    Ds = pair_derivatives(partials, p.weights, gs.sa, gs.sb, gs.c, gs.e, 1)
    Dt = pair_derivatives(partials, p.weights, gt.sa, gt.sb, gt.c, gt.e, 1)
    return pair_sum_gradient(Ds, gs) - pair_sum_gradient(Dt, gt)


def _smooth_jacobian(p: Problem, dense: bool) -> JacobianParts:
    """Blocks (i, k) = B(w_i, w_k) and diagonal Σ_j A(w_i, w_j) − Σ_j A(w_i, w*_j) + B(w_i, w_i)
    (theory.pair_frame), from one pair grid over the rows (W, W*): the teacher pairs' partials
    carry the sign −1, so the diagonal is one signed pair sum over K + K* columns."""
    K, d = p.W.shape
    g = grams(p.W, np.concatenate((p.W, p.W_star)), p.sigma)
    sign = np.ones(K + p.W_star.shape[0])
    sign[K:] = -1.0
    coef = exact_coefficients(pair_derivatives(p.activation.partials, p.weights, g.sa, g.sb,
                                               g.c, g.e, 2, sign=sign))
    diagonal, scalar = diagonal_sum(coef, g, p.sigma, dense)
    students = slice(None, K)
    blocks, complement = pair_blocks(column_coefficients(coef, students),
                                     column_grams(g, students), p.sigma, dense)
    complement = complement + np.diag(scalar)
    if not dense:
        return JacobianParts(None, complement)
    idx = np.arange(K)
    blocks[idx, :, idx, :] += diagonal
    return JacobianParts(blocks, complement)


def problem_jacobian(p: Problem, *, dense: bool = True) -> JacobianParts:
    """Dense Jacobian (K, d, K, d) (if ``dense``) and complement matrix Γ of a problem."""
    if p.activation.smooth:
        return _smooth_jacobian(p, dense)
    return _two_slope_jacobian(p, dense)


def general_population_loss(W: ArrayLike, W_star: ArrayLike, loss: str = "h1", *,
                            activation: str = "relu", sobolev_weight: float = 1.0,
                            second_order_weight: float = 1.0,
                            input_covariance: ArrayLike | None = None) -> float:
    """population_loss by the general route (every activation, Σ, scale; pair geometry as
    (K, K + K*, d) arrays). population_loss takes the lean route of theory.fast_field instead
    where that is safe (relu family, Σ = I, representable rows) and agrees with this to
    ~1e-15 × (Σ|w|)²."""
    p = make_problem(W, W_star, loss, activation=activation, convention="expected",
                     sobolev_weight=sobolev_weight, second_order_weight=second_order_weight,
                     input_covariance=input_covariance)
    if p.activation.smooth:
        return float(_smooth_loss(p))
    return rescale(_two_slope_loss(p), p.exponent, 2, "population loss")


def general_population_gradient(W: ArrayLike, W_star: ArrayLike, loss: str = "h1", *,
                                convention: str = "expected", activation: str = "relu",
                                sobolev_weight: float = 1.0, second_order_weight: float = 1.0,
                                input_covariance: ArrayLike | None = None
                                ) -> NDArray[np.float64]:
    """population_gradient by the general route (every activation, Σ, scale, the exact
    convention's degenerate-pair check; pair geometry as (K, K + K*, d) arrays).
    population_gradient takes the lean route of theory.fast_field instead where that is safe
    (relu family, Σ = I, representable rows) and agrees with this to ~1e-15 × Σ|w|."""
    p = make_problem(W, W_star, loss, activation=activation, convention=convention,
                     sobolev_weight=sobolev_weight, second_order_weight=second_order_weight,
                     input_covariance=input_covariance)
    if p.activation.smooth:
        return _smooth_gradient(p)
    return rescale(_two_slope_gradient(p), p.exponent, 1, "population gradient")


def direct_hessian(p: Problem) -> NDArray[np.float64]:
    """The (K·d)² Jacobian of a problem assembled pair by pair in dimension d (every block
    formed densely: O(K·(K + K*)·d²) work on top of the (K·d)² output)."""
    K, d = p.W.shape
    return problem_jacobian(p).dense.reshape(K * d, K * d)


#: structured_hessian is used only when no pair has sin θ below this (measured on the Gram
#: matrix): nearer (anti)parallel pairs get their angle in extended precision from the d-long
#: rows (theory.kernels.pair_geometry), which coordinates rounded in S would not reproduce.
STRUCTURED_HESSIAN_MIN_SIN = 1e-3


#: ... and only from this K·d on: below it the basis and the reduced assembly cost more than
#: the direct one (~0.1 ms of fixed cost; break-even measured near K·d ~ 100).
STRUCTURED_HESSIAN_MIN_SIZE = 128


def structured_hessian(p: Problem) -> NDArray[np.float64] | None:
    r"""The (K·d)² Jacobian from its structure, or None where the direct assembly is used.

    With Q (d×m) an orthonormal basis of S = span(rows ∪ range(Σ − I)) (theory.structure),
    M the (K·m)² Jacobian of the reduced problem (rows WQ, W*Q, covariance QᵀΣQ) and Γ the
    K×K complement matrix (theory.spectra's module docstring),

        H = Γ ⊗ I_d + (I_K ⊗ Q)(M − Γ ⊗ I_m)(I_K ⊗ Q)ᵀ,

    two GEMMs (O(K²·d·m·(d + m)) flops) instead of forming every d×d block. Used when Σ = I or
    spiked, m < d, K·d >= STRUCTURED_HESSIAN_MIN_SIZE, and every student-student and
    student-teacher pair has sin θ >= STRUCTURED_HESSIAN_MIN_SIN (otherwise None: m = d gains
    nothing; a general Σ has no common complement; nearly parallel pairs keep the
    extended-precision angles of the direct assembly; tiny problems are cheaper directly).
    Equal to :func:`direct_hessian` to rounding (tests: ~1e-13 relative).
    """
    from theory.structure import NotSpikedError, reduce_to_span

    W, W_star = p.W, p.W_star
    K, d = W.shape
    if K * d < STRUCTURED_HESSIAN_MIN_SIZE or (K + W_star.shape[0] >= d and p.sigma is None):
        return None
    if _smallest_gram_sine(W, W_star) < STRUCTURED_HESSIAN_MIN_SIN:
        return None
    try:
        reduction = reduce_to_span(W, W_star, p.sigma, need_basis=True)
    except NotSpikedError:
        return None
    Q, m = reduction.basis, reduction.m
    if m >= d:
        return None
    parts = problem_jacobian(p.reduced(reduction.W, reduction.W_star, reduction.sigma))
    gamma = parts.complement
    low = parts.dense.copy()  # (K, m, K, m): M − Γ ⊗ I_m
    low[:, np.arange(m), :, np.arange(m)] -= gamma
    # (I ⊗ Q) M': rows i·d + a, columns (k, c) -> then times Qᵀ on c: columns k·d + b
    left = np.matmul(Q, low.reshape(K, m, K * m))  # (K, d, K·m)
    out = (left.reshape(K * d * K, m) @ Q.T).reshape(K * d, K * d)
    diagonal = out.reshape(K, d, K, d)
    idx = np.arange(d)
    diagonal[:, idx, :, idx] += gamma
    return out


def _smallest_gram_sine(W: NDArray[np.float64], W_star: NDArray[np.float64]) -> float:
    """min sin θ over student-student (distinct) and student-teacher pairs, from the Gram
    matrix (sin² = 1 − cos²; absolute error ~eps in sin², enough for a threshold >> 1e-8)."""
    K = W.shape[0]
    rows = np.vstack([W, W_star])
    gram = rows @ rows.T
    norms = np.sqrt(np.diag(gram))
    cos = gram[:K] / norms[:K, None] / norms[None, :]
    sin2 = 1.0 - np.minimum(cos * cos, 1.0)
    sin2[np.arange(K), np.arange(K)] = 1.0
    return float(np.sqrt(sin2.min()))
