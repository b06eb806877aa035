r"""Sweeps over grids of configurations: one tidy CSV row per grid point, resumable.

This module runs a sweep (:func:`run_sweep`) and re-exports the public names of the pieces it is
built from: the grid (:mod:`proofs_check.runs.grid`), one row (:mod:`proofs_check.runs.points`),
the table and its lock (:mod:`proofs_check.runs.table`) and the executors
(:mod:`proofs_check.runs.pool`).

A grid is the Cartesian product of the axes

    width K, teacher_width K* ("same" = K), dim d, seed, sobolev_weight λ, at, radius,
    activation σ (any spec theory has closed forms for: "relu", "leaky_relu(0.1)", "gelu",
    "erf", "sine"; default "relu")

(see :func:`theory.configurations.make_configuration` for ``at``/``radius``), plus the spectrum
``method`` ("auto", "dense", "structured"). For every point the row holds, for each loss in
(l2, h1) and each convention in (expected, exact), the closed-form population Hessian's

    lambda_min = min Re λ,  lambda_max = max Re λ,  kappa = lambda_max / lambda_min
    (inf when lambda_min <= 0),  max_abs_imag = max |Im λ|,

computed by :func:`proofs_check.analysis.summaries.spectrum_summary` (the numbers of
``sobolev-verify cond``), or ``undefined`` = the reason where the Hessian does not exist (a
Sobolev Hessian at a (anti)parallel pair, e.g. at the teacher). An undefined Hessian is a result,
not a failure: the row's ``status`` is still "ok". A point whose computation raises is recorded
with ``status`` "error" and the exception in ``error``; the sweep goes on.

Flow rates (optional, ``flow_t_max`` set): for each (loss, convention) in FLOWS, the gradient
flow dW/dt = −F(W) from the point's W is integrated by :func:`numerics.gradient_flow` (DOP853,
rtol 1e-10, atol 1e-13, up to t = flow_t_max) and its fitted rate −d log q/dt is recorded with
its least-squares standard error, the flow's status ("converged", "t_max", "singular",
"collapsed", or "error: ..." when the flow failed) and a note (stop reason, fit window, q =
permutation-matched distance to the teacher when K = K*, else ‖F(W)‖). The rate is empty when
the fit window holds too few samples (the note says why).

Second-order loss and input law: ``losses`` (any of "l2", "h1", "h2"; h2 needs smooth
activations), the axes ``second_order_weight`` μ and ``spike`` ("STRENGTH:RANK": Σ = I +
STRENGTH·Σ_{r<RANK} e_r e_rᵀ, built for each point's d; None = Σ = I), or one
``input_covariance`` .npy file for every point (every d of the grid must be its size). A grid
that uses none of them writes the default table above, unchanged; otherwise it writes a table of
version LAW_TABLE_VERSION (:class:`TableSchema`): key columns ``table_version``,
``second_order_weight`` and ``input_law`` ("identity", "spike S:R", "file PATH sha256:HEX") join
the axes, and spectrum and flow columns exist for the chosen losses only (flows: l2 expected,
h1 and h2 in both conventions). A run refuses a table written with other options.

Rows are appended to the CSV as they finish (order of completion), so the file is always a
valid partial result. Re-running with the same output skips points already in the file (their
key is the grid axes plus ``method``); a truncated last line from an interrupted run, and any
row that does not validate (:func:`valid_row`: a number that does not parse, a NUL byte, a
missing column), is dropped and recomputed; rows recorded as errors are retried (unless
``retry_errors=False``). A file that does not start with this version's header is refused,
never overwritten.

One writer per table: a run holds an exclusive ``fcntl.flock`` on ``<out>.lock`` from before
it reads the table until its last row is written, so a second sweep on the same file is refused
(SweepLockedError) instead of interleaving or replacing rows. Local pool workers die with the
sweep process (PR_SET_PDEATHSIG on Linux, a parent watchdog elsewhere), ignore Ctrl-C (the
parent terminates them), and the resource tracker exits with them.
Every number is written with ``repr(float)``, so it round-trips exactly and a row is a
deterministic function of its key: a local process pool and a Dask cluster give identical tables
(with the same number of BLAS threads per worker once matrices are large enough for BLAS to
thread; local pool workers get cores // workers, see
:func:`proofs_check.runs.pool._worker_threads`).

Executors: a local process pool (concurrent.futures, "spawn" start method) by default,
in-process when ``workers == 1`` or a single point is pending (a pool of one only adds a worker's
start-up, ~0.2 s of Python and numpy/theory imports), or a Dask distributed cluster when
``scheduler`` is given
(an address such as "tcp://host:8786", or a ``distributed.Client``; needs the ``dask`` extra).
"""

from __future__ import annotations

import contextlib
import csv
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proofs_check.runs.grid import (  # noqa: F401  (re-exported: the sweep's public names)
    COLUMNS,
    DEFAULT_SCHEMA,
    FLOWS,
    KEY_COLUMNS,
    SWEEP_LOSSES,
    Grid,
    GridPoint,
    grid_from_lists,
    grid_from_toml,
    parse_int_values,
)
from proofs_check.runs.points import compute_point
from proofs_check.runs.pool import (  # noqa: F401  (BLAS_THREAD_VARIABLES re-exported)
    BLAS_THREAD_VARIABLES,
    IN_PROCESS_BLAS_THREADS,
    _in_process_blas_threads,
    _run_dask,
    _run_pool,
)
from proofs_check.runs.table import (  # noqa: F401  (re-exported: the sweep's public names)
    HEADER_LINE,
    SweepLockedError,
    _exclusive,
    _load,
    _row_key,
    _write_table,
    read_results,
    valid_row,
)


@dataclass
class SweepSummary:
    """What a run did: grid size, points skipped (already in the file), computed, failed.

    remaining_errors: grid points whose row in the table has status "error" after the run
    (failed now, or kept from an earlier run with retry_errors=False).
    """

    path: Path
    total: int
    skipped: int = 0
    computed: int = 0
    failed: int = 0
    executor: str = ""
    errors: list[str] = field(default_factory=list)
    dropped: int = 0
    retried: int = 0
    remaining_errors: int = 0


def run_sweep(points: Sequence[GridPoint] | Grid, out: str | os.PathLike[str], *,
              workers: int | None = None, scheduler: Any = None, progress: bool = True,
              retry_errors: bool = True,
              on_row: Callable[[dict[str, str]], None] | None = None) -> SweepSummary:
    """Compute every point not yet in ``out`` and append its row as soon as it finishes.

    Args:
        points: a Grid or a list of GridPoints.
        out: CSV path; created with a header if missing (or empty), else resumed: valid
            finished rows are skipped, invalid or truncated rows recomputed. A file that is not
            a sweep table of this version is refused (ValueError), never overwritten.
        workers: local process-pool size (default os.cpu_count()); 1 (or a single pending
            point) runs in this process. Ignored with ``scheduler``.
        scheduler: Dask scheduler address or a ``distributed.Client``; None = local.
        progress: show a tqdm bar (done/total, rate, time left) on stderr.
        retry_errors: recompute points whose stored row has status "error" (default True).
        on_row: called with each new row after it is written (e.g. for monitoring).
    Returns:
        A SweepSummary. Errors inside a point never raise; KeyboardInterrupt stops the sweep
        with every finished row already on disk, and local workers are terminated.
    Raises:
        SweepLockedError (a ValueError) when another sweep is writing ``out``.
    """
    if isinstance(points, Grid):
        points = points.points()
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ValueError(f"workers must be a positive integer; got {workers!r}")
    path = Path(out)
    if path.is_dir():
        raise ValueError(f"out {str(path)!r} is a directory; give a CSV file path")
    if not path.parent.exists():
        raise ValueError(f"out {str(path)!r}: the folder {str(path.parent)!r} does not exist; "
                         "create it first (the sweep creates only the table file)")
    concurrent = 1 if scheduler is not None else min(workers or os.cpu_count() or 1,
                                                     max(len(points), 1))
    require_points_memory(points, concurrent)
    with _exclusive(path):
        return _run_locked(points, path, workers, scheduler, progress, retry_errors, on_row)


#: Peak copies of the (K + K*)×d weights one point holds (as `cond`: configuration, validation,
#: scaling, span basis, with margin).
WEIGHT_COPIES = 8


def point_bytes(point: GridPoint) -> float:
    """Peak memory of one grid point, estimated from its sizes before anything is allocated:
    the weights' copies, the closed forms' pair arrays, and the dense Jacobian when the method
    forms it (dense, or auto with d <= K + K*)."""
    from theory.validation import dense_hessian_bytes, pair_bytes

    K, K_star, d = point.width, point.teacher_width, point.dim
    estimate = max(WEIGHT_COPIES * 8.0 * (K + K_star) * d, pair_bytes(K, K_star, d))
    if point.method == "dense" or (point.method == "auto" and d <= K + K_star):
        estimate = max(estimate, dense_hessian_bytes(K, K_star, d))
    return estimate


def require_points_memory(points: Sequence[GridPoint], concurrent: int = 1) -> None:
    """MemoryLimitError (a ValueError naming the grid axes) before any point is computed when
    the largest point, times the points computed at once, cannot fit in memory."""
    from theory.validation import require_memory

    if not points:
        return
    largest = max(points, key=point_bytes)
    require_memory(point_bytes(largest) * concurrent,
                   f"the grid point --width {largest.width} --teacher-width "
                   f"{largest.teacher_width} --dim {largest.dim} (method {largest.method!r}"
                   + (f", {concurrent} points at once)" if concurrent > 1 else ")"),
                   "use a smaller --dim or --width, or fewer --workers")


def _run_locked(points, path, workers, scheduler, progress, retry_errors, on_row):
    schemas = {point.schema for point in points}
    if len(schemas) > 1:
        raise ValueError("the points of one sweep must share losses and table version (one "
                         "Grid); run separate sweeps into separate files")
    schema = schemas.pop() if schemas else DEFAULT_SCHEMA
    done: dict[tuple[str, ...], dict[str, str]] = {}
    dropped = retried = 0
    if path.exists() and path.stat().st_size > 0:
        rows, dropped = _load(path, schema)
        kept = [r for r in rows if not (retry_errors and r["status"] == "error")]
        retried = len(rows) - len(kept)
        if dropped or retried:
            _write_table(path, kept, schema)
        done = {_row_key(r): r for r in kept}
    else:
        _write_table(path, [], schema)
    pending = [p for p in points if p.key() not in done]
    summary = SweepSummary(path, total=len(points), skipped=len(points) - len(pending),
                           dropped=dropped, retried=retried)
    keys = {p.key() for p in points}
    summary.remaining_errors = sum(1 for key, row in done.items()
                                   if key in keys and row["status"] == "error")

    if progress:
        from tqdm.auto import tqdm  # imported on use: ~0.05 s

        bar = tqdm(total=len(points), initial=summary.skipped, unit="point", desc="sweep",
                   dynamic_ncols=True)
    else:
        bar = _NoBar()
    with path.open("a", encoding="utf-8", newline="") as handle, bar:
        writer = csv.DictWriter(handle, fieldnames=schema.columns, lineterminator="\n")

        def record(row: dict[str, str]) -> None:
            writer.writerow(row)
            handle.flush()
            summary.computed += 1
            if row["status"] == "error":
                summary.failed += 1
                summary.remaining_errors += 1
                summary.errors.append(row["error"])
            bar.update(1)
            if on_row is not None:
                on_row(row)

        if not pending:
            summary.executor = "none (all points already done)"
        elif scheduler is not None:
            summary.executor = _run_dask(pending, scheduler, record)
        elif workers == 1 or len(pending) == 1:  # a pool of one only adds its start-up
            summary.executor = "in-process"
            with _in_process_blas_threads(IN_PROCESS_BLAS_THREADS):
                for point in pending:
                    record(compute_point(point))
        else:
            summary.executor = _run_pool(pending, workers, record)
    return summary


class _NoBar(contextlib.nullcontext):
    """Stand-in for a disabled tqdm bar (no tqdm import when there is no bar to show)."""

    def update(self, n: int = 1) -> None:
        pass


def sort_rows(rows: Iterable[dict[str, str]], points: Sequence[GridPoint]) -> list[dict[str, str]]:
    """Rows in grid order (rows whose key is not in ``points`` go last, in file order)."""
    order = {point.key(): index for index, point in enumerate(points)}
    return sorted(rows, key=lambda row: order.get(_row_key(row), len(order)))
