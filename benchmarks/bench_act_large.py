"""Benchmark `act-large`: structured κ of the erf h1 Jacobian at d = 10^6, K = K* = 4 (target < 2
s; the relu κ at the same d is timed beside it).

Run: python benchmarks/run.py --only act-large [--quick]. Prints its ratio against the baseline
measured in the same run.
"""

from __future__ import annotations

from common import Row, interleaved, met, seconds, timed  # noqa: F401

import theory
from theory.configurations import make_configuration

NAME = 'act-large'


ACTIVATIONS_BENCHED = ("leaky_relu(0.1)", "gelu", "erf", "sine")


def run(quick: bool) -> list[Row]:
    K, d = 4, (10**5 if quick else 10**6)
    config = make_configuration(K, K, d, seed=0)
    t_erf, kappa = timed(lambda: theory.condition_number(
        config.W, config.W_star, "h1", activation="erf", method="structured"), repeat=2)
    t_relu, _ = timed(lambda: theory.condition_number(
        config.W, config.W_star, "h1", method="structured"), repeat=2)
    return [Row(f"structured κ, erf h1, K=4, d={d:.0e}", seconds(t_erf),
                f"{seconds(t_relu)} (relu, same d)", f"{t_erf / t_relu:.3g}x relu's time",
                "< 2 s", met(t_erf < 2.0),
                f"κ = {kappa:.6g}; expected convention, W = W* + 0.1·Z/√d")]
