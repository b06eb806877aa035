"""theory.batched_field equals theory.population_gradient / population_loss student by student."""

from __future__ import annotations

import numpy as np
import pytest

import theory
from theory.batched_field import batched_field, batched_loss, field_plan

ACTIVATIONS = ["relu", "leaky_relu(0.1)", "erf", "sine", "gelu"]


def _stack(rng, S, K, d, scale):
    Ws = rng.standard_normal((S, K, d)) * scale
    # nearly parallel pairs: a student next to a teacher row, and two students next to each other
    Ws[0, 0] = np.eye(d)[0] + 1e-7 * rng.standard_normal(d)
    Ws[1, 1] = Ws[1, 0] * (1 + 1e-9) + 1e-9 * rng.standard_normal(d)
    Ws[2, 0] = -np.eye(d)[1] * 0.7 + 1e-6 * rng.standard_normal(d)
    return Ws


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("loss", ["l2", "h1"])
@pytest.mark.parametrize("K,K_star,d", [(4, 4, 4), (5, 4, 6), (3, 2, 7)])
def test_field_and_loss_equal_the_single_student_route(activation, loss, K, K_star, d):
    rng = np.random.default_rng([K, K_star, d, len(activation), len(loss)])
    W_star = np.eye(d)[:K_star].copy()
    Ws = _stack(rng, 6, K, d, 1 / np.sqrt(d))
    F = batched_field(Ws, W_star, loss, activation=activation, sobolev_weight=0.7)
    values = batched_loss(Ws, W_star, loss, activation=activation, sobolev_weight=0.7)
    for W, F_s, value in zip(Ws, F, values, strict=True):
        reference = theory.population_gradient(W, W_star, loss, convention="expected",
                                               activation=activation, sobolev_weight=0.7)
        scale = np.abs(np.concatenate((W, W_star))).sum()
        assert np.abs(F_s - reference).max() <= 1e-14 * scale
        ref_loss = theory.population_loss(W, W_star, loss, activation=activation,
                                          sobolev_weight=0.7)
        assert abs(value - ref_loss) <= 1e-14 * scale**2


def test_field_is_zero_at_the_teacher_and_small_next_to_it():
    W_star = np.eye(5)
    F = batched_field(np.stack([W_star, W_star[::-1]]), W_star, "h1")
    assert np.abs(F).max() <= 1e-15
    W = W_star + 1e-10 * np.random.default_rng(0).standard_normal((5, 5))
    reference = theory.population_gradient(W, W_star, "h1")
    assert np.abs(batched_field(W[None], W_star, "h1")[0] - reference).max() <= 1e-16


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="closed-form"):
        field_plan("l2", "tanh")
    with pytest.raises(ValueError, match="Ws"):
        batched_field(np.zeros((2, 3, 3)), np.eye(3))
    with pytest.raises(ValueError, match="shape"):
        batched_field(np.ones((3, 3)), np.eye(3))
