"""proofs_check.analysis.autograd_gap, the claim autograd-hessian-governs-training,
cond --compare-autograd.

The GD rates are measured on the empirical loss and compared with independent predictions:
GD on theory's population field (n = ∞) and the linear model of each matrix.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import theory
from proofs_check.analysis.autograd_gap import (
    kappa,
    linear_model_rate,
    population_jacobian,
    predicted_rates,
    rate_comparison,
)
from proofs_check.claims import get_claim
from proofs_check.cli import main
from theory.configurations import make_configuration


def test_linear_model_rate_of_an_eigenvector_is_one_minus_eta_mu():
    M = np.diag([0.2, 1.0, 3.0])
    e0 = np.array([[0.0, 0.5, 0.0]])
    result = linear_model_rate(M, e0, eta=0.3, reduction=1e-3)
    assert result.reached
    assert result.rate == pytest.approx(0.7, rel=1e-12)
    rates = predicted_rates(M, eta=0.3)
    assert rates["kappa"] == pytest.approx(15.0)
    assert rates["best_step_rate"] == pytest.approx(14 / 16)
    assert rates["spectral_radius"] == pytest.approx(abs(1 - 0.3 * 0.2))


def test_kappa_is_infinite_without_positive_spectrum():
    assert kappa(np.diag([-1.0, 2.0])) == np.inf


def test_population_substitute_at_the_teacher_is_documented_and_offset_independent():
    config = make_configuration(2, 2, 3, seed=1, at="teacher")
    small = population_jacobian(config.W, config.W_star, "h1", "expected", offset=1e-9)
    large = population_jacobian(config.W, config.W_star, "h1", "expected", offset=1e-6)
    assert "one-sided limit" in small.how
    # Expected-convention blocks depend on angles only: the limit is reached to O(offset).
    np.testing.assert_allclose(small.matrix, large.matrix, atol=1e-5)
    exact = population_jacobian(config.W, config.W_star, "h1", "exact")
    assert exact.matrix is None and exact.how.startswith("does not exist")
    l2 = population_jacobian(config.W, config.W_star, "l2", "expected")
    assert l2.how == "at W"
    np.testing.assert_array_equal(l2.matrix,
                                  theory.population_hessian(config.W, config.W_star, "l2"))


@pytest.fixture(scope="module")
def rates():
    config = make_configuration(2, 2, 3, seed=1, at="teacher")
    return {loss: rate_comparison(config.W_star, loss, [100_000], radius=0.1, reduction=0.1,
                                  seed=1)[0] for loss in ("l2", "h1")}


def test_l2_gd_rate_at_the_teacher_agrees_with_every_prediction(rates):
    row = rates["l2"]
    measured = row["measured"]["rate"]
    assert row["measured"]["reached"]
    for prediction in (row["population_gd"]["rate"], row["autograd_model"]["rate"],
                       row["population_model"]["rate"]):
        assert measured == pytest.approx(prediction, abs=0.01)


def test_h1_gd_rate_follows_the_population_field_not_the_autograd_hessian(rates):
    """The autograd Hessian predicts a much faster rate than GD shows at a practical step."""
    row = rates["h1"]
    measured = row["measured"]["rate"]
    assert row["measured"]["reached"]
    assert measured == pytest.approx(row["population_gd"]["rate"], abs=0.015)
    assert row["autograd_model"]["rate"] < measured - 0.1


def test_claim_fails_with_its_counterexample():
    claim = get_claim("autograd-hessian-governs-training")
    verdict = claim.run(quick=True)
    assert verdict.status == "fails" and claim.agrees(verdict)
    assert verdict.counterexample["case"] == "h1 at the teacher"
    l2_teacher = verdict.evidence["l2@teacher"]["rows"]
    assert l2_teacher[-1]["matrix_gap"] < 0.05
    assert set(verdict.counterexample["other_persistent_gaps"]) == {
        "h1@teacher", "l2@perturbed", "h1@perturbed"}


def test_cond_compare_autograd_cli(capsys):
    code = main(["cond", "-K", "2", "-d", "3", "--at", "teacher", "--compare-autograd",
                 "--samples", "20000", "--json"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    rows = {row["loss"]: row for row in payload["autograd_comparison"]["rows"]}
    assert rows["h1"]["exact"]["kappa"] is None
    assert rows["l2"]["matrix_gap"] < 0.05 < rows["h1"]["matrix_gap"]
    assert main(["cond", "--compare-autograd", "--samples", "500"]) == 0
    text = capsys.readouterr().out
    assert "kappa_autograd" in text and "activation margin" in text
