"""Benchmark `mc-span`: Monte-Carlo in the span: samples/s at d = 1000 vs d = 10 (target
>= 0.5) and vs drawing (n, m) normals + one product (target >= 0.5), full-d for reference.

Run: python benchmarks/run.py --only mc-span [--quick]. Prints its ratio against the baseline
measured in the same run.
"""

from __future__ import annotations

import os

from common import Row, interleaved, met, seconds, span_floor, timed  # noqa: F401

from numerics.montecarlo import monte_carlo
from theory.configurations import make_configuration

NAME = 'mc-span'


def run(quick: bool) -> list[Row]:
    """Monte-Carlo in the span: samples/s at d = 1000 vs d = 10, vs drawing (n, m) normals plus
    one (n, m)·(m, P) product, and vs the full-d estimator (dimension="full")."""
    K = 4
    n = 2**18 if quick else 2**20
    chunk = 4096
    rates = {}
    for d in (10, 1000):
        config = make_configuration(K, K, d, seed=0)
        t, _ = timed(lambda c=config: monte_carlo(c.W, c.W_star, "h1", n_samples=n, seed=0),
                     repeat=3)
        rates[d] = n / t
    config = make_configuration(K, K, 1000, seed=0)
    n_full = n // 16
    t_full, _ = timed(lambda: monte_carlo(config.W, config.W_star, "h1", n_samples=n_full,
                                          seed=0, dimension="full"))
    draw_and_product = span_floor(n, 2 * K, 2 * K, chunk)

    # Interleaved, best of 5: load that comes and goes hits the estimator and its baseline alike.
    t_ours, _, t_base, _ = interleaved(
        lambda: monte_carlo(config.W, config.W_star, "h1", n_samples=n, seed=0),
        draw_and_product, repeat=5)
    rates[1000] = max(rates[1000], n / t_ours)
    base = n / t_base
    ratio_d = rates[1000] / rates[10]
    ratio_base = rates[1000] / base
    load = os.getloadavg()[0]
    return [
        Row("MC samples/s, d=1000 vs d=10 (span)", f"{rates[1000]:.3g}/s", f"{rates[10]:.3g}/s",
            f"{ratio_d:.3g}", ">= 0.5", met(ratio_d >= 0.5),
            f"h1 relu, K=K*=4, m=8 coordinates drawn; full-d estimator at d=1000: "
            f"{n_full / t_full:.3g}/s, so span is {rates[1000] / (n_full / t_full):.3g}x faster"),
        Row("MC samples/s vs draw (n, m) normals + one product", f"{rates[1000]:.3g}/s",
            f"{base:.3g}/s", f"{ratio_base:.3g}", ">= 0.5", met(ratio_base >= 0.5),
            f"h1 relu, K=K*=4, d=1000, m=8; baseline in chunks of {chunk} rows (its fastest); "
            f"interleaved best of 5, load average {load:.1f}"),
    ]
