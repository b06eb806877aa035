"""Small command-line outputs: every JSON null has its reason, Unicode is kept, `sweep --json`
gives its results and leaves no lock file, `flow` prints no negative loss and defaults to the
library's solver, an unknown --activation lists only what the command accepts, and the `check`
verdict table fits a terminal."""

from __future__ import annotations

import inspect
import json
import re

import numpy as np
import pytest

import theory
from numerics.flow import gradient_flow, loss_rounding_bound
from proofs_check.cli import main
from theory.configurations import make_configuration


def unexplained_nulls(value, path="$", parent=None, key=None, reasons=None) -> list[str]:
    """JSON paths of nulls with neither a sibling "<key>_reason" nor an entry in a top-level
    "null_reasons" mapping."""
    if reasons is None:
        reasons = value.get("null_reasons", {}) if isinstance(value, dict) else {}
    if value is None:
        explained = (isinstance(parent, dict) and f"{key}_reason" in parent) or path in reasons
        return [] if explained else [path]
    found = []
    if isinstance(value, dict):
        for k, v in value.items():
            found += unexplained_nulls(v, f"{path}.{k}", value, k, reasons)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += unexplained_nulls(v, f"{path}[{i}]", value, i, reasons)
    return found


def test_the_null_checker_itself():
    assert unexplained_nulls({"a": None}) == ["$.a"]
    assert unexplained_nulls({"a": None, "a_reason": "why"}) == []
    assert unexplained_nulls({"x": [None], "null_reasons": {"$.x[0]": "why"}}) == []


@pytest.mark.parametrize("argv", [
    ["flow", "--t-max", "40", "--json"],                      # too short for a fitted rate
    ["flow", "--at", "teacher", "--t-max", "5", "--json"],   # nothing to predict at W = W*
    ["flow", "--width", "3", "--teacher-width", "2", "--t-max", "20", "--json"],  # K ≠ K*
])
def test_flow_json_gives_a_reason_for_every_null(capsys, argv):
    assert main(argv) == 0
    payload = json.loads(capsys.readouterr().out)
    assert unexplained_nulls(payload) == []


def test_cond_json_gives_reasons_and_keeps_unicode(capsys):
    assert main(["cond", "--at", "teacher", "--json"]) == 0  # κ undefined, no radius
    assert unexplained_nulls(json.loads(capsys.readouterr().out)) == []
    assert main(["cond", "--json"]) == 0
    out = capsys.readouterr().out
    assert "\\u00b7" not in out and "\\u221a" not in out
    assert "·" in out and "√" in out  # W = W* + 0.1·Z/√d, as `check --json` would print it
    assert unexplained_nulls(json.loads(out)) == []


def test_flow_json_keeps_unicode(capsys):
    assert main(["flow", "--t-max", "5", "--json"]) == 0
    out = capsys.readouterr().out
    assert "\\u2016" not in out and "‖" in out


def test_sweep_json_returns_its_results_and_leaves_no_lock_file(tmp_path, capsys):
    out = tmp_path / "results.csv"
    assert main(["sweep", "--width", "1", "2", "--workers", "1", "--no-progress", "--json",
                 "--out", str(out)]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv"]
    assert unexplained_nulls(payload) == []
    results = payload["results"]
    assert sorted(row["width"] for row in results) == [1, 2]
    for row in results:
        config = make_configuration(row["width"], row["teacher_width"], row["dim"],
                                    row["seed"])
        expected = theory.condition_number(config.W, config.W_star, "l2")
        assert row["l2_expected_kappa"] == pytest.approx(expected, rel=1e-9)
    # a re-run skips the finished points and still reports them
    assert main(["sweep", "--width", "1", "2", "--workers", "1", "--no-progress", "--json",
                 "--out", str(out)]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["skipped"] == 2 and len(again["results"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv"]


def _final_losses(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"final loss ([-+0-9.e]+)", text)]


def test_flow_prints_no_negative_loss_and_states_the_rounding_bound(capsys):
    # at this start the l2 flow ends within rounding of the teacher: the closed form gives
    # a loss of about -1.8e-17 there
    assert main(["flow"]) == 0
    text = capsys.readouterr().out
    assert "final loss -" not in text
    assert "rounding bound" in text
    assert main(["flow", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["flows"]
    for row in rows:
        assert row["final_loss"] >= 0
        assert row["final_loss_rounding_bound"] > 0


@pytest.mark.parametrize("activation", ["relu", "erf", "sine", "gelu", "leaky_relu(0.1)"])
def test_loss_rounding_bound_covers_the_closed_form_near_the_teacher(activation):
    """At W = W* the population loss is exactly 0 and at W* + 1e-9·Z it is about 1e-18: the
    computed values there (down to about -2e-15 for K = 8) are rounding, and the bound covers
    them while staying small."""
    computed_nonzero = 0
    for seed in range(3):
        for width, dim in ((1, 3), (2, 3), (4, 6), (8, 10)):
            config = make_configuration(width, width, dim, seed, at="teacher")
            noise = np.random.default_rng(seed).standard_normal(config.W.shape)
            for W in (config.W_star, config.W_star + 1e-9 * noise):
                for loss in ("l2", "h1"):
                    computed = theory.population_loss(W, config.W_star, loss,
                                                      activation=activation)
                    bound = loss_rounding_bound(W, config.W_star, loss)
                    assert -bound <= computed <= bound, (width, dim, seed, loss)
                    assert bound < 1e-10  # small enough to mean something at these sizes
                    computed_nonzero += computed != 0
    assert computed_nonzero > 0  # the check saw rounding, not only exact zeros


def test_flow_defaults_to_the_librarys_solver(capsys):
    library_default = inspect.signature(gradient_flow).parameters["method"].default
    assert main(["flow", "--t-max", "5", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["flows"]
    assert {row["method"] for row in rows} == {library_default}


@pytest.mark.parametrize("command, accepts_tanh", [
    (["cond"], False), (["flow", "--t-max", "1"], False), (["validate"], True)])
def test_unknown_activation_lists_only_what_the_command_accepts(capsys, command, accepts_tanh):
    assert main([*command, "--activation", "foo"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "'foo'" in err
    assert ("tanh" in err) == accepts_tanh
    for name in ("relu", "gelu", "erf", "sine", "leaky_relu"):
        assert name in err


def test_cond_refuses_tanh_consistently_with_its_list(capsys):
    assert main(["cond", "--activation", "tanh"]) == 2
    err = capsys.readouterr().err
    assert "measured" in err  # says where tanh is available instead



def test_sweep_lock_on_a_removed_lock_file_does_not_count(tmp_path, monkeypatch):
    """A run that opened <table>.lock just before the previous run removed it would lock a
    removed file; it must notice and lock the file at the path instead."""
    from pathlib import Path

    from proofs_check.runs import table

    out = tmp_path / "t.csv"
    lock = tmp_path / "t.csv.lock"
    stale = lock.open("a")  # opened ...
    lock.unlink()           # ... just before the holder removed it
    real_open = Path.open
    handed = []

    def open_(self, *args, **kwargs):
        if self == lock and not handed:
            handed.append(True)
            return stale
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_)
    with table._exclusive(out):
        assert handed and lock.exists()  # the stale handle was dropped, the path locked
        with pytest.raises(table.SweepLockedError), table._exclusive(out):
            pytest.fail("a second writer got the lock")
    assert not lock.exists()
