"""CLI: --loss h2, --second-order-weight, --input-covariance, --spike on flow and sweep."""

import json

import numpy as np
import pytest

import theory
from numerics.flow import gradient_flow
from proofs_check.analysis.input_laws import spiked_covariance
from proofs_check.cli import main
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


# ------------------------------------------------------------------------------------- sweep

SWEEP = ["sweep", "--workers", "1", "--no-progress", "--activation", "erf"]


def _rows(path):
    from proofs_check.runs.sweep import read_results

    return read_results(path)


def test_sweep_h2_and_spike_reach_theory(tmp_path, capsys):
    """Every κ of the version-2 table is theory.condition_number with the point's Σ (built for
    its d, as a dense matrix here) and μ."""
    out = tmp_path / "t.csv"
    code = main(SWEEP + ["--dim", "3", "4", "--loss", "l2", "h1", "h2", "--spike", "none", "3:1",
                         "--second-order-weight", "0.5", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    rows = _rows(out)
    assert len(rows) == 4 and {r["input_law"] for r in rows} == {"identity", "spike 3.0:1"}
    for row in rows:
        d = int(row["dim"])
        config = make_configuration(2, 2, d, 0)
        sigma = None if row["input_law"] == "identity" else spiked_covariance(d, 3.0, 1)
        for loss in ("l2", "h1", "h2"):
            for convention in ("expected", "exact"):
                expected = theory.condition_number(
                    config.W, config.W_star, loss, convention=convention, activation="erf",
                    second_order_weight=0.5, input_covariance=sigma, method="dense")
                value = float(row[f"{loss}_{convention}_kappa"])
                assert value == pytest.approx(expected, rel=1e-8), (row["input_law"], loss)
    # μ reaches h2 only: κ(h2) changes with μ, κ(h1) does not
    other = tmp_path / "mu1.csv"
    assert main(SWEEP + ["--dim", "3", "--loss", "h1", "h2", "--out", str(other)]) == 0
    (mu1,) = _rows(other)
    (mu_half,) = [r for r in rows if r["dim"] == "3" and r["input_law"] == "identity"]
    assert mu1["h1_expected_kappa"] == mu_half["h1_expected_kappa"]
    assert mu1["h2_expected_kappa"] != mu_half["h2_expected_kappa"]
    assert "l2_expected_kappa" not in mu1  # only the losses asked for


def test_sweep_default_table_is_unchanged(tmp_path):
    from proofs_check.runs import sweep

    out = tmp_path / "default.csv"
    assert main(["sweep", "--workers", "1", "--no-progress", "--out", str(out)]) == 0
    assert out.read_text().splitlines()[0] + "\n" == sweep.HEADER_LINE
    # a version-2 run refuses the default table, and the default run a version-2 table
    assert main(SWEEP + ["--loss", "l2", "h1", "h2", "--out", str(out)]) == 2
    v2 = tmp_path / "v2.csv"
    assert main(SWEEP + ["--spike", "1:1", "--out", str(v2)]) == 0
    assert main(["sweep", "--workers", "1", "--no-progress", "--out", str(v2)]) == 2


def test_sweep_refusals_name_the_problem(tmp_path, capsys):
    def refused(arguments, *words):
        assert main(arguments + ["--out", str(tmp_path / "x.csv")]) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and "Traceback" not in err
        for word in words:
            assert word in err, err

    path = tmp_path / "sigma3.npy"
    np.save(path, np.diag([1.0, 2.0, 3.0]))
    refused(SWEEP + ["--dim", "3", "4", "--input-covariance", str(path)],
            "--input-covariance", "d = 4")
    bad = tmp_path / "bad.npy"
    np.save(bad, np.diag([1.0, -2.0, 3.0]))
    refused(SWEEP + ["--dim", "3", "--input-covariance", str(bad)], "--input-covariance")
    refused(SWEEP + ["--dim", "3", "--spike", "2:4"], "spike", "d = 3")
    refused(SWEEP + ["--spike", "2"], "--spike", "STRENGTH:RANK")
    refused(["sweep", "--loss", "l2", "h2"], "h2", "relu", "smooth")
    refused(SWEEP + ["--second-order-weight", "2"], "--second-order-weight", "h2")
    refused(SWEEP + ["--spike", "1:1", "--input-covariance", str(path)], "exclusive")
    assert not (tmp_path / "x.csv").exists()


def test_sweep_input_covariance_file_matches_theory(tmp_path):
    path = tmp_path / "sigma.npy"
    sigma = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 0.5]])
    np.save(path, sigma)
    out = tmp_path / "t.csv"
    assert main(SWEEP + ["--dim", "3", "--loss", "h2", "--input-covariance", str(path),
                         "--out", str(out)]) == 0
    (row,) = _rows(out)
    assert row["input_law"].startswith(f"file {path} sha256:")
    config = make_configuration(2, 2, 3, 0)
    assert float(row["h2_exact_kappa"]) == pytest.approx(theory.condition_number(
        config.W, config.W_star, "h2", convention="exact", activation="erf",
        input_covariance=sigma), rel=1e-10)


def test_sweep_resume_with_new_columns(tmp_path):
    """A version-2 table resumes: a truncated row and a missing row are recomputed, and the
    result equals a fresh run's rows."""
    arguments = SWEEP + ["--dim", "3", "--seed", "0:3", "--loss", "l2", "h2", "--spike",
                         "2:1", "--second-order-weight", "0.5", "2"]
    fresh = tmp_path / "fresh.csv"
    assert main(arguments + ["--out", str(fresh)]) == 0
    resumed = tmp_path / "resumed.csv"
    lines = fresh.read_text().splitlines(keepends=True)
    assert len(lines) == 7
    resumed.write_text("".join(lines[:4]) + lines[4][: len(lines[4]) // 2])  # 3 rows + a torn one
    assert main(arguments + ["--out", str(resumed), "--json"]) == 0
    key = ("seed", "second_order_weight")
    assert sorted(_rows(resumed), key=lambda r: [r[k] for k in key]) == sorted(
        _rows(fresh), key=lambda r: [r[k] for k in key])


def test_grid_file_takes_the_new_keys(tmp_path, capsys):
    np.save(tmp_path / "sigma.npy", np.diag([1.0, 4.0, 1.0]))
    grid = tmp_path / "grid.toml"
    grid.write_text('[grid]\ndim = 3\nactivation = "sine"\nloss = ["h1", "h2"]\n'
                    'second_order_weight = [0.5]\ninput_covariance = "sigma.npy"\n')
    out = tmp_path / "t.csv"
    assert main(["sweep", "--workers", "1", "--no-progress", "--grid", str(grid),
                 "--out", str(out)]) == 0
    (row,) = _rows(out)
    config = make_configuration(2, 2, 3, 0)
    assert float(row["h2_expected_kappa"]) == pytest.approx(theory.condition_number(
        config.W, config.W_star, "h2", activation="sine", second_order_weight=0.5,
        input_covariance=np.diag([1.0, 4.0, 1.0])), rel=1e-10)
    grid.write_text('[grid]\ndim = 3\nsecond_order_wieght = [0.5]\n')
    assert main(["sweep", "--grid", str(grid), "--out", str(tmp_path / "y.csv")]) == 2
    assert "did you mean 'second_order_weight'" in capsys.readouterr().err


def test_sweep_h2_flow_columns_are_the_library_flow(tmp_path):
    out = tmp_path / "t.csv"
    assert main(SWEEP + ["--dim", "3", "--loss", "h2", "--spike", "2:1", "--flow-t-max", "40",
                         "--out", str(out)]) == 0
    (row,) = _rows(out)
    config = make_configuration(2, 2, 3, 0)
    flow = gradient_flow(config.W, config.W_star, "h2", convention="exact", t_max=40.0,
                         activation="erf", input_covariance=spiked_covariance(3, 2.0, 1))
    assert row["flow_h2_exact_status"] == flow.status and flow.rate is not None
    # the sweep keeps the spike factorised (theory.SpikedCovariance), the test uses the dense Σ:
    # the trajectories differ by rounding, the fitted rates within the fit's standard error
    assert abs(float(row["flow_h2_exact_rate"]) - flow.rate) <= flow.rate_stderr
    isotropic = gradient_flow(config.W, config.W_star, "h2", convention="exact", t_max=40.0,
                              activation="erf")
    assert abs(isotropic.rate - flow.rate) > 100 * flow.rate_stderr  # Σ reached the flow
    assert "flow_h1_expected_status" not in row
