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


def _counting_field(monkeypatch):
    """Count every evaluation of the field: calls of theory.population_gradient (the bare rhs)
    and of the prepared fields theory.gradient_field returns (the flow's)."""
    calls = {"n": 0}
    real, real_field = theory.population_gradient, theory.gradient_field

    def counted(*args, **kwargs):
        calls["n"] += 1
        return real(*args, **kwargs)

    def counted_field(*args, **kwargs):
        field = real_field(*args, **kwargs)

        def call(W):
            calls["n"] += 1
            return field(W)
        return call

    monkeypatch.setattr(theory, "population_gradient", counted)
    monkeypatch.setattr(theory, "gradient_field", counted_field)
    return calls


@pytest.mark.parametrize("method", ["DOP853", "RK45"])
@pytest.mark.parametrize("stop", ["t_max", "plateau"])
def test_flow_makes_exactly_the_field_evaluations_of_a_bare_solve_ivp(monkeypatch, method, stop):
    """Stops, bookkeeping and output add no field evaluation: counted calls of the public field
    equal those of solve_ivp(t_eval=None) with the same method, tolerances and span (0, t_end),
    and the flow's output points are the bare solver's points, bit for bit. (Stopped on the
    plateau, the flow may have had one more step attempt rejected than the bare solver, whose
    span ends where the flow stopped: its last step is clipped to t_end instead.)"""
    import scipy.integrate
    from scipy.integrate import solve_ivp

    W0, W_star = _two_neuron_problem()
    options = (dict(t_max=30.0, rtol=1e-9, atol=1e-12) if stop == "t_max" else
               dict(t_max=2000.0, rtol=1e-8, atol=1e-11, gradient_tol=1e-16))
    calls = _counting_field(monkeypatch)
    flow = gradient_flow(W0, W_star, "h1", method=method, **options)
    ours = calls["n"]
    assert flow.status == stop and flow.nfev == ours

    def rhs(_t, y):
        return -theory.population_gradient(y.reshape(W0.shape), W_star, "h1").ravel()

    calls["n"] = 0
    bare = solve_ivp(rhs, (0.0, float(flow.t[-1])), W0.ravel(), method=method,
                     rtol=options["rtol"], atol=options["atol"])
    assert bare.status == 0 and calls["n"] == bare.nfev
    attempt = getattr(scipy.integrate, method).n_stages  # fields of one rejected step attempt
    assert ours == bare.nfev if stop == "t_max" else ours - bare.nfev in (0, attempt)
    np.testing.assert_array_equal(flow.t, bare.t)
    np.testing.assert_array_equal(flow.W.reshape(len(flow.t), -1), bare.y.T)


def test_uniform_output_times_are_on_request_and_cost_dop853_its_dense_output(monkeypatch):
    """n_samples adds the uniform times of [0, t_max] (values from the dense output, compared
    with solve_ivp's t_eval), keeps the solver's points, and costs DOP853 3 fields per step
    holding one; RK45's dense output is free."""
    from scipy.integrate import solve_ivp

    W0, W_star = _two_neuron_problem()
    options = dict(t_max=30.0, rtol=1e-9, atol=1e-12)
    steps = gradient_flow(W0, W_star, "h1", **options)
    sampled = gradient_flow(W0, W_star, "h1", n_samples=61, **options)
    uniform = np.linspace(0.0, 30.0, 61)
    assert np.all(np.isin(uniform, sampled.t)) and np.all(np.isin(steps.t, sampled.t))
    assert len(sampled.t) == len(np.union1d(uniform, steps.t))
    holding = np.count_nonzero(np.diff(np.searchsorted(uniform, steps.t, side="left")) > 0)
    # a uniform time that coincides with a step end (t = 0, t_max) needs no dense output
    exact = np.count_nonzero(np.isin(steps.t[1:], uniform))
    assert sampled.nfev - steps.nfev == 3 * (holding - exact) > 0

    def rhs(_t, y):
        return -theory.population_gradient(y.reshape(W0.shape), W_star, "h1").ravel()

    bare = solve_ivp(rhs, (0.0, 30.0), W0.ravel(), method="DOP853", rtol=1e-9, atol=1e-12,
                     t_eval=uniform)
    np.testing.assert_allclose(sampled.W[np.isin(sampled.t, uniform)].reshape(61, -1), bare.y.T,
                               rtol=0, atol=1e-14)
    rk = gradient_flow(W0, W_star, "h1", method="RK45", **options)
    rk_sampled = gradient_flow(W0, W_star, "h1", method="RK45", n_samples=61, **options)
    assert rk_sampled.nfev == rk.nfev
    with pytest.raises(ValueError, match="n_samples"):
        gradient_flow(W0, W_star, "h1", n_samples=1, **options)


@pytest.mark.parametrize("loss", ["l2", "h1"])
def test_time_to_and_rate_from_solver_steps_match_a_fine_uniform_sampling(loss):
    """The default output (the solver's steps, non-uniform and coarse) against 20001 uniform
    samples of the same solution: time_to (log-linear between output points) agrees to 1e-2
    relative over six decades of distance and of loss (measured: <= 4e-3, the interpolation
    error over the longest early steps), the fitted rate to 1 % (the window's samples differ)."""
    config_W0 = np.array([[0.9, -0.4, 0.3], [-0.2, 0.7, 0.8]])
    W_star = np.array([[1.0, 0.2, -0.3], [0.1, 0.9, 0.4]])
    steps = gradient_flow(config_W0, W_star, loss, t_max=200.0)
    fine = gradient_flow(config_W0, W_star, loss, t_max=200.0, n_samples=20001)
    d0 = float(steps.distance[0])
    for epsilon, quantity in ([(d0 * 10.0**-k, "distance") for k in range(1, 7)]
                              + [(10.0**-k, "loss") for k in range(3, 9)]):
        reference = fine.time_to(epsilon, quantity)
        assert math.isfinite(reference)
        assert steps.time_to(epsilon, quantity) == pytest.approx(reference, rel=1e-2)
    assert steps.rate == pytest.approx(fine.rate, rel=1e-2)


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
