"""sweep under abuse: a grid point too large for memory is refused before anything is
allocated; SIGTERM ends a sweep within about STOP_GRACE_SECONDS even while a point is inside
one long LAPACK call; an empty grid file and a missing output folder are refused by name."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from proofs_check import cli
from proofs_check.commands._options import STOP_GRACE_SECONDS

ROOT = Path(__file__).parents[1]


def _main(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_a_point_beyond_memory_is_refused_before_any_allocation(tmp_path):
    """`sweep -K 2 -d 1000000000 --workers 1` allocated 2.9 GB in 20 s and kept growing
    (cond refused the same sizes at once)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    code, _, err = _main(["sweep", "-K", "2", "-d", "1000000000", "--workers", "1",
                          "--no-progress", "--out", str(tmp_path / "r.csv")])
    assert code == 2 and "--dim 1000000000" in err and "would need about" in err, err
    assert len(err.strip().splitlines()) == 1
    assert time.perf_counter() - started < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # kB
    assert not (tmp_path / "r.csv").exists()


def test_sigterm_stops_a_sweep_inside_a_long_lapack_call(tmp_path):
    """SIGTERM took 68 s and 131 s to act while a point was computing: now the process is gone
    within the grace period (plus process exit), with a one-line message."""
    out = tmp_path / "r.csv"
    process = subprocess.Popen(
        [sys.executable, "-m", "proofs_check.cli", "sweep", "-K", "4", "-d", "700",
         "--method", "dense", "--workers", "1", "--no-progress", "--out", str(out)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"})
    deadline = time.monotonic() + 60
    while not out.exists() and time.monotonic() < deadline:  # header written: computing
        time.sleep(0.05)
    assert out.exists(), "the sweep never started"
    time.sleep(1.0)  # inside the point's eigenvalue solve
    if process.poll() is not None:
        pytest.skip("the point finished before the signal could be sent")
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=STOP_GRACE_SECONDS + 10)
    finally:
        process.kill()
    elapsed = time.monotonic() - sent
    assert process.returncode == 2, err
    assert elapsed < STOP_GRACE_SECONDS + 3, elapsed
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_exit_after_signal_ends_a_call_that_never_checks_signals():
    """The watcher itself, deterministically: the main thread is inside one long C call that
    runs no signal handler until it returns (PBKDF2 with 10⁸ rounds, about a minute); SIGTERM
    still ends the process after the grace period, with the one-line message."""
    code = (
        "import hashlib, signal\n"
        "from proofs_check.cli import _raise_terminated\n"
        "from proofs_check.commands._options import exit_after_signal\n"
        "signal.signal(signal.SIGTERM, _raise_terminated)\n"
        "with exit_after_signal('stopped: one line'):\n"
        "    print('ready', flush=True)\n"
        "    hashlib.pbkdf2_hmac('sha256', b'x', b'y', 10**8)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert process.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=STOP_GRACE_SECONDS + 10)
        elapsed = time.monotonic() - sent
    finally:
        process.kill()
    assert process.returncode == 2 and err.strip() == "stopped: one line", err
    assert STOP_GRACE_SECONDS - 0.5 < elapsed < STOP_GRACE_SECONDS + 3, elapsed


def test_an_empty_grid_file_is_refused(tmp_path):
    """`sweep --grid empty.toml` silently ran the default grid."""
    grid = tmp_path / "empty.toml"
    grid.write_text("")
    code, _, err = _main(["sweep", "--grid", str(grid), "--out", str(tmp_path / "r.csv")])
    assert code == 2 and "[grid]" in err, err
    assert not (tmp_path / "r.csv").exists()


def test_an_output_under_a_missing_folder_is_refused(tmp_path):
    """`sweep --out a/b/c.csv` created the whole path."""
    code, _, err = _main(["sweep", "--out", str(tmp_path / "a" / "b" / "r.csv"),
                          "--no-progress"])
    assert code == 2 and "does not exist" in err, err
    assert sorted(tmp_path.iterdir()) == []


def test_an_unwritable_lock_names_the_option(tmp_path):
    """"Permission denied: '/sys/x.csv.lock'" did not name --out."""
    code, _, err = _main(["sweep", "--out", "/sys/x.csv", "--no-progress"])
    assert code == 2 and "--out" in err, err
