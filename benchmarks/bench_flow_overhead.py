"""Benchmark `flow-overhead`: gradient_flow vs bare solve_ivp, same method/tolerances/span (target
<= 1.1x).

Run: python benchmarks/run.py --only flow-overhead [--quick]. Prints its ratio against the
baseline measured in the same run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from common import Row, interleaved, met, seconds, timed  # noqa: F401
from scipy.integrate import solve_ivp

import theory
from numerics.flow import gradient_flow
from theory.configurations import make_configuration

NAME = 'flow-overhead'


def _time_outside_field(*runs: Callable[[], object], repeat: int = 3) -> list[float]:
    """Best wall time of each run minus the time spent evaluating the field: inside
    theory.population_gradient (the bare rhs) and inside the prepared fields
    theory.gradient_field returns (the flow's), both looked up on the module; runs
    interleaved."""
    real, real_prepared = theory.population_gradient, theory.gradient_field
    inside = [0.0]

    def timed_field(*args, **kwargs):
        start = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            inside[0] += time.perf_counter() - start

    def timed_prepared(*args, **kwargs):
        field = real_prepared(*args, **kwargs)

        def call(W):
            start = time.perf_counter()
            try:
                return field(W)
            finally:
                inside[0] += time.perf_counter() - start
        return call

    best = [math.inf] * len(runs)
    theory.population_gradient = timed_field
    theory.gradient_field = timed_prepared
    try:
        for _ in range(repeat):
            for k, run in enumerate(runs):
                inside[0] = 0.0
                start = time.perf_counter()
                run()
                best[k] = min(best[k], time.perf_counter() - start - inside[0])
    finally:
        theory.population_gradient, theory.gradient_field = real, real_prepared
    return best


def run(quick: bool) -> list[Row]:
    """gradient_flow vs a bare solve_ivp with the same method, tolerances and time span.

    The span of the bare solver is the flow's own (0, t_end) (the plateau stop at K = 10,
    d = 20): both take the same steps, so the field counts must agree and the ratio is the
    flow's own overhead (stop checks, bookkeeping, distances, the rate fit)."""
    K, d = (4, 10) if quick else (10, 20)
    config = make_configuration(K, K, d, seed=0)
    W_star = config.W_star
    tolerances = dict(rtol=1e-10, atol=1e-13)

    def rhs(_t, y):
        return -theory.population_gradient(y.reshape(K, d), W_star, "h1").ravel()

    gradient_flow(config.W, W_star, "h1", t_max=1.0)  # warm up: imports on first use
    rows = []
    for method in ("DOP853", "RK45"):
        t_end = float(gradient_flow(config.W, W_star, "h1", method=method).t[-1])
        t_ours, flow, t_bare, bare = interleaved(
            lambda method=method: gradient_flow(config.W, W_star, "h1", method=method),
            lambda method=method, t_end=t_end: solve_ivp(rhs, (0.0, t_end), config.W.ravel(),
                                                         method=method, **tolerances),
            repeat=3 if quick else 7)
        ratio = t_ours / t_bare
        outside_ours, outside_bare = _time_outside_field(
            lambda method=method: gradient_flow(config.W, W_star, "h1", method=method),
            lambda method=method, t_end=t_end: solve_ivp(rhs, (0.0, t_end), config.W.ravel(),
                                                         method=method, **tolerances))
        note = (f"h1 expected, rtol 1e-10 atol 1e-13, span 0..{t_end:.4g} (stop: "
                f"{flow.status}); fields {flow.nfev} vs {bare.nfev}; {len(flow.t)} output points "
                f"(the solver's steps); interleaved best of {3 if quick else 7}; time outside "
                f"population_gradient (best of 3, less load-sensitive): {seconds(outside_ours)} "
                f"vs {seconds(outside_bare)}, i.e. {(outside_ours - outside_bare) / t_bare:.1%} "
                "of the bare time")
        if method == "DOP853":
            t_access, _ = timed(lambda flow=flow: (flow.outputs.values.clear(), flow.loss,
                                                   flow.gradient_norm))
            sampled = gradient_flow(config.W, W_star, "h1", n_samples=200)
            t_long, _ = timed(lambda: solve_ivp(rhs, (0.0, 200.0), config.W.ravel(),
                                                method="DOP853", **tolerances))
            note += (f"; loss and ‖F‖ at every output point on first access: "
                     f"{seconds(t_access)} more; with n_samples=200 uniform outputs (dense "
                     f"output, 3 extra stages per step holding one): {sampled.nfev} fields; "
                     f"integrating to t_max = 200 (no plateau stop): {seconds(t_long)} bare")
        rows.append(Row(f"gradient_flow vs bare solve_ivp, {method}, K={K}, d={d}",
                        seconds(t_ours), seconds(t_bare), f"{ratio:.3g}x", "<= 1.1x",
                        met(ratio <= 1.1), note))
    return rows
