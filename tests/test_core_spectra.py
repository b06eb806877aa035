"""Spectra and condition numbers: dense vs structured, and the definitions of κ."""

import math

import numpy as np
import pytest
from hypothesis import given

import theory
from proofs_check import strategies as sv


@pytest.mark.parametrize("convention", ["expected", "exact"])
@pytest.mark.parametrize("loss", ["l2", "sobolev", "h1"])
@given(config=sv.configurations(max_width=3, max_teacher_width=2, min_dim=4, max_dim=8,
                                min_sine=0.05))
def test_structured_spectrum_equals_dense(loss, convention, config):
    W, W_star = config
    dense = theory.spectrum(W, W_star, loss, convention=convention, method="dense")
    structured = theory.spectrum(W, W_star, loss, convention=convention, method="structured")
    assert dense.shape == structured.shape == (W.size,)
    scale = max(1.0, np.abs(dense).max())
    # Compare as multisets: sort by (real, imag) rounded to the tolerance.
    key = lambda v: np.lexsort((np.round(v.imag, 8), np.round(v.real, 8)))  # noqa: E731
    np.testing.assert_allclose(dense[key(dense)], structured[key(structured)],
                               atol=1e-9 * scale)


def test_structured_spectrum_at_large_dimension_matches_dense_at_moderate_d():
    """K = 4, d = 150 dense vs structured, then d = 10^6 structured: the complement eigenvalues
    are the same matrix Γ, repeated d − dim S times."""
    rng = np.random.default_rng(0)
    W_star = rng.normal(size=(4, 150)) / math.sqrt(150)
    W = W_star + 0.1 * rng.normal(size=(4, 150)) / math.sqrt(150)
    dense = theory.spectrum(W, W_star, "h1", convention="exact", method="dense")
    structured = theory.spectrum(W, W_star, "h1", convention="exact", method="structured")
    np.testing.assert_allclose(np.sort(dense), np.sort(structured), atol=1e-9)
    big = np.zeros((4, 10**6)), np.zeros((4, 10**6))
    big[0][:, :150], big[1][:, :150] = W, W_star  # same geometry embedded in R^(10^6)
    values = theory.spectrum(*big, "h1", convention="exact", method="structured")
    assert values.shape == (4 * 10**6,)
    np.testing.assert_allclose(np.unique(np.round(values, 9)), np.unique(np.round(dense, 9)))


def test_spectrum_is_sorted_real_for_symmetric_and_sorted_by_real_part_otherwise():
    rng = np.random.default_rng(1)
    W, W_star = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    values = theory.spectrum(W, W_star, "l2")
    assert values.dtype == np.float64 and np.all(np.diff(values) >= 0)
    values = theory.spectrum(W, W_star, "h1", convention="expected")
    assert np.all(np.diff(np.real(values)) >= 0)
    H = theory.population_hessian(W, W_star, "h1", convention="expected")
    np.testing.assert_allclose(np.sort_complex(values), np.sort_complex(np.linalg.eigvals(H)),
                               atol=1e-10)


def test_condition_number_definition_and_infinity():
    rng = np.random.default_rng(2)
    W_star = rng.normal(size=(2, 3))
    W = W_star + 0.05 * rng.normal(size=(2, 3))
    values = np.linalg.eigvalsh(theory.population_hessian(W, W_star, "l2"))
    assert theory.condition_number(W, W_star, "l2") == pytest.approx(values[-1] / values[0])
    # Far from the teacher the Hessian is indefinite: κ is reported as inf, not a negative ratio.
    W_far = np.array([[1.0, 0.0, 0.0], [-1.0, 0.2, 0.0]])
    assert np.linalg.eigvalsh(theory.population_hessian(W_far, W_star, "l2"))[0] < 0
    assert theory.condition_number(W_far, W_star, "l2") == math.inf


def test_one_neuron_l2_hessian_spectrum_matches_hand_calculation():
    """One neuron, d = 3, |w| = |w*| = 1, θ = π/2: ∇²L = ½I − (1/2π)(I − vvᵀ + eeᵀ), so the
    eigenvalues are ½ (along v), ½ − 1/(2π) (out of plane) and ½ − 1/π (along e)."""
    values = theory.spectrum([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], "l2")
    np.testing.assert_allclose(values, sorted([0.5, 0.5 - 1 / (2 * np.pi), 0.5 - 1 / np.pi]),
                               atol=1e-15)


@pytest.mark.parametrize("convention", ["expected", "exact"])
@pytest.mark.parametrize("loss", ["l2", "sobolev", "h1"])
@pytest.mark.parametrize("offset", [0.3, 1e-3])
def test_condition_number_equals_the_extremes_of_the_full_dense_spectrum(loss, convention,
                                                                         offset):
    """κ computed from extreme eigenvalues only (no expanded complement, span coordinates from
    the Gram matrix or an SVD) equals max Re λ / min Re λ of numpy's eigenvalues of the full
    dense (K·d)² Jacobian."""
    rng = np.random.default_rng(4)
    W_star = rng.normal(size=(2, 40)) / np.sqrt(40)
    W = W_star + offset * rng.normal(size=(2, 40))
    H = theory.population_hessian(W, W_star, loss, convention=convention)
    real = np.linalg.eigvals(H).real
    expected = real.max() / real.min() if real.min() > 0 else math.inf
    kappa = theory.condition_number(W, W_star, loss, convention=convention)
    assert kappa == pytest.approx(expected, rel=1e-9)
