"""Monte-Carlo estimators against theory's closed forms (an independent evaluation)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from scipy import stats

import theory
from numerics.montecarlo import monte_carlo, monte_carlo_hessian
from theory.configurations import make_configuration

CONFIG = make_configuration(2, 2, 3, seed=0)  # perturbed teacher, radius 0.1


def _bonferroni_z(m: int, familywise: float = 1e-3) -> float:
    return float(stats.norm.ppf(1 - familywise / (2 * m)))


@pytest.mark.parametrize("loss", ["l2", "sobolev", "h1"])
def test_coverage_of_95_percent_intervals(loss):
    """Over 200 fixed seeds, 95 % intervals cover the closed form at a binomial-consistent rate.

    Tolerance: a two-sided exact binomial test of p = 0.95 must not reject at level 1e-3 for any
    of the 1 + K·d quantities (this seed set is fixed, so the test is deterministic).
    """
    W, W_star = CONFIG.W, CONFIG.W_star
    value = theory.population_loss(W, W_star, loss)
    gradient = theory.population_gradient(W, W_star, loss)
    trials = 200
    covered = np.zeros(1 + gradient.size, dtype=int)
    for seed in range(trials):
        est = monte_carlo(W, W_star, loss, n_samples=3000, seed=seed)
        lo, hi = est.value_interval()
        glo, ghi = est.gradient_interval()
        covered[0] += lo <= value <= hi
        covered[1:] += ((glo <= gradient) & (gradient <= ghi)).ravel()
    for count in covered:
        assert stats.binomtest(int(count), trials, 0.95).pvalue > 1e-3, covered / trials
    assert abs(covered.mean() / trials - 0.95) < 0.02


def test_error_shrinks_as_inverse_square_root():
    W, W_star = CONFIG.W, CONFIG.W_star
    exact = theory.population_loss(W, W_star, "h1")
    rms = []
    stderr = []
    for n in (1000, 16000):
        errors = [monte_carlo(W, W_star, "h1", n_samples=n, seed=100 + s).value - exact
                  for s in range(60)]
        rms.append(np.sqrt(np.mean(np.square(errors))))
        stderr.append(monte_carlo(W, W_star, "h1", n_samples=n, seed=7).value_stderr)
    # 16× the samples: 4× smaller error. RMS over 60 seeds has ~9 % relative noise each.
    assert 4 / 1.4 < rms[0] / rms[1] < 4 * 1.4
    assert 4 / 1.1 < stderr[0] / stderr[1] < 4 * 1.1


def test_same_seed_same_result_and_chunking_invariance():
    W, W_star = CONFIG.W, CONFIG.W_star
    a = monte_carlo(W, W_star, n_samples=20000, seed=5, batch_size=4096)
    b = monte_carlo(W, W_star, n_samples=20000, seed=5, batch_size=4096)
    c = monte_carlo(W, W_star, n_samples=20000, seed=5, batch_size=777)
    assert a.value == b.value and np.array_equal(a.gradient, b.gradient)
    np.testing.assert_allclose(c.value, a.value, rtol=1e-12)
    np.testing.assert_allclose(c.gradient, a.gradient, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(c.gradient_stderr, a.gradient_stderr, rtol=1e-8)
    d = monte_carlo(W, W_star, n_samples=20000, seed=6, batch_size=4096)
    assert d.value != a.value


def test_memory_does_not_grow_with_n_samples():
    W, W_star = CONFIG.W, CONFIG.W_star
    peaks = []
    for n in (50_000, 1_000_000):
        tracemalloc.start()
        monte_carlo(W, W_star, n_samples=n, seed=0, batch_size=10_000)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 1.5 * peaks[0] + 100_000


def test_hessian_matches_expected_closed_form_including_boundary_terms():
    W, W_star = CONFIG.W, CONFIG.W_star
    z = _bonferroni_z(2 * W.size ** 2)
    for loss in ("sobolev", "h1"):
        est = monte_carlo_hessian(W, W_star, loss, n_samples=100_000, seed=1)
        exact = theory.population_hessian(W, W_star, loss, convention="expected")
        assert np.all(np.abs(est.hessian - exact) <= z * est.stderr), loss
        assert est.stderr.max() < 0.02


def test_pointwise_autograd_hessian_misses_the_boundary_terms():
    """For relu's Sobolev part the average of pointwise Hessians is E[1{w_i·x>0}1{w_k·x>0}]·I per
    block (step derivative 0); the Jacobian of the expected field differs from it."""
    W, W_star = CONFIG.W, CONFIG.W_star
    K, d = W.shape
    X = np.random.default_rng(3).standard_normal((200_000, d))
    steps = (X @ W.T > 0).astype(float)
    both = steps.T @ steps / X.shape[0]                   # E[s_i s_k]
    pointwise_mean = np.kron(both, np.eye(d))
    est = monte_carlo_hessian(W, W_star, "sobolev", n_samples=150_000, seed=2)
    exact = theory.population_hessian(W, W_star, "sobolev", convention="expected")
    z = np.abs(est.hessian - pointwise_mean) / est.stderr
    assert z.max() > 20
    assert np.abs(pointwise_mean - exact).max() > 0.05


def test_hessian_raises_on_parallel_rows_for_sobolev():
    teacher = make_configuration(2, 2, 3, seed=0, at="teacher")
    with pytest.raises(theory.NonDifferentiableError):
        monte_carlo_hessian(teacher.W, teacher.W_star, "h1", n_samples=1000)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_samples": 0}, "n_samples"),
    ({"n_samples": 100, "batch_size": -1}, "batch_size"),
    ({"n_samples": 100, "seed": "a"}, "seed"),
    ({"n_samples": 100, "confidence": 1.5}, "confidence"),
    ({"n_samples": 100, "activation": "swish"}, "activation"),
    ({"n_samples": 100, "loss": "l1"}, "loss"),
    ({"n_samples": 100, "sobolev_weight": -1}, "sobolev_weight"),
])
def test_bad_input_raises_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        monte_carlo(CONFIG.W, CONFIG.W_star, **kwargs)


@pytest.mark.slow
def test_hundred_million_samples_stream():
    W, W_star = CONFIG.W, CONFIG.W_star
    tracemalloc.start()
    est = monte_carlo(W, W_star, "h1", n_samples=10**8, seed=0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50e6
    assert abs(est.value - theory.population_loss(W, W_star)) < 5 * est.value_stderr
