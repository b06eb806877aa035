"""The float points the landscape certificates start from, and how they were produced.

A point is a k×k student (teacher W* = I_k) found by the landscape census
(numerics.landscape): for each k, the first start of seed 0 (in the census' own start order)
whose l2 descent ends at a spurious minimum, then h1 descent (expected field, λ = 1, same
census settings) from that minimum — numerics.landscape.l2_minima_under_h1 — which ends at a
stable equilibrium of the expected h1 field. Both endpoints are polished by Newton's method in
float64 (proofs_check.analysis.landscape_certificate.newton_polish) before they are stored.

The committed file ``proofs_check/data/landscape_points.json`` keeps them (float64, exact
round-trip decimal) with their provenance, so ``check`` and ``certify-minimum`` are cheap and
deterministic. Regenerate it (never overwriting an existing file) with

    python -m proofs_check.analysis.landscape_points --width 6 7 8 --out NEW.json

A saddle of l2 for the negative tests is found by :func:`damped_newton` from a random start.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

import theory
from numerics.landscape import CensusSettings, census, l2_minima_under_h1, orthonormal_teacher
from proofs_check.analysis.landscape_certificate import newton_polish

#: The committed points file.
POINTS_FILE = Path(__file__).resolve().parent.parent / "data" / "landscape_points.json"

ROLES = ("l2-spurious-minimum", "h1-stable-equilibrium", "l2-saddle")


def find_census_points(width: int, seed: int = 0, max_starts: int = 400, chunk: int = 10
                       ) -> dict[str, Any] | None:
    """The first spurious l2 minimum of ``seed``'s starts at K = K* = d = width and the end of
    h1 descent from it (module docstring); None when none of ``max_starts`` starts gives one."""
    if not isinstance(width, int) or width < 2:
        raise ValueError(f"width must be an integer >= 2; got {width!r}")
    settings = CensusSettings()
    start_time = time.perf_counter()
    for first in range(0, max_starts, chunk):
        result = census(width, 0, "l2", seed=seed, settings=settings,
                        indices=np.arange(first, min(first + chunk, max_starts)))
        spurious = result.of_class("spurious_minimum")
        if spurious:
            minimum = spurious[0]
            after = l2_minima_under_h1([minimum], orthonormal_teacher(width, width),
                                       settings)[0].after
            return {"width": width, "seed": seed, "start": minimum.start,
                    "l2_minimum": minimum.W, "h1_endpoint": after.W,
                    "h1_endpoint_class": after.cls,
                    "seconds": time.perf_counter() - start_time}
    return None


def damped_newton(start: ArrayLike, loss: str = "l2", steps: int = 60,
                  tol: float = 1e-13) -> tuple[NDArray[np.float64], int]:
    """Newton's method with step halving on ‖F‖_F (teacher I): converges to critical points of
    any type, so it finds saddles that descent avoids. Returns (point, iterations)."""
    W = np.array(start, dtype=float)
    teacher = np.eye(W.shape[0])
    for iteration in range(1, steps + 1):
        F = theory.population_gradient(W, teacher, loss)
        H = theory.population_hessian(W, teacher, loss)
        step = np.linalg.solve(H, F.ravel()).reshape(W.shape)
        norm, t = float(np.linalg.norm(F)), 1.0
        while t > 1e-4:
            candidate = W - t * step
            if np.linalg.norm(theory.population_gradient(candidate, teacher, loss)) < norm:
                break
            t /= 2
        W = candidate
        if np.linalg.norm(theory.population_gradient(W, teacher, loss)) < tol:
            return W, iteration
    return W, steps


def point_record(role: str, W: NDArray[np.float64], produced_by: dict[str, Any]
                 ) -> dict[str, Any]:
    k = W.shape[0]
    loss = "h1" if role == "h1-stable-equilibrium" else "l2"
    polished, residual = newton_polish(W, loss)
    return {"width": k, "role": role, "field": loss if loss == "l2" else "h1 expected, λ = 1",
            "field_norm_float64": residual,
            "l2_loss_float64": theory.population_loss(polished, np.eye(k), "l2"),
            "produced_by": produced_by, "W": polished.tolist()}


def load_points(path: str | Path = POINTS_FILE) -> list[dict[str, Any]]:
    """The point records of a points file (ValueError naming the file when malformed)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read points file {path}: {error}") from error
    points = data.get("points") if isinstance(data, dict) else None
    if not isinstance(points, list):
        raise ValueError(f"points file {path} has no 'points' list")
    for record in points:
        if not isinstance(record, dict) or record.get("role") not in ROLES or "W" not in record:
            raise ValueError(f"points file {path}: every point needs a 'role' in {ROLES} and "
                             "a 'W' matrix")
        W = np.asarray(record["W"], dtype=float)
        if W.ndim != 2 or W.shape[0] != W.shape[1] or not np.all(np.isfinite(W)):
            raise ValueError(f"points file {path}: W must be a finite square matrix")
    return points


def point_for(width: int, role: str, path: str | Path = POINTS_FILE) -> NDArray[np.float64] | None:
    """The stored point of this width and role, or None."""
    for record in load_points(path):
        if record["role"] == role and record["width"] == width:
            return np.asarray(record["W"], dtype=float)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, nargs="+", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--saddle-seed", type=int, default=9,
                        help="seed of the random start of the k = 6 saddle (default 9)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    out = Path(args.out)
    if out.exists():
        print(f"error: --out {out} exists; choose a new file name", file=sys.stderr)
        return 2
    points = []
    for k in args.width:
        found = find_census_points(k, args.seed)
        if found is None:
            print(f"k = {k}: no spurious l2 minimum in the first 400 starts", file=sys.stderr)
            continue
        how = {"census": f"numerics.landscape.census({k}, 0, 'l2', seed={args.seed}, "
                         f"indices=[{found['start']}]) with default CensusSettings",
               "command": f"python -m proofs_check.analysis.landscape_points --width {k} "
                          f"--seed {args.seed} --out FILE",
               "seed": args.seed, "start": found["start"]}
        points.append(point_record("l2-spurious-minimum", found["l2_minimum"], how))
        then = ("numerics.landscape.l2_minima_under_h1 (h1 descent, expected field, λ = 1, "
                f"from the l2 minimum; census class {found['h1_endpoint_class']})")
        points.append(point_record("h1-stable-equilibrium", found["h1_endpoint"],
                                   {**how, "then": then}))
        print(f"k = {k}: start {found['start']}, {found['seconds']:.1f} s", file=sys.stderr)
    if 6 in args.width:
        rng = np.random.default_rng(args.saddle_seed)
        start = rng.standard_normal((6, 6)) / math.sqrt(6)
        saddle, iterations = damped_newton(start, "l2")
        points.append(point_record("l2-saddle", saddle, {
            "method": f"damped_newton(default_rng({args.saddle_seed}).standard_normal((6, 6)) "
                      f"/ sqrt(6), 'l2'): {iterations} iterations",
            "command": "python -m proofs_check.analysis.landscape_points --width 6 "
                       f"--saddle-seed {args.saddle_seed} --out FILE",
            "seed": args.saddle_seed}))
    payload = {"description": "relu student-teacher landscape points, K = K* = d = k, W* = I_k "
                              "(proofs_check.analysis.landscape_points)",
               "points": points}
    with out.open("x", encoding="utf-8") as handle:  # one point per line
        handle.write('{"description": ' + json.dumps(payload["description"]) + ',\n"points": [\n')
        handle.write(",\n".join(json.dumps(point, allow_nan=False) for point in points))
        handle.write("\n]}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
