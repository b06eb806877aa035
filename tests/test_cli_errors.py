"""Errors name the right thing, exit 2 in one line and never print a traceback (issue 14).

Each case reproduces a defect found by abuse of the command line and the library: environment
problems printed tracebacks with exit 1, and several messages named an argument the user never
passed (or none at all).
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import theory
from numerics.flow import gradient_flow
from numerics.montecarlo import monte_carlo
from proofs_check.cli import main
from theory.validation import MemoryLimitError

ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_exit_two(code, err, *fragments):
    assert code == 2
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


# ------------------------------------------------------------------- environment: exit 2, one line


def test_plot_into_a_directory_is_refused_before_computing(capsys, tmp_path, monkeypatch):
    import proofs_check.commands.flow as flow_command

    def never(*args, **kwargs):
        raise AssertionError("computed before checking --plot")

    monkeypatch.setattr(flow_command, "gradient_flow", never)
    code, _, err = run_cli(capsys, "flow", "--plot", str(tmp_path))
    assert_one_line_exit_two(code, err, "--plot", "is a directory")


def test_check_out_that_is_a_file_is_refused_before_any_claim_runs(capsys, tmp_path,
                                                                    monkeypatch):
    import proofs_check.commands.check as check_command

    def never(*args, **kwargs):
        raise AssertionError("claims ran before checking --out")

    monkeypatch.setattr(check_command, "run_claims", never)
    blocker = tmp_path / "report"
    blocker.write_text("not a folder")
    code, _, err = run_cli(capsys, "check", "--quick", "--out", str(blocker))
    assert_one_line_exit_two(code, err, "--out", "not a directory")
    code, _, err = run_cli(capsys, "check", "--quick", "--out", str(blocker / "sub"))
    assert_one_line_exit_two(code, err, "--out", "is a file")


def test_os_errors_memory_errors_and_ctrl_c_exit_two_in_one_line(capsys, monkeypatch):
    import proofs_check.commands.cond as cond_command

    for exc, fragment in ((PermissionError(13, "Permission denied", "/x/y"), "/x/y"),
                          (MemoryError(), "out of memory"),
                          (KeyboardInterrupt(), "interrupted"),
                          (ConnectionRefusedError(111, "Connection refused"), "refused")):
        def boom(args, exc=exc):
            raise exc

        monkeypatch.setattr(cond_command, "run", boom)
        code, _, err = run_cli(capsys, "cond")
        assert_one_line_exit_two(code, err, fragment)


def test_sigterm_during_a_command_is_one_line_exit_two():
    script = ("import os, signal, sys, proofs_check.commands.cond as c\n"
              "from proofs_check.cli import main\n"
              "c.run = lambda args: os.kill(os.getpid(), signal.SIGTERM) or 0\n"
              "sys.exit(main(['cond']))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "terminated" in result.stderr


# ------------------------------------------------------------------------- messages that name it


def test_flow_at_the_teacher_reports_converged_flows(capsys):
    code, out, err = run_cli(capsys, "flow", "--at", "teacher", "--t-max", "5")
    assert code == 0, err
    assert out.count("converged at the start") == 2
    assert "direction" not in err


def test_flow_in_one_dimension_names_dim(capsys):
    code, _, err = run_cli(capsys, "flow", "--dim", "1")
    assert_one_line_exit_two(code, err, "--dim must be >= 2")


@pytest.mark.parametrize("command", ["cond", "flow", "validate"])
def test_negative_seed_names_seed(capsys, command):
    code, _, err = run_cli(capsys, command, "--seed", "-1")
    assert_one_line_exit_two(code, err, "seed must be a non-negative integer")


def test_library_arguments_are_named():
    W, W_star = np.array([[1.0, 0.3, -0.2]]), np.array([[0.8, 0.1, 0.0]])
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        monte_carlo(W, W_star, n_samples=10, seed=-1)
    with pytest.raises(ValueError, match="n_samples must be an integer >= 2"):
        gradient_flow(W, W_star, n_samples=1, t_max=1)  # None: the solver's steps only
    with pytest.raises(ValueError, match="window must be"):
        gradient_flow(W, W_star, window=None, t_max=1)
    for call in (lambda: theory.population_loss(W, W_star, np.array(["l2"])),
                 lambda: theory.population_gradient(W, W_star, "l2",
                                                    convention=np.array("exact")),
                 lambda: monte_carlo(W, W_star, np.array(["l2"]), n_samples=10)):
        with pytest.raises(ValueError, match="must be a string"):
            call()
    with pytest.raises(ValueError, match="sobolev_weight must be real"):
        theory.population_loss(W, W_star, sobolev_weight=np.complex128(1 + 1j))


def test_flow_already_at_a_stationary_point_is_converged_not_t_max():
    W_star = np.array([[0.8, 0.1, 0.0], [0.1, -0.7, 0.4]])
    for loss in ("l2", "h1"):
        result = gradient_flow(W_star, W_star, loss, t_max=10.0)
        assert result.status == "converged"
        assert "converged at the start" in result.message
        assert result.loss[-1] == 0.0


def test_flow_beyond_float64_says_so():
    W0 = np.array([[1.0, 0.3, -0.2]]) * 1e300
    W_star = np.array([[0.8, 0.1, 0.0]]) * 1e300
    with pytest.raises(ValueError, match="too large for float64.*scale-equivariant"):
        gradient_flow(W0, W_star, "l2", t_max=1.0)
    # the same flow one scale down is fine, and scale-equivariant: W(t) for cW0 is c·W(t)
    small = gradient_flow(W0 * 1e-300, W_star * 1e-300, "l2", t_max=1.0)
    large = gradient_flow(W0 * 1e-200, W_star * 1e-200, "l2", t_max=1.0)
    assert math.isclose(large.W[-1, 0, 0], 1e100 * small.W[-1, 0, 0], rel_tol=1e-6)


# ----------------------------------------------------------------------- validate: valid intervals


@pytest.mark.parametrize("option", ["--samples", "--hessian-samples"])
def test_validate_refuses_sample_sizes_where_normal_intervals_are_invalid(capsys, option):
    code, _, err = run_cli(capsys, "validate", option, "2")
    assert_one_line_exit_two(code, err, option, "at least 1000")


# ---------------------------------------------------------------------- requests that cannot fit


@pytest.fixture
def sixteen_gigabytes(monkeypatch):
    """Pretend 16 GB are available, so that refusals do not depend on the test machine."""
    from theory import validation

    monkeypatch.setattr(validation, "available_memory_bytes", lambda: 16 * 10**9)


@pytest.mark.parametrize(("argv", "fragments"), [
    (["cond", "--dim", "100000000", "--method", "structured"], ["--dim 100000000", "--dim"]),
    (["cond", "--width", "5000"], ["pair arrays", "fewer neurons"]),
    (["cond", "--width", "2", "--dim", "25000", "--method", "dense"],
     ["(50000)×(50000) Hessian", "method='structured'"]),
    (["validate", "--width", "2", "--dim", "25000"], ["--no-hessian"]),
])
def test_requests_that_cannot_fit_are_refused_before_allocating(capsys, monkeypatch,
                                                                sixteen_gigabytes, argv,
                                                                fragments):
    import theory.assembly
    import theory.configurations

    def never(*args, **kwargs):
        raise AssertionError("allocated before refusing")

    if "--dim" in argv and "100000000" in argv:
        monkeypatch.setattr(theory.configurations, "make_configuration", never)
        import proofs_check.commands._options as options
        monkeypatch.setattr(options, "make_configuration", never)
    monkeypatch.setattr(theory.assembly, "jacobian_parts", never)
    code, _, err = run_cli(capsys, *argv)
    assert_one_line_exit_two(code, err, "would need about", "16 GB", *fragments)


def test_library_refuses_a_dense_hessian_that_cannot_fit(sixteen_gigabytes):
    rng = np.random.default_rng(0)
    W, W_star = rng.normal(size=(2, 25_000)), rng.normal(size=(2, 25_000))
    with pytest.raises(MemoryLimitError, match="method='structured'"):
        theory.population_hessian(W, W_star, "l2")
    # the structured spectrum of the same point is small and answers
    values = theory.spectrum(W, W_star, "l2", method="structured")
    assert values.shape == (50_000,) and np.all(np.isfinite(values))


def test_requests_that_fit_still_run(capsys, sixteen_gigabytes):
    code, out, _ = run_cli(capsys, "cond", "--width", "3", "--dim", "200000", "--method",
                           "structured")
    assert code == 0 and "h1" in out


def test_grid_that_is_a_directory_or_binary_names_grid(capsys, tmp_path):
    code, _, err = run_cli(capsys, "sweep", "--grid", str(tmp_path))
    assert_one_line_exit_two(code, err, "--grid", "is a directory")
    binary = tmp_path / "grid.toml"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    code, _, err = run_cli(capsys, "sweep", "--grid", str(binary))
    assert_one_line_exit_two(code, err, "--grid")
