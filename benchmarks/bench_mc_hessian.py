"""Benchmark `mc-hessian`: closed-form Hessian (theory.population_hessian) vs Monte-Carlo Hessian
(numerics.monte_carlo_hessian) reaching 1e-3 relative Frobenius error (target >= 1000x). N is
doubled from 10^5 within a time budget; if 1e-3 is not reached, the table gives the measured
ratio at the best error reached (a lower bound) and the N needed extrapolated from a log-log fit
of error vs N.

Run: python benchmarks/run.py --only mc-hessian [--quick]. Prints its ratio against the baseline
measured in the same run.
"""

from __future__ import annotations

import math

import numpy as np
from common import Row, interleaved, met, seconds, timed  # noqa: F401

import theory
from numerics.montecarlo import monte_carlo_hessian
from theory.configurations import make_configuration

NAME = 'mc-hessian'


def run(quick: bool, budget: float) -> list[Row]:
    config = make_configuration(2, 2, 2, seed=0, at="random")
    W, W_star = config.W, config.W_star
    t_cf, exact = timed(lambda: theory.population_hessian(W, W_star, "l2"), repeat=20)
    norm = np.linalg.norm(exact)
    target = 1e-3
    history: list[tuple[int, float, float]] = []  # (N, seconds, relative error)
    n, spent = 10**5, 0.0
    while True:
        t_mc, estimate = timed(lambda n=n: monte_carlo_hessian(W, W_star, "l2", n_samples=n,
                                                               seed=len(history) + 1))
        error = float(np.linalg.norm(estimate.hessian - exact) / norm)
        history.append((n, t_mc, error))
        spent += t_mc
        if error <= target or spent + 2.2 * t_mc > budget:
            break
        n *= 2
    n_last, t_last, e_last = history[-1]
    if e_last <= target:
        ratio = t_last / t_cf
        return [Row("closed-form vs Monte-Carlo Hessian to 1e-3", seconds(t_cf),
                    f"{seconds(t_last)} (N={n_last:.2g})", f"{ratio:.3g}x", ">= 1000x",
                    met(ratio >= 1000), f"rel. error {e_last:.1e}; l2, K=K*=2, d=2")]
    Ns, ts, es = (np.array(c, dtype=float) for c in zip(*history, strict=True))
    slope, intercept = np.polyfit(np.log(Ns), np.log(es), 1)
    n_needed = math.exp((math.log(target) - intercept) / slope) if slope < 0 else math.inf
    t_needed = n_needed * float(ts[-1] / Ns[-1])
    lower = t_last / t_cf
    return [Row("closed-form vs Monte-Carlo Hessian to 1e-3", seconds(t_cf),
                f"{seconds(t_last)} reached only {e_last:.1e} (N={n_last:.2g})",
                f">= {lower:.3g}x (extrap. {t_needed / t_cf:.2g}x)", ">= 1000x",
                met(lower >= 1000),
                f"error ~ N^{slope:.2f}; 1e-3 needs N ≈ {n_needed:.2g}, ≈ {seconds(t_needed)}; "
                "l2, K=K*=2, d=2, CRN central differences")]
