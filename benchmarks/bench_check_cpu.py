"""Benchmark `check-cpu`: CPU seconds of `sobolev-verify check --no-figures` on the claims that
existed at commit 13828e0 except the sgd-* and landscape-* ones (whose evidence other work
enlarges), now vs 13828e0 in the same run (target: <= 0.5x), with the same verdicts.

Run: python benchmarks/run.py --only check-cpu [--quick] (quick: check --quick on both).
Each tree runs `python -m proofs_check.cli check --no-figures --no-progress --json --claim ID
...` in a fresh process (its own code, PYTHONPATH = the tree) with OPENBLAS_NUM_THREADS=1 for
both (so the CPU is the work, not idle BLAS threads spinning); CPU = user + system time of the
child (resource.getrusage(RUSAGE_CHILDREN)). Verdicts are read from each run's --json output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from common import Row, baseline_tree, load_average, met, repository_root

NAME = "check-cpu"


def claim_ids(tree: str) -> list[str]:
    """The claims registered at ``tree`` without sgd-* and landscape-*."""
    code = ("import proofs_check.claims as c; print(' '.join(x.id for x in c.all_claims() "
            "if not x.id.startswith(('sgd-', 'landscape-'))))")
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=tree),
                         cwd=tree, capture_output=True, text=True, check=True)
    return out.stdout.split()


def _verdicts(stdout: str) -> dict[str, str]:
    data = json.loads(stdout)
    claims = data["claims"] if isinstance(data, dict) else data
    return {item["id"]: item.get("status", item.get("verdict")) for item in claims}


def check_cpu(tree: str, ids: list[str], quick: bool) -> tuple[float, float, dict[str, str]]:
    """(CPU seconds, wall seconds, verdicts) of one check run of ``tree`` on ``ids``."""
    import resource

    args = [arg for claim in ids for arg in ("--claim", claim)]
    env = dict(os.environ, PYTHONPATH=tree, OPENBLAS_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "proofs_check.cli", "check", "--no-figures",
                   "--no-progress", "--json", "--out", os.path.join(out, "report"), *args]
        if quick:
            command.append("--quick")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=tree, capture_output=True, text=True,
                              timeout=7200)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"check failed in {tree}: {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, _verdicts(done.stdout)


def run(quick: bool) -> list[Row]:
    base = baseline_tree()
    ids = claim_ids(base)
    load = load_average()
    cpu_base, wall_base, verdicts_base = check_cpu(base, ids, quick)
    cpu_now, wall_now, verdicts_now = check_cpu(repository_root(), ids, quick)
    ratio = cpu_now / cpu_base
    differ = sorted(i for i in ids if verdicts_now.get(i) != verdicts_base.get(i))
    return [Row(
        f"check{' --quick' if quick else ''} --no-figures CPU on {len(ids)} claims of 13828e0",
        f"{cpu_now:.1f} s", f"{cpu_base:.1f} s", f"{ratio:.3g}", "<= 0.5, same verdicts",
        met(ratio <= 0.5 and not differ),
        f"wall {wall_now:.0f} s vs {wall_base:.0f} s; verdicts "
        f"{'identical' if not differ else 'differ for ' + ', '.join(differ)}; "
        f"load average {load:.1f}")]
