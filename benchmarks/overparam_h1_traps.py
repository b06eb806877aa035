"""Over-parameterised h1 traps (n = k + 1), proved, with their wall time (run by hand, never in
tests).

    python benchmarks/overparam_h1_traps.py CENSUS_DIR --k 12 13 14 --out NEW.json \
        --census-command "sobolev-verify landscape-table ... --out CENSUS_DIR"

CENSUS_DIR holds the per-start files kNN.jsonl of
`sobolev-verify landscape-table --k ... --overparam --out CENSUS_DIR` (relu student of width
n = k + 1, teacher W* = I_k, d = k, Safran & Shamir's protocol). For each k, the h1 endpoints the
census classified as stable spurious equilibria (class spurious_minimum, not capped) are grouped
by their h1 loss to 4 significant digits, and the first start of each level (in start order) is
taken. For each one, proofs_check.analysis.landscape_certificate proves in Arb ball arithmetic,
on a box W̃ + [−r, r]^{n×k} around its Newton-polished point W̃:

  1. the expected h1 field (λ = 1) has exactly one zero in the box, a linearly stable equilibrium
     of dW/dt = −F_h1 at l2 loss >= 1e-3 (Krawczyk; Lyapunov certificate);
  2. the exact h1 gradient ∇(L + J) has no zero on that box (so the trap is no critical point of
     the h1 loss).

The output file (JSON, written once, never over an existing file) keeps each proved point
(the polished centre, float64 rows), the statements and the seconds.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from proofs_check.analysis.landscape_certificate import (
    certify_field_excludes_zero,
    certify_h1_equilibrium,
)


def trap_starts(path: Path, k: int) -> list[dict]:
    """The first stable spurious h1 endpoint of width k + 1 at each h1 loss level (4 digits)."""
    firsts: dict[str, dict] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            key, endpoint = record["key"], record["endpoint"]
            if (key["width"] != k + 1 or key["loss"] != "h1"
                    or endpoint["cls"] != "spurious_minimum" or endpoint.get("capped")):
                continue
            level = f"{endpoint['objective']:.4g}"
            if level not in firsts or endpoint["start"] < firsts[level]["start"]:
                firsts[level] = endpoint
    return [firsts[level] for level in sorted(firsts, key=float)]


def certify_trap(endpoint: dict, k: int) -> dict:
    start = time.perf_counter()
    stable = certify_h1_equilibrium(np.asarray(endpoint["W"], dtype=float))
    record = {"k": k, "n": k + 1, "start": endpoint["start"],
              "census_h1_loss": endpoint["objective"], "census_l2_loss": endpoint["l2_loss"],
              "stable_equilibrium": stable.as_dict(with_center=True)}
    if stable.status == "proved":
        exact = certify_field_excludes_zero(np.asarray(stable.center), stable.radius, "h1",
                                            convention="exact")
        record["exact_gradient_excludes_zero"] = exact.as_dict()
    else:
        record["exact_gradient_excludes_zero"] = None
        record["reason"] = "the stable equilibrium was not proved, so its box is not examined"
    record["wall_seconds"] = time.perf_counter() - start
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("census", type=Path, help="folder with the census's kNN.jsonl files")
    parser.add_argument("--k", type=int, nargs="+", required=True, help="teacher sizes k")
    parser.add_argument("--out", type=Path, required=True, help="new JSON file")
    parser.add_argument("--census-command", required=True,
                        help="the landscape-table command that wrote CENSUS_DIR (recorded)")
    args = parser.parse_args(argv)
    if args.out.exists():
        print(f"--out: {args.out} exists; choose a new file", file=sys.stderr)
        return 2
    rows = []
    for k in args.k:
        path = args.census / f"k{k:02d}.jsonl"
        if not path.is_file():
            print(f"census: no {path}", file=sys.stderr)
            return 2
        for endpoint in trap_starts(path, k):
            row = certify_trap(endpoint, k)
            rows.append(row)
            excluded = (row["exact_gradient_excludes_zero"] or {}).get("excluded")
            print(f"k = {k}, n = {k + 1}, start {row['start']}: h1 loss "
                  f"{row['census_h1_loss']:.4g}, stable equilibrium "
                  f"{row['stable_equilibrium']['status']}, ∇(L + J) excludes 0: {excluded} "
                  f"({row['wall_seconds']:.1f} s)", file=sys.stderr, flush=True)
    document = {
        "what": "stable spurious equilibria of the expected h1 field at n = k + 1 (relu, "
                "W* = I_k, d = k, λ = 1), one per h1 loss level of the census, proved in Arb "
                "ball arithmetic",
        "command": "python benchmarks/overparam_h1_traps.py CENSUS_DIR --k "
                   + " ".join(map(str, args.k)) + f" --out {args.out} --census-command '…'",
        "census": args.census_command,
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "rows": rows,
    }
    with args.out.open("x", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1, allow_nan=False)
        handle.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
