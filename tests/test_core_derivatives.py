"""Gradients and Hessians against finite differences, mpmath at 50 digits, and symmetry."""

import numpy as np
import pytest
from hypothesis import given, settings

import theory
from proofs_check import strategies as sv
from tests import mp_reference as ref
from tests.finite_differences import central_difference_gradient, central_difference_jacobian

LOSSES = ("l2", "sobolev", "h1")


# Pairs kept at sin θ >= 0.2: third derivatives there are O(1/sin³θ) <= 125, so the O(h²)
# truncation error of h = 1e-5 steps is <= ~1e-8 and rounding eps/h ~ 1e-11.
FD_STEP = 1e-5
FD_TOL = 1e-6


@pytest.mark.parametrize("loss", LOSSES)
@given(config=sv.configurations(max_width=3, max_teacher_width=3, max_dim=4, min_sine=0.2))
def test_exact_gradient_matches_finite_differences_of_loss(loss, config):
    W, W_star = config
    gradient = theory.population_gradient(W, W_star, loss, convention="exact")
    numeric = central_difference_gradient(
        lambda V: theory.population_loss(V, W_star, loss), W, FD_STEP)
    np.testing.assert_allclose(gradient, numeric, atol=FD_TOL, rtol=0)


@pytest.mark.parametrize("convention", ("exact", "expected"))
@pytest.mark.parametrize("loss", LOSSES)
@given(config=sv.configurations(max_width=3, max_teacher_width=2, max_dim=4, min_sine=0.2))
def test_hessian_matches_finite_differences_of_matching_gradient(loss, convention, config):
    W, W_star = config
    hessian = theory.population_hessian(W, W_star, loss, convention=convention)
    numeric = central_difference_jacobian(
        lambda V: theory.population_gradient(V, W_star, loss, convention=convention), W, FD_STEP)
    np.testing.assert_allclose(hessian, numeric, atol=FD_TOL, rtol=0)


@pytest.mark.parametrize("loss", LOSSES)
@given(config=sv.configurations(max_width=3, max_dim=5, min_sine=0.05))
def test_exact_hessian_is_symmetric(loss, config):
    W, W_star = config
    H = theory.population_hessian(W, W_star, loss, convention="exact")
    np.testing.assert_allclose(H, H.T, atol=1e-12 * max(1.0, np.abs(H).max()))


@pytest.mark.parametrize("convention", ("exact", "expected"))
@given(config=sv.configurations(max_width=3, max_teacher_width=2, max_dim=4, min_sine=0.2))
def test_expected_and_exact_sobolev_jacobians_differ_by_the_boundary_term(convention, config):
    """exact gradient = expected gradient + B(W), B the boundary term of the moving half-spaces,
    so exact Hessian − expected Jacobian = ∂B. ∂B is measured by central differences of
    B = (exact − expected gradient) alone, independently of both Hessian routines."""
    W, W_star = config
    expected = theory.population_hessian(W, W_star, "sobolev", convention="expected")
    exact = theory.population_hessian(W, W_star, "sobolev", convention="exact")

    def boundary(V):
        return (theory.population_gradient(V, W_star, "sobolev", convention="exact")
                - theory.population_gradient(V, W_star, "sobolev", convention="expected"))

    np.testing.assert_allclose(exact - expected, central_difference_jacobian(boundary, W, FD_STEP),
                               atol=FD_TOL, rtol=0)


@given(config=sv.configurations(max_width=1, max_teacher_width=1, max_dim=4, min_sine=0.05))
def test_one_neuron_expected_jacobian_asymmetry_is_proportional_to_cos_theta(config):
    """One neuron: B(w) = −‖w*‖ cos θ e / (2π) (the student–teacher cross term enters J with a
    minus sign), e the unit vector of u ⊥ v. In the frame (v, e, n) its Jacobian is
    −(1/‖w‖)·[[0, −cos θ, 0], [0, sin θ, 0], [0, 0, −cos²θ/sin θ]]·‖w*‖/(2π), whose
    antisymmetric part has spectral norm ‖J − Jᵀ‖₂ = ‖w*‖ |cos θ| / (2π ‖w‖). So the expected
    Jacobian is non-symmetric exactly when θ ≠ π/2 — at θ = π/2 (e.g. w = e₂, w* = e₁) it is
    symmetric although it still differs from the exact Hessian."""
    W, W_star = config
    w, w_star = W[0], W_star[0]
    cos_theta = w @ w_star / (np.linalg.norm(w) * np.linalg.norm(w_star))
    J = theory.population_hessian(W, W_star, "sobolev", convention="expected")
    predicted = np.linalg.norm(w_star) * abs(cos_theta) / (2 * np.pi * np.linalg.norm(w))
    scale = np.abs(J).max()
    assert np.linalg.norm(J - J.T, 2) == pytest.approx(predicted, rel=1e-9, abs=1e-13 * scale)


def test_expected_jacobian_is_symmetric_at_right_angle_but_not_exact():
    """The example that falsified the old 'never symmetric' test: θ = π/2."""
    W, W_star = np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]])
    expected = theory.population_hessian(W, W_star, "sobolev", convention="expected")
    exact = theory.population_hessian(W, W_star, "sobolev", convention="exact")
    assert np.abs(expected - expected.T).max() < 1e-15
    # ∂B = −(‖w*‖/(2π‖w‖))·(sin θ) e eᵀ = −e eᵀ/(2π) at θ = π/2, e = (1, 0).
    np.testing.assert_allclose(exact - expected, np.array([[-1.0, 0.0], [0.0, 0.0]]) / (2 * np.pi),
                               atol=1e-15)


def _relative(reference, value):
    reference, value = np.ravel(reference), np.ravel(value)
    return np.linalg.norm(reference - value) / np.linalg.norm(reference)


MP_TOL = 1e-10


@pytest.mark.parametrize("seed", range(3))
def test_generic_point_agrees_with_50_digit_mpmath(seed):
    rng = np.random.default_rng(seed)
    W, W_star = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    for loss in LOSSES:
        assert _relative(float(ref.loss(W, W_star, loss)),
                         theory.population_loss(W, W_star, loss)) < MP_TOL
        assert _relative(ref.exact_gradient(W, W_star, loss), theory.population_gradient(
            W, W_star, loss, convention="exact")) < MP_TOL
        assert _relative(ref.expected_gradient(W, W_star, loss),
                         theory.population_gradient(W, W_star, loss)) < MP_TOL
    for convention in ("exact", "expected"):
        assert _relative(ref.hessian(W, W_star, "h1", convention), theory.population_hessian(
            W, W_star, "h1", convention=convention)) < MP_TOL


@settings(max_examples=10)
@given(config=sv.near_degenerate_configurations(max_dim=3, min_log10_angle=-8,
                                                max_log10_angle=-2))
def test_near_degenerate_angles_agree_with_50_digit_mpmath(config):
    """θ or π − θ down to 1e-8: stable angles and extended-precision frames keep 1e-10."""
    W, W_star, _ = config
    for loss in ("l2", "sobolev"):
        assert _relative(float(ref.loss(W, W_star, loss)),
                         theory.population_loss(W, W_star, loss)) < MP_TOL
        assert _relative(ref.exact_gradient(W, W_star, loss), theory.population_gradient(
            W, W_star, loss, convention="exact")) < MP_TOL
        for convention in ("exact", "expected"):
            assert _relative(ref.hessian(W, W_star, loss, convention), theory.population_hessian(
                W, W_star, loss, convention=convention)) < MP_TOL


def test_l2_hessian_is_continuous_at_parallel_pairs():
    """k is C² at θ = 0 and θ = π: the Hessian at an exactly parallel (and antiparallel) pair is
    the limit of Hessians at nearby angles (difference O(θ))."""
    u = np.array([1.0, 0.0, 0.0])
    orth = np.array([0.0, 1.0, 0.0])
    for base in (u, -u):
        at = theory.population_hessian(2.0 * base, u, "l2")
        for theta in (1e-3, 1e-5):
            near = theory.population_hessian(2.0 * (np.cos(theta) * base + np.sin(theta) * orth),
                                             u, "l2")
            assert np.abs(near - at).max() < 2 * theta
