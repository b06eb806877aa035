"""`sobolev-verify landscape`: census of gradient-descent endpoints on the exact population field.

From N random starts (Safran & Shamir's N(0, 1/d) initialisation by default), descends the l2
and/or h1 population field (expected convention, λ = --sobolev-weight) of a relu student of
width K against the orthonormal teacher W* = first K* rows of I_d, refines each endpoint by
Newton's method and classifies it: global, spurious_minimum (l2: Hessian positive definite; h1:
stable equilibrium, every Jacobian eigenvalue with real part > 0), saddle, not_converged.
Prints counts with Wilson 95 % intervals, the distinct spurious minima (up to permuting the
student rows) with their loss values, and — when both losses run — every spurious l2 minimum
examined under h1 (its h1 field there, and where h1 descent from it ends).

Protocols (--protocol): "census" (default): step 4/((K + 2)(1 + λ)) (λ = 0 for l2), stop at
‖F‖_F <= 1e-7; "safran-shamir": Safran & Shamir's published code (GD_code/findBadMinima.m in
github.com/ItaySafran/OneLayerGDconvergence): N(0, 1/d) starts, plain gradient descent with
step 0.1 on the loss's own field (for h1 the expected h1 field, not rescaled), stop when
max_i 2π‖F_i‖ <= 1e-9 (their gradient array is 2π·F), Newton polishing only after that, at
most --max-steps steps (capped starts are counted and not polished); a start is "bad" when the
l2 loss at its endpoint is >= 1e-3. --normalised adds h1 with step 0.1/(1 + λ) beside it.
Initialisations (--init), entries i.i.d.: gaussian N(0, 1/d) (standard deviation 1/√d);
uniform U(−1/√d, 1/√d) (standard deviation 1/√(3d)); xavier_uniform U(±√(6/(d + 1)))
(Glorot's rule for fan-in d, fan-out 1: 0.82 at d = 8). --step ETA [ETA ...] runs the same
starts with each fixed step and counts the starts whose outcome changes. --activation runs
teacher and student with relu, leaky_relu(α), erf, sine or gelu (tanh has no closed form).
Paired l2-vs-h1 outcomes get McNemar's exact test (scipy.stats.binomtest on the discordant
starts).

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
import math
import sys
from dataclasses import replace

from scipy.stats import binomtest

from numerics.census_runs import census_resumable
from numerics.landscape import (
    INITIALISATIONS,
    PROTOCOLS,
    CensusSettings,
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
    parser.add_argument("--init", choices=INITIALISATIONS, default=None,
                        help="start distribution: gaussian = N(0, 1/d) entries (Safran & "
                             "Shamir's code; the default), uniform = U(−1, 1)/√d, "
                             "xavier_uniform = U(±√(6/(d+1)))")
    parser.add_argument("--protocol", default="census",
                        help="descent protocol: census (default) or safran-shamir (see above)")
    parser.add_argument("--step", nargs="+", default=None, metavar="ETA",
                        help="fixed step(s) for every loss (several: the same starts with each, "
                             "and the starts whose outcome changes)")
    parser.add_argument("--normalised", action="store_true",
                        help="also h1 with step 0.1/(1 + λ) (safran-shamir protocol)")
    parser.add_argument("--activation", default="relu",
                        help="activation of teacher and student: relu (default), "
                             "leaky_relu(α), erf, sine, gelu")
    parser.add_argument("--max-steps", type=positive_int, default=None,
                        help=f"gradient steps per start (default {CensusSettings.max_steps}; "
                             "safran-shamir 20000)")
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


def parse_steps(values: list[str] | None) -> list[float | None]:
    """--step values: numbers in (0, 10], distinct (ValueError naming --step)."""
    if not values:
        return [None]
    steps = []
    for text in values:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"--step must be numbers in (0, 10]; got {text!r}") from None
        if not (math.isfinite(value) and 0 < value <= 10):
            raise ValueError(f"--step must be numbers in (0, 10]; got {text!r}")
        if value in steps:
            raise ValueError(f"--step lists {text!r} twice")
        steps.append(value)
    return steps


def make_settings(args: argparse.Namespace) -> CensusSettings:
    """The census settings of the command line (ValueError naming the option)."""
    overrides = {"sobolev_weight": args.sobolev_weight}
    if args.init is not None:
        overrides["init"] = args.init
    if args.max_steps is not None:
        overrides["max_steps"] = args.max_steps
    if args.activation != "relu":
        name = args.activation.split("(")[0].strip()
        if name == "tanh":
            raise ValueError("--activation tanh has no closed-form Gaussian kernel, so the "
                             "census cannot run it; use erf (the closed-form sigmoid)")
        overrides["activation"] = args.activation
    try:
        return CensusSettings.for_protocol(args.protocol, **overrides)
    except ValueError as exc:
        raise ValueError(f"--activation / --sobolev-weight / --max-steps: {exc}") from None


def _bad(points, bad_loss: float) -> set[int]:
    return {e.start for e in points if e.l2_loss >= bad_loss}


def mcnemar_p(only_first: int, only_second: int) -> float:
    """Exact McNemar test: two-sided binomial test on the discordant pairs (1 when none)."""
    total = only_first + only_second
    return 1.0 if total == 0 else float(binomtest(only_first, total, 0.5).pvalue)


#: Most random starts accepted by --starts (each start is a descent of up to --max-steps
#: steps; 1e6 starts at K = 6 take days on one core).
MAX_STARTS = 10**6


def run(args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0; got {args.seed}")
    steps = parse_steps(args.step)
    if args.protocol not in PROTOCOLS:
        raise ValueError(f"--protocol must be one of {', '.join(PROTOCOLS)}; got "
                         f"{args.protocol!r}")
    settings = make_settings(args)
    if args.normalised and args.protocol != "safran-shamir":
        raise ValueError("--normalised compares with the safran-shamir step 0.1; add "
                         "--protocol safran-shamir")
    if args.normalised and args.step:
        raise ValueError("--normalised and --step are exclusive (--step already compares steps)")
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
    losses = list(dict.fromkeys(args.loss))
    if args.out is not None:
        check_output_file(args.out, "--out")  # before the census, not after its first chunk
    if args.scheduler is not None and args.workers > 1:
        raise ValueError(f"--workers {args.workers} and --scheduler are exclusive: the cluster's "
                         "workers run the starts; drop --workers")

    def progress(done: int, total: int) -> None:
        if not args.json:
            print(f"  ... {done}/{total} starts", file=sys.stderr, flush=True)

    variants: list[tuple[str, str, CensusSettings]] = []  # (label, loss, settings)
    for loss in losses:
        for eta in steps:
            chosen = settings if eta is None else replace(settings, step_size=eta)
            label = loss if len(steps) == 1 else f"{loss}@{eta:g}"
            variants.append((label, loss, chosen))
        if args.normalised and loss == "h1":
            eta = settings.step("h1", args.width) / (1 + settings.sobolev_weight)
            if eta != settings.step("h1", args.width):
                variants.append(("h1_normalised", "h1", replace(settings, step_size=eta)))
    runs = {}
    connection = (dask_client(args.scheduler) if args.scheduler is not None
                  else contextlib.nullcontext())
    with connection as client:
        executor = DaskMap(client) if client is not None else None
        for label, loss, chosen in variants:
            runs[label] = census_resumable(args.width, args.starts, loss,
                                           teacher_width=teacher_width, dim=dim,
                                           seed=args.seed, settings=chosen, out=args.out,
                                           workers=args.workers, on_chunk=progress,
                                           executor=executor)
    first_step = {loss: (loss if len(steps) == 1 else f"{loss}@{steps[0]:g}") for loss in losses}
    results = {loss: runs[first_step[loss]] for loss in losses}
    bad_loss = settings.bad_loss
    comparisons = []  # (first, second, only first bad, only second bad, class changes)
    if "l2" in results and "h1" in results:
        for eta in steps:
            a, b = ("l2", "h1") if eta is None else (f"l2@{eta:g}", f"h1@{eta:g}")
            comparisons.append((a, b))
    for loss in losses:
        for eta in steps[1:]:
            comparisons.append((first_step[loss], f"{loss}@{eta:g}"))
    if "h1_normalised" in runs:
        comparisons.append(("h1", "h1_normalised"))
    paired = []
    for a, b in comparisons:
        bad_a, bad_b = _bad(runs[a].endpoints, bad_loss), _bad(runs[b].endpoints, bad_loss)
        classes_b = {e.start: e.cls for e in runs[b].endpoints}
        changed = sum(e.cls != classes_b[e.start] for e in runs[a].endpoints)
        paired.append({"first": a, "second": b, "bad_first": len(bad_a),
                       "bad_second": len(bad_b), "bad_only_first": len(bad_a - bad_b),
                       "bad_only_second": len(bad_b - bad_a),
                       "mcnemar_p": mcnemar_p(len(bad_a - bad_b), len(bad_b - bad_a)),
                       "class_changes": changed})
    under_h1 = []
    if "l2" in results and "h1" in losses:
        under_h1 = l2_minima_under_h1(results["l2"].of_class("spurious_minimum"), W_star,
                                      settings)
    report = {
        "width": args.width, "teacher_width": teacher_width, "dim": dim, "seed": args.seed,
        "starts": args.starts, "settings": settings.as_dict(),
        "results": [results[loss].as_dict() for loss in losses],
        "variants": {label: {"step": run_.settings.step(run_.loss, args.width),
                             "bad": len(_bad(run_.endpoints, bad_loss)),
                             "capped": sum(e.capped for e in run_.endpoints),
                             "counts": run_.counts()} for label, run_ in runs.items()},
        "paired": paired,
        "l2_minima_under_h1": [item.as_dict() for item in under_h1],
    }
    if args.json:
        print(json.dumps(report, indent=1, allow_nan=False))
        return 0
    first = results[losses[0]]
    print(f"landscape: K={args.width}, K*={teacher_width}, d={dim}, orthonormal teacher "
          f"(rows of I_d), {args.starts} starts ({settings.init} init, seed {args.seed}), "
          f"protocol {settings.protocol}, activation {settings.activation}")
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
    if len(runs) > len(losses):
        print(f"\n{'run':16s} {'step':>8s} {'bad':>5s} {'capped':>6s}  classes")
        for label, run_ in runs.items():
            print(f"{label:16s} {run_.settings.step(run_.loss, args.width):8.4g} "
                  f"{len(_bad(run_.endpoints, bad_loss)):5d} "
                  f"{sum(e.capped for e in run_.endpoints):6d}  "
                  + ", ".join(f"{cls} {n}" for cls, n in run_.counts().items() if n))
    if paired:
        print(f"\npaired outcomes on the same starts (bad = l2 loss >= {bad_loss:g} at the "
              "endpoint; McNemar exact test on the discordant starts):")
        for item in paired:
            print(f"  {item['first']} vs {item['second']}: bad {item['bad_first']} vs "
                  f"{item['bad_second']}, bad only under {item['first']} "
                  f"{item['bad_only_first']}, only under {item['second']} "
                  f"{item['bad_only_second']} (McNemar p = {item['mcnemar_p']:.3g}); "
                  f"{item['class_changes']} start(s) change class")
    print(f"\n({first.provenance()})")
    return 0
