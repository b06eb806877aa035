"""Benchmark `qmc`: randomized QMC vs plain Monte-Carlo: error at equal time ((SE²·time) ratio).

Run: python benchmarks/run.py --only qmc [--quick]. Prints its ratio against the baseline
measured in the same run.
"""

from __future__ import annotations

import numpy as np
from common import Row, interleaved, met, seconds, timed  # noqa: F401

from numerics.montecarlo import monte_carlo
from theory.configurations import make_configuration

NAME = 'qmc'


def run(quick: bool) -> list[Row]:
    """Randomized QMC (scrambled Sobol', 16 scramblings) vs plain Monte-Carlo: error bars at
    equal time, (stderr² · time) ratio (MC error ∝ time^(-1/2))."""
    rows = []
    n = 16 * (2**12 if quick else 2**15)
    for loss in ("l2", "h1"):
        config = make_configuration(4, 4, 100, seed=0)
        t_mc, mc = timed(lambda c=config, loss=loss: monte_carlo(c.W, c.W_star, loss,
                                                                 n_samples=n, seed=0), repeat=2)
        t_q, q = timed(lambda c=config, loss=loss: monte_carlo(c.W, c.W_star, loss, n_samples=n,
                                                               seed=0, sampler="sobol"),
                       repeat=2)
        value_gain = (mc.value_stderr**2 * t_mc) / (q.value_stderr**2 * t_q)
        grad_gain = float(np.median((mc.gradient_stderr**2 * t_mc)
                                    / (q.gradient_stderr**2 * t_q)))
        rows.append(Row(f"QMC vs MC error at equal time ({loss})",
                        f"SE {q.value_stderr:.2g} in {seconds(t_q)}",
                        f"SE {mc.value_stderr:.2g} in {seconds(t_mc)}",
                        f"{value_gain:.3g}x (gradient median {grad_gain:.3g}x)",
                        "(reported)", "-",
                        f"{loss} relu, K=K*=4, d=100, N={n}; ratio = MC's (SE²·time) / "
                        "QMC's: the factor of time MC needs for QMC's error"))
    return rows
