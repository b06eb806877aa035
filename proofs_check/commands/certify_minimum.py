"""`sobolev-verify certify-minimum`: prove a spurious l2 minimum and the h1 trap near it.

Relu student, orthonormal teacher W* = I_k, K = K* = d = k, λ = 1. Takes the spurious l2 minimum
of width k — from the committed points file (default), from a points file (--from FILE.json,
the format of proofs_check/data/landscape_points.json) or from a census file (--from
FILE.jsonl, written by `sobolev-verify landscape --out`; its first spurious l2 minimum of that
width, then h1 descent from it) — polishes it by Newton's method and proves in Arb ball
arithmetic, on a box W̃ + [−r, r]^{k×k}:

  1. the l2 gradient has exactly one zero in the box, a strict local minimum with loss >= 1e-3
     (Krawczyk; positive definite Hessian enclosure; loss enclosure);
  2. the expected h1 field has exactly one zero in the box around the h1 descent endpoint, a
     linearly stable equilibrium at l2 loss >= 1e-3 (Krawczyk; Lyapunov certificate);
  3. the exact h1 gradient ∇(L + J) has no zero on that box, and the h1 field has none on the
     l2 minimum's box.

Without a stored point for k (and without --from) the census is run (seed 0, starts in order
until the first spurious l2 minimum). Exit status 0 when all three are proved, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from pathlib import Path

import numpy as np

from proofs_check.analysis.krawczyk import DEFAULT_RADII
from proofs_check.commands._options import positive_int


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "certify-minimum", help="prove a spurious l2 minimum and its h1 trap (Arb)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", "-K", type=positive_int, required=True,
                        help="k: student width = teacher width = dimension")
    parser.add_argument("--from", dest="source", metavar="FILE", default=None,
                        help="points file (.json) or census file (.jsonl) to take the point from "
                             "(default: the committed points file, else a census run)")
    parser.add_argument("--radius", type=float, default=None,
                        help="box radius r (default: try " + ", ".join(
                            f"{r:g}" for r in DEFAULT_RADII) + " in turn)")
    parser.add_argument("--prec", type=positive_int, default=128,
                        help="Arb working precision in bits (default 128)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=run)


def _from_census(path: Path, k: int) -> tuple[np.ndarray, np.ndarray, dict]:
    from numerics.landscape import (
        CensusSettings,
        Endpoint,
        l2_minima_under_h1,
        orthonormal_teacher,
    )

    minimum = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        key, endpoint = record.get("key", {}), record.get("endpoint", {})
        if not isinstance(key, dict) or not isinstance(endpoint, dict):
            raise ValueError(f"--from {path}: line {number} is not a census record")
        if (key.get("width") == k and key.get("teacher_width") == k and key.get("dim") == k
                and key.get("loss") == "l2" and endpoint.get("cls") == "spurious_minimum"):
            minimum = Endpoint.from_json(endpoint)
            settings = CensusSettings(**key["settings"])
            break
    if minimum is None:
        raise ValueError(f"--from {path}: no spurious l2 minimum with K = K* = d = {k} in this "
                         f"census file; run `sobolev-verify landscape --width {k} --starts N "
                         "--out FILE` or give another --width")
    after = l2_minima_under_h1([minimum], orthonormal_teacher(k, k), settings)[0].after
    return minimum.W, after.W, {"census_file": str(path), "start": minimum.start,
                                "seed": key.get("seed")}


def _points(args) -> tuple[np.ndarray, np.ndarray, dict]:
    from proofs_check.analysis.landscape_points import POINTS_FILE, find_census_points, load_points

    k = args.width
    path = Path(args.source) if args.source else POINTS_FILE
    if args.source and not path.is_file():
        raise ValueError(f"--from {path}: no such file")
    if path.suffix == ".jsonl":
        return _from_census(path, k)
    stored = {}
    for record in load_points(path):
        if record["width"] == k:
            stored[record["role"]] = record
    if "l2-spurious-minimum" in stored and "h1-stable-equilibrium" in stored:
        return (np.asarray(stored["l2-spurious-minimum"]["W"]),
                np.asarray(stored["h1-stable-equilibrium"]["W"]),
                {"points_file": str(path),
                 **stored["l2-spurious-minimum"]["produced_by"]})
    if args.source:
        raise ValueError(f"--from {path}: no l2-spurious-minimum and h1-stable-equilibrium "
                         f"points of width {k}")
    print(f"no stored point for k = {k}: running the census (seed 0) ...", file=sys.stderr)
    found = find_census_points(k)
    if found is None:
        raise ValueError(f"--width {k}: the census found no spurious l2 minimum in its first "
                         "400 starts (none exist below k = 6)")
    return found["l2_minimum"], found["h1_endpoint"], {"census_seed": 0,
                                                        "start": found["start"]}


def run(args: argparse.Namespace) -> int:
    from proofs_check.analysis.landscape_certificate import certify_width, lower_text

    if args.width < 2:
        raise ValueError(f"--width must be >= 2; got {args.width}")
    if args.radius is not None and not (math.isfinite(args.radius) and args.radius > 0):
        raise ValueError(f"--radius must be a finite number > 0; got {args.radius}")
    if args.prec < 30:
        raise ValueError(f"--prec must be >= 30 bits; got {args.prec}")
    W_l2, W_h1, source = _points(args)
    if "points_file" in source:
        with contextlib.suppress(ValueError):
            source["points_file"] = str(Path(source["points_file"]).resolve().relative_to(
                Path(__file__).resolve().parents[2]))
    for name, W in (("l2 point", W_l2), ("h1 point", W_h1)):
        if W.shape != (args.width, args.width):
            raise ValueError(f"the {name} has shape {W.shape}, not ({args.width}, {args.width})")
    radii = (args.radius,) if args.radius is not None else DEFAULT_RADII
    result = certify_width(W_l2, W_h1, radii=radii, prec=args.prec)
    exact, at_l2 = result.exact_at_h1, result.h1_at_l2
    all_proved = (result.l2.proved and result.h1.proved and exact is not None and exact.excluded
                  and at_l2 is not None and at_l2.excluded)
    if args.json:
        print(json.dumps({"width": args.width, "source": source, "proved": all_proved,
                          **result.as_dict()}, indent=1, allow_nan=False))
        return 0 if all_proved else 1
    print(f"certify-minimum: k = {args.width}, W* = I_{args.width}, λ = 1, "
          f"{result.l2.arithmetic}, {args.prec}-bit; point: "
          + ", ".join(f"{key} {value}" for key, value in source.items()
                      if key in ("points_file", "census_file", "seed", "start")))
    print(f"[l2 minimum]       {result.l2.status}: {result.l2.statement}"
          + (f" ({result.l2.reason})" if result.l2.reason else ""))
    print(f"[h1 equilibrium]   {result.h1.status}: {result.h1.statement}"
          + (f" ({result.h1.reason})" if result.h1.reason else ""))
    for label, item in (("[exact h1 at trap]", exact), ("[h1 at l2 minimum]", at_l2)):
        if item is None:
            print(f"{label} not examined: no certified box")
        elif item.excluded:
            field = "∇(L + J)" if item.convention == "exact" else "F_h1"
            print(f"{label} proved: {field} has no zero on the box (‖{field}‖_F >= "
                  f"{lower_text(item.norm_lower, 4)})")
        else:
            print(f"{label} inconclusive: {item.reason}")
    print(("all proved" if all_proved else "NOT all proved") + " (wall times: --json)")
    return 0 if all_proved else 1
