"""Benchmark `mc-smooth`: Monte-Carlo h1 with erf (and gelu, sine) at K = K* = 4, d = 1000 in
the span, samples/s as a fraction of drawing the span samples plus one product (target for
erf: >= 0.4), relu's specialised kernel beside it.

The bound row times the floor plus scipy's erf of the 2K pre-activations of every sample: an
upper limit on the fraction any erf kernel can reach (it must evaluate erf that often).

Run: python benchmarks/run.py --only mc-smooth [--quick].
The floor draws (n, m) standard normals (m = 2K = 8 span coordinates) in chunks of 4096 rows and
multiplies each chunk by an m×P matrix; estimator and floor run interleaved, best of 5 (load that
comes and goes hits both alike), one BLAS thread.
"""

from __future__ import annotations

import numpy as np
from common import Row, interleaved, load_average, met, span_floor

from numerics.montecarlo import monte_carlo
from theory.configurations import make_configuration
from theory.threads import blas_threads

NAME = "mc-smooth"


def run(quick: bool) -> list[Row]:
    K = 4
    n = 2**18 if quick else 2**20
    chunk = 4096
    config = make_configuration(K, K, 1000, seed=0)
    floor = span_floor(n, 2 * K, 2 * K, chunk)

    rows = []
    load = load_average()
    import numerics.montecarlo as mc

    kernel = mc._span_kernel
    mc._span_kernel = lambda *args: None  # the generic path the smooth kernel replaced
    try:
        with blas_threads(1):
            t_generic, _, t_floor, _ = interleaved(
                lambda: monte_carlo(config.W, config.W_star, "h1", n_samples=n, seed=0,
                                    activation="erf"), floor, repeat=3 if quick else 5)
    finally:
        mc._span_kernel = kernel
    rows.append(Row("MC h1 erf, generic path (before the smooth kernel): vs the floor",
                    f"{n / t_generic:.3g}/s", f"{n / t_floor:.3g}/s", f"{t_floor / t_generic:.3g}",
                    "(before)", "", f"same configuration; load average {load:.1f}"))
    from scipy import special

    values = np.empty((chunk, 2 * K))
    # what any estimator must do at least: draw, mix, one erf per row
    draw_and_erf = span_floor(n, 2 * K, 2 * K, chunk,
                              then=lambda mixed: special.erf(mixed, out=values))

    with blas_threads(1):
        t_bound, _, t_floor, _ = interleaved(draw_and_erf, floor, repeat=3 if quick else 5)
    rows.append(Row("bound for erf: the floor / (draw + mix + scipy.special.erf of every row)",
                    f"{n / t_bound:.3g}/s", f"{n / t_floor:.3g}/s", f"{t_floor / t_bound:.3g}",
                    "(bound)", "", "no kernel that evaluates erf once per row and sample can "
                    f"exceed this fraction; load average {load:.1f}"))
    with blas_threads(1):
        for activation in ("erf", "gelu", "sine", "relu"):
            t_ours, _, t_floor, _ = interleaved(
                lambda a=activation: monte_carlo(config.W, config.W_star, "h1", n_samples=n,
                                                 seed=0, activation=a),
                floor, repeat=3 if quick else 5)
            fraction = t_floor / t_ours
            target = activation == "erf"
            rows.append(Row(
                f"MC h1 {activation}, K = 4, d = 1000: samples/s vs the floor",
                f"{n / t_ours:.3g}/s", f"{n / t_floor:.3g}/s", f"{fraction:.3g}",
                ">= 0.4" if target else "(reference)", met(fraction >= 0.4) if target else "",
                f"span m = 8; interleaved best of {3 if quick else 5}; load average {load:.1f}"))
    return rows
