"""The lean paths that keep small problems cheap agree with the general ones.

Small spectra, condition numbers and Hessians are dominated by per-call overhead, so theory
takes a few shortcuts there: float64 weight arrays are checked by whole-array reductions (the
detailed checks run only to name a problem), small pair arrays are broadcast by copying, the
relu-family Jacobian sums the loss terms' frame coefficients before forming any block (over one
joint (K, K + K*) pair geometry), and the smooth Jacobian evaluates its kernels once on the rows
(W, W*) with the teacher pairs signed −1. Each is checked here against an independent
evaluation: the general path, or the blocks assembled pair by pair.
"""

from __future__ import annotations

import numpy as np
import pytest

import theory
from theory import assembly, kernels, pair_frame
from theory.activations import get_activation

ENTRY_POINTS = {
    "population_hessian": lambda W, Ws: theory.population_hessian(W, Ws),
    "spectrum": lambda W, Ws: theory.spectrum(W, Ws),
    "condition_number": lambda W, Ws: theory.condition_number(W, Ws),
    "population_gradient": lambda W, Ws: theory.population_gradient(W, Ws),
}


def _bad(d: int):
    rng = np.random.default_rng(0)
    W, W_star = rng.normal(size=(2, d)), rng.normal(size=(1, d))
    nan_W = W.copy()
    nan_W[1, 2] = np.nan
    inf_star = W_star.copy()
    inf_star[0, 0] = np.inf
    zero_W = W.copy()
    zero_W[0] = 0.0
    zero_star = np.zeros_like(W_star)
    return [
        (nan_W, W_star, r"W has a non-finite entry \(.*nan.* at row 1, column 2\)"),
        (W, inf_star, r"W_star has a non-finite entry \(.*inf.* at row 0, column 0\)"),
        (zero_W, W_star, r"W has zero-norm row\(s\) \[0\]"),
        (W, zero_star, r"W_star has zero-norm row\(s\) \[0\]"),
        (W, W_star[:, :-1], rf"W has d={d}, W_star has d={d - 1}"),
    ]


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("d", [3, 8])  # K + K* >= d (dense) and < d (reduced to the span)
def test_bad_float64_arrays_raise_the_error_naming_the_argument(name, d):
    for W, W_star, match in _bad(d):
        with pytest.raises(ValueError, match=match):
            ENTRY_POINTS[name](W, W_star)


def test_checked_weights_never_alias_the_callers_array():
    W = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, -0.5]])
    from theory.validation import as_weight_matrix

    for copy in (True, False):
        checked = as_weight_matrix(W, "W", copy=copy)
        assert not np.shares_memory(checked, W)
        np.testing.assert_array_equal(checked, W)
    one = as_weight_matrix(W[0], "W")
    assert one.shape == (1, 3) and not np.shares_memory(one, W)


@pytest.mark.parametrize("frame", [True, False])
def test_small_pair_arrays_broadcast_by_copy_give_the_same_geometry(monkeypatch, frame):
    rng = np.random.default_rng(1)
    W = rng.normal(size=(3, 4))
    rows = np.vstack([W, 2.0 * W[0], -W[1], rng.normal(size=(2, 4))])  # parallel, antiparallel
    small = kernels.pair_geometry(W[:, None, :], rows[None, :, :], frame)
    monkeypatch.setattr(kernels, "SMALL_BROADCAST_ENTRIES", 0)  # np.broadcast_arrays instead
    general = kernels.pair_geometry(W[:, None, :], rows[None, :, :], frame)
    for name in ("norm_a", "norm_b", "theta", "sin", "cos", "a_hat", "e", "degenerate"):
        left, right = getattr(small, name), getattr(general, name)
        if left is None:
            assert right is None
            continue
        assert left.shape == (3, 7, 4)[:left.ndim]
        np.testing.assert_array_equal(left, right, err_msg=name)


def _pair_by_pair(p: assembly.Problem) -> tuple[np.ndarray, np.ndarray]:
    """The relu-family Jacobian (Σ = I) block by block from the module formulas of
    theory.assembly: ∂F_i/∂w_i = ½I + Σ_{j≠i} A(w_i, w_j) − Σ_j A(w_i, w*_j), ∂F_i/∂w_k =
    B(w_i, w_k), each term and pair separately (frame_to_matrix), then (1 − α)² times that
    plus α(w₀ + w₁) on every block for leaky relu."""
    W, W_star = p.W, p.W_star
    K, d = W.shape
    J = np.zeros((K, d, K, d))
    gamma = np.zeros((K, K))
    for weight, kind in p.relu_terms:
        for i in range(K):
            J[i, :, i, :] += weight * 0.5 * np.eye(d)
            gamma[i, i] += weight * 0.5
            for rows, sign in ((W, 1.0), (W_star, -1.0)):
                for j, b in enumerate(rows):
                    if sign > 0 and j == i:
                        continue
                    g = kernels.pair_geometry(W[i], b)
                    blocks = kernels.frame_blocks(kind, g)
                    J[i, :, i, :] += sign * weight * kernels.frame_to_matrix(
                        blocks.gamma_A, blocks.C_A, g.a_hat, g.e)
                    gamma[i, i] += sign * weight * blocks.gamma_A
                    if sign > 0:
                        J[i, :, j, :] += weight * kernels.frame_to_matrix(
                            blocks.gamma_B, blocks.C_B, g.a_hat, g.e)
                        gamma[i, j] += weight * blocks.gamma_B
    alpha = p.activation.slope
    if alpha:
        linear = alpha * (p.weights.get(0, 0.0) + p.weights.get(1, 0.0))
        J = (1 - alpha) ** 2 * J + alpha * (p.weights.get(0, 0.0) * np.eye(d)
                                            + p.weights.get(1, 0.0) * np.eye(d))[None, :, None, :]
        gamma = (1 - alpha) ** 2 * gamma + linear
    return J.reshape(K * d, K * d), gamma


@pytest.mark.parametrize("activation", ["relu", "leaky_relu(0.2)"])
@pytest.mark.parametrize("loss", ["l2", "sobolev", "h1"])
@pytest.mark.parametrize("convention", ["expected", "exact"])
@pytest.mark.parametrize(("K", "K_star", "d"), [(1, 1, 2), (2, 2, 2), (2, 3, 3), (3, 2, 5)])
def test_relu_family_jacobian_equals_the_pair_by_pair_assembly(activation, loss, convention, K,
                                                               K_star, d):
    rng = np.random.default_rng([K, K_star, d])
    W, W_star = rng.normal(size=(K, d)), rng.normal(size=(K_star, d))
    p = assembly.make_problem(W, W_star, loss, activation=activation, convention=convention,
                              sobolev_weight=0.7, second_order_weight=1.0,
                              input_covariance=None)
    parts = assembly.problem_jacobian(p)
    expected, gamma = _pair_by_pair(p)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(parts.dense.reshape(K * d, K * d), expected, rtol=0,
                               atol=1e-13 * scale)
    np.testing.assert_allclose(parts.complement, gamma, rtol=0, atol=1e-13 * np.abs(gamma).max())


@pytest.mark.parametrize("activation", ["erf", "gelu", "sine"])
@pytest.mark.parametrize("loss", ["l2", "h1", "h2"])
def test_smooth_jacobian_from_one_signed_grid_equals_separate_grids(activation, loss):
    """The student and teacher pair sums formed separately (two grids, unsigned partials) and
    subtracted, as theory.pair_frame's docstring writes the Hessian."""
    rng = np.random.default_rng(7)
    K, d = 3, 4
    W, W_star = 0.8 * rng.normal(size=(K, d)), 0.8 * rng.normal(size=(2, d))
    p = assembly.make_problem(W, W_star, loss, activation=activation, convention="exact",
                              sobolev_weight=0.6, second_order_weight=0.3,
                              input_covariance=None)
    partials = get_activation(activation).partials
    gs, gt = pair_frame.grams(W, W, None), pair_frame.grams(W, W_star, None)
    cs = pair_frame.exact_coefficients(
        pair_frame.pair_derivatives(partials, p.weights, gs.sa, gs.sb, gs.c, gs.e, 2))
    ct = pair_frame.exact_coefficients(
        pair_frame.pair_derivatives(partials, p.weights, gt.sa, gt.sb, gt.c, gt.e, 2))
    sum_s, scalar_s = pair_frame.diagonal_sum(cs, gs, None)
    sum_t, scalar_t = pair_frame.diagonal_sum(ct, gt, None)
    blocks, complement = pair_frame.pair_blocks(cs, gs, None)
    blocks[np.arange(K), :, np.arange(K), :] += sum_s - sum_t
    complement = complement + np.diag(scalar_s - scalar_t)
    parts = assembly.problem_jacobian(p)
    np.testing.assert_allclose(parts.dense, blocks, rtol=0, atol=1e-13 * np.abs(blocks).max())
    np.testing.assert_allclose(parts.complement, complement, rtol=0,
                               atol=1e-13 * np.abs(complement).max())


def test_signed_pair_derivatives_are_exact_negations():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2, 3))
    g = pair_frame.grams(X, np.vstack([X, rng.normal(size=(2, 3))]), None)
    sign = np.array([1.0, 1.0, -1.0, -1.0])
    partials = get_activation("gelu").partials
    weights = {0: 1.0, 1: 0.5, 2: 0.25}
    plain = pair_frame.pair_derivatives(partials, weights, g.sa, g.sb, g.c, g.e, 2)
    signed = pair_frame.pair_derivatives(partials, weights, g.sa, g.sb, g.c, g.e, 2, sign=sign)
    np.testing.assert_array_equal(signed.value, plain.value * sign)
    for key in plain.first:
        np.testing.assert_array_equal(signed.first[key], plain.first[key] * sign)
    for key in plain.second:
        np.testing.assert_array_equal(signed.second[key], plain.second[key] * sign)


def test_smooth_partials_are_a_tuple_of_the_stacked_rows():
    sa, sb, cc = np.array([[0.5], [1.5]]), np.array([[0.8, 0.3]]), np.array([[0.1, -0.2],
                                                                            [0.4, 0.6]])
    values = get_activation("erf").partials(1, 2, sa, sb, cc)
    assert isinstance(values, tuple) and len(values) == 10
    for index, value in enumerate(values):
        assert value.shape == (2, 2)
        np.testing.assert_array_equal(value, values.stacked[index])
