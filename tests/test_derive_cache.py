"""`derive`: LaTeX with proper symbols, and the on-disk cache (hit, corrupt entry, key)."""

import json

import pytest
import sympy as sp

from proofs_check.cli import main
from proofs_check.commands import derive
from theory.symbolic import one_neuron, printing
from theory.symbolic import symbols as S


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SOBOLEV_VERIFY_CACHE", str(tmp_path))
    return tmp_path


def test_latex_uses_lambda_and_r_star_and_never_plus_minus():
    for quantity in ("gradient", "hessian"):
        for convention in ("expected", "exact"):
            for expr in printing.derivation(quantity, "h1", convention).values():
                text = printing.to_latex(expr)
                assert "lam" not in text.replace("\\lambda", "") and "r_{star}" not in text
                assert "+ -" not in text and "+-" not in text
    gamma = one_neuron.hessian_frame("h1", "exact").gamma
    assert "\\lambda" in printing.to_latex(gamma) and "r_{*}" in printing.to_latex(gamma)
    # the display names are only names: parsing the LaTeX-free sympy string gives the same
    back = sp.parse_expr(sp.sstr(gamma), local_dict=S.local_dict())
    assert sp.simplify(back - gamma) == 0


def test_second_call_reads_the_cache_and_prints_the_same(cache, capsys, monkeypatch):
    argv = ["derive", "--quantity", "gradient", "--loss", "l2", "--convention", "expected",
            "--latex"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    entries = list(cache.rglob("*.json"))
    assert len(entries) == 1

    def no_derivation(*args, **kwargs):
        raise AssertionError("derived again despite the cache")

    monkeypatch.setattr(printing, "derivation", no_derivation)
    assert main(argv) == 0
    assert capsys.readouterr().out == first


def test_corrupt_or_foreign_entries_are_ignored_and_rewritten(cache, capsys):
    argv = ["derive", "--quantity", "loss", "--loss", "l2", "--json"]
    assert main(argv) == 0
    good = json.loads(capsys.readouterr().out)
    (entry,) = cache.rglob("*.json")
    for junk in ("{not json", json.dumps({"key": "other-version", "payload": "stale"}),
                 json.dumps(["no", "dict"])):
        entry.write_text(junk)
        assert main(argv) == 0
        assert json.loads(capsys.readouterr().out) == good
        assert json.loads(entry.read_text())["key"] == derive.cache_key()


def test_cache_key_changes_with_the_symbolic_source(monkeypatch, tmp_path):
    import theory.symbolic as symbolic

    key = derive.cache_key()
    fake = tmp_path / "symbolic"
    fake.mkdir()
    (fake / "__init__.py").write_text("# different source\n")
    monkeypatch.setattr(symbolic, "__file__", str(fake / "__init__.py"))
    assert derive.cache_key() != key


def test_convention_with_loss_only_is_an_error(capsys):
    assert main(["derive", "--quantity", "loss", "--convention", "exact"]) == 2
    assert "--convention has no effect" in capsys.readouterr().err


def test_concurrent_runs_share_an_empty_cache_safely(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "SOBOLEV_VERIFY_CACHE": str(tmp_path)}
    argv = [sys.executable, "-m", "proofs_check.cli", "derive", "--quantity", "loss", "--json"]
    runs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                             text=True) for _ in range(3)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert all(run.returncode == 0 for run in runs), [err for _, err in outputs]
    assert len({out for out, _ in outputs}) == 1
    assert not list(tmp_path.rglob(".tmp-*"))  # no temporary file left behind
    entries = list(tmp_path.rglob("*.json"))
    assert len(entries) == 3 and all(json.loads(e.read_text())["payload"] for e in entries)
