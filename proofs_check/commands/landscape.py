"""`sobolev-verify landscape`: census of gradient-descent endpoints on the exact population field.

From N random starts (Safran & Shamir's N(0, 1/d) initialisation by default), descends the l2
and/or h1 population field (expected convention, λ = --sobolev-weight) of a relu student of
width K against the orthonormal teacher W* = first K* rows of I_d, refines each endpoint by
Newton's method and classifies it: global, spurious_minimum (l2: Hessian positive definite; h1:
stable equilibrium, every Jacobian eigenvalue with real part > 0), saddle, not_converged.
Prints counts with Wilson 95 % intervals, the distinct spurious minima (up to permuting the
student rows) with their loss values, and — when both losses run — every spurious l2 minimum
examined under h1 (its h1 field there, and where h1 descent from it ends).

--out FILE.jsonl appends every finished start as it completes; re-running with the same file and
settings skips finished starts (an interrupted census resumes). --workers runs chunks of starts
on a local process pool; --scheduler tcp://HOST:PORT submits them to a Dask cluster instead (the
dask extra), with the same file and the same resume (this process is the only writer). The
numbers do not depend on either. See numerics.landscape for the tolerances.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

from numerics.landscape import (
    INITIALISATIONS,
    CensusSettings,
    census_resumable,
    l2_minima_under_h1,
    orthonormal_teacher,
)
from proofs_check.commands._options import check_output_file, positive_int
from proofs_check.runs.dask_client import DaskMap, dask_client


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "landscape", help="census of spurious minima of l2 and h1 (exact population field)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", "-K", type=positive_int, required=True,
                        help="student width K")
    parser.add_argument("--teacher-width", type=positive_int, default=None,
                        help="teacher width K* (default: K)")
    parser.add_argument("--dim", "-d", type=positive_int, default=None,
                        help="input dimension d (default: K*)")
    parser.add_argument("--starts", type=positive_int, required=True,
                        help="number of random starts N (at most 1e6)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the starts (default 0)")
    parser.add_argument("--loss", nargs="+", choices=("l2", "h1"), default=["l2", "h1"],
                        help="losses to run from the same starts (default: l2 h1)")
    parser.add_argument("--sobolev-weight", type=float, default=1.0, help="λ in H = L + λJ")
    parser.add_argument("--init", choices=INITIALISATIONS, default="gaussian",
                        help="start distribution: gaussian = N(0, 1/d) entries (Safran & "
                             "Shamir's code), xavier_uniform = U(±√(6/(d+1)))")
    parser.add_argument("--max-steps", type=positive_int, default=CensusSettings.max_steps,
                        help=f"gradient steps per start (default {CensusSettings.max_steps})")
    parser.add_argument("--workers", type=positive_int, default=1,
                        help="local processes (default 1)")
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="Dask scheduler address (e.g. tcp://host:8786; needs the dask "
                             "extra): chunks of starts run on the cluster; exclusive with "
                             "--workers > 1")
    parser.add_argument("--out", metavar="FILE.jsonl", default=None,
                        help="append per-start results here and resume from it")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def _interval(entry) -> str:
    low, high = entry["wilson95"]
    return f"{entry['count']:4d}  {entry['fraction']:.3f} [{low:.3f}, {high:.3f}]"


#: Most random starts accepted by --starts (each start is a descent of up to --max-steps
#: steps; 1e6 starts at K = 6 take days on one core).
MAX_STARTS = 10**6


def run(args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0; got {args.seed}")
    if args.starts > MAX_STARTS:
        raise ValueError(f"--starts {args.starts} is above the maximum {MAX_STARTS:.0e} (each "
                         "start is a full descent); run several censuses with other --seed "
                         "values and --out files instead")
    teacher_width = args.teacher_width or args.width
    dim = args.dim or teacher_width
    from theory.validation import pair_bytes, require_memory

    require_memory(pair_bytes(args.width, teacher_width, dim) * max(args.workers, 1),
                   f"--width {args.width} --dim {dim} (the closed forms' pair arrays, per "
                   "worker)", "use a smaller --dim or --width")
    W_star = orthonormal_teacher(teacher_width, dim)
    try:
        settings = CensusSettings(sobolev_weight=args.sobolev_weight, init=args.init,
                                  max_steps=args.max_steps)
    except ValueError as exc:
        raise ValueError(f"--sobolev-weight / --max-steps: {exc}") from None
    losses = list(dict.fromkeys(args.loss))
    if args.out is not None:
        check_output_file(args.out, "--out")  # before the census, not after its first chunk
    if args.scheduler is not None and args.workers > 1:
        raise ValueError(f"--workers {args.workers} and --scheduler are exclusive: the cluster's "
                         "workers run the starts; drop --workers")

    def progress(done: int, total: int) -> None:
        if not args.json:
            print(f"  ... {done}/{total} starts", file=sys.stderr, flush=True)

    results = {}
    connection = (dask_client(args.scheduler) if args.scheduler is not None
                  else contextlib.nullcontext())
    with connection as client:
        executor = DaskMap(client) if client is not None else None
        for loss in losses:
            results[loss] = census_resumable(args.width, args.starts, loss,
                                             teacher_width=teacher_width, dim=dim,
                                             seed=args.seed, settings=settings, out=args.out,
                                             workers=args.workers, on_chunk=progress,
                                             executor=executor)
    under_h1 = []
    if "l2" in results and "h1" in losses:
        under_h1 = l2_minima_under_h1(results["l2"].of_class("spurious_minimum"), W_star,
                                      settings)
    report = {
        "width": args.width, "teacher_width": teacher_width, "dim": dim, "seed": args.seed,
        "starts": args.starts, "settings": settings.as_dict(),
        "results": [results[loss].as_dict() for loss in losses],
        "l2_minima_under_h1": [item.as_dict() for item in under_h1],
    }
    if args.json:
        print(json.dumps(report, indent=1, allow_nan=False))
        return 0
    first = results[losses[0]]
    print(f"landscape: K={args.width}, K*={teacher_width}, d={dim}, orthonormal teacher "
          f"(rows of I_d), {args.starts} starts ({args.init} init, seed {args.seed})")
    print(f"{'loss':5s} {'class':17s} count  fraction [Wilson 95 %]")
    for loss in losses:
        for cls, entry in results[loss].fractions().items():
            print(f"{loss:5s} {cls:17s} {_interval(entry)}")
    for loss in losses:
        result = results[loss]
        levels = result.as_dict()["spurious_loss_levels"]
        families = result.spurious_families()
        if not families:
            print(f"\n[{loss}] no spurious minimum found")
            continue
        print(f"\n[{loss}] {len(families)} distinct spurious minima up to row permutation, at "
              f"{len(levels)} loss level(s):")
        for level in levels:
            print(f"  loss {level['loss_value']:.8g}  reached from {level['count']} start(s)")
        exact = [(e.exact_h1_gradient_norm, e.exact_h1_min_eig)
                 for e in result.of_class("spurious_minimum")
                 if e.exact_h1_gradient_norm is not None]
        if exact:
            norms, eigs = zip(*exact, strict=True)
            print(f"  stable equilibria of the expected field; of the h1 LOSS itself (exact "
                  f"convention) they are {'not ' if min(norms) > 1e-8 else ''}critical points: "
                  f"‖∇(L + λJ)‖ there {min(norms):.3g} to {max(norms):.3g}, exact Hessian "
                  f"λ_min {min(eigs):.3g} to {max(eigs):.3g}")
    if under_h1:
        critical = sum(item.h1_field_norm <= settings.critical_tol for item in under_h1)
        classes: dict[str, int] = {}
        for item in under_h1:
            classes[item.after.cls] = classes.get(item.after.cls, 0) + 1
        moved = [item.moved for item in under_h1]
        norms = [item.h1_field_norm for item in under_h1]
        print(f"\nspurious l2 minima under h1 (λ = {settings.sobolev_weight:g}): "
              f"{critical}/{len(under_h1)} are h1 equilibria (‖F_h1‖ there in "
              f"[{min(norms):.3g}, {max(norms):.3g}]); h1 descent from them ends: "
              + ", ".join(f"{cls} {n}" for cls, n in sorted(classes.items()))
              + f" (moved {min(moved):.3g} to {max(moved):.3g})")
    print(f"\n({first.provenance()})")
    return 0
