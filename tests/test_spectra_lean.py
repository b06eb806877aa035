"""Memory-lean spectra: the matrix-free product near parallel pairs (explicit frame directions)
against the dense assembly, the span used before any full-d pair array, and the memory check
made before any O(d) pass, with a refusal that names a width that fits."""

from __future__ import annotations

import math

import numpy as np
import pytest

import theory
import theory.spectra as spectra
from theory import validation
from theory.assembly import make_problem, problem_jacobian
from theory.operators import EXPLICIT_FRAME_BELOW, jacobian_product
from theory.structure import GRAM_BASIS_MIN_D
from theory.validation import MemoryLimitError


def _problem(W, W_star, loss, activation, convention):
    return make_problem(W, W_star, loss, activation=activation, convention=convention,
                        sobolev_weight=0.7, second_order_weight=0.4, input_covariance=None)


@pytest.mark.parametrize("activation", ("relu", "leaky_relu(0.2)"))
@pytest.mark.parametrize(("loss", "convention"), (("l2", "exact"), ("h1", "exact"),
                                                  ("h1", "expected"), ("sobolev", "expected")))
@pytest.mark.parametrize("sine", (3e-4, 2e-6, 1e-9))
def test_product_with_nearly_parallel_pairs_equals_the_dense_jacobian(activation, loss,
                                                                      convention, sine):
    """Pairs with sin θ < EXPLICIT_FRAME_BELOW (a student pair and a student-teacher pair) take
    the explicit frame direction; the product must still equal the assembled matrix."""
    assert sine < EXPLICIT_FRAME_BELOW
    rng = np.random.default_rng(7)
    K, K_star, m = 5, 3, 9
    W = rng.standard_normal((K, m)) / 3
    W_star = rng.standard_normal((K_star, m)) / 3
    W[1] = 1.3 * W[0] + sine * np.linalg.norm(W[0]) * W[2] / np.linalg.norm(W[2])
    W[3] = 0.8 * W_star[2] + sine * np.linalg.norm(W_star[2]) * W[4] / np.linalg.norm(W[4])
    p = _problem(W, W_star, loss, activation, convention)
    J = problem_jacobian(p).dense.reshape(K * m, K * m)
    product = jacobian_product(p)
    X = rng.standard_normal((4, K, m))
    Y = np.stack([product(x).reshape(-1) for x in X], axis=1)
    expected = J @ X.reshape(4, -1).T
    np.testing.assert_allclose(Y, expected, rtol=0, atol=1e-12 * np.abs(expected).max())
    np.testing.assert_allclose(product.complement, problem_jacobian(p, dense=False).complement,
                               rtol=1e-14, atol=1e-14)


def test_l2_product_at_exactly_parallel_pairs_equals_the_dense_jacobian():
    """relu's L2 blocks are continuous at θ = 0: the product exists at the teacher itself."""
    rng = np.random.default_rng(8)
    W_star = rng.standard_normal((3, 7))
    W = np.vstack([W_star, 2.0 * W_star[:1]])
    p = _problem(W, W_star, "l2", "relu", "exact")
    J = problem_jacobian(p).dense.reshape(4 * 7, 4 * 7)
    x = rng.standard_normal((4, 7))
    np.testing.assert_allclose(jacobian_product(p)(x).reshape(-1), J @ x.reshape(-1),
                               rtol=0, atol=1e-13 * np.abs(J).max() * np.abs(x).max() * 28)


def test_memory_is_checked_before_any_pass_over_the_d_long_rows(monkeypatch):
    """A refused request never reaches the Gram pass, and the message names a width that
    fits at this d; that width is then computed."""
    rng = np.random.default_rng(9)
    d = GRAM_BASIS_MIN_D + 100
    W, W_star = rng.standard_normal((40, d)), rng.standard_normal((40, d))

    def no_gram(blocks):
        raise AssertionError("the Gram pass ran before the memory check")

    monkeypatch.setattr(spectra, "gram_coordinates", no_gram)
    monkeypatch.setattr(validation, "ALWAYS_ALLOWED_BYTES", 0)
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: 16 * 10**6)
    with pytest.raises(MemoryLimitError, match="matrix-free") as refused:
        theory.condition_number(W, W_star, "h1")
    message = str(refused.value)
    assert f"d = {d}" in message
    fits = int(message.split("a width K <= ")[1].split()[0])
    assert 1 <= fits < 40
    def need(k):  # the planned bytes of κ's solve at width k (m <= k + K*)
        return spectra._solve_bytes(k, 40, k + 40, True, "auto")

    assert need(fits) <= 8 * 10**6  # half the available memory
    assert all(need(k) > 8 * 10**6 for k in range(fits + 1, 41))
    monkeypatch.undo()
    monkeypatch.setattr(validation, "ALWAYS_ALLOWED_BYTES", 0)
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: 16 * 10**6)
    assert theory.condition_number(W[:fits], W_star, "h1") > 0


def test_no_full_dimension_pair_arrays_below_the_gram_dimension(monkeypatch):
    """K + K* < d <= GRAM_BASIS_MIN_D: the problem is reduced to the span before its pair
    arrays exist, so a memory budget far below K·(K+K*)·d pair arrays still answers, with the
    κ of the full structured method."""
    rng = np.random.default_rng(10)
    K, d = 30, 2000
    W, W_star = rng.standard_normal((K, d)) / 40, rng.standard_normal((K, d)) / 40
    reference = theory.condition_number(W, W_star, "l2")
    full_pairs = validation.pair_bytes(K, K, d)
    monkeypatch.setattr(validation, "ALWAYS_ALLOWED_BYTES", 0)
    budget = 2 * 10**8
    assert full_pairs > budget / 2
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: budget)
    assert theory.condition_number(W, W_star, "l2") == pytest.approx(reference, rel=1e-10)
    with pytest.raises(MemoryLimitError, match="pair arrays"):
        theory.population_hessian(W, W_star, "l2")  # the full-d assembly is still refused


def test_span_first_kappa_equals_the_dense_kappa_at_small_d():
    """The span-first route (K + K* < d) against the whole dense (K·d)² spectrum."""
    rng = np.random.default_rng(11)
    W, W_star = rng.standard_normal((3, 12)), rng.standard_normal((2, 12))
    for activation in ("relu", "erf"):
        dense = theory.spectrum(W, W_star, "h1", convention="exact", activation=activation,
                                method="dense")
        kappa = theory.condition_number(W, W_star, "h1", convention="exact",
                                        activation=activation)
        expected = dense.real.max() / dense.real.min() if dense.real.min() > 0 else math.inf
        assert kappa == pytest.approx(expected, rel=1e-10)
