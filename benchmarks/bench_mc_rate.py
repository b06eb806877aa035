"""Benchmark `mc-rate`: Monte-Carlo samples/s (numerics.monte_carlo, h1, K = K* = 4, d = 100, batch
65536) vs rows/s of a plain X @ W.T of the same shape (target >= 0.4).

Run: python benchmarks/run.py --only mc-rate [--quick]. Prints its ratio against the baseline
measured in the same run.
"""

from __future__ import annotations

import numpy as np
from common import Row, interleaved, met, seconds, timed  # noqa: F401

from numerics.montecarlo import monte_carlo
from theory.configurations import make_configuration

NAME = 'mc-rate'


def run(quick: bool) -> list[Row]:
    K, d, batch = 4, 100, 65_536
    n = batch * (4 if quick else 16)
    config = make_configuration(K, K, d, seed=0)
    t_mc, _ = timed(lambda: monte_carlo(config.W, config.W_star, "h1", n_samples=n, seed=0,
                                        batch_size=batch), repeat=2)
    X = np.random.default_rng(0).standard_normal((batch, d))
    W = config.W
    t_mm, _ = timed(lambda: [X @ W.T for _ in range(n // batch)], repeat=3)
    t_rng, _ = timed(lambda: [np.random.default_rng(1).standard_normal((batch, d))
                              for _ in range(n // batch)], repeat=2)
    ratio = (n / t_mc) / (n / t_mm)
    return [Row("Monte-Carlo samples/s vs X @ W.T rows/s", f"{n / t_mc:.3g}/s",
                f"{n / t_mm:.3g}/s", f"{ratio:.3g}", ">= 0.4", met(ratio >= 0.4),
                f"h1, K=K*=4, d=100, batch {batch}; drawing X alone: {n / t_rng:.3g} rows/s, "
                f"so vs draw + X @ W.T: {(n / t_mc) / (n / (t_rng + t_mm)):.3g}")]
