r"""Empirical (finite-sample) losses, autograd gradients and Hessians, and secant Jacobians.

On fixed samples X (n×d) the empirical losses are

    L̂(W) = (1/n) Σ_s ½ (g(x_s; W) − g(x_s; W*))²                       loss "l2"
    Ĵ(W) = (1/n) Σ_s ½ |Σ_i D_si w_i − Σ_j D*_sj w*_j|²                 loss "sobolev"
    Ĥ(W) = L̂ + λ Ĵ                                                     loss "h1"

with D_si = 1{w_i·x_s > 0}, D*_sj = 1{w*_j·x_s > 0} (∇_x g = Σ_i D_si w_i).

What autograd computes (PyTorch, JAX, ...): relu'(t) = 1{t > 0} (0 at t = 0), relu'' = 0 and
the derivative of the step function = 0, i.e. the activation pattern D is frozen:

    ∇_{w_i} L̂ = (1/n) Σ_s r_s D_si x_s,     r_s = g(x_s; W) − g(x_s; W*)
    ∇_{w_i} Ĵ = (1/n) Σ_s D_si σ_s,         σ_s = Σ_k D_sk w_k − Σ_j D*_sj w*_j
    ∇²L̂ [i·d+a, k·d+b] = (1/n) Σ_s D_si D_sk x_sa x_sb         (Gauss–Newton: relu'' = 0)
    ∇²Ĵ [i·d+a, k·d+b] = (1/n) Σ_s D_si D_sk δ_ab               i.e. (DᵀD/n) ⊗ I_d

The empirical gradient field is piecewise *linear* in W: inside a cell of constant activation
pattern its Jacobian is exactly the autograd Hessian above; across the boundary w_i·x_s = 0 it
jumps (by r_s x_s/n for l2, by σ_s/n and D_sk/n·(w_k) terms for the Sobolev part). The secant
(central finite-difference) Jacobian over a step h larger than the spacing of those boundaries
averages the jumps, and as n → ∞ then h → 0 it tends to the Jacobian of the *expected* population
field (theory convention "expected"), not to the autograd Hessian.

Everything is vectorised over samples and neurons (matrix products over the sample axis). These
estimators use only theory.validation's input checks, never theory's closed forms.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from theory.validation import as_student_teacher, check_loss, check_sobolev_weight

__all__ = [
    "activation_margin",
    "empirical_gradient",
    "empirical_hessian",
    "empirical_loss",
    "gaussian_samples",
    "secant_jacobian",
]

#: Directions of the secant Jacobian evaluated per batch (bounds memory at ~chunk·n·K floats).
SECANT_CHUNK = 16


def gaussian_samples(n: int, dim: int, seed: int = 0) -> NDArray[np.float64]:
    """n i.i.d. samples x ~ N(0, I_dim) as an (n, dim) array, from numpy's default_rng(seed)."""
    for name, value in (("n", n), ("dim", dim)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return np.random.default_rng(seed).standard_normal((int(n), int(dim)))


def _as_samples(X: ArrayLike, dim: int) -> NDArray[np.float64]:
    try:
        samples = np.array(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"X must be a numeric array of shape (n, d); could not convert ({exc})"
                         ) from None
    if samples.ndim != 2 or samples.shape[0] == 0:
        raise ValueError(f"X must have shape (n, d) with n >= 1 samples; got shape {samples.shape}")
    if samples.shape[1] != dim:
        raise ValueError(f"X must have d={dim} columns to match W; got shape {samples.shape}")
    if not np.isfinite(samples).all():
        raise ValueError("X has non-finite entries; every sample must be a finite vector")
    return samples


def _prepare(W, W_star, X, loss: str, sobolev_weight: float):
    check_loss(loss)
    weight = check_sobolev_weight(sobolev_weight)
    student, teacher = as_student_teacher(W, W_star)
    samples = _as_samples(X, student.shape[1])
    l2_weight = 0.0 if loss == "sobolev" else 1.0
    sobolev = {"l2": 0.0, "sobolev": 1.0, "h1": weight}[loss]
    return student, teacher, samples, l2_weight, sobolev


def _teacher_terms(teacher, samples):
    """Teacher outputs g(x; W*) (n,) and input gradients ∇_x g(x; W*) (n, d)."""
    pre = np.einsum("nd,kd->nk", samples, teacher)
    active = (pre > 0).astype(np.float64)
    return np.maximum(pre, 0.0).sum(axis=1), np.einsum("nk,kd->nd", active, teacher)


def _batched_gradient(Ws, samples, target_out, target_grad, l2_weight, sobolev):
    """Autograd gradient at a batch of students Ws (P, K, d) -> (P, K, d)."""
    n = samples.shape[0]
    # Plain einsum, not matmul: BLAS is slow on these tall-skinny (n × K) products.
    pre = np.einsum("nd,pkd->pnk", samples, Ws)
    active = (pre > 0).astype(np.float64)
    gradient = np.zeros_like(Ws)
    if l2_weight:
        residual = np.maximum(pre, 0.0).sum(axis=2) - target_out  # (P, n)
        gradient += l2_weight * np.einsum("pnk,nd->pkd", active * residual[..., None],
                                          samples) / n
    if sobolev:
        sigma = np.einsum("pnk,pkd->pnd", active, Ws) - target_grad  # (P, n, d)
        gradient += sobolev * np.einsum("pnk,pnd->pkd", active, sigma) / n
    return gradient


def empirical_loss(W: ArrayLike, W_star: ArrayLike, X: ArrayLike, loss: str = "h1", *,
                   sobolev_weight: float = 1.0) -> float:
    """Empirical loss L̂, Ĵ or L̂ + λĴ on the samples X (n, d) (see the module docstring)."""
    student, teacher, samples, l2_weight, sobolev = _prepare(W, W_star, X, loss, sobolev_weight)
    target_out, target_grad = _teacher_terms(teacher, samples)
    pre = np.einsum("nd,kd->nk", samples, student)
    total = 0.0
    if l2_weight:
        total += 0.5 * np.mean((np.maximum(pre, 0.0).sum(axis=1) - target_out) ** 2)
    if sobolev:
        sigma = np.einsum("nk,kd->nd", (pre > 0).astype(np.float64), student) - target_grad
        total += sobolev * 0.5 * np.mean(np.sum(sigma**2, axis=1))
    return float(total)


def empirical_gradient(W: ArrayLike, W_star: ArrayLike, X: ArrayLike, loss: str = "h1", *,
                       sobolev_weight: float = 1.0) -> NDArray[np.float64]:
    """Autograd gradient of the empirical loss on X (n, d), shape (K, d).

    ∇_{w_i} = (1/n) Σ_s [r_s D_si x_s + λ D_si σ_s] with the activation pattern D frozen
    (relu'(0) = 0, step derivative 0) — exactly what torch.autograd returns on the same samples.
    """
    student, teacher, samples, l2_weight, sobolev = _prepare(W, W_star, X, loss, sobolev_weight)
    target_out, target_grad = _teacher_terms(teacher, samples)
    return _batched_gradient(student[None], samples, target_out, target_grad, l2_weight,
                             sobolev)[0]


def empirical_hessian(W: ArrayLike, W_star: ArrayLike, X: ArrayLike, loss: str = "h1", *,
                      sobolev_weight: float = 1.0) -> NDArray[np.float64]:
    """Autograd Hessian of the empirical loss on X (n, d), shape (K·d, K·d), index i·d + a.

    l2: Φᵀ Φ / n with Φ[s, i·d+a] = D_si x_sa (relu'' = 0, so only the Gauss–Newton term).
    sobolev: (DᵀD / n) ⊗ I_d (step derivative 0). h1: l2 + λ·sobolev. Symmetric PSD.
    It is the exact Jacobian of the empirical gradient field inside the current activation cell
    (see :func:`activation_margin`), not the Jacobian of the population field.
    """
    student, teacher, samples, l2_weight, sobolev = _prepare(W, W_star, X, loss, sobolev_weight)
    n, d = samples.shape
    K = student.shape[0]
    active = (np.einsum("nd,kd->nk", samples, student) > 0).astype(np.float64)
    hessian = np.zeros((K * d, K * d))
    if l2_weight:
        features = (active[:, :, None] * samples[:, None, :]).reshape(n, K * d)
        hessian += l2_weight * (features.T @ features) / n
    if sobolev:
        hessian += sobolev * np.kron(active.T @ active / n, np.eye(d))
    return hessian


def activation_margin(W: ArrayLike, X: ArrayLike) -> float:
    """Distance from W to the nearest activation boundary: min_{s,i} |w_i·x_s| / |x_s|.

    Moving W by less than this (in Frobenius norm) changes no activation, so the empirical
    gradient field is linear there and its Jacobian is the autograd Hessian. It shrinks like
    1/n (the nearest of n hyperplanes), which is the "spacing of pattern changes".
    """
    student = np.atleast_2d(np.asarray(W, dtype=np.float64))
    samples = _as_samples(X, student.shape[1])
    norms = np.linalg.norm(samples, axis=1)
    if (norms == 0).any():
        raise ValueError("X has a zero sample; its activation boundary is undefined")
    return float(np.min(np.abs(np.einsum("nd,kd->nk", samples, student)) / norms[:, None]))


def secant_jacobian(W: ArrayLike, W_star: ArrayLike, X: ArrayLike, loss: str = "h1", *,
                    step: float, sobolev_weight: float = 1.0) -> NDArray[np.float64]:
    """Central-difference Jacobian of the empirical gradient field, shape (K·d, K·d).

    Column c = [∇L̂(W + h E_c) − ∇L̂(W − h E_c)] / (2h), E_c the unit matrix of flat index c
    (= i·d + a), h = ``step`` (absolute, in weight units). For h below :func:`activation_margin`
    it equals the autograd Hessian to rounding; for h much larger than the pattern spacing
    (~1/n) but small against the curvature scale it approximates the Jacobian of the expected
    population field, with sampling noise ~ 1/√(n h). Rows are gradient entries, columns the
    perturbed weights (not symmetrised).
    """
    student, teacher, samples, l2_weight, sobolev = _prepare(W, W_star, X, loss, sobolev_weight)
    h = float(step)
    if not math.isfinite(h) or h <= 0:
        raise ValueError(f"step must be a finite number > 0 (finite-difference step); got {step!r}")
    K, d = student.shape
    size = K * d
    target_out, target_grad = _teacher_terms(teacher, samples)
    columns = np.empty((size, size))
    basis = np.eye(size).reshape(size, K, d)
    for start in range(0, size, SECANT_CHUNK):
        directions = basis[start:start + SECANT_CHUNK]
        points = np.concatenate([student + h * directions, student - h * directions])
        grads = _batched_gradient(points, samples, target_out, target_grad, l2_weight, sobolev)
        plus, minus = np.split(grads.reshape(len(points), size), 2)
        columns[start:start + len(directions)] = (plus - minus) / (2 * h)
    return columns.T
