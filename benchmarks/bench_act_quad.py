"""Benchmark `act-quad`: closed-form Hessian (theory.population_hessian, h1 expected) vs
numerics.quadrature Hessian at the same point, per activation (leaky_relu(0.1), gelu, erf,
sine), K = K* = 3, d = 10, W = W* + 0.1·Z/√d: speed-up and max |Δ| / max |H| (target >= 100x).

Run: python benchmarks/run.py --only act-quad [--quick]. Prints its ratio against the baseline
measured in the same run.
"""

from __future__ import annotations

import numpy as np
from common import Row, interleaved, met, seconds, timed  # noqa: F401

import theory
from theory.configurations import make_configuration

NAME = 'act-quad'


ACTIVATIONS_BENCHED = ("leaky_relu(0.1)", "gelu", "erf", "sine")


def run(quick: bool) -> list[Row]:
    from numerics.quadrature import quadrature

    config = make_configuration(3, 3, 6 if quick else 10, seed=0, at="perturbed", radius=0.1)
    W, W_star = config.W, config.W_star
    rows = []
    for activation in ACTIVATIONS_BENCHED:
        t_cf, closed = timed(lambda a=activation: theory.population_hessian(
            W, W_star, "h1", activation=a), repeat=5)
        t_q, quad = timed(lambda a=activation: quadrature(W, W_star, "h1", activation=a),
                          repeat=1 if quick else 2)
        error = float(np.max(np.abs(closed - quad.hessian)) / np.max(np.abs(closed)))
        ratio = t_q / t_cf
        rows.append(Row(f"closed-form vs quadrature Hessian, {activation}", seconds(t_cf),
                        seconds(t_q), f"{ratio:.3g}x", ">= 100x", met(ratio >= 100),
                        f"max|ΔH|/max|H| = {error:.1e}; h1 expected, K=K*=3, "
                        f"d={W.shape[1]}; quadrature: {quad.method}"))
    return rows
