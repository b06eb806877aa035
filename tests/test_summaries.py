"""proofs_check.analysis.summaries.spectrum_summary: the extreme-eigenvalue route above the
dense size agrees with the whole LAPACK spectrum, and says what it did not compute."""

from __future__ import annotations

import json

import numpy as np
import pytest

import theory
from proofs_check.analysis.summaries import spectrum_summary
from theory.configurations import make_configuration
from theory.spectra import DENSE_SPECTRUM_MAX_SIZE


@pytest.fixture(scope="module")
def large():
    """K = K* = 24, d = 60: the in-span matrix is 24·48 = 1152 > DENSE_SPECTRUM_MAX_SIZE wide."""
    config = make_configuration(24, 24, 60, seed=3)
    assert 24 * 48 > DENSE_SPECTRUM_MAX_SIZE
    return config.W, config.W_star


@pytest.mark.parametrize("loss, convention", [("l2", "expected"), ("h1", "exact"),
                                              ("h1", "expected")])
def test_extremes_above_the_dense_size_match_the_whole_spectrum(large, loss, convention):
    W, W_star = large
    values = theory.spectrum(W, W_star, loss, convention=convention)
    real = np.real(values)
    row = spectrum_summary(W, W_star, loss, convention, 1.0, "auto", imaginary_parts=False)
    assert row["eigensolver"].startswith("ARPACK")
    assert row["lambda_min"] == pytest.approx(real.min(), rel=1e-10)
    assert row["lambda_max"] == pytest.approx(real.max(), rel=1e-10)
    assert row["kappa"] == pytest.approx(real.max() / real.min(), rel=1e-10)
    if loss == "l2" or convention == "exact":  # symmetric: real spectrum, nothing left unsaid
        assert row["complex_eigenvalues"] is False and row["max_abs_imag"] == 0.0
        assert not np.iscomplexobj(values)
    else:
        assert row["complex_eigenvalues"] is None and row["max_abs_imag"] is None
        assert "not computed" in row["imaginary_reason"]
        json.dumps(row, allow_nan=False)  # strict JSON: null, never NaN


def test_imaginary_parts_of_a_large_nonsymmetric_jacobian_on_request(large):
    """The sweep's default: max |Im λ| over the whole spectrum, so LAPACK."""
    W, W_star = large
    row = spectrum_summary(W, W_star, "h1", "expected", 1.0, "auto")
    values = theory.spectrum(W, W_star, "h1", convention="expected")
    assert row["eigensolver"] == "LAPACK, whole spectrum"
    assert row["max_abs_imag"] == float(np.abs(np.imag(values)).max())


def test_small_problems_keep_the_whole_spectrum():
    config = make_configuration(3, 3, 5, seed=0)
    row = spectrum_summary(config.W, config.W_star, "h1", "exact", 1.0, "auto",
                           imaginary_parts=False)
    values = theory.spectrum(config.W, config.W_star, "h1", convention="exact")
    assert row["eigensolver"] == "LAPACK, whole spectrum"
    assert (row["lambda_min"], row["lambda_max"]) == (values.min(), values.max())
