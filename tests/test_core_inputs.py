"""Bad input gets a ValueError naming the argument; non-existent derivatives say which pair."""

import math

import numpy as np
import pytest

import theory

W_OK = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, -0.5]])
W_STAR_OK = np.array([[0.8, 0.1, 0.3]])

ENTRY_POINTS = [
    lambda W, Ws, **kw: theory.population_loss(W, Ws, **kw),
    lambda W, Ws, **kw: theory.population_gradient(W, Ws, **kw),
    lambda W, Ws, **kw: theory.population_hessian(W, Ws, **kw),
    lambda W, Ws, **kw: theory.spectrum(W, Ws, **kw),
    lambda W, Ws, **kw: theory.condition_number(W, Ws, **kw),
]


@pytest.mark.parametrize("call", ENTRY_POINTS)
@pytest.mark.parametrize(
    ("W", "W_star", "match"),
    [
        ([[1.0, np.nan, 0.0]], W_STAR_OK, r"W has a non-finite entry .*row 0, column 1"),
        (W_OK, [[np.inf, 0.0, 1.0]], r"W_star has a non-finite entry"),
        ([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]], W_STAR_OK, r"W has zero-norm row\(s\) \[0\]"),
        (W_OK, [[0.0, 0.0, 0.0]], r"W_star has zero-norm row"),
        (W_OK, [[1.0, 2.0]], r"same input dimension d: W has d=3, W_star has d=2"),
        (np.zeros((0, 3)), W_STAR_OK, r"W is empty"),
        ([], W_STAR_OK, r"W is empty"),
        (np.ones((2, 2, 2)), W_STAR_OK, r"W must have shape \(neurons, d\)"),
        ([["a", "b", "c"]], W_STAR_OK, r"W must be a numeric array"),
    ],
)
def test_bad_weights_raise_value_error_naming_the_argument(call, W, W_star, match):
    with pytest.raises(ValueError, match=match):
        call(W, W_star)


@pytest.mark.parametrize("call", ENTRY_POINTS[1:])
def test_unknown_names_and_negative_weight(call):
    with pytest.raises(ValueError, match="loss must be one of"):
        call(W_OK, W_STAR_OK, loss="H1")
    with pytest.raises(ValueError, match="convention must be one of"):
        call(W_OK, W_STAR_OK, convention="autograd")
    for bad in (-1.0, math.nan, math.inf, "x"):
        with pytest.raises(ValueError, match="sobolev_weight must be"):
            call(W_OK, W_STAR_OK, sobolev_weight=bad)


def test_unknown_spectrum_method():
    with pytest.raises(ValueError, match="method must be one of"):
        theory.spectrum(W_OK, W_STAR_OK, method="fast")


def test_one_dimensional_input_is_one_neuron():
    assert theory.population_gradient([1.0, 2.0], [2.0, 1.0]).shape == (1, 2)
    assert theory.population_hessian([1.0, 2.0], [2.0, 1.0]).shape == (2, 2)


@pytest.mark.parametrize("convention", ["expected", "exact"])
@pytest.mark.parametrize(
    ("W", "W_star", "pair"),
    [
        ([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [[1.0, 0.0, 0.0]],
         "student row 0 and teacher row 0 are parallel"),
        ([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]], [[0.0, -3.0, 0.0]],
         "student row 1 and teacher row 0 are antiparallel"),
        ([[1.0, 0.0, 0.0], [3.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]],
         "student row 0 and student row 1 are parallel"),
    ],
)
def test_sobolev_hessian_at_parallel_pairs_names_the_pair(W, W_star, pair, convention):
    with pytest.raises(theory.NonDifferentiableError, match=pair):
        theory.population_hessian(W, W_star, "h1", convention=convention)
    with pytest.raises(theory.NonDifferentiableError, match=pair):
        theory.spectrum(W, W_star, "sobolev", convention=convention)
    # The l2 Hessian exists there, and so does h1 with a zero Sobolev weight.
    l2 = theory.population_hessian(W, W_star, "l2")
    assert np.isfinite(l2).all()
    np.testing.assert_array_equal(
        theory.population_hessian(W, W_star, "h1", convention=convention, sobolev_weight=0.0), l2)


def test_exact_sobolev_gradient_at_parallel_pair_raises_but_expected_exists():
    W, W_star = [[2.0, 0.0], [0.0, 1.0]], [[1.0, 0.0]]
    with pytest.raises(theory.NonDifferentiableError, match="exact Sobolev gradient"):
        theory.population_gradient(W, W_star, "sobolev", convention="exact")
    assert np.isfinite(theory.population_gradient(W, W_star, "sobolev")).all()


def test_no_nan_anywhere_for_valid_input_in_one_dimension():
    """d = 1: every pair is parallel or antiparallel; l2 quantities still exist."""
    W, W_star = [[1.0], [-2.0]], [[0.5], [1.5]]
    assert math.isfinite(theory.population_loss(W, W_star))
    assert np.isfinite(theory.population_gradient(W, W_star)).all()
    assert np.isfinite(theory.population_hessian(W, W_star, "l2")).all()
