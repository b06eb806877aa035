"""Benchmark `first-call`: a fresh process's import + first κ for gelu at K = K* = 4, d = 10
against the same process's import + second call (target: <= 1.3x), with the kernel code cache
warm; "before": the same ratio with an empty cache (the SymPy derivation in every process).

Run: python benchmarks/run.py --only first-call [--quick].
Each measurement is a fresh `python -c` process timing `import theory`, the first and the
second theory.condition_number(W, W*, "h1", activation="gelu") (time.perf_counter); the ratio
is (import + first) / (import + second), best of 5 processes. The cache lives in a temporary
folder (SOBOLEV_VERIFY_CACHE) filled by one earlier process.
"""

from __future__ import annotations

import json
import os
import tempfile

from common import Row, load_average, met, repository_root, run_python

NAME = "first-call"

_CHILD = """
import json, time
start = time.perf_counter()
import numpy as np
import theory
imported = time.perf_counter()
rng = np.random.default_rng(0)
W, W_star = rng.standard_normal((4, 10)), rng.standard_normal((4, 10))
theory.condition_number(W, W_star, "h1", activation="gelu")
first = time.perf_counter()
theory.condition_number(W, W_star, "h1", activation="gelu")
second = time.perf_counter()
print(json.dumps({"import": imported - start, "first": first - imported,
                  "second": second - first}))
"""


def _process(cache: str) -> dict:
    env = dict(os.environ, SOBOLEV_VERIFY_CACHE=cache)
    out, _ = run_python(_CHILD, repository_root(), env=env)
    return json.loads(out.strip().splitlines()[-1])


def _ratio(t: dict) -> float:
    return (t["import"] + t["first"]) / (t["import"] + t["second"])


def run(quick: bool) -> list[Row]:
    load = load_average()
    repeats = 3 if quick else 5
    with tempfile.TemporaryDirectory() as warm_folder:
        _process(warm_folder)  # fills the cache
        warm = min((_process(warm_folder) for _ in range(repeats)), key=_ratio)
    colds = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as cold_folder:
            colds.append(_process(cold_folder))
    cold = min(colds, key=_ratio)
    ratio = _ratio(warm)
    return [Row(
        "fresh process: import + first gelu κ vs import + second (K = 4, d = 10)",
        f"{warm['import'] + warm['first']:.3f} s", f"{warm['import'] + warm['second']:.3f} s",
        f"{ratio:.3g}", "<= 1.3", met(ratio <= 1.3),
        f"warm kernel-code cache; empty cache: {cold['import'] + cold['first']:.3f} s "
        f"(ratio {_ratio(cold):.3g}); import {warm['import']:.3f} s; best of {repeats} "
        f"processes; load average {load:.1f}")]
