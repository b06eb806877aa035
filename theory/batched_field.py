r"""The expected-convention population field and loss for a stack of students at once.

For S students W_s (each K × d) against one teacher W* (K* × d), x ~ N(0, I_d), this evaluates
F(W_s) = theory.population_gradient(W_s, W*, loss, convention="expected") and
theory.population_loss(W_s, W*, loss) for all s together, in the Gram form of theory.fast_field
(whose formulas it batches): with Z_s = [W_s; W*] (N = K + K* rows), n_q = |z_q|, ẑ_q = z_q/n_q,
C_s = [ŵ_i·ẑ_q] (S × K × N), θ = arccos C and σ_q = +1 (student) / −1 (teacher),

    two-slope family (relu, leaky_relu(α)), loss weights w₀ (L) and w₁ = λ (J):
        F_i = Σ_q σ_q [ (w₀ + w₁)(π − θ_iq)/(2π) z_q + w₀ n_q sin θ_iq/(2π) ŵ_i ],
        then F ← (1 − α)² F + α (w₀ + w₁)(Σ_j w_j − Σ_j w*_j)  (the linear part α t);
    smooth activations (erf, sine, gelu), with the pair kernel F(s_a, s_b, c) of theory.pair_frame:
        F_i = 2 Σ_q σ_q F_sa(w_i, z_q) w_i + Σ_q σ_q (F_c + F_e)(w_i, z_q) z_q.

The d-long work is two batched matrix products, C = Ŵ Ẑᵀ and F = (A σ) Z (plus, for the
two-slope family, the row differences of the few nearly (anti)parallel pairs, below); every
other operation is on the (S, K, N) pair grid. Per start the cost is that of theory.fast_field's
lean route, and it does not grow with S.

Precision (two-slope family). A Gram angle has absolute error ~ε/sin θ; as in theory.fast_field
the pairs with sin θ < LEAN_GRAM_MIN_SIN (0.1) take θ and sin θ from their row differences
(theory.kernels.refined_pair_geometry, extended precision where sin θ < 1e-4), so the field
agrees with theory.population_gradient to ~1e-15 × Σ_q |z_q| per student, including next to
the teacher (where the census converges). The loss sums the pair kernel over the (S, N, N)
grid with the same refinement (the Sobolev kernel (π − θ) cos θ has slope −1 at θ = 0, so
small angles must be accurate): absolute error ~1e-15 × (Σ_q |z_q|)².

Every student row must be finite and non-zero (a zero row has no angle; the census never
produces one: ValueError names ``Ws``). Batches are sized by the caller; :func:`batch_bytes`
gives the memory one student needs.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from theory import kernels
from theory.fast_field import LEAN_GRAM_MIN_SIN, LeanPlan, SmoothPlan, lean_plan
from theory.kernels import PI
from theory.pair_frame import pair_derivatives

Array = NDArray[np.float64]

__all__ = ["batch_bytes", "batched_field", "batched_loss", "field_plan"]


def field_plan(loss: str, activation: str = "relu", sobolev_weight: float = 1.0
               ) -> LeanPlan | SmoothPlan:
    """The validated settings (ValueError naming the argument) of the expected field of ``loss``
    ("l2", "sobolev", "h1") for a closed-form ``activation`` (tanh: ValueError, no closed form)."""
    plan = lean_plan(loss, "expected", activation, sobolev_weight, 1.0)
    if plan is None:
        raise ValueError(f"loss {loss!r} has no batched field for activation {activation!r}; "
                         "use loss 'l2', 'sobolev' or 'h1'")
    return plan


def batch_bytes(K: int, K_star: int, d: int) -> int:
    """Bytes of working memory per student (about 16 pair arrays of K × (K + K*) and 4 arrays of
    (K + K*) × d, float64); the loss's (K + K*)² grid is included."""
    N = K + K_star
    return 8 * (16 * N * N + 4 * N * d)


def _stack(Ws: object, W_star: object) -> tuple[Array, Array, Array, int]:
    Ws = np.asarray(Ws, dtype=np.float64)
    W_star = np.asarray(W_star, dtype=np.float64)
    if Ws.ndim != 3 or W_star.ndim != 2 or Ws.shape[2] != W_star.shape[1] or 0 in Ws.shape:
        raise ValueError(f"Ws must have shape (S, K, d) and W_star (K*, d) with the same d; got "
                         f"{Ws.shape} and {W_star.shape}")
    S, K, d = Ws.shape
    Z = np.concatenate((Ws, np.broadcast_to(W_star, (S,) + W_star.shape)), axis=1)
    n2 = np.einsum("snd,snd->sn", Z, Z)
    if not (np.isfinite(n2).all() and (n2 > 0).all()):
        raise ValueError("Ws (and W_star) must have finite, non-zero rows")
    return Z, n2, np.sqrt(n2), K


def _signs(K: int, N: int) -> Array:
    sign = np.ones(N)
    sign[K:] = -1.0
    return sign


def _two_slope_angles(Z: Array, norms: Array, rows: int) -> tuple[Array, Array]:
    """(θ, sin θ) for the pairs (rows of Z[:, :rows]) × (rows of Z), near pairs refined."""
    Zh = Z / norms[..., None]
    C = np.matmul(Zh[:, :rows], Zh.transpose(0, 2, 1))
    np.clip(C, -1.0, 1.0, out=C)
    index = np.arange(rows)
    C[:, index, index] = 1.0
    theta = np.arccos(C)
    sin = 1.0 - C * C  # sin θ = √(1 − cos²θ): accurate where it is kept (sin θ >= 0.1)
    np.sqrt(sin, out=sin)
    small = sin < LEAN_GRAM_MIN_SIN
    small[:, index, index] = False
    if small.any():
        s, i, q = np.nonzero(small)
        extended = sin[s, i, q] < kernels.EXTENDED_PRECISION_BELOW
        geometry = kernels.refined_pair_geometry(Z[s, i], Z[s, q], extended, False)
        theta[s, i, q] = geometry.theta
        sin[s, i, q] = geometry.sin
    return theta, sin


def batched_field(Ws: object, W_star: object, loss: str = "l2", *, activation: str = "relu",
                  sobolev_weight: float = 1.0, plan: LeanPlan | SmoothPlan | None = None
                  ) -> Array:
    """F(W_s) for every student of the stack Ws (S, K, d): shape (S, K, d), the expected
    convention's population field (module docstring); equal per student to
    theory.population_gradient(W_s, W_star, loss, convention="expected", activation=...,
    sobolev_weight=...). ``plan``: a field_plan(...) computed once (skips the validation)."""
    plan = plan if plan is not None else field_plan(loss, activation, sobolev_weight)
    Z, n2, norms, K = _stack(Ws, W_star)
    N = Z.shape[1]
    sign = _signs(K, N)
    W = Z[:, :K]
    if isinstance(plan, SmoothPlan):
        c = np.matmul(W, Z.transpose(0, 2, 1))
        D = pair_derivatives(plan.activation.partials, dict(plan.weights), n2[:, :K, None],
                             n2[:, None, :], c, c, 1)
        radial = 2.0 * (D.first["sa"] @ sign)
        G = D.first["c"] + D.first["e"]
        G *= sign
        return radial[..., None] * W + np.matmul(G, Z)
    theta, sin = _two_slope_angles(Z, norms, K)
    A = PI - theta
    A *= ((plan.l2 + plan.sobolev) / (2 * PI)) * sign
    F = np.matmul(A, Z)
    if plan.l2:
        sin *= (plan.l2 / (2 * PI)) * sign
        F += (sin @ norms[..., None]) * (W / norms[:, :K, None])
    if plan.slope:
        u = W.sum(axis=1) - Z[:, K:].sum(axis=1)
        F = (1 - plan.slope) ** 2 * F + (plan.slope * (plan.l2 + plan.sobolev)) * u[:, None, :]
    return F


def batched_loss(Ws: object, W_star: object, loss: str = "l2", *, activation: str = "relu",
                 sobolev_weight: float = 1.0, plan: LeanPlan | SmoothPlan | None = None
                 ) -> Array:
    """theory.population_loss(W_s, W_star, loss, ...) for every student: shape (S,), summed as
    ½ Σ_ss − Σ_st + ½ Σ_tt over the (S, N, N) pair grid (precision: module docstring)."""
    plan = plan if plan is not None else field_plan(loss, activation, sobolev_weight)
    Z, n2, norms, K = _stack(Ws, W_star)
    N = Z.shape[1]
    if isinstance(plan, SmoothPlan):
        c = np.matmul(Z, Z.transpose(0, 2, 1))
        P = pair_derivatives(plan.activation.partials, dict(plan.weights), n2[:, :, None],
                             n2[:, None, :], c, c, 0).value
    else:
        theta, sin = _two_slope_angles(Z, norms, N)
        P = (PI - theta) * np.cos(theta) * (plan.l2 + plan.sobolev)
        if plan.l2:
            P += plan.l2 * sin
        P *= norms[:, :, None] * norms[:, None, :] / (2 * PI)
    total = (0.5 * P[:, :K, :K].sum(axis=(1, 2)) - P[:, :K, K:].sum(axis=(1, 2))
             + 0.5 * P[:, K:, K:].sum(axis=(1, 2)))
    if isinstance(plan, LeanPlan) and plan.slope:
        u = Z[:, :K].sum(axis=1) - Z[:, K:].sum(axis=1)
        total = ((1 - plan.slope) ** 2 * total
                 + plan.slope * 0.5 * (plan.l2 + plan.sobolev) * np.einsum("sd,sd->s", u, u))
    return total
