"""Bad input covariances are refused by name: complex, empty (library and CLI)."""

from __future__ import annotations

import numpy as np
import pytest

import theory

W = np.array([[1.0, 0.2, -0.3], [0.1, 0.9, 0.4]])
W_STAR = np.eye(3)[:2]


@pytest.mark.parametrize("activation", ("relu", "erf"))
@pytest.mark.parametrize("sigma", (
    np.eye(3) * (1 + 1e-3j),
    np.eye(3).astype(complex),            # imaginary part exactly 0: still a complex array
    [[1, 0, 0], [0, 1j, 0], [0, 0, 1]],
))
def test_complex_covariance_is_refused(sigma, activation):
    """A complex Σ was accepted with a ComplexWarning and gave the Σ = I value."""
    with pytest.raises(ValueError, match="input_covariance has complex entries"):
        theory.population_loss(W, W_STAR, "l2", activation=activation, input_covariance=sigma)


def test_complex_spiked_factor_is_refused():
    with pytest.raises(ValueError, match="input_covariance.factor has complex"):
        theory.population_loss(W, W_STAR, "l2", input_covariance=theory.SpikedCovariance(
            np.array([[1j], [0], [0]])))


@pytest.mark.parametrize("sigma", (np.zeros((0, 0)), [], np.zeros((0,))))
def test_empty_covariance_is_refused(sigma):
    with pytest.raises(ValueError, match="input_covariance is empty"):
        theory.population_loss(W, W_STAR, "l2", input_covariance=sigma)
