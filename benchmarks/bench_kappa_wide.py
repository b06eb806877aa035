"""Benchmark `kappa-wide`: κ(h1, expected, relu) at K = K* = 256, d = 10⁶ computed (not refused)
with peak RSS <= 6 GB, in no more wall time than commit 13828e0 takes at K = 128, d = 10⁶
(measured in the same run, each in a fresh process); K = 180, d = 2000 computed.

Run: python benchmarks/run.py --only kappa-wide [--quick] (quick: K = 128 and 64 instead).
Each point runs in a fresh process that draws W, W* (rows i.i.d. N(0, I_d), seeds 0 and 1,
drawn row by row so that no extra d-long array exists), then times theory.condition_number
alone; peak RSS is resource.getrusage(RUSAGE_SELF).ru_maxrss of that process (the weights
themselves are 2·K·d·8 bytes: 4.1 GB at K = 256, d = 10⁶). Both trees run with their default
BLAS threads as a user would (the current one limits itself to one; the baseline does not).
"""

from __future__ import annotations

import json
import sys

from common import Row, baseline_tree, load_average, met, repository_root, run_python, seconds

NAME = "kappa-wide"

_CHILD = """
import json, resource, sys, time
import numpy as np
import theory
K, d = int(sys.argv[1]), int(sys.argv[2])
W, W_star = np.empty((K, d)), np.empty((K, d))
for seed, X in ((0, W), (1, W_star)):
    rng = np.random.default_rng(seed)
    for i in range(K):
        X[i] = rng.standard_normal(d)
start = time.perf_counter()
try:
    kappa, error = theory.condition_number(W, W_star, "h1", convention="expected"), None
except Exception as exc:  # a refusal is a result here
    kappa, error = None, f"{type(exc).__name__}: {exc}"
seconds = time.perf_counter() - start
print(json.dumps({"kappa": kappa, "seconds": seconds, "error": error,
                  "rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}))
"""


def _point(tree: str, K: int, d: int) -> dict:
    out, _ = run_python(_CHILD, tree, args=(str(K), str(d)))
    return json.loads(out.strip().splitlines()[-1])


def _describe(result: dict) -> str:
    if result["error"]:
        return f"refused after {seconds(result['seconds'])}: {result['error'][:90]}"
    return (f"κ = {result['kappa']:.6g} in {seconds(result['seconds'])}, "
            f"peak RSS {result['rss_gb']:.2f} GB")


def run(quick: bool) -> list[Row]:
    wide, narrow, d = (128, 64, 10**6) if quick else (256, 128, 10**6)
    here, base = repository_root(), baseline_tree()
    load = load_average()
    points = {}
    # cheapest first; each point is printed to stderr as it finishes (a long run under load
    # keeps what it measured)
    for label, tree, K, dim in (("now", here, 180, 2000), ("13828e0", base, 180, 2000),
                                ("now", here, wide, d), ("13828e0", base, narrow, d),
                                ("now", here, narrow, d), ("13828e0", base, wide, d)):
        points[(label, K, dim)] = result = _point(tree, K, dim)
        print(f"  {label} K = {K}, d = {dim}: {_describe(result)} (load average "
              f"{load_average():.1f})", file=sys.stderr, flush=True)
    now_wide, base_narrow = points[("now", wide, d)], points[("13828e0", narrow, d)]
    now_narrow, base_wide = points[("now", narrow, d)], points[("13828e0", wide, d)]
    mid_now, mid_base = points[("now", 180, 2000)], points[("13828e0", 180, 2000)]
    rows = []
    computed = now_wide["error"] is None
    ratio = now_wide["seconds"] / base_narrow["seconds"]
    rows.append(Row(
        f"κ at K = {wide}, d = 10⁶: time vs 13828e0 at K = {narrow}",
        seconds(now_wide["seconds"]), seconds(base_narrow["seconds"]), f"{ratio:.3g}",
        "computed, RSS <= 6 GB, ratio <= 1",
        met(computed and now_wide["rss_gb"] <= 6.0 and ratio <= 1.0),
        f"now: {_describe(now_wide)}; 13828e0 at K = {wide}: {_describe(base_wide)}; "
        f"13828e0 at K = {narrow}: {_describe(base_narrow)}; load average {load:.1f}"))
    same = now_narrow["seconds"] / base_narrow["seconds"]
    rows.append(Row(f"κ at K = {narrow}, d = 10⁶: now vs 13828e0", seconds(now_narrow["seconds"]),
                    seconds(base_narrow["seconds"]), f"{same:.3g}", "(reference)", "",
                    f"now: {_describe(now_narrow)}"))
    rows.append(Row("κ at K = 180, d = 2000", _describe(mid_now)[:40],
                    _describe(mid_base)[:40], "", "computed", met(mid_now["error"] is None),
                    f"now: {_describe(mid_now)}; 13828e0: {_describe(mid_base)}"))
    return rows
