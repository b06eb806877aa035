"""Benchmark `check-cpu`: CPU seconds of `sobolev-verify check --no-figures` on the claims that
existed at commit 13828e0 except the sgd-* and landscape-* ones (whose evidence other work
enlarges), now vs 13828e0 in the same run (target: <= 0.5x), with the same verdicts.

Run: python benchmarks/run.py --only check-cpu [--quick] (quick: check --quick on both).
Each tree runs `python -m proofs_check.cli check --no-figures --no-progress --json --claim ID
...` in a fresh process (its own code, PYTHONPATH = the tree) with OPENBLAS_NUM_THREADS=1 for
both (so the CPU is the work, not idle BLAS threads spinning); the two run at the same time,
and each one's CPU is the user + system time of that child alone (os.wait4). Verdicts are
read from each run's --json output.
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

#: Verdicts that differ from 13828e0 by a rule change, not by a change of numbers: the claim,
#: both verdicts, and why. Any other difference fails the "same verdicts" condition.
RULE_CHANGES = {
    "flow-h1-normalised-faster-than-l2": (
        "conditional", "holds",
        "13828e0 called a tie (1 of 6 starts, equal rates) 'conditional'; the one verdict rule "
        "of docs/verdicts.md counts a tie as no violation; the rates printed are the same"),
}


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


def start_check(tree: str, ids: list[str], quick: bool, out: str):
    """Start one check run of ``tree`` on ``ids`` (stdout to a file in ``out``)."""
    args = [arg for claim in ids for arg in ("--claim", claim)]
    env = dict(os.environ, PYTHONPATH=tree, OPENBLAS_NUM_THREADS="1")
    command = [sys.executable, "-m", "proofs_check.cli", "check", "--no-figures",
               "--no-progress", "--json", "--out", os.path.join(out, "report"), *args]
    if quick:
        command.append("--quick")
    stdout = open(os.path.join(out, "stdout.json"), "w")  # noqa: SIM115 - closed in finish
    return subprocess.Popen(command, env=env, cwd=tree, stdout=stdout,
                            stderr=subprocess.DEVNULL), stdout, time.perf_counter()


def finish_check(started, out: str) -> tuple[float, float, dict[str, str]]:
    """(CPU seconds of that child alone (os.wait4), wall seconds, verdicts)."""
    process, stdout, start = started
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    stdout.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise RuntimeError(f"check failed with exit {process.returncode}")
    with open(os.path.join(out, "stdout.json"), encoding="utf-8") as handle:
        verdicts = _verdicts(handle.read())
    return usage.ru_utime + usage.ru_stime, wall, verdicts


def run(quick: bool) -> list[Row]:
    base = baseline_tree()
    ids = claim_ids(base)
    load = load_average()
    # both runs at once (each one's CPU is its own, from os.wait4): same load for both
    with tempfile.TemporaryDirectory() as out_base, tempfile.TemporaryDirectory() as out_now:
        base_run = start_check(base, ids, quick, out_base)
        now_run = start_check(repository_root(), ids, quick, out_now)
        cpu_base, wall_base, verdicts_base = finish_check(base_run, out_base)
        cpu_now, wall_now, verdicts_now = finish_check(now_run, out_now)
    ratio = cpu_now / cpu_base
    differ = sorted(i for i in ids if verdicts_now.get(i) != verdicts_base.get(i)
                    and RULE_CHANGES.get(i, (None, None))[:2] != (verdicts_base.get(i),
                                                                   verdicts_now.get(i)))
    explained = sorted(i for i in ids if verdicts_now.get(i) != verdicts_base.get(i)
                       and i not in differ)
    return [Row(
        f"check{' --quick' if quick else ''} --no-figures CPU on {len(ids)} claims of 13828e0",
        f"{cpu_now:.1f} s", f"{cpu_base:.1f} s", f"{ratio:.3g}", "<= 0.5, same verdicts",
        met(ratio <= 0.5 and not differ),
        f"wall {wall_now:.0f} s vs {wall_base:.0f} s; verdicts "
        f"{'identical' if not differ else 'differ for ' + ', '.join(differ)}"
        + "".join(f" (except {i}: {RULE_CHANGES[i][0]} -> {RULE_CHANGES[i][1]}, a rule change)"
                  for i in explained) + "; "
        f"load average {load:.1f}")]
