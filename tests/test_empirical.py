"""numerics.empirical: autograd gradient/Hessian of the empirical loss, secant Jacobian.

Independent references: PyTorch autograd (when installed), a per-sample Python loop for the
loss, central differences of the loss inside an activation cell, the closed-form Gaussian
orthant probability (π − θ)/(2π) via arccos, and theory's population Jacobian (for the limits
that must and must not agree).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theory
from numerics.empirical import (
    activation_margin,
    empirical_gradient,
    empirical_hessian,
    empirical_loss,
    gaussian_samples,
    secant_jacobian,
)
from theory.configurations import make_configuration

LOSSES = ("l2", "sobolev", "h1")


def _problem(seed: int, K: int = 3, K_star: int = 2, d: int = 4, n: int = 60):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(K, d)), rng.normal(size=(K_star, d)), rng.normal(size=(n, d))


@pytest.mark.parametrize("loss", LOSSES)
def test_matches_torch_autograd(loss):
    torch = pytest.importorskip("torch", reason="PyTorch not installed: autograd comparison "
                                "skipped (torch is optional, never a dependency)")
    W, W_star, X = _problem(0)
    weight = 0.7
    K, d = W.shape

    def torch_loss(Wt):
        # The practitioner's route: ∇_x g by autograd with create_graph, then the loss.
        Xt = torch.tensor(X, requires_grad=True)
        g = torch.relu(Xt @ Wt.T).sum(1)
        g_star = torch.relu(Xt @ torch.tensor(W_star).T).sum(1)
        (gx,) = torch.autograd.grad(g.sum(), Xt, create_graph=True)
        (gx_star,) = torch.autograd.grad(g_star.sum(), Xt, create_graph=True)
        l2 = 0.5 * ((g - g_star) ** 2).mean()
        sob = 0.5 * ((gx - gx_star) ** 2).sum(1).mean()
        return {"l2": l2, "sobolev": sob, "h1": l2 + weight * sob}[loss]

    Wt = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(torch_loss(Wt), Wt)
    hess = torch.autograd.functional.hessian(torch_loss, torch.tensor(W, dtype=torch.float64))
    np.testing.assert_allclose(empirical_gradient(W, W_star, X, loss, sobolev_weight=weight),
                               grad.numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(empirical_hessian(W, W_star, X, loss, sobolev_weight=weight),
                               hess.reshape(K * d, K * d).numpy(), rtol=0, atol=1e-10)
    assert abs(empirical_loss(W, W_star, X, loss, sobolev_weight=weight)
               - torch_loss(torch.tensor(W)).item()) < 1e-12


def test_loss_matches_per_sample_loop():
    W, W_star, X = _problem(1, n=7)
    total_l2 = total_sob = 0.0
    for x in X:
        g = sum(max(w @ x, 0.0) for w in W) - sum(max(w @ x, 0.0) for w in W_star)
        grad_x = sum((w for w in W if w @ x > 0), np.zeros(4)) - sum(
            (w for w in W_star if w @ x > 0), np.zeros(4))
        total_l2 += 0.5 * g**2 / len(X)
        total_sob += 0.5 * grad_x @ grad_x / len(X)
    assert empirical_loss(W, W_star, X, "l2") == pytest.approx(total_l2, rel=1e-12)
    assert empirical_loss(W, W_star, X, "sobolev") == pytest.approx(total_sob, rel=1e-12)
    assert empirical_loss(W, W_star, X, "h1", sobolev_weight=2.0) == pytest.approx(
        total_l2 + 2.0 * total_sob, rel=1e-12)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), loss=st.sampled_from(LOSSES),
       weight=st.floats(0.1, 3.0))
def test_gradient_and_hessian_are_derivatives_inside_a_cell(seed, loss, weight):
    """Inside an activation cell the loss is an exact quadratic: central differences of the
    loss give the gradient, and of the gradient the Hessian, to rounding."""
    W, W_star, X = _problem(seed)
    h = activation_margin(W, X) / 4
    K, d = W.shape
    basis = np.eye(K * d).reshape(K * d, K, d)
    fd_grad = np.array([
        (empirical_loss(W + h * E, W_star, X, loss, sobolev_weight=weight)
         - empirical_loss(W - h * E, W_star, X, loss, sobolev_weight=weight)) / (2 * h)
        for E in basis]).reshape(K, d)
    grad = empirical_gradient(W, W_star, X, loss, sobolev_weight=weight)
    scale = max(1.0, np.abs(grad).max())
    # Rounding of a loss difference over a step h: ~eps·loss/h.
    tolerance = 1e3 * np.finfo(float).eps * max(1.0, empirical_loss(W, W_star, X, loss)) / h
    assert np.abs(fd_grad - grad).max() <= tolerance * scale
    hess = empirical_hessian(W, W_star, X, loss, sobolev_weight=weight)
    secant = secant_jacobian(W, W_star, X, loss, step=h, sobolev_weight=weight)
    assert np.abs(secant - hess).max() <= 1e3 * np.finfo(float).eps * scale / h
    np.testing.assert_allclose(hess, hess.T, atol=1e-14)
    assert np.linalg.eigvalsh(hess).min() >= -1e-12


def test_sobolev_autograd_hessian_is_orthant_kron_identity():
    """(DᵀD/n) ⊗ I with E[D_i D_k] = (π − θ_ik)/(2π): checked against arccos to MC accuracy."""
    config = make_configuration(3, 3, 4, seed=2, at="perturbed", radius=0.5)
    n = 200_000
    hess = empirical_hessian(config.W, config.W_star, gaussian_samples(n, 4, 7), "sobolev")
    unit = config.W / np.linalg.norm(config.W, axis=1, keepdims=True)
    theta = np.arccos(np.clip(unit @ unit.T, -1, 1))
    orthant = (np.pi - theta) / (2 * np.pi)
    # Binomial standard error ≤ 0.5/√n ≈ 1.1e-3; allow 5 standard errors.
    np.testing.assert_allclose(hess, np.kron(orthant, np.eye(4)), atol=5 * 0.5 / np.sqrt(n))


def _relative(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def test_l2_autograd_hessian_converges_to_population_at_the_teacher():
    """At W = W* the l2 residual vanishes, so Gauss–Newton is the whole Hessian: agreement."""
    config = make_configuration(2, 2, 3, seed=0, at="teacher")
    population = theory.population_hessian(config.W, config.W_star, "l2")
    gaps = [_relative(empirical_hessian(config.W, config.W_star, gaussian_samples(n, 3, n),
                                        "l2"), population) for n in (1_000, 100_000)]
    assert gaps[1] < 0.03  # sampling error ~ 1/√n
    assert gaps[1] < gaps[0] / 3


@pytest.mark.parametrize(("loss", "at", "radius"), [
    ("l2", "perturbed", 0.5),      # residual ≠ 0: the dropped relu'' (boundary) term is O(1)
    ("h1", "perturbed", 0.5),      # step derivative dropped
    ("h1", "teacher", None),       # ... the teacher included (one-sided limit along Z)
    ("sobolev", "random", 1.0),
])
def test_autograd_hessian_differs_from_population_where_the_math_says(loss, at, radius):
    config = make_configuration(2, 2, 3, seed=0, at=at, radius=radius)
    W = config.W
    if at == "teacher":  # population Sobolev Jacobian: one-sided limit (ε-independent)
        Z = np.random.default_rng([0, 8]).standard_normal(W.shape)
        W = W + 1e-7 * Z / np.linalg.norm(Z)
    population = theory.population_hessian(W, config.W_star, loss, convention="expected")
    gaps = [_relative(empirical_hessian(config.W, config.W_star, gaussian_samples(n, 3, n),
                                        loss), population) for n in (10_000, 200_000)]
    # Sampling error at n = 2e5 is ≲ 0.01; the gap stays ≥ 0.08 and does not shrink with n.
    assert gaps[1] > 0.08
    assert gaps[1] > 0.7 * gaps[0]


def test_secant_jacobian_bridges_autograd_and_population():
    """h below the margin: the autograd Hessian; 1/n ≪ h ≪ 1: the population expected Jacobian."""
    config = make_configuration(2, 2, 3, seed=0, at="perturbed", radius=0.5)
    X = gaussian_samples(100_000, 3, 1)
    population = theory.population_hessian(config.W, config.W_star, "h1", convention="expected")
    autograd = empirical_hessian(config.W, config.W_star, X, "h1")
    h = activation_margin(config.W, X) / 2
    tiny = secant_jacobian(config.W, config.W_star, X, "h1", step=h)
    wide = secant_jacobian(config.W, config.W_star, X, "h1", step=0.01)
    # Rounding only: a sum of n terms carries ~eps·√n relative error, divided by h.
    assert _relative(tiny, autograd) < 100 * np.finfo(float).eps * np.sqrt(len(X)) / h
    assert _relative(wide, population) < 0.05 < _relative(autograd, population)


def test_bad_input_raises_value_error_naming_the_argument():
    W, W_star, X = _problem(3)
    with pytest.raises(ValueError, match="X must have d=4"):
        empirical_gradient(W, W_star, X[:, :3])
    with pytest.raises(ValueError, match="X has non-finite"):
        empirical_hessian(W, W_star, np.full_like(X, np.nan))
    with pytest.raises(ValueError, match="step must be"):
        secant_jacobian(W, W_star, X, step=0.0)
    with pytest.raises(ValueError, match="loss must be"):
        empirical_loss(W, W_star, X, "h2")
    with pytest.raises(ValueError, match="sobolev_weight"):
        empirical_loss(W, W_star, X, sobolev_weight=-1)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        gaussian_samples(0, 3)


def test_exported_lazily_from_numerics():
    import numerics

    assert numerics.empirical_hessian is empirical_hessian
    assert numerics.empirical_gradient is empirical_gradient
