"""Training on sampled data (numerics.training)."""

import math

import numpy as np
import pytest
from scipy.optimize import approx_fprime

import theory
from numerics.training import batch_loss_and_gradient, sample_teacher_data, train

RNG = np.random.default_rng(3)
W_STAR = RNG.normal(size=(2, 3)) / math.sqrt(3)
W0 = W_STAR + 0.5 * RNG.normal(size=(2, 3)) / math.sqrt(3)


@pytest.mark.parametrize("loss", ["l2", "sobolev", "h1"])
def test_large_sample_gradient_matches_the_expected_population_gradient(loss):
    # Independent evaluation: the closed-form expected-convention field; error bars from 20
    # independent batch means (standard error of their mean), tolerance 5 standard errors.
    rng = np.random.default_rng(7)
    grads = []
    for _ in range(20):
        X, y, dy = sample_teacher_data(W_STAR, 20_000, rng)
        grads.append(batch_loss_and_gradient(W0, X, y, dy, loss, 0.7)[1])
    grads = np.array(grads)
    mean, stderr = grads.mean(axis=0), grads.std(axis=0, ddof=1) / math.sqrt(len(grads))
    exact = theory.population_gradient(W0, W_STAR, loss, convention="expected",
                                       sobolev_weight=0.7)
    assert np.all(np.abs(mean - exact) <= 5 * stderr + 1e-12)


@pytest.mark.parametrize("activation", ["gelu", "tanh", "sine"])
def test_smooth_activation_gradient_is_the_gradient_of_the_batch_loss(activation):
    rng = np.random.default_rng(1)
    X, y, dy = sample_teacher_data(W_STAR, 256, rng, activation)

    def value(flat):
        return batch_loss_and_gradient(flat.reshape(2, 3), X, y, dy, "h1", 0.7, activation)[0]

    grad = batch_loss_and_gradient(W0, X, y, dy, "h1", 0.7, activation)[1]
    numeric = approx_fprime(W0.ravel(), value, 1e-7)
    np.testing.assert_allclose(grad.ravel(), numeric, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("optimizer", ["gd", "sgd"])
@pytest.mark.parametrize("loss", ["l2", "h1"])
def test_training_decreases_train_and_test_loss(optimizer, loss):
    result = train(W0, W_STAR, loss, optimizer=optimizer, lr=0.5, steps=200, n_train=2048,
                   n_test=2048, record_every=50, seed=4)
    # L2 is the slowly converging (ill-conditioned) loss: in 200 steps it falls ~3.4× here
    # (0.070 -> 0.0205), H1 more than 100×; each is asked for its own documented decrease.
    factor = 0.5 if loss == "l2" else 1e-2
    assert result.train_loss[-1] < factor * result.train_loss[0]
    assert result.test_loss[-1] < factor * result.test_loss[0]
    # At step 0 both are estimates of the same population loss (MC error bars).
    population = theory.population_loss(W0, W_STAR, loss)
    assert abs(result.test_loss[0] - population) <= 5 * result.test_stderr[0]


def test_seeded_runs_are_reproducible_and_h1_beats_l2_at_equal_budget():
    a = train(W0, W_STAR, "l2", optimizer="sgd", lr=0.3, steps=100, seed=9, record_every=100)
    b = train(W0, W_STAR, "l2", optimizer="sgd", lr=0.3, steps=100, seed=9, record_every=100)
    np.testing.assert_array_equal(a.train_loss, b.train_loss)
    h1 = train(W0, W_STAR, "h1", optimizer="sgd", lr=0.3, steps=100, seed=9, record_every=100)
    # Compare on the same yardstick: the population L2 loss of the final weights.
    assert theory.population_loss(h1.W, W_STAR, "l2") < theory.population_loss(a.W, W_STAR, "l2")


def test_bad_settings_and_divergence_are_reported():
    with pytest.raises(ValueError, match="optimizer"):
        train(W0, W_STAR, optimizer="adam")
    with pytest.raises(ValueError, match="lr"):
        train(W0, W_STAR, lr=-1.0)
    with pytest.raises(ValueError, match="batch_size"):
        train(W0, W_STAR, optimizer="sgd", batch_size=100, n_train=10)
    with pytest.raises(ValueError, match="diverged"):
        train(W0, W_STAR, "h1", lr=1e6, steps=50, activation="gelu")
