"""Benchmark `dense`: structured vs dense spectrum (h1, exact convention: symmetric) at K = K* = 4,
d = 2000: speed-up and max |Δλ| / max |λ| (target >= 100x, <= 1e-9).

Run: python benchmarks/run.py --only dense [--quick]. Prints its ratio against the baseline
measured in the same run.
"""

from __future__ import annotations

import numpy as np
from common import Row, interleaved, met, seconds, timed  # noqa: F401

import theory
from theory.configurations import make_configuration

NAME = 'dense'


def run(quick: bool) -> list[Row]:
    K, d = 4, (400 if quick else 2000)
    config = make_configuration(K, K, d, seed=0)
    args = (config.W, config.W_star, "h1")
    options = dict(convention="exact")
    t_struct, structured = timed(lambda: theory.spectrum(*args, **options, method="structured"),
                                 repeat=5)
    t_dense, dense = timed(lambda: theory.spectrum(*args, **options, method="dense"))
    error = float(np.max(np.abs(np.sort(structured) - np.sort(dense))) / np.max(np.abs(dense)))
    ratio = t_dense / t_struct
    return [Row(f"spectrum structured vs dense, K=4, d={d}", seconds(t_struct), seconds(t_dense),
                f"{ratio:.3g}x", ">= 100x, eig to 1e-9", met(ratio >= 100 and error <= 1e-9),
                f"max|Δλ|/max|λ| = {error:.1e}; h1 exact (symmetric), perturbed point")]
