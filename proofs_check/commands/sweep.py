"""`sobolev-verify sweep`: κ and spectrum summaries over a grid, locally or on a Dask cluster."""

from __future__ import annotations

import argparse
import sys

from proofs_check.commands._options import (
    RANGE_HELP,
    DeprecatedAlias,
    check_output_file,
    dump_json,
    exit_after_signal,
)
from theory.configurations import PLACEMENTS
from theory.validation import SPECTRUM_METHODS

_AXIS_OPTIONS = ("width", "teacher_width", "dim", "seed", "sobolev_weight", "at", "radius",
                 "activation", "second_order_weight", "spike")
#: Options that apply to every point (not axes); exclusive with --grid like the axes.
_GRID_OPTIONS = ("method", "flow_t_max", "loss", "input_covariance")


def run(args: argparse.Namespace) -> int:
    from proofs_check.runs import sweep

    given = [name for name in _AXIS_OPTIONS if getattr(args, name) is not None]
    given += [name for name in _GRID_OPTIONS if getattr(args, name) is not None]
    if args.grid is not None:
        if given:
            options = ", ".join("--" + n.replace("_", "-") for n in given)
            raise ValueError(f"--grid FILE and grid options ({options}) are exclusive; "
                             "put every axis (and method, flow_t_max, loss, "
                             "input_covariance) in the grid file")
        grid = sweep.grid_from_toml(args.grid)
    else:
        values = {name: getattr(args, name) for name in _AXIS_OPTIONS}
        defaults = {"width": ["2"], "teacher_width": ["same"], "dim": ["3"], "seed": ["0"],
                    "sobolev_weight": ["1.0"], "at": ["default"], "radius": ["default"],
                    "activation": ["relu"], "second_order_weight": ["1.0"],
                    "spike": ["none"]}
        values = {k: v if v is not None else defaults[k] for k, v in values.items()}
        grid = sweep.grid_from_lists(
            width=values["width"], teacher_width=values["teacher_width"], dim=values["dim"],
            seed=values["seed"], sobolev_weight=values["sobolev_weight"], at=values["at"],
            radius=values["radius"], method=args.method or "auto", flow_t_max=args.flow_t_max,
            activation=values["activation"],
            second_order_weight=values["second_order_weight"], spike=values["spike"],
            input_covariance=args.input_covariance,
            losses=args.loss if args.loss is not None else ("l2", "h1"),
        )
    points = grid.points()
    check_output_file(args.out, "--out")
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be a positive integer; got {args.workers}")
    stopped = (f"sobolev-verify sweep: stopped (SIGTERM or Ctrl-C) while a point was being "
               f"computed; every finished row is in {args.out} — run the same command again "
               "to resume")
    try:
        with exit_after_signal(stopped):
            summary = sweep.run_sweep(points, args.out, workers=args.workers,
                                      scheduler=args.scheduler,
                                      progress=not args.no_progress and not args.json,
                                      retry_errors=not args.keep_errors)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM (see proofs_check.cli)
        print(f"sobolev-verify sweep: interrupted; every finished row is in {args.out} — run "
              "the same command again to resume", file=sys.stderr)
        return 2
    except (RuntimeError, ImportError) as exc:  # pool died (worker killed, OOM); missing extra
        print(f"sobolev-verify sweep: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        payload = {"out": str(summary.path), "points": summary.total,
                   "skipped": summary.skipped, "computed": summary.computed,
                   "failed": summary.failed, "executor": summary.executor,
                   "errors": summary.errors, "method": grid.method,
                   "flow_t_max": grid.flow_t_max, "columns": _columns(grid),
                   "results": json_results(summary.path, points)}
        if grid.flow_t_max is None:
            payload["flow_t_max_reason"] = "no flows integrated (no --flow-t-max)"
        print(dump_json(payload))
        return 1 if summary.failed else 0
    print(f"sweep: {summary.total} grid points -> {summary.path}: {summary.skipped} already done, "
          f"{summary.computed} computed ({summary.failed} failed) by {summary.executor}")
    if summary.dropped:
        print(f"resume: {summary.dropped} unreadable, invalid or duplicate line(s) of the table "
              "were dropped and their points recomputed")
    if summary.retried:
        print(f"resume: {summary.retried} point(s) recorded as errors were retried")
    for text in _columns(grid):
        print(f"columns: {text}")
    for error in summary.errors[:5]:
        print(f"failed point: {error}")
    if summary.remaining_errors:
        print(f"FAILURES REMAIN: {summary.remaining_errors} of {summary.total} grid points have "
              f"status 'error' in {summary.path} (see the error column); a re-run retries them"
              + (" (drop --keep-errors)" if args.keep_errors else ""))
        return 1
    return 0


_INTEGER_COLUMNS = ("width", "teacher_width", "dim", "seed", "table_version")


def json_results(out, points) -> list[dict]:
    """The table's rows of this grid's points, in grid order, as JSON values: integers and
    floats parsed, empty cells left out (a column that does not apply to the row), a
    non-finite number null with its reason beside it (``<column>_reason``)."""
    import math

    from proofs_check.runs import sweep
    from proofs_check.runs.table import _row_key

    wanted = {point.key() for point in points}
    results = []
    for row in sweep.sort_rows(sweep.read_results(out), points):
        if _row_key(row) not in wanted:
            continue
        entry: dict = {}
        for column, text in row.items():
            if text == "":
                continue
            if column in _INTEGER_COLUMNS:
                entry[column] = int(text)
                continue
            try:
                number = float(text)
            except ValueError:
                entry[column] = text
                continue
            if math.isfinite(number):
                entry[column] = number
            else:
                entry[column] = None
                entry[f"{column}_reason"] = (
                    f"{text} in the table: κ undefined (min Re λ <= 0)" if column.endswith(
                        "_kappa") else f"{text} in the table (not a finite number)")
        results.append(entry)
    return results


def _columns(grid) -> list[str]:
    """What the CSV columns hold (printed, and in --json)."""
    schema = grid.schema
    columns = []
    if schema.law_keys:
        columns.append(
            "table_version (2), second_order_weight (μ of h2), "
            "input_law ('identity', 'spike S:R' = I + S·Σ_{r<R} e_r e_rᵀ built per d, or 'file "
            "PATH sha256:…'): key columns beside the grid axes")
    columns += [
        "<loss>_<convention>_{lambda_min,lambda_max,kappa,max_abs_imag,undefined} for loss in "
        f"({', '.join(schema.losses)}), convention in (expected, exact): closed-form population "
        "Hessian (theory), "
        f"eigenvalues by the {grid.method!r} method, λ by real part, κ = max Re λ / min Re λ "
        "(inf if min Re λ <= 0); 'undefined' gives the reason where the Hessian does not exist "
        "(Sobolev term at a parallel pair, e.g. at the teacher)"]
    if grid.flow_t_max is not None:
        columns.append(
            "flow_<loss>_<convention>_{rate,rate_stderr,status,note} for "
            f"{', '.join(f'{loss} {conv}' for loss, conv in schema.flows)}: fitted rate "
            "-d log q/dt "
            "of numerics.gradient_flow (DOP853, rtol 1e-10) up to t = "
            f"{grid.flow_t_max:g}, with its least-squares standard error; see the note column")
    return columns


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep", help="κ and spectra over a grid of configurations (resumable CSV; local or Dask)",
        description="Compute λmin, λmax, κ (l2 and h1, both conventions) for every point of a "
                    "grid and append one row per point to a CSV as points finish. A re-run with "
                    "the same --out skips finished points. Axes take lists; " + RANGE_HELP
                    + ", e.g. --seed 0:10.")
    parser.add_argument("--grid", metavar="FILE.toml", default=None,
                        help="grid file with a [grid] table (see proofs_check.runs.sweep)")
    axes = parser.add_argument_group("grid axes (without --grid)")
    axes.add_argument("--width", "-K", nargs="+", default=None,
                      help="student widths K, e.g. 1 2 4 or 1:5 (default 2)")
    axes.add_argument("--teacher-width", "--teacher", nargs="+", default=None,
                      action=DeprecatedAlias, deprecated=("--teacher",),
                      help="teacher widths K* ('same' = K; default same)")
    axes.add_argument("--dim", "-d", nargs="+", default=None,
                      help="input dimensions d, e.g. 3 10 100 (default 3)")
    axes.add_argument("--seed", "--seeds", nargs="+", default=None, action=DeprecatedAlias,
                      deprecated=("--seeds",),
                      help="seeds, e.g. 0 1 2 or 0:10 = 0 … 9 (default 0)")
    axes.add_argument("--sobolev-weight", nargs="+", default=None,
                      help="λ values in H = L + λ·J (default 1)")
    axes.add_argument("--at", nargs="+", default=None, choices=(*PLACEMENTS, "default"),
                      help="placements (default: perturbed when K = K*, else random)")
    axes.add_argument("--radius", nargs="+", default=None,
                      help="perturbation sizes / random scales ('default': 0.1 / 1.0)")
    axes.add_argument("--activation", nargs="+", default=None, metavar="NAME",
                      help="activations: relu, leaky_relu(0.1) (any slope 0 <= α < 1), gelu, erf, "
                           "sine (default relu; tanh has no closed form)")
    axes.add_argument("--second-order-weight", nargs="+", default=None, metavar="MU",
                      help="μ values in H2 = L + λJ + μJ₂ (default 1; needs --loss ... h2)")
    axes.add_argument("--spike", nargs="+", default=None, metavar="STRENGTH:RANK",
                      help="input laws x ~ N(0, I + STRENGTH·Σ_{r<RANK} e_r e_rᵀ), Σ built for "
                           "each point's d; 'none' = identity (default none)")
    axes.add_argument("--input-covariance", metavar="FILE.npy", default=None,
                      help="x ~ N(0, Σ) with one (d, d) Σ from a .npy file for every point "
                           "(every --dim must be d; not with --spike)")
    axes.add_argument("--loss", nargs="+", choices=("l2", "h1", "h2"), default=None,
                      help="losses to tabulate (default l2 h1: the default table; other losses, "
                           "--spike, --second-order-weight or --input-covariance write a "
                           "version-2 table keyed also by μ and the input law); h2 needs smooth "
                           "activations")
    axes.add_argument("--method", choices=SPECTRUM_METHODS, default=None,
                      help="eigenvalue method (default auto)")
    axes.add_argument("--flow-t-max", type=float, default=None, metavar="T",
                      help="also integrate the gradient flows (l2; h1 and h2 expected and "
                           "exact, for the losses of the table) up to "
                           "t = T and record their fitted rates (slower: seconds per point)")
    run_group = parser.add_argument_group("execution")
    run_group.add_argument("--out", default="results.csv",
                           help="output CSV; resumed if it exists (default results.csv)")
    run_group.add_argument("--scheduler", metavar="ADDRESS", default=None,
                           help="Dask scheduler address (e.g. tcp://host:8786); needs the dask "
                                "extra. Default: local process pool")
    run_group.add_argument("--workers", type=int, default=None,
                           help="local pool size (default: number of CPUs; 1 = in-process)")
    run_group.add_argument("--keep-errors", action="store_true",
                           help="do not recompute points recorded with status 'error' (by "
                                "default a re-run retries them)")
    run_group.add_argument("--retry-errors", action="store_true",
                           help=argparse.SUPPRESS)  # the default now; kept for old scripts
    run_group.add_argument("--no-progress", action="store_true", help="no progress bar")
    run_group.add_argument("--json", action="store_true",
                           help="print the run's summary and this grid's rows (parsed from "
                                "--out) as JSON")
    parser.set_defaults(func=run)
