"""The SGD study's bookkeeping: shared data and starts, the normalised-h1 identity, the
median interval's coverage (by simulation), and the epoch-cost measurement."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from numerics.sgd_study import (
    SGDSettings,
    epoch_cost,
    median_interval,
    run_once,
    study_activation,
)
from numerics.training import train

SMALL = replace(SGDSettings(), width=2, dim=3, n_train=256, n_test=256, batch_size=16, steps=60,
                record_every=10, lr_grid=(0.4, 0.8), tuning_seeds=(100,), seeds=(0, 1, 2))


def test_l2_and_h1_runs_of_a_seed_share_start_and_test_data():
    a = run_once("relu", "l2", 0.4, 5, SMALL)
    b = run_once("relu", "h1", 0.4, 5, SMALL)
    assert a.initial_test_l2 == b.initial_test_l2  # same W0, same fresh test samples


def test_normalised_h1_is_h1_at_the_step_divided_by_one_plus_lambda():
    a = run_once("tanh", "h1_normalised", 0.8, 1, SMALL)
    b = run_once("tanh", "h1", 0.8 / 2, 1, SMALL)
    assert (a.steps_to_eps, a.final_test_l2, a.cls) == (b.steps_to_eps, b.final_test_l2, b.cls)


def test_test_l2_loss_is_the_l2_part_of_the_h1_test_loss():
    W_star = np.eye(3)[:2]
    W0 = np.random.default_rng(0).standard_normal((2, 3)) / 3
    l2 = train(W0, W_star, "l2", steps=5, n_train=128, n_test=128, seed=2)
    np.testing.assert_array_equal(l2.test_l2_loss, l2.test_loss)
    h1 = train(W0, W_star, "h1", steps=5, n_train=128, n_test=128, seed=2)
    assert np.all(h1.test_l2_loss <= h1.test_loss)  # h1 = l2 + λ·(non-negative Sobolev part)
    assert h1.test_l2_loss[0] == l2.test_l2_loss[0]  # same start, same test samples


def test_median_interval_covers_the_median_at_least_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    hits = 0
    trials = 2000
    for _ in range(trials):
        low, high = median_interval(rng.exponential(size=20).tolist())
        hits += low <= np.log(2) <= high  # the median of Exp(1)
    assert 0.95 - 3 * np.sqrt(0.05 * 0.95 / trials) <= hits / trials <= 0.995
    assert median_interval([1.0, 2.0]) is None  # too few values for a 95 % interval


def test_study_reports_every_variant_with_paired_counts():
    study = study_activation("relu", SMALL)
    report = study.as_dict()
    assert set(report["variants"]) == {"l2", "h1", "h1_normalised"}
    paired = report["h1_vs_l2"]
    assert paired["fewer_steps"] + paired["more_steps"] + paired["ties"] == len(SMALL.seeds)
    assert study.lr["h1_normalised"] == study.lr["l2"]
    assert study.lr["l2"] in SMALL.lr_grid and study.lr["h1"] in SMALL.lr_grid


def test_epoch_cost_ratio_is_h1_over_l2():
    cost = epoch_cost("relu", SMALL, repeats=3)
    assert cost.l2_seconds > 0 and cost.h1_seconds > 0
    assert cost.ratio == pytest.approx(cost.h1_seconds / cost.l2_seconds)


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="tuning_seeds"):
        replace(SGDSettings(), tuning_seeds=(0,))
    with pytest.raises(ValueError, match="activation"):
        study_activation("swish", SMALL)
    with pytest.raises(ValueError, match="variant"):
        run_once("relu", "l1", 0.1, 0, SMALL)


def test_steps_to_eps_is_the_exact_step_of_the_every_step_curve():
    """The step reported is the first step whose test L2 loss is <= ε, read from an independent
    re-run with the loss recorded at every step (record_every=1), not a recording-grid value."""
    outcome = run_once("relu", "h1", 0.8, 3, SMALL)
    W0 = np.random.default_rng([3, 7]).standard_normal((SMALL.width, SMALL.dim)) / np.sqrt(
        SMALL.dim)
    full = train(W0, np.eye(SMALL.dim)[:SMALL.width], "h1", optimizer="sgd", lr=0.8,
                 steps=SMALL.steps, batch_size=SMALL.batch_size, n_train=SMALL.n_train,
                 n_test=SMALL.n_test, seed=3, activation="relu", record_every=1)
    epsilon = SMALL.eps_rel * full.test_l2_loss[0]
    below = np.flatnonzero(full.test_l2_loss <= epsilon)
    expected = int(full.steps[below[0]]) if below.size else None
    assert outcome.steps_to_eps == expected


def test_stopping_at_eps_keeps_the_step_and_the_trajectory():
    a = run_once("sine", "l2", 0.8, 1, replace(SMALL, steps=200, eps_rel=0.05))
    b = run_once("sine", "l2", 0.8, 1, replace(SMALL, steps=200, eps_rel=0.05, stop_at_eps=True))
    assert a.steps_to_eps is not None and a.steps_to_eps == b.steps_to_eps
    with pytest.raises(ValueError, match="stop_at_test_l2_fraction"):
        train(np.eye(3)[:2] * 0.5, np.eye(3)[:2], "l2", steps=3, n_train=16, n_test=16,
              stop_at_test_l2_fraction=0.1)  # needs test_l2_every_step=True


def test_step_ratio_effect_interval_contains_the_median_and_reports_infinite_ends():
    from numerics.sgd_study import step_ratio_effect

    rng = np.random.default_rng(1)
    ratios = list(np.exp(rng.normal(np.log(0.8), 0.2, size=60)))
    effect = step_ratio_effect(ratios)
    low, high = effect["step_ratio_ci95"]
    assert low <= effect["median_step_ratio"] <= high
    assert low < 0.8 < high  # the true median of the log-normal sample's law
    censored = step_ratio_effect([0.5, 0.6, np.inf, np.inf, np.inf])
    assert censored["median_step_ratio"] is None and "infinite" in censored[
        "step_ratio_ci95_reason"]
    assert step_ratio_effect([0.5, 0.6])["step_ratio_ci95"] is None


@pytest.mark.slow
def test_sgd_claim_gives_the_same_verdict_on_two_disjoint_seed_sets():
    """The claim's verdict and its per-activation outcomes agree between evaluation seeds 0..99
    and 100..199 (tuning seeds are separate), with effect sizes reported on both."""
    from proofs_check.claims import get_claim
    from proofs_check.claims.landscape import sgd_evidence_for

    decide = get_claim("sgd-h1-reaches-epsilon-in-fewer-steps").decide
    first = decide(sgd_evidence_for(True, tuple(range(0, 100))))
    second = decide(sgd_evidence_for(True, tuple(range(100, 200))))
    assert first.status == second.status
    assert first.evidence["outcome"] == second.evidence["outcome"]
    for verdict in (first, second):
        for row in verdict.evidence["per_activation"]:
            assert row["median_step_ratio"] is not None and row["step_ratio_ci95"] is not None
