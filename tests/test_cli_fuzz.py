"""Abuse run of the command line: argv drawn from each command's options with valid, boundary
and invalid values (hypothesis).

Properties of every invocation: the exit code is 0, 1 or 2; stderr carries no Python traceback;
under --json stdout is strict JSON (no NaN/Infinity); nothing is written outside the folder or
file given to --out (or --plot). Runs in-process (proofs_check.cli.main) inside a scratch
working directory, with sizes kept small so the default suite spends well under a minute here;
the "fuzz" hypothesis profile (HYPOTHESIS_PROFILE=fuzz, or `-m slow` for the long test) draws
many more examples.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proofs_check import cli

NUMBER_JUNK = ["nan", "inf", "-inf", "-1", "0", "1e309", "", "x", "٣", "1_0", "0x10", "--",
               "-0.5:1", "1e-320", "3.5"]
SMALL_INT = st.sampled_from(["1", "2", "3"])
WEIGHT = st.sampled_from(["0", "0.5", "1", "1e-300", "1e300", "1e308"])
LOSSES = st.sampled_from(["l2", "h1", "h2", "sobolev", "L2"])
ACTIVATIONS = st.sampled_from(["relu", "leaky_relu(0.1)", "erf", "gelu", "sine", "tanh",
                               "leaky_relu(1)", "leaky_relu(٠.١)", "relu(", "leaky_relu(nan)"])


def _junk(valid):
    return st.one_of(valid, st.sampled_from(NUMBER_JUNK))


COMMON = {
    "--width": _junk(SMALL_INT), "--teacher-width": _junk(SMALL_INT),
    "--dim": _junk(st.sampled_from(["1", "2", "4"])), "--seed": _junk(st.sampled_from(["0", "7"])),
    "--activation": ACTIVATIONS, "--sobolev-weight": _junk(WEIGHT),
    "--at": st.sampled_from(["teacher", "perturbed", "random", "nowhere"]),
    "--radius": _junk(st.sampled_from(["0.1", "1", "1e3", "1e200"])),
    "--second-order-weight": _junk(WEIGHT),
    "--spike": st.sampled_from(["1:1", "-0.5:1", "-1:1", "2:9", "x", "1e308:1", "none"]),
    "--input-covariance": st.sampled_from(["SIGMA_EMPTY", "SIGMA_COMPLEX", "SIGMA_GOOD",
                                           "SIGMA_HUGE", "missing.npy", "SIGMA_TEXT"]),
}
OPTIONS = {
    "cond": {**COMMON, "--loss": LOSSES, "--method": st.sampled_from(["auto", "dense", "x"]),
             "--json": st.just(None), "--include-weights": st.just(None)},
    "flow": {**COMMON, "--loss": LOSSES, "--t-max": _junk(st.sampled_from(["1", "3"])),
             "--epsilon": _junk(st.sampled_from(["1e-3", "0.1"])),
             "--convention": st.sampled_from(["expected", "exact", "other"]),
             "--rtol": _junk(st.sampled_from(["1e-6"])), "--json": st.just(None),
             "--plot": st.sampled_from(["OUT/flow.png", "OUT/none/flow.png"])},
    "validate": {**COMMON, "--loss": LOSSES, "--samples": _junk(st.sampled_from(["200", "2000"])),
                 "--hessian-samples": _junk(st.sampled_from(["200"])), "--no-hessian":
                 st.just(None), "--json": st.just(None), "--no-progress": st.just(None)},
    "sweep": {**COMMON, "--loss": LOSSES, "--workers": st.sampled_from(["1", "0", "-1", "x"]),
              "--out": st.sampled_from(["OUT/r.csv", "OUT/missing/deeper/r.csv", "OUT",
                                        "OUT/r.txt"]),
              "--json": st.just(None), "--no-progress": st.just(None),
              "--grid": st.sampled_from(["GRID_EMPTY", "GRID_BAD", "missing.toml"])},
    "landscape": {"--width": _junk(SMALL_INT), "--dim": _junk(st.sampled_from(["2", "3"])),
                  "--starts": _junk(st.sampled_from(["1", "2"])),
                  "--max-steps": _junk(st.sampled_from(["5", "20"])),
                  "--loss": LOSSES, "--workers": st.sampled_from(["1", "0", "x"]),
                  "--json": st.just(None), "--out": st.sampled_from(["OUT/c.jsonl",
                                                                     "OUT/missing/c.jsonl"])},
    "derive": {"--quantity": st.sampled_from(["loss", "gradient", "hessian", "x"]),
               "--loss": LOSSES, "--convention": st.sampled_from(["expected", "exact", "x"]),
               "--json": st.just(None), "--latex": st.just(None)},
    "check": {"--claim": st.sampled_from(["no-such-claim", ""]),
              "--out": st.sampled_from(["OUT/report", "OUT/missing/deeper/report",
                                        "FILE_AS_OUT"]),
              "--format": st.sampled_from(["png", "gif"]), "--json": st.just(None),
              "--quick": st.just(None)},
}


@st.composite
def invocations(draw, commands=tuple(OPTIONS)):
    command = draw(st.sampled_from(commands))
    options = OPTIONS[command]
    names = draw(st.lists(st.sampled_from(sorted(options)), max_size=5, unique=True))
    argv = [command]
    for name in names:
        value = draw(options[name])
        argv.append(name)
        if value is not None:
            argv.append(value)
    if command in ("sweep", "check") and "--out" not in names:
        argv += ["--out", "OUT/default"]  # their default output lands in the working directory
    if command == "check" and "--claim" not in names:
        argv += ["--claim", "no-such-claim"]  # a full check takes minutes: only its refusals
    return argv


def _prepare(root: Path) -> dict[str, str]:
    """Scratch inputs the drawn arguments refer to (outside OUT)."""
    inputs = root / "inputs"
    inputs.mkdir()
    (inputs / "empty.npy").write_bytes(b"")
    np.save(inputs / "complex.npy", np.eye(2, dtype=complex))
    np.save(inputs / "good.npy", np.diag([1.0, 2.0]))
    (inputs / "huge.npy").write_bytes(
        b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (100000, "
        b"100000), }" + b" " * 40 + b"\n")
    (inputs / "text.npy").write_text("not an array")
    (inputs / "empty.toml").write_text("")
    (inputs / "bad.toml").write_text("[grid\nwidth = ")
    (inputs / "file_as_out").write_text("a user's file")
    return {"SIGMA_EMPTY": "inputs/empty.npy", "SIGMA_COMPLEX": "inputs/complex.npy",
            "SIGMA_GOOD": "inputs/good.npy", "SIGMA_HUGE": "inputs/huge.npy",
            "SIGMA_TEXT": "inputs/text.npy", "GRID_EMPTY": "inputs/empty.toml",
            "GRID_BAD": "inputs/bad.toml", "FILE_AS_OUT": "inputs/file_as_out"}


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*")}


def _strict_json(text: str):
    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")
    return json.loads(text, parse_constant=refuse)


def run_invocation(argv: list[str], root: Path) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse: exit 2 with its usage line
            code = exc.code if isinstance(exc.code, int) else 2
    return code, stdout.getvalue(), stderr.getvalue()


def check_invocation(argv: list[str], root: Path, placeholders: dict[str, str]) -> None:
    argv = [placeholders.get(a, a) for a in argv]
    out = root / "OUT"
    if out.exists():
        import shutil
        shutil.rmtree(out)
    out.mkdir()
    before = _snapshot(root)
    code, stdout, stderr = run_invocation(argv, root)
    assert code in (0, 1, 2), (argv, code, stderr[-2000:])
    assert "Traceback" not in stderr, (argv, stderr[-3000:])
    if code == 2:
        assert stderr.strip(), (argv, "exit 2 without a message")
    if "--json" in argv and code in (0, 1) and stdout.strip():
        _strict_json(stdout)
    after = _snapshot(root)
    changed = {p for p in after if before.get(p) != after[p]}
    outside = sorted(p for p in changed if not (p == "OUT" or p.startswith("OUT" + os.sep)))
    assert not outside, (argv, outside)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    return root, _prepare(root)


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(argv=invocations())
def test_cli_fuzz(argv, scratch, monkeypatch):
    root, placeholders = scratch
    monkeypatch.chdir(root)
    check_invocation(argv, root, placeholders)


@pytest.mark.slow
@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(argv=invocations())
def test_cli_fuzz_long(argv, scratch, monkeypatch):
    root, placeholders = scratch
    monkeypatch.chdir(root)
    check_invocation(argv, root, placeholders)


@pytest.mark.parametrize("argv", [
    ["cond", "--input-covariance", "SIGMA_EMPTY", "--dim", "2"],
    ["flow", "--input-covariance", "SIGMA_EMPTY", "--dim", "2", "--t-max", "1"],
    ["sweep", "--input-covariance", "SIGMA_EMPTY", "--dim", "2", "--out", "OUT/r.csv"],
    ["cond", "--input-covariance", "SIGMA_COMPLEX", "--dim", "2"],
    ["sweep", "--input-covariance", "SIGMA_COMPLEX", "--dim", "2", "--out", "OUT/r.csv",
     "--workers", "1"],
    ["cond", "--input-covariance", "SIGMA_HUGE", "--dim", "2"],
])
def test_bad_covariance_files_are_refused_by_name(argv, scratch, monkeypatch):
    """The abuse run's reproductions: an empty .npy gave an EOFError traceback (exit 1), a
    complex Σ exit 0 with a ComplexWarning, a header claiming 100000² a bare 'out of memory'."""
    root, placeholders = scratch
    monkeypatch.chdir(root)
    argv = [placeholders.get(a, a) for a in argv]
    (root / "OUT").mkdir(exist_ok=True)
    code, _, stderr = run_invocation(argv, root)
    assert code == 2, stderr
    assert "Traceback" not in stderr and "input-covariance" in stderr.replace("_", "-"), stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
