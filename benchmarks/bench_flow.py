"""Benchmark `flow`: numerics.gradient_flow(method="Radau") with the analytic Jacobian vs
solve_ivp's Radau with its finite-difference Jacobian, same field, tolerances and time span, at
K·d = 400 (K = 4, d = 100, h1 expected) (target >= 5x).

Run: python benchmarks/run.py --only flow [--quick]. Prints its ratio against the baseline
measured in the same run.
"""

from __future__ import annotations

import numpy as np
from common import Row, interleaved, met, seconds, timed  # noqa: F401
from scipy.integrate import solve_ivp

import theory
from numerics.flow import gradient_flow
from theory.configurations import make_configuration

NAME = 'flow'


def run(quick: bool) -> list[Row]:
    K, d = 4, (25 if quick else 100)
    config = make_configuration(K, K, d, seed=0)
    t_end, rtol, atol = 50.0, 1e-8, 1e-11
    W_star = config.W_star

    def analytic():
        return gradient_flow(config.W, W_star, "h1", method="Radau", t_max=t_end, rtol=rtol,
                             atol=atol, gradient_tol=1e-300)

    def rhs(_t, y):
        return -theory.population_gradient(y.reshape(K, d), W_star, "h1").ravel()

    def finite_difference():
        return solve_ivp(rhs, (0.0, t_end), config.W.ravel(), method="Radau", rtol=rtol,
                         atol=atol)

    def same_harness():  # solve_ivp alone with the analytic Jacobian: isolates the Jacobian
        return solve_ivp(rhs, (0.0, t_end), config.W.ravel(), method="Radau", rtol=rtol,
                         atol=atol, jac=lambda _t, y: -theory.population_hessian(
                             y.reshape(K, d), W_star, "h1"))

    t_an, ours = timed(analytic)
    t_fd, theirs = timed(finite_difference)
    t_bare, _ = timed(same_harness)
    gap = float(np.max(np.abs(ours.W[-1].ravel() - theirs.y[:, -1])))
    per_jac_an, _ = timed(lambda: theory.population_hessian(config.W, W_star, "h1"), repeat=5)
    per_rhs, _ = timed(lambda: rhs(0.0, config.W.ravel()), repeat=20)
    ratio = t_fd / t_an
    return [Row(f"flow: analytic vs finite-difference Jacobian, K·d={K * d}", seconds(t_an),
                seconds(t_fd), f"{ratio:.3g}x", ">= 5x", met(ratio >= 5),
                f"Radau rtol={rtol:g}, t=0..{t_end:g}, h1 expected; Jacobians used: "
                f"{ours.njev} vs {theirs.njev}; one Jacobian {seconds(per_jac_an)} vs "
                f"{K * d} fields × {seconds(per_rhs)}; final states differ by {gap:.1e}; "
                f"bare solve_ivp + analytic Jacobian {seconds(t_bare)} "
                f"({t_fd / t_bare:.3g}x); gradient_flow adds events and per-sample diagnostics")]
