"""The `validate` command: numbers equal the libraries', disagreements exit 1, bad input exits 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

import theory
from proofs_check.cli import main
from proofs_check.commands import validate as validate_command

SMALL = ("--samples", "20000", "--hessian-samples", "20000", "--no-progress")
SMALL_NO_HESSIAN = ("--samples", "20000", "--no-progress", "--no-hessian")


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_relu_json_agrees_with_closed_forms(capsys):
    code, out, _ = run_cli(capsys, "validate", "--width", "2", "--dim", "3", "--seed", "4",
                           "--json", *SMALL)
    assert code == 0
    report = json.loads(out)
    assert report["ok"] and report["activation"] == "relu"
    W, W_star = np.array(report["W"]), np.array(report["W_star"])
    rows = {row["quantity"]: row for row in report["results"]}
    assert set(rows) == {"loss", "gradient", "hessian"}
    assert rows["loss"]["closed_form"][0] == pytest.approx(theory.population_loss(W, W_star),
                                                           rel=1e-14)
    np.testing.assert_allclose(rows["gradient"]["closed_form"],
                               theory.population_gradient(W, W_star).ravel(), rtol=1e-14)
    np.testing.assert_allclose(rows["hessian"]["quadrature"],
                               theory.population_hessian(W, W_star).ravel(), atol=1e-10)
    for row in rows.values():
        assert row["quadrature_ok"] and row["monte_carlo_ok"]
        assert row["quadrature_max_abs_diff"] < 1e-10
    assert "Bonferroni" in report["provenance"]["monte_carlo_threshold"]


def test_other_activation_compares_monte_carlo_with_quadrature(capsys):
    code, out, _ = run_cli(capsys, "validate", "--activation", "tanh", *SMALL_NO_HESSIAN)
    assert code == 0
    assert "n/a" in out and "no closed form for tanh" in out
    assert "all agree within their error bars" in out


def test_at_teacher_skips_sobolev_hessian_with_reason(capsys):
    code, out, _ = run_cli(capsys, "validate", "--at", "teacher", *SMALL)
    assert code == 0
    assert "hessian skipped" in out and "parallel" in out


def test_disagreement_exits_one(capsys, monkeypatch):
    real = validate_command.quadrature

    def shifted(*args, **kwargs):
        result = real(*args, **kwargs)
        return type(result)(**{**result.__dict__, "loss": result.loss + 1e-6})

    monkeypatch.setattr(validate_command, "quadrature", shifted)
    code, out, _ = run_cli(capsys, "validate", *SMALL_NO_HESSIAN)
    assert code == 1
    assert "DISAGREE" in out


@pytest.mark.parametrize("argv", [
    ("--familywise", "2"),
    ("--slope", "0.1"),                       # slope only for leaky_relu
    ("--activation", "leaky_relu", "--slope", "1.5"),
    ("--width", "3", "--teacher-width", "2", "--at", "teacher"),
])
def test_bad_input_exits_two(capsys, argv):
    code, _, err = run_cli(capsys, "validate", *SMALL, *argv)
    assert code == 2
    assert "error" in err


def test_hessian_samples_without_a_hessian_is_refused(capsys):
    code, _, err = run_cli(capsys, "validate", "--no-hessian", "--hessian-samples", "5000")
    assert code == 2 and "--hessian-samples has no effect with --no-hessian" in err
    assert len(err.strip().splitlines()) == 1
