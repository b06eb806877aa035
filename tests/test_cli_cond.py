"""The `cond` command: numbers equal the library's, undefined rows say why, bad input exits 2."""

import json

import numpy as np
import pytest

import theory
from proofs_check.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cond_json_matches_library_and_reports_point(capsys):
    code, out, _ = run_cli(capsys, "cond", "--width", "3", "--teacher-width", "2", "--dim", "4",
                           "--seed", "5", "--json", "--include-weights")
    assert code == 0
    payload = json.loads(out)
    assert payload["at"] == "random"
    assert (payload["K"], payload["K*"], payload["d"], payload["seed"]) == (3, 2, 4, 5)
    W, W_star = np.array(payload["W"]), np.array(payload["W_star"])
    rows = {(r["loss"], r["convention"]): r for r in payload["results"]}
    assert set(rows) == {("l2", "expected"), ("l2", "exact"), ("h1", "expected"),
                         ("h1", "exact")}
    for (loss, convention), row in rows.items():
        assert row["exists"]
        real = np.real(theory.spectrum(W, W_star, loss, convention=convention))
        assert row["lambda_min"] == pytest.approx(real.min(), rel=1e-12)
        assert row["lambda_max"] == pytest.approx(real.max(), rel=1e-12)


def test_cond_at_teacher_reports_h1_undefined_with_reason(capsys):
    code, out, _ = run_cli(capsys, "cond", "--width", "2", "--dim", "3", "--at", "teacher")
    assert code == 0
    assert "at the teacher (W = W*)" in out
    assert out.count("undefined") >= 2
    assert "student row 0 and teacher row 0 are parallel" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["cond", "--width", "2", "--teacher-width", "3", "--at", "teacher"],
         "needs width == teacher_width"),
        (["cond", "--radius", "-1"], "radius must be a finite number > 0"),
        (["cond", "--sobolev-weight", "-2"], "sobolev_weight must be finite and >= 0"),
    ],
)
def test_cond_bad_settings_exit_nonzero_with_message(capsys, argv, message):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_cond_rejects_non_positive_width(capsys):
    with pytest.raises(SystemExit) as info:
        main(["cond", "--width", "0"])
    assert info.value.code == 2
    assert "expected a positive integer" in capsys.readouterr().err


def _strict_loads(text):
    def refuse(constant):
        raise AssertionError(f"non-strict JSON constant {constant}")
    return json.loads(text, parse_constant=refuse)


def test_cond_json_is_strict_and_leaves_out_weights_unless_asked(capsys):
    # K = 1, K* = 2, seed 2: the l2 Hessian is not positive definite (κ printed as inf)
    code, out, _ = run_cli(capsys, "cond", "--width", "1", "--teacher-width", "2",
                           "--seed", "2", "--json")
    assert code == 0
    payload = _strict_loads(out)
    assert "W" not in payload and "W_star" not in payload
    row = next(r for r in payload["results"] if r["loss"] == "l2")
    W_check = theory.configurations.make_configuration(1, 2, 3, 2)
    assert theory.spectrum(W_check.W, W_check.W_star, "l2").real.min() <= 0
    assert row["kappa"] is None and "not positive definite" in row["kappa_reason"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["cond", "--samples", "100"], "--samples is only used by --compare-autograd"),
        (["cond", "--at", "teacher", "--radius", "0.5"], "--radius has no effect"),
        (["cond", "--include-weights"], "add --json"),
    ],
)
def test_cond_arguments_that_would_do_nothing_are_errors(capsys, argv, message):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and message in err


def test_old_option_spelling_warns_and_still_works(capsys):
    code, out, err = run_cli(capsys, "cond", "--teacher", "3", "--json")
    assert code == 0 and json.loads(out)["K*"] == 3
    assert "--teacher is deprecated; use --teacher-width" in err
