"""CLI: --loss h2, --second-order-weight, --input-covariance, --spike on flow and sweep."""

import json

import numpy as np
import pytest

import theory
from numerics.flow import gradient_flow
from proofs_check.cli import main
from proofs_check.input_laws import spiked_covariance
from theory.configurations import make_configuration

FLOW = ["flow", "-K", "2", "-d", "3", "--activation", "erf", "--t-max", "40", "--json"]


def test_flow_h2_with_spike_is_the_library_flow(capsys):
    """Each flow of the CLI is gradient_flow with the same Σ and μ, and its predicted rate is
    min Re λ of theory's Hessian at W* with that Σ and μ (computed here directly)."""
    code = main(FLOW + ["--loss", "l2", "h2", "--spike", "3:1", "--second-order-weight", "0.5"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert [row["loss"] for row in report["flows"]] == ["l2", "h2"]
    assert report["second_order_weight"] == 0.5 and "spike 3:1" in report["input_law"]
    config = make_configuration(2, 2, 3, 0)
    sigma = spiked_covariance(3, 3.0, 1)
    for row in report["flows"]:
        flow = gradient_flow(config.W, config.W_star, row["loss"], t_max=40.0, method="LSODA",
                             activation="erf", second_order_weight=0.5, input_covariance=sigma)
        assert row["final_loss"] == pytest.approx(float(flow.loss[-1]), rel=1e-12)
        # the loss at the end is the closed form of the flowed loss under Σ, μ
        assert float(flow.loss[-1]) == pytest.approx(theory.population_loss(
            flow.W[-1], config.W_star, row["loss"], activation="erf", second_order_weight=0.5,
            input_covariance=sigma), rel=1e-12)
        hessian = theory.population_hessian(config.W_star, config.W_star, row["loss"],
                                            activation="erf", second_order_weight=0.5,
                                            input_covariance=sigma)
        assert row["predicted_rate"] == pytest.approx(
            float(np.linalg.eigvals(hessian).real.min()), rel=1e-9)
    # the input law changes the flow: Σ = I gives another l2 trajectory
    isotropic = gradient_flow(config.W, config.W_star, "l2", t_max=40.0, method="LSODA",
                              activation="erf")
    assert abs(float(isotropic.loss[-1]) - report["flows"][0]["final_loss"]) > 1e-3 * abs(
        float(isotropic.loss[-1]))


def test_flow_h2_rate_agrees_with_prediction(capsys):
    """The fitted h2 rate of the distance agrees with the local rate predicted from the
    Hessian at W* (an independent linearisation), under an anisotropic Σ from a file."""
    code = main(["flow", "-K", "2", "-d", "3", "--activation", "erf", "--t-max", "80",
                 "--loss", "h2", "--spike", "2:1", "--json"])
    assert code == 0
    (row,) = json.loads(capsys.readouterr().out)["flows"]
    assert row["rate"] is not None
    assert row["rate"] == pytest.approx(row["predicted_rate"], rel=1e-2)


def test_flow_reads_input_covariance_file(tmp_path, capsys):
    path = tmp_path / "sigma.npy"
    sigma = np.diag([1.0, 2.0, 0.5])
    np.save(path, sigma)
    assert main(FLOW + ["--loss", "h1", "--input-covariance", str(path)]) == 0
    (row,) = json.loads(capsys.readouterr().out)["flows"]
    config = make_configuration(2, 2, 3, 0)
    flow = gradient_flow(config.W, config.W_star, "h1", t_max=40.0, method="LSODA",
                         activation="erf", input_covariance=sigma)
    assert row["final_loss"] == pytest.approx(float(flow.loss[-1]), rel=1e-12)


def test_flow_bad_input_is_one_line_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.npy"
    np.save(path, np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))  # indefinite
    assert main(FLOW + ["--input-covariance", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "--input-covariance" in err and "\n" not in err
    assert main(FLOW + ["--spike", "1:4"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--spike" in err and "\n" not in err
    assert main(["flow", "-d", "3", "--loss", "l2", "h2", "--t-max", "5"]) == 2  # relu
    err = capsys.readouterr().err.strip()
    assert "--loss h2" in err and "smooth --activation" in err and "\n" not in err
