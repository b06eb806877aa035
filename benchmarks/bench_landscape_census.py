"""Benchmark `landscape-census`: CPU time per start-step of the census's descent (the batched
Gram-form field of theory.batched_field plus the update W ← W − ηF, l2, step 0.1) at k = 10 and
k = 20 (K = K* = d = k) with 200 starts, against

* a batched PyTorch-autograd descent on the same closed-form relu kernel (the population l2
  loss of all starts written in torch from the Gram matrix of unit rows, one backward per step;
  skipped when torch is not installed: `pip install torch==2.13.0`);
* the census's own field at commit 13828e0 (numerics.landscape.expected_field there, imported
  from a temporary git worktree in a subprocess).

Targets: >= 2x faster per start-step than the torch peer, >= 3x faster than 13828e0; and the
per-start cost flat or falling with the batch (20, 200, 1000 starts at k = 10).
Every variant runs the same starts for the same number of steps in one process; CPU time
(time.process_time) so that other load on a shared machine counts less. The fields agree
(max |ΔF| printed).

Run: python benchmarks/run.py --only landscape-census [--quick]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import Row, met

from numerics.landscape import initial_weights, orthonormal_teacher
from theory.batched_field import batched_field, field_plan

NAME = "landscape-census"
OLD_COMMIT = "13828e0"
ROOT = Path(__file__).resolve().parents[1]
STEP = 0.1


def _cpu_per_start_step(function, W0: np.ndarray, steps: int) -> tuple[float, np.ndarray]:
    W = W0.copy()
    start = time.process_time()
    for _ in range(steps):
        W = function(W)
    return (time.process_time() - start) / (steps * len(W0)), W


def ours(W_star: np.ndarray):
    plan = field_plan("l2")

    def step(W):
        W -= STEP * batched_field(W, W_star, plan=plan)
        return W
    return step


def torch_peer(W_star: np.ndarray):
    """Batched autograd descent on the closed-form l2 population loss (relu kernel)."""
    import torch

    torch.set_num_threads(1)
    V = torch.tensor(W_star, dtype=torch.float64)
    K = V.shape[0]

    def kernel_sum(A, B):  # Σ_ij |a_i||b_j|(sin θ + (π − θ) cos θ)/(2π) per start
        na, nb = A.norm(dim=-1), B.norm(dim=-1)
        C = (A / na[..., None]) @ (B / nb[..., None]).transpose(-1, -2)
        C = C.clamp(-1 + 1e-15, 1 - 1e-15)
        theta = torch.arccos(C)
        k = na[..., :, None] * nb[..., None, :] * (torch.sqrt(1 - C * C) + (torch.pi - theta) * C)
        return k.sum(dim=(-1, -2)) / (2 * torch.pi)

    def step(W):
        Wt = torch.tensor(W, dtype=torch.float64, requires_grad=True)
        Vs = V.expand(Wt.shape[0], K, V.shape[1])
        loss = (0.5 * kernel_sum(Wt, Wt) - kernel_sum(Wt, Vs)).sum()
        (grad,) = torch.autograd.grad(loss, Wt)
        with torch.no_grad():
            return (Wt - STEP * grad).numpy()
    return step


_OLD_SCRIPT = """
import json, sys, time
import numpy as np
from numerics.landscape import expected_field, initial_weights, orthonormal_teacher
k, S, steps = (int(a) for a in sys.argv[1:4])
W_star = orthonormal_teacher(k, k)
W = initial_weights(np.arange(S), k, k, 0)
start = time.process_time()
for _ in range(steps):
    W = W - 0.1 * expected_field(W, W_star, "l2")
print(json.dumps({"per": (time.process_time() - start) / (steps * S), "W": W.tolist()}))
"""


def old_census(k: int, S: int, steps: int) -> tuple[float, np.ndarray] | None:
    """Per start-step CPU time of the census field at OLD_COMMIT (None if git cannot)."""
    with tempfile.TemporaryDirectory() as folder:
        tree = Path(folder) / "old"
        made = subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree),
                               OLD_COMMIT], capture_output=True, text=True)
        if made.returncode != 0:
            return None
        try:
            out = subprocess.run([sys.executable, "-c", _OLD_SCRIPT, str(k), str(S), str(steps)],
                                 cwd=tree, env={**os.environ, "PYTHONPATH": str(tree),
                                                "OPENBLAS_NUM_THREADS": "1"},
                                 capture_output=True, text=True, check=True)
            record = json.loads(out.stdout)
            return record["per"], np.array(record["W"])
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                           capture_output=True)


def run(quick: bool) -> list[Row]:
    rows = []
    steps = 20 if quick else 100
    for k in ((10,) if quick else (10, 20)):
        S = 200
        W_star = orthonormal_teacher(k, k)
        W0 = initial_weights(np.arange(S), k, k, 0)
        t_ours, W_ours = _cpu_per_start_step(ours(W_star), W0, steps)
        try:
            t_peer, W_peer = _cpu_per_start_step(torch_peer(W_star), W0, steps)
        except ImportError:
            t_peer = None
        if t_peer is None:
            rows.append(Row(f"census step vs torch autograd, k={k}, {S} starts",
                            f"{t_ours*1e6:.3g} µs", "skipped (no torch)", "-", ">= 2x", "-"))
        else:
            gap = float(np.abs(W_peer - W_ours).max())
            rows.append(Row(f"census step vs torch autograd, k={k}, {S} starts",
                            f"{t_ours*1e6:.3g} µs", f"{t_peer*1e6:.3g} µs",
                            f"{t_peer / t_ours:.3g}x", ">= 2x", met(t_peer >= 2 * t_ours),
                            f"per start-step CPU; max |ΔW| after {steps} steps {gap:.1e}"))
        old = old_census(k, S, max(5, steps // 5))
        if old is None:
            rows.append(Row(f"census step vs commit {OLD_COMMIT}, k={k}", f"{t_ours*1e6:.3g} µs",
                            "skipped (no git worktree)", "-", ">= 3x", "-"))
        else:
            t_old, _ = old
            rows.append(Row(f"census step vs commit {OLD_COMMIT}, k={k}, {S} starts",
                            f"{t_ours*1e6:.3g} µs", f"{t_old*1e6:.3g} µs",
                            f"{t_old / t_ours:.3g}x", ">= 3x", met(t_old >= 3 * t_ours),
                            "per start-step CPU (its expected_field, same starts)"))
    k = 10
    W_star = orthonormal_teacher(k, k)
    per = {}
    for S in ((20, 200) if quick else (20, 200, 1000)):
        W0 = initial_weights(np.arange(S), k, k, 0)
        per[S], _ = _cpu_per_start_step(ours(W_star), W0, steps)
    sizes = sorted(per)
    flat = per[sizes[-1]] <= 1.25 * per[sizes[0]]
    rows.append(Row(f"census per start-step vs batch size, k={k}",
                    ", ".join(f"{S}: {per[S]*1e6:.3g} µs" for S in sizes),
                    f"{per[sizes[0]]*1e6:.3g} µs at {sizes[0]}",
                    f"{per[sizes[-1]] / per[sizes[0]]:.3g}x", "flat (<= 1.25x)", met(flat),
                    "CPU per start-step at each batch size"))
    return rows
