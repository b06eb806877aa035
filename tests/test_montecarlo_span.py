"""Monte-Carlo in the span, randomized QMC, anisotropic inputs and the second-order losses.

Independent references: theory's closed forms (isotropic relu), the same closed forms at the
whitened weights W L (l2 with x ~ N(0, Σ), where E[h(W x)] only sees W L), a direct pointwise
evaluation written here with explicit d×d input Hessians, and central finite differences of the
pointwise loss on common inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import theory
from numerics.activations import get_activation
from numerics.montecarlo import (
    monte_carlo,
    monte_carlo_hessian,
    pointwise_gradients,
)
from theory.configurations import make_configuration
from theory.validation import loss_weights


def _z(m: int, familywise: float = 1e-3) -> float:
    return float(stats.norm.ppf(1 - familywise / (2 * m)))


def _within(estimate, stderr, exact, z):
    return np.all(np.abs(np.asarray(estimate) - exact) <= z * np.asarray(stderr))


def _spd(d: int, seed: int, spread: float = 3.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return (Q * np.linspace(1.0 / spread, spread, d)) @ Q.T


def test_span_agrees_with_closed_form_in_high_dimension():
    c = make_configuration(3, 2, 200, seed=1)
    est = monte_carlo(c.W, c.W_star, "h1", n_samples=200_000, seed=3)
    assert est.span_dimension == 5
    z = _z(1 + c.W.size)
    assert _within(est.value, est.value_stderr, theory.population_loss(c.W, c.W_star), z)
    assert _within(est.gradient, est.gradient_stderr,
                   theory.population_gradient(c.W, c.W_star, "h1"), z)


def test_span_and_full_estimate_the_same_quantity():
    c = make_configuration(2, 2, 12, seed=4)
    span = monte_carlo(c.W, c.W_star, "h1", n_samples=100_000, seed=1)
    full = monte_carlo(c.W, c.W_star, "h1", n_samples=100_000, seed=2, dimension="full")
    z = _z(1 + c.W.size)
    both = np.hypot(span.gradient_stderr, full.gradient_stderr)
    assert np.all(np.abs(span.gradient - full.gradient) <= z * both)
    assert abs(span.value - full.value) <= z * np.hypot(span.value_stderr, full.value_stderr)
    # Rao-Blackwellization: conditioning on the span never increases the variance.
    assert np.all(span.gradient_stderr <= 1.2 * full.gradient_stderr)
    assert span.gradient_stderr.mean() < full.gradient_stderr.mean()


def test_component_outside_the_span_is_exactly_zero():
    rng = np.random.default_rng(0)
    W = np.zeros((2, 50))
    W_star = np.zeros((2, 50))
    W[:, :3] = rng.standard_normal((2, 3))
    W_star[:, :3] = rng.standard_normal((2, 3))
    est = monte_carlo(W, W_star, "h1", n_samples=5000, seed=0)
    assert np.all(est.gradient[:, 3:] == 0) and np.all(est.gradient_stderr[:, 3:] == 0)
    assert np.all(est.gradient_stderr[:, :3] > 0)


def test_identity_covariance_reproduces_the_default_bit_for_bit():
    c = make_configuration(2, 3, 7, seed=2)
    a = monte_carlo(c.W, c.W_star, "h1", n_samples=3000, seed=5)
    b = monte_carlo(c.W, c.W_star, "h1", n_samples=3000, seed=5, input_covariance=np.eye(7))
    assert a.value == b.value and np.array_equal(a.gradient, b.gradient)


@pytest.mark.parametrize("dimension", ["span", "full"])
def test_anisotropic_l2_matches_closed_form_at_whitened_weights(dimension):
    """x = L z: the l2 integrand sees W x = (W L) z only, so L_Σ(W) = L(W L) and
    ∇L_Σ(W) = ∇L(W L) Lᵀ (closed forms of theory at W L)."""
    c = make_configuration(2, 2, 6, seed=3)
    sigma = _spd(6, seed=1)
    L = np.linalg.cholesky(sigma)
    est = monte_carlo(c.W, c.W_star, "l2", n_samples=200_000, seed=7, input_covariance=sigma,
                      dimension=dimension)
    z = _z(1 + c.W.size)
    value = theory.population_loss(c.W @ L, c.W_star @ L, "l2")
    gradient = theory.population_gradient(c.W @ L, c.W_star @ L, "l2") @ L.T
    assert _within(est.value, est.value_stderr, value, z)
    assert _within(est.gradient, est.gradient_stderr, gradient, z)


def _sobolev_value_under_sigma(W, W_star, sigma):
    """J = ½ Σ_pq ε_p ε_q P(p, q) r_p·r_q with P = E[1{r_p·x>0}1{r_q·x>0}] = (π − θ_Σ)/(2π),
    θ_Σ the angle between Σ^{1/2} r_p and Σ^{1/2} r_q (Gaussian orthant probability), and the
    Euclidean product r_p·r_q: the Sobolev term keeps the Euclidean input gradient."""
    rows = np.vstack([W, W_star])
    sign = np.r_[np.ones(len(W)), -np.ones(len(W_star))]
    metric = rows @ sigma @ rows.T
    norms = np.sqrt(np.diag(metric))
    angle = np.arccos(np.clip(metric / np.outer(norms, norms), -1, 1))
    orthant = (np.pi - angle) / (2 * np.pi)
    return 0.5 * float(sign @ (orthant * (rows @ rows.T)) @ sign)


def test_anisotropic_sobolev_keeps_the_euclidean_gradient():
    c = make_configuration(2, 2, 5, seed=6, at="random", radius=1.0)
    sigma = _spd(5, seed=2, spread=4.0)
    est = monte_carlo(c.W, c.W_star, "sobolev", n_samples=200_000, seed=1,
                      input_covariance=sigma)
    exact = _sobolev_value_under_sigma(c.W, c.W_star, sigma)
    assert abs(est.value - exact) <= _z(1) * est.value_stderr
    # Whitening blindly (Sobolev term with W L) gives a different number.
    L = np.linalg.cholesky(sigma)
    blind = theory.population_loss(c.W @ L, c.W_star @ L, "sobolev")
    assert abs(blind - exact) > 20 * est.value_stderr


def test_anisotropic_hessian_is_the_whitened_one_conjugated():
    """l2: H_Σ(W) = (I_K ⊗ L) H(W L) (I_K ⊗ Lᵀ)."""
    c = make_configuration(2, 2, 3, seed=0)
    sigma = _spd(3, seed=4)
    L = np.linalg.cholesky(sigma)
    est = monte_carlo_hessian(c.W, c.W_star, "l2", n_samples=100_000, seed=2,
                              input_covariance=sigma)
    block = np.kron(np.eye(2), L)
    exact = block @ theory.population_hessian(c.W @ L, c.W_star @ L, "l2") @ block.T
    assert np.all(np.abs(est.hessian - exact) <= _z(2 * exact.size) * est.stderr)


def _direct_pointwise_loss(X, W, W_star, act, weights):
    """ℓ(x) written out with explicit input gradients and d×d input Hessians."""
    s0, s1, s2 = act.numpy[:3]
    c2, cs, c22 = weights
    out = np.empty(len(X))
    for b, x in enumerate(X):
        r = s0(W @ x).sum() - s0(W_star @ x).sum()
        D = s1(W @ x) @ W - s1(W_star @ x) @ W_star
        H = (W.T * s2(W @ x)) @ W - (W_star.T * s2(W_star @ x)) @ W_star
        out[b] = 0.5 * (c2 * r * r + cs * D @ D + c22 * np.sum(H * H))
    return out


@pytest.mark.parametrize("activation", ["gelu", "tanh", "sine"])
@pytest.mark.parametrize("loss", ["sobolev2", "h2"])
def test_second_order_pointwise_loss_and_gradient(activation, loss):
    """The pointwise loss equals the direct d×d evaluation, and the pointwise gradient equals
    central differences of it on the same inputs (smooth activation: no convention issue)."""
    act = get_activation(activation)
    weights = loss_weights(loss, 0.7, 1.3)
    rng = np.random.default_rng(1)
    W, W_star = rng.standard_normal((2, 3)) / 2, rng.standard_normal((3, 3)) / 2
    X = rng.standard_normal((20, 3))
    ell, grads = pointwise_gradients(X, W, W_star, act, weights)
    np.testing.assert_allclose(ell, _direct_pointwise_loss(X, W, W_star, act, weights),
                               rtol=1e-12, atol=1e-14)
    h = 1e-5
    for k in range(2):
        for a in range(3):
            plus, minus = W.copy(), W.copy()
            plus[k, a] += h
            minus[k, a] -= h
            numeric = (_direct_pointwise_loss(X, plus, W_star, act, weights)
                       - _direct_pointwise_loss(X, minus, W_star, act, weights)) / (2 * h)
            np.testing.assert_allclose(grads[:, k, a], numeric, rtol=1e-6, atol=1e-8)


def test_second_order_span_agrees_with_full_and_with_direct_average():
    c = make_configuration(2, 2, 15, seed=8, at="random", radius=1.0)
    W, W_star = c.W * 2, c.W_star * 2  # O(1) pre-activations
    act = get_activation("gelu")
    weights = loss_weights("h2")
    span = monte_carlo(W, W_star, "h2", activation="gelu", n_samples=50_000, seed=3)
    full = monte_carlo(W, W_star, "h2", activation="gelu", n_samples=50_000, seed=4,
                       dimension="full")
    z = _z(1 + W.size)
    both = np.hypot(span.gradient_stderr, full.gradient_stderr)
    assert np.all(np.abs(span.gradient - full.gradient) <= z * both)
    X = np.random.default_rng(5).standard_normal((4000, 15))
    direct = _direct_pointwise_loss(X, W, W_star, act, weights)
    reference_se = direct.std(ddof=1) / np.sqrt(len(direct))
    assert abs(span.value - direct.mean()) <= z * np.hypot(span.value_stderr, reference_se)


def test_second_order_with_covariance_span_matches_full():
    c = make_configuration(2, 1, 6, seed=9, at="random", radius=1.0)
    sigma = _spd(6, seed=3)
    args = dict(activation="tanh", n_samples=60_000, input_covariance=sigma)
    span = monte_carlo(c.W, c.W_star, "h2", seed=1, **args)
    full = monte_carlo(c.W, c.W_star, "h2", seed=2, dimension="full", **args)
    z = _z(1 + c.W.size)
    assert np.all(np.abs(span.gradient - full.gradient)
                  <= z * np.hypot(span.gradient_stderr, full.gradient_stderr))
    assert abs(span.value - full.value) <= z * np.hypot(span.value_stderr, full.value_stderr)


@pytest.mark.parametrize("loss, gain", [("l2", 3.0), ("h1", 1.3)])
def test_sobol_agrees_with_closed_form_and_beats_plain_monte_carlo(loss, gain):
    """Randomized QMC is unbiased (within its scrambling error bars) and, at equal n, has
    smaller error bars: much smaller for the continuous l2 integrand, less for relu's h1, whose
    Sobolev part jumps across hyperplanes."""
    c = make_configuration(2, 2, 30, seed=0)
    exact = theory.population_loss(c.W, c.W_star, loss)
    gradient = theory.population_gradient(c.W, c.W_star, loss)
    qmc = monte_carlo(c.W, c.W_star, loss, n_samples=16 * 4096, seed=1, sampler="sobol")
    mc = monte_carlo(c.W, c.W_star, loss, n_samples=16 * 4096, seed=1)
    z = _z(1 + c.W.size)
    assert _within(qmc.value, qmc.value_stderr, exact, z)
    assert _within(qmc.gradient, qmc.gradient_stderr, gradient, z)
    assert qmc.value_stderr < mc.value_stderr / gain
    assert np.median(qmc.gradient_stderr / mc.gradient_stderr) < 1 / gain
    assert "Sobol" in qmc.method and qmc.n_scramblings == 16


@pytest.mark.parametrize("kwargs, match", [
    ({"loss": "h2"}, "infinite"),
    ({"loss": "sobolev2", "activation": "leaky_relu"}, "infinite"),
    ({"loss": "h2", "activation": "gelu", "second_order_weight": -1}, "second_order_weight"),
    ({"input_covariance": np.eye(3)[:2]}, "input_covariance"),
    ({"input_covariance": np.diag([1.0, -1.0, 1.0])}, "input_covariance"),
    ({"input_covariance": np.array([[1, 0.5, 0], [0, 1, 0], [0, 0, 1.0]])}, "input_covariance"),
    ({"input_covariance": np.diag([1.0, np.nan, 1.0])}, "input_covariance"),
    ({"dimension": "half"}, "dimension"),
    ({"sampler": "halton"}, "sampler"),
    ({"sampler": "sobol", "n_samples": 1000}, "n_samples"),
])
def test_bad_input_raises_value_error(kwargs, match):
    c = make_configuration(2, 2, 3, seed=0)
    options = {"n_samples": 1024, **kwargs}
    with pytest.raises(ValueError, match=match):
        monte_carlo(c.W, c.W_star, **options)


def test_second_order_hessian_is_symmetric_for_a_smooth_activation():
    """For gelu every derivative is regular, so the expected field of h2 is the gradient of the
    population loss and its Jacobian is symmetric: the CRN estimate must be, within its bars."""
    c = make_configuration(2, 2, 3, seed=5, at="random", radius=1.0)
    est = monte_carlo_hessian(c.W, c.W_star, "h2", activation="gelu", n_samples=40_000, seed=3)
    asym = est.hessian - est.hessian.T
    bars = np.hypot(est.stderr, est.stderr.T)
    off = ~np.eye(est.hessian.shape[0], dtype=bool)
    assert np.all(np.abs(asym[off]) <= _z(asym.size) * bars[off] + 1e-9)
    assert np.abs(est.hessian).max() > 50 * est.stderr.max()  # a real signal, not noise


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
@pytest.mark.parametrize("loss", ["l2", "sobolev", "h1"])
@pytest.mark.parametrize("anisotropic", [False, True])
def test_homogeneous_span_kernel_equals_the_generic_path(monkeypatch, activation, loss,
                                                          anisotropic):
    """The buffered relu / leaky relu span kernel computes what the generic pointwise path
    (_pointwise + per-row scatter) computes from the same draws: equal up to summation order,
    including the ragged last chunk and the non-binary slopes of leaky relu."""
    import numerics.montecarlo as mc

    c = make_configuration(3, 2, 40, seed=5)
    options = dict(n_samples=10_007, seed=11, activation=activation, sobolev_weight=0.7,
                   batch_size=4096,
                   input_covariance=_spd(40, seed=3) if anisotropic else None)
    fast = monte_carlo(c.W, c.W_star, loss, **options)
    monkeypatch.setattr(mc, "_homogeneous_slopes", lambda activation: None)
    generic = monte_carlo(c.W, c.W_star, loss, **options)
    assert fast.span_dimension == generic.span_dimension == 5
    np.testing.assert_allclose(fast.value, generic.value, rtol=1e-12)
    np.testing.assert_allclose(fast.value_stderr, generic.value_stderr, rtol=1e-10)
    scale = np.abs(generic.gradient).max()
    np.testing.assert_allclose(fast.gradient, generic.gradient, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(fast.gradient_stderr, generic.gradient_stderr, rtol=1e-8,
                               atol=1e-12 * generic.gradient_stderr.max())


@pytest.mark.parametrize("activation", ["erf", "gelu", "sine", "tanh"])
@pytest.mark.parametrize("loss", ["l2", "sobolev", "h1"])
@pytest.mark.parametrize("anisotropic", [False, True])
def test_smooth_span_kernel_equals_the_generic_path(monkeypatch, activation, loss, anisotropic):
    """The buffered smooth-activation span kernel (σ'' term b_k·x included) computes what the
    generic pointwise path computes from the same draws: equal up to summation order."""
    import numerics.montecarlo as mc

    c = make_configuration(3, 2, 40, seed=6)
    options = dict(n_samples=10_007, seed=12, activation=activation, sobolev_weight=0.7,
                   batch_size=4096,
                   input_covariance=_spd(40, seed=4) if anisotropic else None)
    fast = monte_carlo(c.W, c.W_star, loss, **options)
    assert isinstance(mc._span_kernel(mc.sampling_frame(c.W, c.W_star, None, "span"), 3,
                                      mc.get_activation(activation), (1.0, 0.7, 0.0)),
                      mc._SmoothSpanKernel)
    monkeypatch.setattr(mc, "_span_kernel", lambda *args: None)
    generic = monte_carlo(c.W, c.W_star, loss, **options)
    assert fast.span_dimension == generic.span_dimension == 5
    np.testing.assert_allclose(fast.value, generic.value, rtol=1e-12)
    np.testing.assert_allclose(fast.value_stderr, generic.value_stderr, rtol=1e-10)
    scale = np.abs(generic.gradient).max()
    np.testing.assert_allclose(fast.gradient, generic.gradient, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(fast.gradient_stderr, generic.gradient_stderr, rtol=1e-8,
                               atol=1e-12 * generic.gradient_stderr.max())


@pytest.mark.parametrize("activation, loss", [("relu", "h1"), ("leaky_relu", "sobolev"),
                                              ("erf", "h1")])
def test_span_standard_errors_match_the_spread_of_independent_replicates(activation, loss):
    """The reported (K, d) standard errors (from per-row p×p scatter matrices in the span) are
    the standard deviations of the estimator: over R independent replicates (distinct seeds),
    (R − 1)·s²/σ² ~ χ²(R − 1) for every gradient entry and the value, where s is the spread of
    the replicate estimates and σ² the mean of the reported stderr² (Bonferroni over entries at
    familywise level 1e-3). A scatter that dropped the cross terms, or an entrywise variance in
    span coordinates, would give a wrong σ for the rotated entries."""
    c = make_configuration(3, 2, 30, seed=2)
    R = 200
    runs = [monte_carlo(c.W, c.W_star, loss, n_samples=2000, seed=1000 + s,
                        activation=activation) for s in range(R)]
    assert runs[0].span_dimension == 5
    estimates = np.array([np.r_[r.value, r.gradient.ravel()] for r in runs])
    reported = np.sqrt(np.mean([np.r_[r.value_stderr, r.gradient_stderr.ravel()] ** 2
                                for r in runs], axis=0))
    statistic = (R - 1) * estimates.var(axis=0, ddof=1) / reported ** 2
    alpha = 1e-3 / estimates.shape[1]
    lo, hi = stats.chi2.ppf([alpha / 2, 1 - alpha / 2], R - 1)
    assert np.all((lo <= statistic) & (statistic <= hi)), (statistic.min(), statistic.max())
    # The pooled ratio is much tighter than each entry's test.
    ratio = np.sqrt(statistic / (R - 1))
    assert 0.9 < np.median(ratio) < 1.1
