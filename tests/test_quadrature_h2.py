"""Second-order Sobolev (h2) and anisotropic inputs (Σ): quadrature, and theory against it.

numerics.quadrature is validated on its own (finite differences of its loss and gradient, a
direct Monte-Carlo of J₂, σ⁗ against mpmath.diff), then theory's h2 and Σ closed forms are
checked against it to 1e-10 (an independent route: 2-D Gauss–Hermite pair integrals vs the
Price-theorem kernels), with rotation covariance and the exact Σ = I reduction.
"""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import special
from scipy.stats import ortho_group

import theory
from numerics.activations import Activation, get_activation
from numerics.quadrature import _FOURTH, derivative, quadrature


def _erf_activation() -> Activation:
    """erf with its derivatives (numerics.activations has no erf yet on this branch)."""
    def e1(t):
        return 2 / math.sqrt(math.pi) * np.exp(-t * t)

    functions = (special.erf, e1, lambda t: -2 * t * e1(t), lambda t: (4 * t * t - 2) * e1(t))

    def m1(t):
        return 2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-t * t)

    mp_functions = (mpmath.erf, m1, lambda t: -2 * t * m1(t), lambda t: (4 * t * t - 2) * m1(t))
    return Activation("erf", functions, mp_functions)


def _numerics_activation(name):
    try:
        return get_activation(name)
    except ValueError:
        if name == "erf":
            return _erf_activation()
        raise


SMOOTH = ("gelu", "sine", "erf")


def _problem(seed=0, K=2, Ks=3, d=3, spd=True):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(K, d)) / math.sqrt(d)
    W_star = rng.normal(size=(Ks, d)) / math.sqrt(d)
    A = rng.normal(size=(d, d))
    sigma = A @ A.T / d + 0.5 * np.eye(d) if spd else None
    return W, W_star, sigma


@pytest.mark.parametrize("name", ["gelu", "sine", "tanh", "erf"])
def test_fourth_derivative_matches_mpmath_diff(name):
    act = _numerics_activation(name)
    for t in (-1.3, -0.2, 0.0, 0.7, 2.1):
        expected = float(mpmath.diff(act.mp[3], t))
        assert derivative(act, 4)(np.array(t)) == pytest.approx(expected, rel=1e-12, abs=1e-13)
        assert float(derivative(act, 4, mp=True)(mpmath.mpf(t))) == pytest.approx(
            expected, rel=1e-12, abs=1e-13)
    assert set(_FOURTH) >= {"gelu", "sine", "tanh", "erf"}


def test_sobolev2_loss_matches_a_direct_monte_carlo():
    """J₂ = E ½‖Σᵢσ''(wᵢ·x)wᵢwᵢᵀ − Σⱼσ''(w*ⱼ·x)w*ⱼw*ⱼᵀ‖²_F with x ~ N(0, Σ), sampled."""
    W, W_star, sigma = _problem(seed=3)
    act = get_activation("gelu")
    rng = np.random.default_rng(7)
    X = rng.multivariate_normal(np.zeros(3), sigma, size=200_000)
    rows = np.vstack([W, W_star])
    signs = np.r_[np.ones(len(W)), -np.ones(len(W_star))]
    curv = act.numpy[2](X @ rows.T) * signs  # (n, K + K*)
    outer = np.einsum("ia,ib->iab", rows, rows).reshape(len(rows), -1)
    residual = curv @ outer  # (n, d²): the Hessian difference, flattened
    samples = 0.5 * np.sum(residual**2, axis=1)
    mean, se = samples.mean(), samples.std(ddof=1) / math.sqrt(len(samples))
    q = quadrature(W, W_star, "sobolev2", activation="gelu", input_covariance=sigma,
                   hessian=False)
    assert abs(q.loss - mean) < 4 * se, (q.loss, mean, se)


@pytest.mark.parametrize("loss", ["sobolev2", "h2"])
def test_quadrature_h2_gradient_and_hessian_are_derivatives_of_its_loss(loss):
    W, W_star, sigma = _problem(seed=1)
    kw = dict(activation="sine", sobolev_weight=0.6, second_order_weight=1.4,
              input_covariance=sigma)
    q = quadrature(W, W_star, loss, **kw)
    h = 1e-5
    fd_grad = np.zeros_like(W)
    fd_hess = np.zeros_like(q.hessian)
    for idx in np.ndindex(W.shape):
        step = np.zeros_like(W)
        step[idx] = h
        plus = quadrature(W + step, W_star, loss, **kw)
        minus = quadrature(W - step, W_star, loss, **kw)
        fd_grad[idx] = (plus.loss - minus.loss) / (2 * h)
        fd_hess[:, idx[0] * W.shape[1] + idx[1]] = ((plus.gradient - minus.gradient)
                                                    / (2 * h)).ravel()
    assert np.allclose(q.gradient, fd_grad, rtol=1e-7, atol=1e-8)
    assert np.allclose(q.hessian, fd_hess, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", SMOOTH)
@pytest.mark.parametrize("loss", ["l2", "h1", "sobolev2", "h2"])
@pytest.mark.parametrize("at_teacher", [False, True])
def test_theory_h2_and_sigma_match_quadrature(name, loss, at_teacher):
    W, W_star, sigma = _problem(seed=2, K=2, Ks=2)
    if at_teacher:
        W = W_star.copy()
    kw = dict(sobolev_weight=0.8, second_order_weight=1.2, input_covariance=sigma)
    # 256 Gauss-Hermite nodes per axis: a neuron with whitened norm 1.5 needs more than 128
    q = quadrature(W, W_star, loss, activation=_numerics_activation(name), nodes=256, **kw)
    loss_t = theory.population_loss(W, W_star, loss, activation=name, **kw)
    grad_t = theory.population_gradient(W, W_star, loss, activation=name, **kw)
    hess_t = theory.population_hessian(W, W_star, loss, activation=name, **kw)
    scale = max(1.0, np.abs(q.hessian).max())
    assert q.error_estimate <= 1e-10 * scale  # the reference is itself resolved
    assert abs(loss_t - q.loss) <= 1e-10 * max(1.0, abs(q.loss))
    assert np.abs(grad_t - q.gradient).max() <= 1e-10 * scale
    assert np.abs(hess_t - q.hessian).max() <= 1e-10 * scale


def test_identity_covariance_reproduces_isotropic_numbers_exactly():
    W, W_star, _ = _problem(seed=4)
    for act in ("relu", "gelu"):
        for loss in ("l2", "h1") + (("h2",) if act == "gelu" else ()):
            base = quadrature(W, W_star, loss, activation=act)
            eye = quadrature(W, W_star, loss, activation=act, input_covariance=np.eye(3))
            assert base.loss == eye.loss
            assert np.array_equal(base.hessian, eye.hessian)
            tb = theory.population_hessian(W, W_star, loss, activation=act)
            te = theory.population_hessian(W, W_star, loss, activation=act,
                                           input_covariance=np.eye(3))
            assert np.array_equal(tb, te)


def test_covariance_scaling_equals_weight_scaling_for_l2():
    """x ~ N(0, r²I) is W ↦ rW for the L2 part (Σ enters only through the law of x)."""
    W, W_star, _ = _problem(seed=5)
    r = 1.7
    scaled = quadrature(W, W_star, "l2", activation="sine", input_covariance=r * r * np.eye(3))
    moved = quadrature(r * W, r * W_star, "l2", activation="sine")
    assert scaled.loss == pytest.approx(moved.loss, rel=1e-12)


@given(seed=st.integers(0, 10_000), loss=st.sampled_from(["h1", "h2", "sobolev2"]),
       name=st.sampled_from(["gelu", "sine", "erf"]))
def test_theory_rotation_covariance(seed, loss, name):
    """loss(WQ, W*Q; QᵀΣQ) = loss(W, W*; Σ) and the gradient rotates: G(WQ) = G(W)Q."""
    W, W_star, sigma = _problem(seed=seed)
    Q = ortho_group.rvs(3, random_state=seed)
    kw = dict(activation=name, sobolev_weight=0.9, second_order_weight=1.1)
    base = theory.population_loss(W, W_star, loss, input_covariance=sigma, **kw)
    turned = theory.population_loss(W @ Q, W_star @ Q, loss, input_covariance=Q.T @ sigma @ Q,
                                    **kw)
    assert turned == pytest.approx(base, rel=1e-11, abs=1e-14)
    g = theory.population_gradient(W, W_star, loss, input_covariance=sigma, **kw)
    gq = theory.population_gradient(W @ Q, W_star @ Q, loss, input_covariance=Q.T @ sigma @ Q,
                                    **kw)
    assert np.allclose(gq, g @ Q, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_quadrature_rotation_covariance(seed):
    W, W_star, sigma = _problem(seed=seed)
    Q = ortho_group.rvs(3, random_state=seed + 11)
    base = quadrature(W, W_star, "h2", activation="gelu", input_covariance=sigma)
    turned = quadrature(W @ Q, W_star @ Q, "h2", activation="gelu",
                        input_covariance=Q.T @ sigma @ Q)
    assert turned.loss == pytest.approx(base.loss, rel=1e-12)
    assert np.allclose(turned.hessian, np.kron(np.eye(2), Q.T) @ base.hessian
                       @ np.kron(np.eye(2), Q), rtol=1e-10, atol=1e-12)


def test_second_order_loss_needs_a_smooth_activation():
    W, W_star, _ = _problem()
    for act in ("relu", "leaky_relu"):
        with pytest.raises(ValueError, match="Dirac"):
            quadrature(W, W_star, "h2", activation=act)


@pytest.mark.parametrize("bad", [np.eye(2), np.diag([1.0, -1.0, 1.0]),
                                 np.array([[1, 0.5, 0], [0, 1, 0], [0, 0, 1.0]]),
                                 np.diag([1.0, np.nan, 1.0])])
def test_bad_input_covariance_is_rejected_by_name(bad):
    W, W_star, _ = _problem()
    with pytest.raises(ValueError, match="input_covariance"):
        quadrature(W, W_star, "h1", activation="gelu", input_covariance=bad)


def test_negative_second_order_weight_is_rejected():
    W, W_star, _ = _problem()
    with pytest.raises(ValueError, match="second_order_weight"):
        quadrature(W, W_star, "h2", activation="gelu", second_order_weight=-1.0)


def _monte_carlo_supports_sigma_and_h2() -> bool:
    import inspect

    from numerics import montecarlo

    parameters = inspect.signature(montecarlo.monte_carlo).parameters
    return "input_covariance" in parameters and "second_order_weight" in parameters


@pytest.mark.skipif(not _monte_carlo_supports_sigma_and_h2(),
                    reason="numerics.monte_carlo of this build has no input_covariance/h2")
@pytest.mark.parametrize("name", ["gelu", "sine"])
def test_theory_h2_sigma_within_monte_carlo_error_bars(name):
    """Loss and expected gradient: theory within 4 standard errors of Monte-Carlo (x ~ N(0, Σ))."""
    from numerics import monte_carlo

    W, W_star, sigma = _problem(seed=6)
    kw = dict(sobolev_weight=0.8, second_order_weight=1.2, input_covariance=sigma)
    est = monte_carlo(W, W_star, "h2", activation=name, n_samples=200_000, seed=3, **kw)
    loss_t = theory.population_loss(W, W_star, "h2", activation=name, **kw)
    grad_t = theory.population_gradient(W, W_star, "h2", activation=name, **kw)
    assert abs(est.value - loss_t) <= 4 * est.value_stderr
    assert np.all(np.abs(est.gradient - grad_t) <= 4 * est.gradient_stderr + 1e-12)
