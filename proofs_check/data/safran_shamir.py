r"""Safran & Shamir's published census of spurious minima, read from their repository.

I. Safran and O. Shamir, "Spurious Local Minima are Common in Two-Layer ReLU Neural Networks",
ICML 2018 (PMLR 80:4433–4441), arXiv:1712.08968. Their repository
github.com/ItaySafran/OneLayerGDconvergence holds, in ``Results/newExp-k-n.mat``, for k
orthonormal teacher rows (W* = I_k, d = k) and a student of n neurons, the bad endpoints of
1000 gradient-descent runs grouped into families equal up to permutations (``WbadNew``: d × n ×
count, the student as columns; ``magnitude``: how many of the 1000 runs ended in each family).
Their other variables (objVals, lambdaMin, r, deviations, maxFroDiff) are MATLAB symbolic
objects stored in MuPAD's binary serialisation, which scipy.io cannot read; the loss levels are
therefore recomputed here from the points.

``proofs_check/data/safran_shamir_2018.json`` keeps these facts (not the .mat files): per (k, n)
the runs, the bad count, every family's count and point (exact float64, base64 of the
little-endian bytes, student as rows (n, k)), and each family's l2 population loss recomputed
with theory.population_loss. Build it from a checkout of the repository with

    python -m proofs_check.data.safran_shamir /path/to/OneLayerGDconvergence [--commit SHA]

A (k, n) without a file: the repository stores a file only where bad minima were found
(Verify_minima_code/processResults.m skips an empty Wbad), so the ones its loop over
n = k … k + 3 ran (k ≥ 5, n ≤ 20) and that have no file are recorded as 0 bad of 1000 with
``"inferred": true``; (20, 21) was never run and is absent.

Their protocol (GD_code/findBadMinima.m, findMinimum.m): W = randn(d, n)/sqrt(d) (entries
N(0, 1/d)); plain gradient descent on the l2 population loss with step 0.1; their gradient
array is 2π·∇L, and the loop stops when max_i ‖2π ∇_{w_i} L‖ <= 1e-9 (no step cap); if that
norm exceeds 1e4 the run restarts from its start with half the step; bad when the loss is >=
1e-3.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

REPOSITORY = "https://github.com/ItaySafran/OneLayerGDconvergence"
PAPER = ("I. Safran and O. Shamir, Spurious Local Minima are Common in Two-Layer ReLU Neural "
         "Networks, ICML 2018, PMLR 80:4433-4441, arXiv:1712.08968")
DATA_FILE = "safran_shamir_2018.json"
RUNS = 1000
#: Loss values within this relative distance are one level (families of one level differ by
#: permutations of neurons and coordinates; their recomputed losses agree to ~1e-13).
LEVEL_RTOL = 1e-7


def encode_points(points: NDArray[np.float64]) -> str:
    """Exact float64 array as base64 of its little-endian bytes."""
    return base64.b64encode(np.ascontiguousarray(points, dtype="<f8").tobytes()).decode("ascii")


def decode_points(text: str, shape: list[int]) -> NDArray[np.float64]:
    """Inverse of encode_points."""
    return np.frombuffer(base64.b64decode(text), dtype="<f8").reshape(shape).astype(np.float64)


def group_levels(values: list[float], counts: list[int], rtol: float = LEVEL_RTOL
                 ) -> list[dict[str, Any]]:
    """Distinct loss values (relative tolerance rtol) with the runs that ended there."""
    levels: list[dict[str, Any]] = []
    for value, count in sorted(zip(values, counts, strict=True)):
        if levels and abs(value - levels[-1]["loss"]) <= rtol * abs(value):
            levels[-1]["count"] += count
            levels[-1]["families"] += 1
        else:
            levels.append({"loss": value, "count": count, "families": 1})
    return levels


def read_experiment(path: Path) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """(points (count, n, k) with the student as rows, magnitude (count,)) of one .mat file."""
    import warnings

    from scipy.io import loadmat

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the symbolic (opaque) variables warn
        mat = loadmat(str(path))
    W = np.asarray(mat["WbadNew"], dtype=np.float64)
    if W.ndim == 2:
        W = W[:, :, None]
    points = np.transpose(W, (2, 1, 0)).copy()  # (count, n, d): students as rows
    magnitude = np.asarray(mat["magnitude"]).ravel().astype(np.int64)
    if magnitude.size != points.shape[0]:
        raise ValueError(f"{path}: magnitude has {magnitude.size} entries for "
                         f"{points.shape[0]} points")
    return points, magnitude


def build(checkout: Path, commit: str | None) -> dict[str, Any]:
    """The data file's content from a checkout of the repository (module docstring)."""
    import theory

    results = checkout / "Results"
    files = {}
    for path in results.glob("newExp-*-*.mat"):
        k, n = map(int, re.fullmatch(r"newExp-(\d+)-(\d+)\.mat", path.name).groups())
        files[(k, n)] = path
    if not files:
        raise ValueError(f"no Results/newExp-k-n.mat under {checkout}")
    experiments = []
    for k in range(6, 21):
        for n in (k, k + 1):
            if n > 20:
                continue
            entry: dict[str, Any] = {"k": k, "n": n, "runs": RUNS}
            if (k, n) not in files:
                entry.update(file=None, bad=0, inferred=True, families=[], levels=[])
                experiments.append(entry)
                continue
            points, magnitude = read_experiment(files[(k, n)])
            teacher = np.eye(k)
            losses = [float(theory.population_loss(p, teacher, "l2")) for p in points]
            families = [{"count": int(c), "l2_loss": value, "shape": list(p.shape),
                         "W_float64_le_base64": encode_points(p)}
                        for p, c, value in zip(points, magnitude, losses, strict=True)]
            entry.update(file=f"Results/{files[(k, n)].name}", bad=int(magnitude.sum()),
                         inferred=False, families=families,
                         levels=group_levels(losses, [int(c) for c in magnitude]))
            experiments.append(entry)
    return {
        "source": {
            "repository": REPOSITORY, "commit": commit, "paper": PAPER,
            "paths": ["Results/newExp-k-n.mat", "Results/readme.txt",
                      "GD_code/findBadMinima.m", "GD_code/findMinimum.m", "GD_code/objval.m",
                      "Verify_minima_code/processResults.m"],
            "variables": "WbadNew (d x n x count, students as columns), magnitude (1 x count "
                         "runs per family); objVals, lambdaMin, r, deviations, maxFroDiff are "
                         "MATLAB symbolic objects that scipy.io cannot read",
            "protocol": {"init": "W = randn(d, n)/sqrt(d): entries N(0, 1/d)",
                         "step": 0.1, "loss": "l2 population loss, W* = I_k, d = k",
                         "stop": "max_i |2*pi*grad_{w_i} L| <= 1e-9 (their Grad is 2*pi times "
                                 "the gradient); no step cap",
                         "divergence": "if that norm exceeds 1e4: restart from the start with "
                                       "half the step",
                         "bad": "l2 loss >= 1e-3", "runs": RUNS},
            "missing_files": "a (k, n) run by processResults.m's loop (n = k..k+3, n <= 20) "
                             "without a file had no bad minimum: recorded as bad = 0 with "
                             "inferred = true",
        },
        "loss_levels": "l2 loss of each family's point, recomputed with "
                       "theory.population_loss(W, I_k, 'l2') (E 1/2 (g - g*)^2, x ~ N(0, I)); "
                       f"levels merge values within relative {LEVEL_RTOL:g}",
        "experiments": experiments,
    }


@cache
def _load_text() -> str:
    return resources.files("proofs_check.data").joinpath(DATA_FILE).read_text(encoding="utf-8")


def load() -> dict[str, Any]:
    """The published census as stored in the data file (a fresh copy each call)."""
    return json.loads(_load_text())


def experiment(k: int, n: int) -> dict[str, Any] | None:
    """The published entry for k teacher rows and n student neurons, or None (not run)."""
    for entry in load()["experiments"]:
        if entry["k"] == k and entry["n"] == n:
            return entry
    return None


def points(entry: dict[str, Any]) -> list[NDArray[np.float64]]:
    """The family representatives of one entry, each (n, k) with the student as rows."""
    return [decode_points(f["W_float64_le_base64"], f["shape"]) for f in entry["families"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="build " + DATA_FILE + " from a checkout")
    parser.add_argument("checkout", type=Path)
    parser.add_argument("--commit", default=None)
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).with_name(DATA_FILE))
    args = parser.parse_args(argv)
    data = build(args.checkout, args.commit)
    args.out.write_text(json.dumps(data, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
