"""Shared pieces of the benchmarks: the table row, best-of timers and formatting."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class Row:
    figure: str
    ours: str
    baseline: str
    ratio: str
    target: str
    met: str
    note: str = ""


def span_floor(n: int, m: int, P: int, chunk: int = 4096,
               then: Callable[[np.ndarray], object] | None = None) -> Callable[[], None]:
    """The Monte-Carlo floor: draw n standard normal rows of m span coordinates in chunks of
    ``chunk`` and mix each chunk by one fixed m×P matrix (``then`` applied to each mixed chunk,
    e.g. an activation, for a bound). Returns the function to time."""
    mix = np.random.default_rng(0).standard_normal((m, P))

    def run() -> None:
        rng = np.random.default_rng(1)
        for _ in range(n // chunk):
            mixed = rng.standard_normal((chunk, m)) @ mix
            if then is not None:
                then(mixed)

    return run


def timed(function: Callable[[], object], repeat: int = 1) -> tuple[float, object]:
    """(best wall time over ``repeat`` runs, result of the last run)."""
    best, result = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def interleaved(first: Callable[[], object], second: Callable[[], object], repeat: int = 5
                ) -> tuple[float, object, float, object]:
    """Best wall times of two functions run alternately (first, second, first, ...): load that
    comes and goes on a shared machine then hits both alike."""
    best = [math.inf, math.inf]
    results: list[object] = [None, None]
    for _ in range(repeat):
        for k, function in enumerate((first, second)):
            start = time.perf_counter()
            results[k] = function()
            best[k] = min(best[k], time.perf_counter() - start)
    return best[0], results[0], best[1], results[1]


def seconds(value: float) -> str:
    return f"{value * 1e3:.3g} ms" if value < 1 else f"{value:.3g} s"


def met(ok: bool) -> str:
    return "yes" if ok else "NO"



#: The commit the issue's speed targets are measured against ("before" columns).
BASELINE_COMMIT = "13828e0"


def repository_root() -> str:
    """The repository this benchmarks folder belongs to."""
    import os

    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def baseline_tree(commit: str = BASELINE_COMMIT) -> str:
    """A checkout of ``commit`` to run the "before" code from (a git worktree under the temp
    folder, created on first use; SOBOLEV_BASELINE_TREE names an existing one instead)."""
    import os
    import subprocess
    import tempfile

    path = os.environ.get("SOBOLEV_BASELINE_TREE") or os.path.join(
        tempfile.gettempdir(), f"sobolev-baseline-{commit}")
    if not os.path.isdir(os.path.join(path, "theory")):
        subprocess.run(["git", "-C", repository_root(), "worktree", "add", "--detach", path,
                        commit], check=True, capture_output=True)
    return path


def run_python(code: str, tree: str, env: dict | None = None, timeout: float = 3600,
               args: tuple[str, ...] = ()) -> tuple[str, float]:
    """Run ``python -c code`` with the package of ``tree`` first on sys.path (the toolkit's
    import order, PYTHONPATH=tree) in a fresh process; (stdout, CPU seconds of the child)."""
    import os
    import resource
    import subprocess
    import sys

    environment = dict(os.environ if env is None else env)
    environment["PYTHONPATH"] = tree
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([sys.executable, "-c", code, *args], env=environment, cwd=tree,
                         capture_output=True, text=True, timeout=timeout)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise RuntimeError(f"child failed ({out.returncode}): {out.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out.stdout, cpu


def load_average() -> float:
    import os

    return os.getloadavg()[0]
