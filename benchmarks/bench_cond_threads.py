"""Benchmark `cond-threads`: `sobolev-verify cond --width 64 --dim 1000` with the default BLAS
threads while two busy CPU loops run beside it, against the same command with
OPENBLAS_NUM_THREADS=1 (target: <= 1.5x), and the same pair for commit 13828e0 ("before").

Run: python benchmarks/run.py --only cond-threads [--quick] (quick: --width 32 --dim 500).
Each command runs in a fresh process (python -m proofs_check.cli, the tree's own code); the
two loops are plain `while True: pass` processes started before and stopped after each pair.
Wall times, one run each, default-threads and one-thread runs alternating.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from common import Row, baseline_tree, load_average, met, repository_root, seconds

NAME = "cond-threads"

BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _command_seconds(tree: str, args: list[str], one_thread: bool) -> float:
    env = {k: v for k, v in os.environ.items() if k not in BLAS_VARIABLES}
    env["PYTHONPATH"] = tree
    if one_thread:
        env["OPENBLAS_NUM_THREADS"] = "1"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "proofs_check.cli", "cond", *args], env=env, cwd=tree,
                   check=True, capture_output=True, timeout=3600)
    return time.perf_counter() - start


def _busy_loops(count: int = 2) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def _stop(loops: list[subprocess.Popen]) -> None:
    for loop in loops:
        loop.kill()
        loop.wait()


def run(quick: bool) -> list[Row]:
    width, dim = ("32", "500") if quick else ("64", "1000")
    args = ["--width", width, "--dim", dim]
    results = {}
    load = load_average()
    for label, tree in (("now", repository_root()), ("13828e0", baseline_tree())):
        loops = _busy_loops()
        try:
            default = _command_seconds(tree, args, one_thread=False)
            single = _command_seconds(tree, args, one_thread=True)
        finally:
            _stop(loops)
        results[label] = (default, single)
    rows = []
    for label, (default, single) in results.items():
        ratio = default / single
        rows.append(Row(
            f"cond --width {width} --dim {dim}, default threads vs OPENBLAS_NUM_THREADS=1 "
            f"({label})", seconds(default), seconds(single), f"{ratio:.3g}",
            "<= 1.5" if label == "now" else "(before)",
            met(ratio <= 1.5) if label == "now" else "",
            f"beside 2 busy CPU loops on {os.cpu_count()} cores; load average {load:.1f} "
            "before the loops started"))
    return rows
