"""Shared pieces of the benchmarks: the table row, best-of timers and formatting."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Row:
    figure: str
    ours: str
    baseline: str
    ratio: str
    target: str
    met: str
    note: str = ""


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

