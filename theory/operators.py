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

So y = J x costs O(K²·m) (one pass over the K² pairs with m-vectors), not (K·m)²; the K
diagonal blocks are kept dense (K·m² numbers). :func:`jacobian_operator` builds this product as
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
    Problem,
    diagonal_blocks,
    pairs_of,
    require_nondegenerate,
    student_frame_blocks,
)
from theory.pair_frame import exact_coefficients, grams, pair_derivatives

Array = NDArray[np.float64]

#: Relative tolerance passed to ARPACK: a Ritz value θ is accepted when its residual
#: ‖Jv − θv‖ <= ITERATIVE_TOL·|θ|. For a symmetric J this bounds |λ − θ| by ITERATIVE_TOL·|θ|
#: (Weyl); for a non-symmetric J by that times the eigenvector condition number.
ITERATIVE_TOL = 1e-12

#: Krylov subspace size (ARPACK's ncv) for one extreme eigenvalue.
ITERATIVE_NCV = 40


class _RelulikeOperator:
    """Relu / leaky relu at Σ = I: dense diagonal blocks and frame coefficients (module doc)."""

    def __init__(self, problem: Problem) -> None:
        W, W_star = problem.W, problem.W_star
        K, m = W.shape
        pairs = pairs_of(W, W_star)
        off = pairs.off_diagonal
        diagonal = np.zeros((K, m, m))
        gamma = np.zeros((K, K))
        coefficients = np.zeros((K, K, 2, 2))
        for weight, kind in problem.relu_terms:
            if kind in kernels.JACOBIAN_SINGULAR_KINDS:
                require_nondegenerate(pairs, "The Hessian")
            st, gamma_A, C_A, gamma_B, C_B = student_frame_blocks(kind, pairs)
            diagonal += weight * diagonal_blocks(pairs, st, gamma_A, C_A)
            g = kernels.complement_scalar(gamma_B, m)
            gamma += weight * g
            coefficients += weight * (C_B - g[..., None, None] * np.eye(2))
        alpha = problem.activation.slope
        if alpha:
            scale = (1 - alpha) ** 2
            linear = alpha * sum(problem.weights.get(n, 0.0) for n in (0, 1))
            diagonal = scale * diagonal + linear * np.eye(m)
            gamma = scale * gamma + linear * off
            coefficients = scale * coefficients
        self.diagonal, self.gamma, self.coefficients = diagonal, gamma, coefficients
        # â_ik = w_i/|w_i| for every k: one (K, m) array; e_ik depends on the pair
        self.a_hat, self.e = np.ascontiguousarray(pairs.student.a_hat[:, 0, :]), pairs.student.e
        self.shape = (K, m)

    def __call__(self, x: Array) -> Array:
        p = self.a_hat @ x.T  # â_i·x_k
        q = np.einsum("ikm,km->ik", self.e, x)  # e_ik·x_k
        C = self.coefficients
        u = C[..., 0, 0] * p + C[..., 0, 1] * q
        v = C[..., 1, 0] * p + C[..., 1, 1] * q
        y = np.matmul(self.diagonal, x[:, :, None])[:, :, 0] + self.gamma @ x
        y += u.sum(axis=1)[:, None] * self.a_hat
        y += np.einsum("ik,ikm->im", v, self.e)
        return y


class _SmoothOperator:
    """Smooth activations at Σ = I: J_ik = Γ_ik I + Σ t_side w_left w_rightᵀ (module doc)."""

    def __init__(self, problem: Problem) -> None:
        from theory.pair_frame import diagonal_sum

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
        t = {(a, b): np.zeros((K, K)) for a in "ik" for b in "ik"}
        for (u, v), T in cs.B.items():
            (ls, fl), (rs, fr) = left[u], right[v]
            t[(ls, rs)] = t[(ls, rs)] + fl * fr * T
        gamma = cs.b_sigma + cs.b_identity
        sum_s, _ = diagonal_sum(cs, gs, None)
        sum_t, _ = diagonal_sum(ct, gt, None)
        idx = np.arange(K)
        self_part = sum(T[idx, idx] for T in t.values())
        diagonal = (sum_s - sum_t + gamma[idx, idx][:, None, None] * np.eye(m)
                    + np.einsum("i,ia,ib->iab", self_part, W, W))
        off = ~np.eye(K, dtype=bool)
        self.t = {key: np.where(off, T, 0.0) for key, T in t.items()}
        self.gamma = np.where(off, gamma, 0.0)
        self.diagonal, self.W = diagonal, W
        self.shape = (K, m)

    def __call__(self, x: Array) -> Array:
        W, t = self.W, self.t
        P = W @ x.T  # P[i, k] = w_i·x_k
        s = np.diagonal(P)  # w_k·x_k
        y = np.matmul(self.diagonal, x[:, :, None])[:, :, 0] + self.gamma @ x
        y += ((t[("i", "i")] * P).sum(axis=1) + t[("i", "k")] @ s)[:, None] * W
        y += (t[("k", "i")] * P + t[("k", "k")] * s[None, :]) @ W
        return y


class IterativeNoConvergence(RuntimeError):
    """ARPACK did not reach the tolerance (callers fall back to a dense solver)."""


def jacobian_operator(problem: Problem):
    """y = J x for the Jacobian J ((K·m)², index i·m + a) of ``problem``, matrix-free (module
    docstring), as a scipy.sparse.linalg.LinearOperator; or None where that is not implemented
    (Σ ≠ I: use the dense matrix). scipy is imported on first use (``import theory`` stays
    free of it).

    Raises NonDifferentiableError where the Jacobian does not exist (as the dense assembly)."""
    from scipy.sparse.linalg import LinearOperator

    if problem.sigma is not None:
        return None
    product = (_SmoothOperator if problem.activation.smooth else _RelulikeOperator)(problem)
    K, m = product.shape
    n = K * m

    def matvec(x: Array) -> Array:
        return product(np.asarray(x, dtype=np.float64).reshape(K, m)).reshape(-1)

    return LinearOperator((n, n), matvec=matvec, dtype=np.float64)


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

    n = operator.shape[0]
    ncv = min(n - 1, ITERATIVE_NCV)
    start = np.random.default_rng(0).standard_normal(n)
    solve, ends = (eigsh, ("SA", "LA")) if symmetric else (eigs, ("SR", "LR"))
    try:
        values = [solve(operator, k=1, which=which, tol=tol, ncv=ncv, v0=start,
                        return_eigenvectors=False)[0] for which in ends]
    except ArpackNoConvergence as exc:
        raise IterativeNoConvergence(str(exc)) from None
    return float(np.real(values[0])), float(np.real(values[1]))


__all__ = ["ITERATIVE_NCV", "ITERATIVE_TOL", "IterativeNoConvergence", "extreme_real_parts",
           "jacobian_operator"]
