"""Benchmark `landscape`: the census of `sobolev-verify landscape --width 10 --starts 200 --workers
2` (l2 and h1 from the same starts, plus every spurious l2 minimum descended under h1) against
its own descent done with one theory.population_gradient call per start and step (the per-call
time times the number of steps the census took, one core); target: under 180 s wall on 2 cores.

Run: python benchmarks/run.py --only landscape [--quick]. Prints its ratio against the baseline
measured in the same run.
"""

from __future__ import annotations

from common import Row, interleaved, met, seconds, timed  # noqa: F401

import theory
from numerics.census_runs import census_resumable
from numerics.landscape import initial_weights, l2_minima_under_h1, orthonormal_teacher

NAME = 'landscape'


def run(quick: bool) -> list[Row]:
    k, n = (6, 40) if quick else (10, 200)
    W_star = orthonormal_teacher(k, k)

    def run():
        results = {loss: census_resumable(k, n, loss, workers=2) for loss in ("l2", "h1")}
        under = l2_minima_under_h1(results["l2"].of_class("spurious_minimum"), W_star)
        return results, under

    import resource

    def cpu() -> float:
        return sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
                   for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))

    cpu_before = cpu()
    t_ours, (results, under) = timed(run)
    cpu_ours = cpu() - cpu_before
    steps = sum(e.steps for r in results.values() for e in r.endpoints) + sum(
        u.after.steps for u in under)
    W = initial_weights([0], k, k, 0)[0]
    per_call, _ = timed(lambda: theory.population_gradient(W, W_star, "h1"), repeat=200)
    baseline = steps * per_call
    counts = {loss: r.counts() for loss, r in results.items()}
    return [Row(f"landscape census K=K*=d={k}, {n} starts, l2 + h1, 2 workers", seconds(t_ours),
                f"{seconds(baseline)} (est.)", f"{baseline / t_ours:.3g}x", "< 180 s",
                met(t_ours < 180),
                f"{cpu_ours:.3g} s of CPU (this process and its workers); "
                f"{steps} descent steps in all; one theory.population_gradient call "
                f"{seconds(per_call)}; spurious minima: l2 {counts['l2']['spurious_minimum']}, "
                f"h1 {counts['h1']['spurious_minimum']} of {n}; {len(under)} l2 minima "
                "descended under h1")]
