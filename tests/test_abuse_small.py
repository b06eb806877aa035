"""The abuse run's smaller findings, each reproduced first: a one-line refusal naming the
argument, or the right behaviour."""

from __future__ import annotations

import pytest

from theory.activations import parse_activation


@pytest.mark.parametrize("spec", ["leaky_relu(٠.١)", "leaky_relu(1_0)", "leaky_relu(nan)",
                                  "leaky_relu(໐.5)"])
def test_activation_slope_needs_ascii_digits(spec):
    """float() reads Arabic-Indic digits ('٠.١' = 0.1) and underscores: refused by name."""
    with pytest.raises(ValueError, match="activation"):
        parse_activation(spec)


@pytest.mark.parametrize(("spec", "slope"), [("leaky_relu(0.1)", 0.1), ("leaky_relu(.5)", 0.5),
                                             ("leaky_relu(1e-2)", 0.01), ("leaky_relu(0)", 0.0)])
def test_activation_slope_ascii_forms_still_parse(spec, slope):
    assert parse_activation(spec) == ("leaky_relu", slope)


def _main(argv):
    import contextlib
    import io

    from proofs_check import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_a_negative_spike_is_a_value_not_an_option():
    """`--spike -0.5:1` was read as an option ("expected one argument")."""
    code, out, err = _main(["cond", "--spike", "-0.5:1", "--dim", "3", "--json"])
    assert code == 0, err
    assert "spike" in out


@pytest.mark.parametrize("argv", [
    ["validate", "--samples", "100000000000"],
    ["validate", "--hessian-samples", "100000000000"],
    ["landscape", "-K", "2", "--starts", "1000000000000"],
    ["landscape", "-K", "2", "--starts", "2", "--dim", "1000000000"],
    ["cond", "--dim", "٣"],
    ["sweep", "--out", "unused.csv", "--spike=٣:1"],
])
def test_runaway_sizes_and_foreign_digits_are_refused_at_once(argv, tmp_path, monkeypatch):
    """`validate --samples 1e11` and `landscape --starts 1e12` were accepted and left running,
    `landscape --dim 1e9` ended in a bare "out of memory", Arabic-Indic digits were read as
    numbers."""
    import time

    monkeypatch.chdir(tmp_path)
    started = time.perf_counter()
    code, _, err = _main(argv)
    assert code == 2, err
    assert time.perf_counter() - started < 10
    message = err.strip().splitlines()[-1]
    option = [a for a in argv if a.startswith("-")][-1]  # the offending option comes last
    assert option.split("=")[0] in message or "non-ASCII digits" in message, message
    assert sorted(tmp_path.iterdir()) == []


def test_check_writes_no_hypothesis_folder_into_the_working_folder(tmp_path, monkeypatch):
    """A formula claim's hypothesis search wrote .hypothesis/ into the current folder."""
    from proofs_check.analysis.formulas import check_formula

    monkeypatch.chdir(tmp_path)
    check_formula(lambda w, w_star: w * 0.0, quantity="gradient", loss="l2", n_random=5,
                  n_search=5, min_points=1)
    assert not (tmp_path / ".hypothesis").exists()
