"""Benchmark `large`: structured spectrum alone at d = 10^6, against structured at d = 2000 (how
the cost grows with d; dense would need a (4·10^6)² matrix, 128 TB).

Run: python benchmarks/run.py --only large [--quick]. Prints its ratio against the baseline
measured in the same run.
"""

from __future__ import annotations

from common import Row, interleaved, met, seconds, timed  # noqa: F401

import theory
from theory.configurations import make_configuration

NAME = 'large'


def run(quick: bool) -> list[Row]:
    K, d_small, d_large = 4, 2000, (10**5 if quick else 10**6)
    small = make_configuration(K, K, d_small, seed=0)
    large = make_configuration(K, K, d_large, seed=0)
    t_small, _ = timed(lambda: theory.spectrum(small.W, small.W_star, "h1", convention="exact",
                                               method="structured"), repeat=5)
    t_large, values = timed(lambda: theory.spectrum(large.W, large.W_star, "h1",
                                                    convention="exact", method="structured"),
                            repeat=2)
    # κ for erf (h1) at d = 10⁶ by the structured method, target < 2 s on 2 cores;
    # warm-up in d = 50 first (the SymPy partials are generated once per process)
    theory.condition_number(large.W[:, :50], large.W_star[:, :50], "h1", activation="erf")
    t_erf, kappa = timed(lambda: theory.condition_number(large.W, large.W_star, "h1",
                                                         activation="erf",
                                                         method="structured"), repeat=3)
    return [Row(f"structured spectrum alone at d={d_large:.0e}", seconds(t_large),
                f"{seconds(t_small)} (d=2000)", f"{t_large / t_small:.3g}x slower",
                "(cost vs d)", "-",
                f"{values.size} eigenvalues; dense infeasible ((K·d)² = "
                f"{(K * d_large) ** 2 * 8 / 1e12:.3g} TB)"),
            Row(f"erf h1 structured κ at d={d_large:.0e}", seconds(t_erf),
                f"{seconds(t_large)} (relu spectrum, same d)", f"{t_erf / t_large:.3g}x",
                "< 2 s", met(t_erf < 2.0), f"κ = {kappa:.6g}, K = K* = {K}")]
