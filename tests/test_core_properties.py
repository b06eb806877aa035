"""Structural properties of the closed forms: decomposition, optimum, symmetries, homogeneity,
and the expected gradient against an independent Monte-Carlo estimate."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import ortho_group

import theory
from proofs_check import strategies as sv

LOSSES = ("l2", "sobolev", "h1")
CONVENTIONS = ("expected", "exact")


@given(config=sv.configurations(min_sine=0.05), weight=st.floats(0.0, 5.0))
def test_h1_is_l2_plus_weighted_sobolev(config, weight):
    W, W_star = config
    for convention in CONVENTIONS:
        parts = {loss: theory.population_gradient(W, W_star, loss, convention=convention,
                                                  sobolev_weight=weight) for loss in LOSSES}
        np.testing.assert_allclose(parts["h1"], parts["l2"] + weight * parts["sobolev"],
                                   atol=1e-12)
        hess = {loss: theory.population_hessian(W, W_star, loss, convention=convention,
                                                sobolev_weight=weight) for loss in LOSSES}
        np.testing.assert_allclose(hess["h1"], hess["l2"] + weight * hess["sobolev"], atol=1e-10)
    loss = {name: theory.population_loss(W, W_star, name, sobolev_weight=weight)
            for name in LOSSES}
    assert loss["h1"] == pytest.approx(loss["l2"] + weight * loss["sobolev"], abs=1e-12)


@given(config=sv.configurations(same_width=True))
def test_teacher_is_a_zero_of_loss_and_expected_gradient(config):
    _, W_star = config
    scale = float(np.sum(np.linalg.norm(W_star, axis=1)) ** 2)
    for loss in LOSSES:
        assert abs(theory.population_loss(W_star, W_star, loss)) <= 1e-14 * scale
        gradient = theory.population_gradient(W_star, W_star, loss)
        assert np.abs(gradient).max() <= 1e-14 * math.sqrt(scale)
    assert np.abs(theory.population_gradient(W_star, W_star, "l2", convention="exact")).max() \
        <= 1e-14 * math.sqrt(scale)


def test_exact_sobolev_gradient_has_no_limit_at_the_teacher():
    """J has a cone minimum at W*: along W* + tD the exact gradient keeps a norm of order |w*|
    as t → 0 (and it is undefined at t = 0), while the expected field tends to zero like t."""
    rng = np.random.default_rng(3)
    W_star = rng.normal(size=(2, 4))
    direction = rng.normal(size=(2, 4))
    with pytest.raises(theory.NonDifferentiableError, match="teacher row"):
        theory.population_gradient(W_star, W_star, "sobolev", convention="exact")
    for t in (1e-3, 1e-6, 1e-9):
        exact = theory.population_gradient(W_star + t * direction, W_star, "sobolev",
                                           convention="exact")
        expected = theory.population_gradient(W_star + t * direction, W_star, "sobolev")
        assert np.linalg.norm(exact) > 0.05
        assert np.linalg.norm(expected) < 10 * t * np.linalg.norm(direction)


@given(config=sv.configurations(min_sine=0.05), data=st.data())
def test_invariance_under_permuting_neurons(config, data):
    W, W_star = config
    K, d = W.shape
    perm = np.array(data.draw(st.permutations(range(K))))
    teacher_perm = np.array(data.draw(st.permutations(range(W_star.shape[0]))))
    index = (perm[:, None] * d + np.arange(d)).ravel()
    for loss in LOSSES:
        assert theory.population_loss(W[perm], W_star[teacher_perm], loss) == pytest.approx(
            theory.population_loss(W, W_star, loss), rel=1e-12, abs=1e-14)
        for convention in CONVENTIONS:
            G = theory.population_gradient(W, W_star, loss, convention=convention)
            Gp = theory.population_gradient(W[perm], W_star[teacher_perm], loss,
                                            convention=convention)
            np.testing.assert_allclose(Gp, G[perm], atol=1e-12)
            H = theory.population_hessian(W, W_star, loss, convention=convention)
            Hp = theory.population_hessian(W[perm], W_star[teacher_perm], loss,
                                           convention=convention)
            np.testing.assert_allclose(Hp, H[np.ix_(index, index)], atol=1e-11)


@given(config=sv.configurations(min_sine=0.05), seed=st.integers(0, 2**32 - 1))
def test_equivariance_under_rotations(config, seed):
    """x ~ N(0, I) is rotation invariant: with W' = WQ, loss is unchanged, F' = FQ and every
    d×d Hessian block becomes Qᵀ H_ik Q."""
    W, W_star = config
    K, d = W.shape
    Q = ortho_group.rvs(d, random_state=seed) if d > 1 else np.array([[-1.0]])
    big_Q = np.kron(np.eye(K), Q)
    for loss in LOSSES:
        assert theory.population_loss(W @ Q, W_star @ Q, loss) == pytest.approx(
            theory.population_loss(W, W_star, loss), rel=1e-11, abs=1e-13)
        for convention in CONVENTIONS:
            G = theory.population_gradient(W, W_star, loss, convention=convention)
            np.testing.assert_allclose(
                theory.population_gradient(W @ Q, W_star @ Q, loss, convention=convention),
                G @ Q, atol=1e-11)
            H = theory.population_hessian(W, W_star, loss, convention=convention)
            np.testing.assert_allclose(
                theory.population_hessian(W @ Q, W_star @ Q, loss, convention=convention),
                big_Q.T @ H @ big_Q, atol=1e-9)


@given(config=sv.configurations(min_sine=0.05), scale=st.floats(0.1, 10.0))
def test_positive_homogeneity(config, scale):
    """relu is positively homogeneous: scaling student and teacher by c scales L and J by c²,
    gradients by c and leaves Hessians unchanged."""
    W, W_star = config
    for loss in LOSSES:
        assert theory.population_loss(scale * W, scale * W_star, loss) == pytest.approx(
            scale**2 * theory.population_loss(W, W_star, loss), rel=1e-10, abs=1e-13)
        for convention in CONVENTIONS:
            G = theory.population_gradient(W, W_star, loss, convention=convention)
            np.testing.assert_allclose(theory.population_gradient(
                scale * W, scale * W_star, loss, convention=convention), scale * G,
                rtol=1e-10, atol=1e-12 * scale)
            H = theory.population_hessian(W, W_star, loss, convention=convention)
            np.testing.assert_allclose(theory.population_hessian(
                scale * W, scale * W_star, loss, convention=convention), H, atol=1e-9)


def _monte_carlo_expected_gradients(W, W_star, n, seed):
    """Independent estimate of E[∇_W ℓ] (step derivative 0) with per-entry standard errors.

    l2:      ∇_{w_i} ℓ = (g − g*) 1{w_i·x > 0} x
    sobolev: ∇_{w_i} ℓ = 1{w_i·x > 0} (∇_x g − ∇_x g*)
    """
    X = np.random.default_rng(seed).normal(size=(n, W.shape[1]))
    active, teacher_active = X @ W.T > 0, X @ W_star.T > 0
    residual = np.maximum(X @ W.T, 0).sum(1) - np.maximum(X @ W_star.T, 0).sum(1)
    input_residual = active @ W - teacher_active @ W_star
    samples = {
        "l2": (residual[:, None] * active)[:, :, None] * X[:, None, :],
        "sobolev": active[:, :, None] * input_residual[:, None, :],
    }
    return {name: (s.mean(0), s.std(0, ddof=1) / math.sqrt(n)) for name, s in samples.items()}


@pytest.mark.parametrize("seed", range(3))
def test_expected_gradient_agrees_with_monte_carlo(seed):
    """Closed form within 4.5 standard errors of a 200 000-sample estimate, entry by entry
    (probability of a false alarm over the 2×K×d entries here is below 1e-3)."""
    rng = np.random.default_rng(100 + seed)
    W, W_star = rng.normal(size=(3, 4)) / 2, rng.normal(size=(2, 4)) / 2
    estimates = _monte_carlo_expected_gradients(W, W_star, 200_000, seed)
    for loss, (mean, stderr) in estimates.items():
        closed = theory.population_gradient(W, W_star, loss, convention="expected")
        assert np.all(np.abs(closed - mean) <= 4.5 * stderr + 1e-12)


def test_exact_sobolev_gradient_is_not_what_sampling_estimates():
    """The exact gradient adds boundary terms that sampling the pointwise gradient never sees:
    Monte-Carlo rejects it by many standard errors at a generic point."""
    rng = np.random.default_rng(7)
    W, W_star = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    mean, stderr = _monte_carlo_expected_gradients(W, W_star, 200_000, 0)["sobolev"]
    exact = theory.population_gradient(W, W_star, "sobolev", convention="exact")
    assert np.max(np.abs(exact - mean) / stderr) > 20
