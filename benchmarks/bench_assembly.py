"""Benchmark `assembly`: population_hessian from its low-rank structure vs the pair-by-pair
assembly and vs one eigvalsh of the same matrix (same run).

Run: python benchmarks/run.py --only assembly [--quick]. Prints its ratio against the baseline
measured in the same run.
"""

from __future__ import annotations

import numpy as np
from common import Row, interleaved, met, seconds, timed  # noqa: F401

import theory
from theory.configurations import make_configuration

NAME = 'assembly'


def run(quick: bool) -> list[Row]:
    """population_hessian from its low-rank structure vs the pair-by-pair assembly and vs one
    eigvalsh of the same matrix (same run)."""
    from theory.assembly import direct_hessian, make_problem

    K, d = 4, (400 if quick else 1000)
    config = make_configuration(K, K, d, seed=0)
    rows = []
    for convention in ("exact", "expected"):
        problem = make_problem(config.W, config.W_star, "h1", activation="relu",
                               convention=convention, sobolev_weight=1.0,
                               second_order_weight=1.0, input_covariance=None)
        t_new, H, t_old, direct = interleaved(
            lambda c=convention: theory.population_hessian(config.W, config.W_star, "h1",
                                                           convention=c),
            lambda p=problem: direct_hessian(p), repeat=3)
        error = float(np.abs(H - direct).max() / np.abs(direct).max())
        ratio = t_old / t_new
        row = Row(f"dense Hessian K={K}, d={d} (h1 {convention}): structured vs pair by pair",
                  seconds(t_new), seconds(t_old), f"{ratio:.3g}x", "equal to 1e-13",
                  met(error <= 1e-13), f"max|ΔH|/max|H| = {error:.1e}; "
                  "H = Γ⊗I + (I⊗Q)(M − Γ⊗I)(I⊗Q)ᵀ, two GEMMs; best of 3 interleaved")
        rows.append(row)
        if convention == "exact":
            t_eig, _ = timed(lambda h=H: np.linalg.eigvalsh(h), repeat=1 if not quick else 2)
            share = t_new / t_eig
            rows.append(Row(f"dense Hessian assembly vs one eigvalsh, K·d = {K * d}",
                            seconds(t_new), seconds(t_eig), f"{share:.3g}x", "<= 0.05x",
                            met(share <= 0.05), "structured assembly time / eigvalsh time of "
                            "the same (K·d)² matrix, same run"))
    return rows
