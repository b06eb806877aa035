"""CLI: --loss h2, --second-order-weight, --input-covariance, --spike on cond and validate."""

import json

import numpy as np

import theory
from proofs_check.analysis.input_laws import spiked_covariance
from proofs_check.cli import main
from theory.configurations import make_configuration


def test_cond_h2_with_spike_matches_theory(capsys):
    code = main(["cond", "--dim", "3", "--at", "teacher", "--activation", "erf", "--loss", "l2",
                 "h1", "h2", "--spike", "9:1", "--second-order-weight", "0.5", "--json",
                 "--include-weights"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    config = make_configuration(2, 2, 3, 0, at="teacher")
    expected = theory.condition_number(config.W, config.W_star, "h2", activation="erf",
                                       second_order_weight=0.5,
                                       input_covariance=spiked_covariance(3, 9.0, 1))
    rows = [r for r in payload["results"] if r["loss"] == "h2"]
    assert len(rows) == 2 and rows[0]["kappa"] == expected
    assert payload["input_covariance"] == spiked_covariance(3, 9.0, 1).tolist()


def test_cond_reads_input_covariance_file(tmp_path, capsys):
    path = tmp_path / "sigma.npy"
    np.save(path, np.diag([1.0, 2.0, 3.0]))
    assert main(["cond", "--dim", "3", "--input-covariance", str(path), "--json",
                 "--include-weights"]) == 0
    assert json.loads(capsys.readouterr().out)["input_covariance"][2][2] == 3.0


def test_bad_covariance_is_one_line_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.npy"
    np.save(path, np.diag([1.0, -1.0, 1.0]))
    assert main(["cond", "--dim", "3", "--input-covariance", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "--input-covariance" in err and "\n" not in err
    assert main(["cond", "--dim", "3", "--spike", "1:9"]) == 2
    assert "--spike" in capsys.readouterr().err
    assert main(["cond", "--dim", "3", "--loss", "h2"]) == 2  # relu: J₂ infinite
    assert "Dirac" in capsys.readouterr().err


def test_validate_h2_with_spike_agrees(capsys):
    code = main(["validate", "--activation", "gelu", "--loss", "h2", "--spike", "4:1",
                 "--samples", "20000", "--hessian-samples", "5000", "--json", "--no-progress"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and all("closed_form" in row for row in report["results"])
