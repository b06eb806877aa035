r"""Matrix-free products with the Jacobian of the gradient field, and its extreme eigenvalues.

The Jacobian of W ∈ R^{K×m} (index i·m + a, as theory.assembly) has blocks J_ik (m×m). With
Σ = I every off-diagonal block is a scalar times I plus a part of rank <= 2 built from the
pair's own vectors (theory.assembly, theory.pair_frame):

* relu family (theory.kernels.frame_blocks, pair frame [â_ik e_ik], â_ik = w_i/|w_i|, e_ik the
  unit in-plane direction of w_k):  J_ik = γ_ik I + [â e](C_ik − γ_ik I₂)[â e]ᵀ, summed over
  the loss terms, times (1 − α)², plus α(w₀ + w₁) I from the linear part of leaky relu;
* smooth activations (theory.pair_frame, chain rule in the Gram entries): J_ik = Γ_ik I +
  t_ii w_i w_iᵀ + t_ik w_i w_kᵀ + t_ki w_k w_iᵀ + t_kk w_k w_kᵀ, where t collects the
  coefficients F_uv of the pair kernel's second partials by the side (i or k) of their vectors.

So y = J x costs O(K²·m), not (K·m)²: every term is a K×K coefficient times an inner product
of a row (or of e = (b̂ − cos θ·â)/sin θ, a combination of two unit rows) with x, so a product is
a few GEMMs of K×K by K×m around element-wise K×K work, and the diagonal blocks' pair sums are
applied the same way. Only the rows and K×(K + K*) coefficients are kept: memory
O(K·m + K²); the pair geometry is computed once, a chunk of rows at a time
(:func:`chunked_geometry`). :func:`jacobian_operator` builds this product as
a scipy LinearOperator (None where it is not implemented: Σ ≠ I, or the reduced covariance of a
spiked Σ — those use the dense reduced matrix) and :func:`extreme_real_parts` finds the
eigenvalues of smallest and largest real part with ARPACK (scipy.sparse.linalg.eigsh for the
symmetric Jacobians, eigs otherwise).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from theory import kernels
from theory.assembly import (
    Pairs,
    Problem,
    require_nondegenerate,
)
from theory.pair_frame import exact_coefficients, grams, pair_derivatives

Array = NDArray[np.float64]

#: Relative tolerance passed to ARPACK: a Ritz value θ is accepted when its residual
#: ‖Jv − θv‖ <= ITERATIVE_TOL·|θ|. For a symmetric J this bounds |λ − θ| by ITERATIVE_TOL·|θ|
#: (Weyl); for a non-symmetric J by that times the eigenvector condition number.
ITERATIVE_TOL = 1e-12

#: Krylov subspace size (ARPACK's ncv) for one extreme eigenvalue.
ITERATIVE_NCV = 40


#: Pairs with sin θ below this keep their in-plane direction e explicitly (from
#: theory.kernels.pair_geometry, extended precision below 1e-4); the others use
#: e = (b̂ − cos θ·â)/sin θ inside the products, whose rounding error ~eps/sin θ is <= 2e-13 here.
EXPLICIT_FRAME_BELOW = 1e-3

#: Target size in bytes of the (rows × pairs × m) arrays of one chunk of pair geometry.
PAIR_CHUNK_BYTES = 1 << 25


def pair_chunk_rows(n_pairs_per_row: int, m: int) -> int:
    """Rows i per chunk so that the geometry of rows × n_pairs_per_row pairs in dimension m
    (about 8 float arrays of that size, see theory.kernels) stays near PAIR_CHUNK_BYTES."""
    per_row = 8.0 * 8 * max(1, n_pairs_per_row) * max(1, m)
    return max(1, int(PAIR_CHUNK_BYTES // per_row))


def chunked_geometry(W: Array, B: Array):
    """theory.kernels.pair_geometry of all pairs (w_i, b_j) without the frame direction e,
    computed a chunk of rows i at a time: the returned PairGeometry holds only (K, M) arrays
    (norms, θ, sin θ, cos θ, degenerate; a_hat and e are None). Memory O(K·M + chunk)."""
    K, M = W.shape[0], B.shape[0]
    rows = pair_chunk_rows(M, W.shape[1])
    fields = {name: [] for name in ("norm_a", "norm_b", "theta", "sin", "cos", "degenerate")}
    for start in range(0, K, rows):
        g = kernels.pair_geometry(W[start:start + rows, None, :], B[None, :, :], frame=False)
        for name, parts in fields.items():
            parts.append(getattr(g, name))
    joined = {name: np.concatenate(parts, axis=0) for name, parts in fields.items()}
    return kernels.PairGeometry(joined["norm_a"], joined["norm_b"], joined["theta"],
                                joined["sin"], joined["cos"], None, None, joined["degenerate"])


class _Explicit:
    """The near-parallel pairs of one side, their frame direction e stored explicitly."""

    def __init__(self, rows: Array, cols: Array, e: Array, D: Array) -> None:
        self.rows, self.cols, self.e, self.D = rows, cols, e, D


class _RelulikeOperator:
    """Relu / leaky relu at Σ = I, lean: K×K frame coefficients and the unit rows (module doc).

    A block M = γ I + [â e](C − γI₂)[â e]ᵀ of the pair (w_i, b) with â = ŵ_i and
    e = (b̂ − cos θ·â)/sin θ acts on a vector x as
    γ x + â (D₀₀ p + D₀₁ q) + e (D₁₀ p + D₁₁ q), p = â·x, q = e·x = (b̂·x − cos θ·p)/sin θ,
    D = C − γI₂. Over all pairs this is a few K×K element-wise operations around five GEMMs
    (Ŵ Xᵀ, X Ŵ*ᵀ, and three (K×K)·(K×m) products): O(K²·m) time, O(K·m + K² + chunk) memory.
    Pairs with sin θ < EXPLICIT_FRAME_BELOW carry their e explicitly (a few m-vectors).
    """

    def __init__(self, problem: Problem) -> None:
        W, W_star = problem.W, problem.W_star
        K, m = W.shape
        student = chunked_geometry(W, W)
        teacher = chunked_geometry(W, W_star)
        pairs = Pairs(W, W_star, student, teacher)
        off = pairs.off_diagonal
        self.shape = (K, m)
        self.unit = W / student.norm_a[:, :1]
        self.unit_star = W_star / teacher.norm_b[:1, :].T
        # per side: γ (complement scalar), D (K, M, 2, 2)
        gamma_B, D_B = np.zeros((K, K)), np.zeros((K, K, 2, 2))
        gamma_A, D_A = np.zeros((K, K)), np.zeros((K, K, 2, 2))
        gamma_T, D_T = np.zeros((K, W_star.shape[0])), np.zeros((K, W_star.shape[0], 2, 2))
        half = 0.0
        complement = np.zeros((K, K))
        eye2 = np.eye(2)
        for weight, kind in problem.relu_terms:
            if kind in kernels.JACOBIAN_SINGULAR_KINDS:
                require_nondegenerate(pairs, "The Hessian")
            ss = kernels.frame_blocks(kind, student)
            st = kernels.frame_blocks(kind, teacher)
            gA = np.where(off, ss.gamma_A, 0.0)
            gB = np.where(off, ss.gamma_B, 0.0)
            complement += weight * (np.diag(0.5 + gA.sum(axis=1) - st.gamma_A.sum(axis=1)) + gB)
            half += 0.5 * weight
            for gamma, D, g_raw, C, mask in (
                    (gamma_A, D_A, gA, ss.C_A, off), (gamma_B, D_B, gB, ss.C_B, off),
                    (gamma_T, D_T, st.gamma_A, st.C_A, None)):
                g = kernels.complement_scalar(g_raw, m)
                gamma += weight * g
                part = C - g[..., None, None] * eye2
                D += weight * (part if mask is None else np.where(mask[..., None, None], part,
                                                                   0.0))
        alpha = problem.activation.slope
        self.linear = 0.0
        if alpha:
            scale = (1 - alpha) ** 2
            self.linear = alpha * sum(problem.weights.get(n, 0.0) for n in (0, 1))
            half *= scale
            for array in (gamma_A, gamma_B, gamma_T, D_A, D_B, D_T):
                array *= scale
            complement = scale * complement + self.linear
        self.complement = complement
        # the identity parts: y_i += (½ + Σ_k γ^A_ik − Σ_j γ^T_ij) x_i + Σ_k γ^B_ik x_k
        self.self_scale = half + gamma_A.sum(axis=1) - gamma_T.sum(axis=1)
        self.gamma_B = gamma_B
        # the lean (non-explicit) pairs' coefficients; explicit pairs get zeros here
        self.sides = []
        for D, geometry, mask, B in ((D_B, student, off, W), (D_A, student, off, W),
                                     (-D_T, teacher, None, W_star)):
            near = geometry.sin < EXPLICIT_FRAME_BELOW
            if mask is not None:
                near &= mask
            lean = ~near if mask is None else ~near & mask
            explicit = None
            if near.any():
                rows, cols = np.nonzero(near)
                frame = kernels.pair_geometry(W[rows], B[cols], frame=True)
                explicit = _Explicit(rows, cols, frame.e, D[rows, cols])
            s = np.where(lean, geometry.sin, 1.0)
            c = np.where(lean, geometry.cos, 0.0)
            D = np.where(lean[..., None, None], D, 0.0)
            self.sides.append((s, c, D, explicit))

    def __call__(self, x: Array) -> Array:
        unit, unit_star = self.unit, self.unit_star
        P = unit @ x.T  # P[i, k] = ŵ_i·x_k
        p_self = np.diagonal(P)  # ŵ_i·x_i
        y = self.self_scale[:, None] * x + self.gamma_B @ x
        if self.linear:
            y += self.linear * x.sum(axis=0)[None, :]
        along_unit = np.zeros(x.shape[0])
        to_unit = np.zeros(P.shape)
        (sB, cB, DB, eB), (sA, cA, DA, eA), (sT, cT, DT, eT) = self.sides
        # B blocks (i, k), acting on x_k: p = ŵ_i·x_k = P[i, k], b̂·x_k = ŵ_k·x_k
        for s, c, D, p, bx, coefficient_of in (
                (sB, cB, DB, P, p_self[None, :], to_unit),
                (sA, cA, DA, p_self[:, None], P.T, to_unit)):
            q = (bx - c * p) / s
            u = D[..., 0, 0] * p + D[..., 0, 1] * q
            v = (D[..., 1, 0] * p + D[..., 1, 1] * q) / s
            along_unit += (u - v * c).sum(axis=1)
            coefficient_of += v
        y += along_unit[:, None] * unit + to_unit @ unit
        # teacher A blocks (i, j), acting on x_i: b̂·x_i = ŵ*_j·x_i
        p = p_self[:, None]
        q = (x @ unit_star.T - cT * p) / sT
        u = DT[..., 0, 0] * p + DT[..., 0, 1] * q
        v = (DT[..., 1, 0] * p + DT[..., 1, 1] * q) / sT
        y += (u - v * cT).sum(axis=1)[:, None] * unit + v @ unit_star
        for explicit, acts_on_row in ((eB, False), (eA, True), (eT, True)):
            if explicit is None:
                continue
            rows, cols, e, D = explicit.rows, explicit.cols, explicit.e, explicit.D
            target = x[rows] if acts_on_row else x[cols]
            p = np.einsum("nm,nm->n", unit[rows], target)
            q = np.einsum("nm,nm->n", e, target)
            u = D[:, 0, 0] * p + D[:, 0, 1] * q
            v = D[:, 1, 0] * p + D[:, 1, 1] * q
            np.add.at(y, rows, u[:, None] * unit[rows] + v[:, None] * e)
        return y


class _SmoothOperator:
    """Smooth activations at Σ = I, lean: J_ik = Γ_ik I + Σ t_side w_left w_rightᵀ (module doc),
    and the diagonal blocks' pair sums Σ_j A(w_i, y_j) applied the same way (their vectors are
    w_i and y_j), so only K×K coefficients and the rows are kept: O(K·m + K²) memory."""

    def __init__(self, problem: Problem) -> None:
        W, W_star = problem.W, problem.W_star
        K, m = W.shape
        partials = problem.activation.partials
        gs, gt = grams(W, W, None), grams(W, W_star, None)
        cs = exact_coefficients(pair_derivatives(partials, problem.weights, gs.sa, gs.sb, gs.c,
                                                 gs.e, 2))
        ct = exact_coefficients(pair_derivatives(partials, problem.weights, gt.sa, gt.sb, gt.c,
                                                 gt.e, 2))
        # B(w_i, w_k) = (b_sigma + b_identity) I + Σ_uv f_u f_v B_uv ∂_a u ∂_b vᵀ with
        # ∂_a: s_a -> 2w_i, c, e -> w_k;  ∂_b: s_b -> 2w_k, c, e -> w_i   (Σ = I)
        left = {"sa": ("i", 2.0), "c": ("k", 1.0), "e": ("k", 1.0)}
        right = {"sb": ("k", 2.0), "c": ("i", 1.0), "e": ("i", 1.0)}
        # A(w_i, y_j) = a_sigma I + Σ_uv f_u f_v A_uv ∂_a u ∂_a vᵀ, ∂_a as above (y_j: side k)
        right_a = {"sa": ("i", 2.0), "c": ("k", 1.0), "e": ("k", 1.0)}
        self.t = self._sides(cs.B, left, right, K, K)
        self.t_student = self._sides(cs.A, left, right_a, K, K)
        self.t_teacher = self._sides(ct.A, left, right_a, K, W_star.shape[0])
        self.gamma = cs.b_sigma + cs.b_identity
        self.self_scale = cs.a_sigma.sum(axis=1) - ct.a_sigma.sum(axis=1)
        self.complement = self.gamma + np.diag(self.self_scale)
        self.W, self.W_star = W, W_star
        self.shape = (K, m)

    @staticmethod
    def _sides(coefficients, left, right, K, M):
        t = {(a, b): np.zeros((K, M)) for a in "ik" for b in "ik"}
        for (u, v), T in coefficients.items():
            (ls, fl), (rs, fr) = left[u], right[v]
            t[(ls, rs)] = t[(ls, rs)] + fl * fr * T
        return t

    @staticmethod
    def _pair_sum(t, W: Array, Y: Array, Yx: Array, wx: Array) -> Array:
        """Σ_j A(w_i, y_j) x_i with Yx[i, j] = y_j·x_i and wx[i] = w_i·x_i."""
        along_w = t[("i", "i")].sum(axis=1) * wx + (t[("i", "k")] * Yx).sum(axis=1)
        return along_w[:, None] * W + (t[("k", "i")] * wx[:, None] + t[("k", "k")] * Yx) @ Y

    def __call__(self, x: Array) -> Array:
        W, t = self.W, self.t
        P = W @ x.T  # P[i, k] = w_i·x_k
        s = np.diagonal(P)  # w_k·x_k
        y = self.self_scale[:, None] * x + self.gamma @ x
        y += ((t[("i", "i")] * P).sum(axis=1) + t[("i", "k")] @ s)[:, None] * W
        y += (t[("k", "i")] * P + t[("k", "k")] * s[None, :]) @ W
        y += self._pair_sum(self.t_student, W, W, P.T, s)
        y -= self._pair_sum(self.t_teacher, W, self.W_star, x @ self.W_star.T, s)
        return y


class IterativeNoConvergence(RuntimeError):
    """ARPACK did not reach the tolerance (callers fall back to a dense solver)."""


def jacobian_product(problem: Problem):
    """The matrix-free product of ``problem``'s Jacobian (Σ = I; module docstring): a callable
    x (K, m) -> J x (K, m) with attributes ``shape`` (K, m) and ``complement`` (the K×K
    complement matrix Γ, as theory.assembly.problem_jacobian(..., dense=False) gives it).
    None where it is not implemented (Σ ≠ I).

    Raises NonDifferentiableError where the Jacobian does not exist (as the dense assembly)."""
    if problem.sigma is not None:
        return None
    return (_SmoothOperator if problem.activation.smooth else _RelulikeOperator)(problem)


def as_linear_operator(product):
    """A :func:`jacobian_product` as a scipy.sparse.linalg.LinearOperator on flat vectors
    (index i·m + a). scipy is imported on first use (``import theory`` stays free of it)."""
    from scipy.sparse.linalg import LinearOperator

    K, m = product.shape
    n = K * m

    def matvec(x: Array) -> Array:
        return product(np.asarray(x, dtype=np.float64).reshape(K, m)).reshape(-1)

    return LinearOperator((n, n), matvec=matvec, dtype=np.float64)


def jacobian_operator(problem: Problem):
    """y = J x for the Jacobian J ((K·m)², index i·m + a) of ``problem``, matrix-free (module
    docstring), as a scipy.sparse.linalg.LinearOperator; or None where that is not implemented
    (Σ ≠ I: use the dense matrix).

    Raises NonDifferentiableError where the Jacobian does not exist (as the dense assembly)."""
    product = jacobian_product(problem)
    return None if product is None else as_linear_operator(product)


def extreme_real_parts(operator, symmetric: bool, *,
                       tol: float = ITERATIVE_TOL) -> tuple[float, float]:
    """(min Re λ, max Re λ) of the operator by ARPACK: eigsh (Lanczos, which="SA"/"LA") when
    ``symmetric``, else eigs (Arnoldi, which="SR"/"LR"); relative tolerance ``tol`` (see
    ITERATIVE_TOL), Krylov dimension ITERATIVE_NCV, the same start vector for both ends:
    fixed (reproducible) but generic — Gaussian, seed 0 — because a structured one such as all
    ones can lie in an invariant subspace of a symmetric configuration (e.g. permuted neurons)
    and never see the extreme eigenvector. Raises IterativeNoConvergence if ARPACK does not
    converge."""
    from scipy.sparse.linalg import ArpackNoConvergence, eigs, eigsh

    from theory.threads import blas_threads

    n = operator.shape[0]
    ncv = min(n - 1, ITERATIVE_NCV)
    start = np.random.default_rng(0).standard_normal(n)
    solve, ends = (eigsh, ("SA", "LA")) if symmetric else (eigs, ("SR", "LR"))
    try:
        with blas_threads():  # scipy's own BLAS, loaded with scipy.sparse.linalg above
            values = [solve(operator, k=1, which=which, tol=tol, ncv=ncv, v0=start,
                            return_eigenvectors=False)[0] for which in ends]
    except ArpackNoConvergence as exc:
        raise IterativeNoConvergence(str(exc)) from None
    return float(np.real(values[0])), float(np.real(values[1]))


__all__ = ["EXPLICIT_FRAME_BELOW", "ITERATIVE_NCV", "ITERATIVE_TOL", "IterativeNoConvergence",
           "as_linear_operator", "extreme_real_parts", "jacobian_operator", "jacobian_product"]
