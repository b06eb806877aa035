"""Benchmark `memory`: tracemalloc peak of numerics.monte_carlo at N = 10^6 and 10^8 (target:
flat).

Run: python benchmarks/run.py --only memory [--quick]. Prints its ratio against the baseline
measured in the same run.
"""

from __future__ import annotations

import time
import tracemalloc

from common import Row, interleaved, met, seconds, timed  # noqa: F401

from numerics.montecarlo import monte_carlo
from theory.configurations import make_configuration

NAME = 'memory'


def run(quick: bool) -> list[Row]:
    config = make_configuration(2, 2, 10, seed=0)
    sizes = (10**5, 10**6) if quick else (10**6, 10**8)
    peaks, times = [], []
    for n in sizes:
        tracemalloc.start()
        tracemalloc.reset_peak()
        start = time.perf_counter()
        monte_carlo(config.W, config.W_star, "h1", n_samples=n, seed=0)
        times.append(time.perf_counter() - start)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    ratio = peaks[1] / peaks[0]
    return [Row(f"MC peak memory, N={sizes[1]:.0e} vs N={sizes[0]:.0e}",
                f"{peaks[1] / 2**20:.3g} MiB", f"{peaks[0] / 2**20:.3g} MiB", f"{ratio:.3g}x",
                "flat (~1x)", met(ratio < 1.5),
                f"tracemalloc peak, h1, K=K*=2, d=10, batch 65536; N={sizes[1]:.0e} took "
                f"{seconds(times[1])}")]
