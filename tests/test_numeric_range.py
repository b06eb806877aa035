"""Every representable input gives a correct finite answer or a clear error (issue 14).

References: tests/mp_reference.py (the Gaussian pair kernels at 50 digits with mpmath, whose
exponent range is unbounded) evaluated at the scaled weights themselves, so the checks do not
rely on the homogeneity the implementation uses.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import theory
from tests import mp_reference

W = np.array([[1.0, 0.3, -0.2], [0.1, 0.9, 0.4]])
W_STAR = np.array([[0.8, 0.1, 0.0], [0.2, 1.1, -0.3]])
SMALLEST_SUBNORMAL = math.ldexp(1.0, -1074)


@pytest.mark.parametrize("loss", ["l2", "sobolev", "h1"])
@pytest.mark.parametrize("c", [1e154, 3e153, 1e-150, 1e-154, 1.0])
def test_loss_is_correct_and_finite_at_extreme_normal_scales(loss, c):
    value = theory.population_loss(c * W, c * W_STAR, loss)
    reference = float(mp_reference.loss(c * W, c * W_STAR, loss))
    assert math.isfinite(value)
    assert value == pytest.approx(reference, rel=1e-12)


@pytest.mark.parametrize("c", [1e-160, 1e-162, 1e-170, 1e-300, 5e-324])
def test_tiny_weights_are_not_zero_rows_and_the_loss_is_correct_to_subnormal_precision(c):
    value = theory.population_loss(c * W, c * W_STAR, "h1")
    reference = float(mp_reference.loss(c * W, c * W_STAR, "h1"))  # rounded to float64
    assert value >= 0
    assert abs(value - reference) <= 2 * SMALLEST_SUBNORMAL


@pytest.mark.parametrize("c", [1e200, 1e300])
def test_loss_beyond_float64_is_a_clear_error_not_nan(c):
    assert float(mp_reference.loss(c * W, c * W_STAR, "l2")) == math.inf  # truly too large
    with pytest.raises(ValueError, match="exceeds float64's largest number"):
        theory.population_loss(c * W, c * W_STAR, "l2")


@pytest.mark.parametrize("c", [1e300, 1e-300, 1e-160])
def test_gradient_at_extreme_scales_matches_the_50_digit_reference(c):
    value = theory.population_gradient(c * W, c * W_STAR, "l2")
    reference = mp_reference.expected_gradient(c * W, c * W_STAR, "l2")
    assert np.all(np.isfinite(value))
    np.testing.assert_allclose(value, reference, rtol=1e-11, atol=1e-11 * c)


@pytest.mark.parametrize("c", [1e300, 1e-300])
def test_hessian_and_spectrum_at_extreme_scales(c):
    reference = mp_reference.hessian(W, W_STAR, "l2", "exact")  # degree-0: same at any scale
    hessian = theory.population_hessian(c * W, c * W_STAR, "l2")
    np.testing.assert_allclose(hessian, reference, rtol=1e-9, atol=1e-10)
    values = np.linalg.eigvalsh((reference + reference.T) / 2)
    kappa = theory.condition_number(c * W, c * W_STAR, "l2")
    assert kappa == pytest.approx(values.max() / values.min(), rel=1e-8)


@pytest.mark.parametrize("bad", [
    W + 0j,
    W.astype(complex) + 1e-3j,
    [[1.0, 2.0, 1j], [0.0, 1.0, 0.0]],
    np.array([[1.0, 2.0, 3j], [1, 1, 1]], dtype=object),
])
def test_complex_input_is_refused_not_truncated(bad):
    with pytest.raises(ValueError, match="complex"):
        theory.population_loss(bad, W_STAR)
    with pytest.raises(ValueError, match="complex"):
        theory.population_gradient(W, bad)


def test_integers_beyond_float64_are_refused_by_name():
    with pytest.raises(ValueError, match="W_star has an entry too large for float64"):
        theory.population_loss(W, [[1, 10**400, 0], [0, 1, 0]])


def test_rows_too_far_apart_in_scale_are_a_clear_error():
    with pytest.raises(ValueError, match="W row 1 is more than 1e135 times smaller"):
        theory.population_loss([[1e200, 0, 0], [1e-200, 0, 1e-200]], W_STAR)
