"""numerics.train with the second-order loss and anisotropic inputs."""

import math

import numpy as np
import pytest

from numerics.quadrature import quadrature
from numerics.training import (
    sample_teacher_data,
    second_order_loss_and_gradient,
    teacher_input_hessians,
    train,
)


def _setup(seed=0):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(2, 3)) / math.sqrt(3)
    W_star = rng.normal(size=(2, 3)) / math.sqrt(3)
    A = rng.normal(size=(3, 3))
    return W, W_star, A @ A.T / 3 + 0.5 * np.eye(3)


def test_second_order_gradient_is_the_derivative_of_the_batch_loss():
    W, W_star, _ = _setup()
    X = np.random.default_rng(1).standard_normal((500, 3))
    d2y = teacher_input_hessians(W_star, X, "sine")
    _, grad = second_order_loss_and_gradient(W, X, d2y, "sine")
    h = 1e-6
    for idx in np.ndindex(W.shape):
        step = np.zeros_like(W)
        step[idx] = h
        plus = second_order_loss_and_gradient(W + step, X, d2y, "sine")[0].mean()
        minus = second_order_loss_and_gradient(W - step, X, d2y, "sine")[0].mean()
        assert grad[idx] == pytest.approx((plus - minus) / (2 * h), rel=1e-6, abs=1e-9)


def test_sampled_inputs_have_the_requested_covariance():
    _, W_star, sigma = _setup()
    X, _, _ = sample_teacher_data(W_star, 200_000, np.random.default_rng(2), "gelu", sigma)
    assert np.allclose(np.cov(X.T), sigma, atol=0.02)


def test_h2_test_loss_estimates_the_population_loss_under_sigma():
    """At step 0 the fresh-sample h2 loss is a Monte-Carlo estimate of quadrature's value."""
    W, W_star, sigma = _setup(3)
    result = train(W, W_star, "h2", activation="gelu", steps=1, lr=1e-6, n_train=64,
                   n_test=100_000, input_covariance=sigma, second_order_weight=0.7)
    population = quadrature(W, W_star, "h2", activation="gelu", input_covariance=sigma,
                            second_order_weight=0.7, hessian=False).loss
    assert abs(result.test_loss[0] - population) < 4 * result.test_stderr[0]


def test_identity_covariance_reproduces_isotropic_training_exactly():
    W, W_star, _ = _setup(4)
    a = train(W, W_star, "h1", activation="gelu", steps=5, n_train=256, n_test=256)
    b = train(W, W_star, "h1", activation="gelu", steps=5, n_train=256, n_test=256,
              input_covariance=np.eye(3))
    assert np.array_equal(a.W, b.W) and np.array_equal(a.test_loss, b.test_loss)


def test_h2_training_lowers_the_loss_and_rejects_relu():
    W, W_star, sigma = _setup(5)
    result = train(W, W_star, "h2", activation="sine", steps=30, lr=0.05, n_train=2048,
                   input_covariance=sigma)
    assert result.train_loss[-1] < result.train_loss[0]
    with pytest.raises(ValueError, match="Dirac"):
        train(W, W_star, "h2", activation="relu", steps=1)
