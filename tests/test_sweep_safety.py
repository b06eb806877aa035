"""A sweep never loses work, never leaves processes behind and says what went wrong (issue 14).

Each test reproduces a defect found by abuse: two writers on one table, a foreign or corrupt
--out file, error rows never retried, workers and the resource tracker surviving a killed sweep,
SIGINT/SIGTERM tracebacks. Processes are real subprocesses with bounded waits.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from proofs_check.cli import main
from proofs_check.runs import sweep, table

ROOT = Path(__file__).resolve().parents[1]
# dense nonsymmetric eigenproblems of size 200: ~0.2 s per point, long enough to interrupt
SLOW_ARGS = ["sweep", "--width", "2", "--dim", "100", "--seed", "0:40", "--method", "dense",
             "--no-progress"]


def _children(pid: int) -> set[int]:
    """Pids of the live descendants of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _start(out: Path, *extra: str) -> subprocess.Popen:
    """The CLI sweep in a subprocess; its stderr goes to ``<out>.stderr``."""
    with open(f"{out}.stderr", "w") as err:
        return subprocess.Popen([sys.executable, "-m", "proofs_check.cli", *SLOW_ARGS,
                                 "--out", str(out), *extra], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=err)


def _wait_rows(process: subprocess.Popen, out: Path, rows: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if out.exists() and out.read_text().count("\n") >= rows + 1:
            return
        time.sleep(0.05)
    raise AssertionError("the sweep did not reach the expected number of rows in time "
                         f"(exit code {process.poll()})")


@pytest.fixture
def small_points():
    return sweep.grid_from_lists(width=[1, 2], dim=[3], seed=["0:3"]).points()


# ------------------------------------------------------------------------- one writer per table


def test_second_writer_is_refused_while_the_table_is_locked(tmp_path, small_points):
    out = tmp_path / "t.csv"
    with table._exclusive(out):  # what a running sweep holds
        with pytest.raises(sweep.SweepLockedError, match="being written by another sweep"):
            sweep.run_sweep(small_points, out, workers=1, progress=False)
    assert sweep.run_sweep(small_points, out, workers=1, progress=False).computed == 6


def test_concurrent_cli_sweeps_do_not_lose_or_duplicate_rows(tmp_path, capsys):
    out = tmp_path / "shared.csv"
    first = _start(out, "--workers", "1")
    try:
        _wait_rows(first, out, 1)
        code = main([*SLOW_ARGS, "--out", str(out), "--workers", "1"])
        err = capsys.readouterr().err
        assert code == 2
        assert "being written by another sweep" in err and "Traceback" not in err
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=30)
    keys = [tuple(r[c] for c in sweep.KEY_COLUMNS) for r in sweep.read_results(out)]
    assert len(keys) == len(set(keys)) >= 1


# --------------------------------------------------------------------- foreign or corrupt files


@pytest.mark.parametrize("content", [
    b"my notes without a line break",
    b"a,b\n1,2\n",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
    sweep.HEADER_LINE.replace("error", "failure").encode(),  # another version's table
])
def test_existing_file_that_is_not_a_sweep_table_is_refused_and_kept(tmp_path, capsys,
                                                                      content):
    out = tmp_path / "precious.dat"
    out.write_bytes(content)
    code = main(["sweep", "--no-progress", "--workers", "1", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "not a sweep table of this version" in err and "Traceback" not in err
    assert out.read_bytes() == content


def test_corrupt_rows_are_recomputed_on_resume(tmp_path, small_points):
    reference = tmp_path / "reference.csv"
    sweep.run_sweep(small_points, reference, workers=1, progress=False)
    out = tmp_path / "corrupt.csv"
    lines = reference.read_text().splitlines(keepends=True)
    column = sweep.COLUMNS.index("l2_exact_kappa")
    bad = list(csv.reader([lines[1]]))[0]
    bad[column] = "banana"
    lines[1] = ",".join(bad) + "\n"
    lines[2] = lines[2].replace(",ok,", ",ok,\x00", 1)
    out.write_text("".join(lines))
    summary = sweep.run_sweep(small_points, out, workers=1, progress=False)
    assert (summary.dropped, summary.computed, summary.skipped) == (2, 2, 4)
    assert sorted(out.read_text().splitlines()) == sorted(reference.read_text().splitlines())


def test_cli_reports_and_retries_remaining_failures(tmp_path, capsys):
    out = tmp_path / "errors.csv"
    argv = ["sweep", "--width", "2", "3", "--teacher", "2", "--at", "perturbed", "--no-progress",
            "--workers", "1", "--out", str(out)]
    assert main(argv) == 1
    first = capsys.readouterr().out
    assert "1 computed" not in first and "FAILURES REMAIN: 1 of 2" in first
    assert main(argv) == 1  # retried (and fails again): never "0 computed" with exit 0
    again = capsys.readouterr().out
    assert "1 computed (1 failed)" in again and "retried" in again
    assert "FAILURES REMAIN" in again


# ------------------------------------------------------------------- processes die with the run


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "SIGINT"])
def test_stopped_sweep_leaves_no_processes_and_an_intact_table(tmp_path, how):
    out = tmp_path / "stopped.csv"
    process = _start(out, "--workers", "2")
    helpers: set[int] = set()
    try:
        _wait_rows(process, out, 2)
        helpers = _children(process.pid)
        assert len(helpers) >= 2  # the pool workers (and the resource tracker)
        process.send_signal(getattr(signal, how))
        process.wait(timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(pid) for pid in helpers):
            time.sleep(0.1)
        leaked = [pid for pid in helpers if _alive(pid)]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in helpers:  # never leave the test's own processes behind, even on failure
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert not leaked, "workers outlived the sweep"
    err = Path(f"{out}.stderr").read_text()
    if how != "SIGKILL":
        assert process.returncode == 2
        assert "Traceback" not in err
        assert len(err.strip().splitlines()) == 1 and "interrupted" in err
        assert out.read_text().endswith("\n")  # no partial row
    rows = sweep.read_results(out)
    assert 2 <= len(rows) < 40
    resumed = sweep.run_sweep(
        sweep.grid_from_lists(width=[2], dim=[100], seed=["0:40"], method="dense").points()[:3],
        out, workers=1, progress=False)
    assert resumed.dropped == 0 and resumed.remaining_errors == 0


def test_unreachable_scheduler_is_one_line_exit_two(tmp_path, capsys, monkeypatch):
    from proofs_check.runs import dask_client

    monkeypatch.setattr(dask_client, "SCHEDULER_TIMEOUT", "1s")
    code = main(["sweep", "--no-progress", "--scheduler", "tcp://127.0.0.1:9",
                 "--out", str(tmp_path / "s.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "--scheduler" in err and "tcp://127.0.0.1:9" in err


def test_too_large_grid_is_refused_before_allocating(capsys, tmp_path):
    code = main(["sweep", "--seed", "0:100000000", "--out", str(tmp_path / "big.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "seed" in err and "at most" in err
    assert not (tmp_path / "big.csv").exists()


def test_out_that_is_a_directory_or_unwritable_is_refused_before_computing(tmp_path, capsys):
    assert main(["sweep", "--out", str(tmp_path)]) == 2
    assert "--out" in capsys.readouterr().err
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(["sweep", "--out", str(blocker / "x.csv")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_out_in_a_read_only_folder_is_refused_before_computing(tmp_path, capsys):
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # running as root: permissions are not enforced
            pytest.skip("permission checks do not apply to this user")
        assert main(["sweep", "--out", str(locked / "x.csv")]) == 2
        assert "not writable" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)
