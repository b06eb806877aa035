"""Gradient flow (numerics.flow) and the reduced one-neuron flow (theory.reduced_flow)."""

import math

import numpy as np
import pytest

import theory
from numerics.flow import FlowError, gradient_flow
from theory.reduced_flow import critical_angle, reduced_field, reduced_flow, to_reduced

R_STAR = 1.3
W_STAR = np.array([[R_STAR, 0.0, 0.0]])


def _one_neuron(r, theta):
    return np.array([[r * math.cos(theta), r * math.sin(theta), 0.0]])


@pytest.mark.parametrize("loss", ["l2", "sobolev", "h1"])
@pytest.mark.parametrize("convention", ["expected", "exact"])
@pytest.mark.parametrize("r, theta", [(0.7, 0.4), (1.9, 2.0), (1.1, 2.9)])
def test_reduced_field_is_the_projected_population_field(loss, convention, r, theta):
    # Independent evaluation: the lead's vector field F projected on (v, e).
    W = _one_neuron(r, theta)
    F = theory.population_gradient(W, W_STAR, loss, convention=convention,
                                   sobolev_weight=0.6)[0]
    v = W[0] / r
    e = W_STAR[0] - (W_STAR[0] @ v) * v
    e /= np.linalg.norm(e)
    dr, dtheta = reduced_field(r, theta, loss, convention=convention, sobolev_weight=0.6,
                               r_star=R_STAR)
    assert dr == pytest.approx(-v @ F, abs=1e-14)
    assert dtheta == pytest.approx(e @ F / r, abs=1e-14)


@pytest.mark.parametrize("loss", ["l2", "h1"])
def test_reduced_and_full_flows_agree(loss):
    W0 = np.array([[0.4, 0.9, -0.5]])
    flow = gradient_flow(W0, W_STAR, loss, t_max=8.0, method="DOP853")
    r0, theta0 = to_reduced(W0, W_STAR)
    reduced = reduced_flow(r0, theta0, loss, r_star=R_STAR, t_max=8.0, t_eval=flow.t)
    full = np.array([to_reduced(w, W_STAR) for w in flow.W])
    np.testing.assert_allclose(full[:, 0], reduced.r, rtol=0, atol=1e-8)
    np.testing.assert_allclose(full[:, 1], reduced.theta, rtol=0, atol=1e-8)


def test_exact_flow_is_monotone_and_hits_the_cone_when_the_reduced_flow_starts_sliding():
    W0 = _one_neuron(0.8, 1.2)
    flow = gradient_flow(W0, W_STAR, "h1", convention="exact", t_max=20.0)
    assert flow.status == "singular" and "finite time" in flow.message
    # A true gradient flow: the loss never increases (up to rounding of the closed form).
    assert flow.max_loss_increase <= 1e-13
    reduced = reduced_flow(0.8, 1.2, "h1", convention="exact", r_star=R_STAR, t_max=20.0)
    # The full flow stops at sin θ = 1e-7; θ decreases at ≈ λ r*/(2π r) there.
    assert flow.t[-1] == pytest.approx(reduced.sliding_from, abs=1e-5)
    assert reduced.theta[-1] == 0.0 and reduced.r[-1] == pytest.approx(R_STAR, rel=1e-8)


def test_expected_sobolev_flow_loss_decrease_is_measured_and_reported():
    rng = np.random.default_rng(11)
    W_star = rng.normal(size=(2, 3)) / math.sqrt(3)
    W0 = W_star + 0.3 * rng.normal(size=(2, 3)) / math.sqrt(3)
    flow = gradient_flow(W0, W_star, "h1", t_max=40.0, rtol=1e-8, atol=1e-11)
    # Not a gradient field: monotonicity is a measurement. For this start it holds.
    assert math.isfinite(flow.max_loss_increase)
    assert flow.max_loss_increase <= 1e-12
    assert flow.loss[-1] < 1e-3 * flow.loss[0]


@pytest.mark.parametrize("theta0", [0.5, 2.0, 3.0])
def test_expected_and_l2_one_neuron_basin_is_every_angle_below_pi(theta0):
    for loss in ("l2", "h1"):
        out = reduced_flow(0.5, theta0, loss, r_star=R_STAR, t_max=120.0)
        assert out.theta[-1] < 1e-6 and out.r[-1] == pytest.approx(R_STAR, rel=1e-5)
    assert critical_angle("h1") == math.pi


def test_exact_sobolev_basin_ends_at_the_critical_angle():
    theta_c = critical_angle("sobolev", convention="exact")
    # Independent: p tan p = 1 at p = π − θ_c (root of p sin θ + cos θ = 0).
    p = math.pi - theta_c
    assert p * math.tan(p) == pytest.approx(1.0, abs=1e-12)
    below = reduced_flow(1.0, theta_c - 0.05, "sobolev", convention="exact", t_max=60.0)
    above = reduced_flow(1.0, theta_c + 0.05, "sobolev", convention="exact", t_max=60.0)
    assert below.sliding_angle == 0.0 and below.r[-1] == pytest.approx(1.0, rel=1e-6)
    assert above.sliding_angle == math.pi and above.status == "collapsed"


def test_l2_rate_matches_the_one_neuron_hessian_half_identity():
    # At the teacher, ∇²L = E[1{w*·x>0} x xᵀ] = I/2 for one neuron: rate 1/2.
    flow = gradient_flow(_one_neuron(1.0, 0.8), W_STAR, "l2", t_max=60.0, method="LSODA")
    assert flow.status == "converged"
    assert flow.rate == pytest.approx(0.5, abs=5 * flow.rate_stderr + 1e-4)


def test_jacobian_fallback_at_a_parallel_start():
    # W0 ∥ W*: the expected Sobolev Jacobian does not exist there; Radau falls back to FD.
    flow = gradient_flow(0.5 * W_STAR, W_STAR, "h1", t_max=30.0, method="Radau",
                         rtol=1e-8, atol=1e-11)
    assert flow.jacobian_fallbacks > 0
    assert flow.distance[-1] < 1e-6


def test_bad_solver_settings_and_budgets_give_clear_errors():
    W0 = _one_neuron(1.0, 0.8)
    with pytest.raises(ValueError, match="rtol"):
        gradient_flow(W0, W_STAR, rtol=0.0)
    with pytest.raises(ValueError, match="method"):
        gradient_flow(W0, W_STAR, method="Euler")
    with pytest.raises(ValueError, match="t_max"):
        gradient_flow(W0, W_STAR, t_max=-1.0)
    with pytest.raises(FlowError, match="max_evaluations"):
        gradient_flow(W0, W_STAR, max_evaluations=20)
    with pytest.raises(theory.NonDifferentiableError):
        gradient_flow(0.5 * W_STAR, W_STAR, "h1", convention="exact")


def test_time_to_epsilon_is_consistent_with_the_loss_curve():
    flow = gradient_flow(_one_neuron(1.0, 0.8), W_STAR, "l2", t_max=30.0)
    t_eps = flow.time_to(1e-6)
    assert flow.loss[flow.t < t_eps].min() > 1e-6 * (1 - 1e-9)
    assert flow.loss[flow.t > t_eps + 1e-9].max() <= 1e-6


def _two_neuron_problem():
    rng = np.random.default_rng(5)
    W_star = rng.normal(size=(2, 4)) / 2
    return W_star + 0.2 * rng.normal(size=(2, 4)) / 2, W_star


def test_events_and_output_add_no_field_evaluations_to_the_solve():
    """RK45's dense output reuses its stages and the convergence event reads the field the step
    computed: gradient_flow makes exactly the field evaluations of a bare solve_ivp (same
    method, tolerances and span), and its solver points are the bare solver's points."""
    from scipy.integrate import solve_ivp

    W0, W_star = _two_neuron_problem()
    flow = gradient_flow(W0, W_star, "h1", method="RK45", t_max=30.0, rtol=1e-9, atol=1e-12)
    assert flow.status == "t_max"

    def rhs(_t, y):
        return -theory.population_gradient(y.reshape(W0.shape), W_star, "h1").ravel()

    bare = solve_ivp(rhs, (0.0, 30.0), W0.ravel(), method="RK45", rtol=1e-9, atol=1e-12)
    assert flow.nfev == bare.nfev
    assert np.all(np.isin(bare.t, flow.t))
    np.testing.assert_array_equal(flow.W[np.isin(flow.t, bare.t)].reshape(len(bare.t), -1),
                                  bare.y.T)


def test_plateau_stop_is_reported_where_the_field_stalls():
    """A gradient_tol below the floor that rtol puts under ‖F‖ used to run to t_max; the flow
    now stops on the plateau, says so, and agrees with the unstopped flow up to there."""
    W0, W_star = _two_neuron_problem()
    options = dict(t_max=2000.0, rtol=1e-8, atol=1e-11, gradient_tol=1e-16)
    flow = gradient_flow(W0, W_star, "l2", **options)
    full = gradient_flow(W0, W_star, "l2", stop_on_plateau=False, **options)
    assert full.status == "t_max" and flow.status == "plateau"
    assert "plateau" in flow.message and flow.t[-1] < 0.5 * full.t[-1]
    floor = np.nanmin(full.gradient_norm)
    # It stopped on the floor: within a factor 10 of the smallest ‖F‖ the full run ever reached.
    assert np.nanmin(flow.gradient_norm) < 10 * floor
    shared = np.isin(full.t, flow.t)
    np.testing.assert_allclose(full.W[shared], flow.W[np.isin(flow.t, full.t)], rtol=0,
                               atol=1e-12)


def test_relative_gradient_tolerance_stops_and_is_named():
    W0, W_star = _two_neuron_problem()
    flow = gradient_flow(W0, W_star, "h1", gradient_rtol=1e-4, t_max=500.0)
    initial = np.linalg.norm(theory.population_gradient(W0, W_star, "h1"))
    assert flow.status == "converged" and "gradient_rtol" in flow.message
    assert flow.gradient_norm[-1] == pytest.approx(1e-4 * initial, rel=1e-3)
    assert np.all(flow.gradient_norm[:-1] > 1e-4 * initial * (1 - 1e-3))
    with pytest.raises(ValueError, match="gradient_rtol"):
        gradient_flow(W0, W_star, "h1", gradient_rtol=2.0)
