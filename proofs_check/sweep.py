r"""Sweeps over grids of configurations: one tidy CSV row per grid point, resumable.

A grid is the Cartesian product of the axes

    width K, teacher_width K* ("same" = K), dim d, seed, sobolev_weight λ, at, radius,
    activation σ (any spec theory has closed forms for: "relu", "leaky_relu(0.1)", "gelu",
    "erf", "sine"; default "relu")

(see :func:`theory.configurations.make_configuration` for ``at``/``radius``), plus the spectrum
``method`` ("auto", "dense", "structured"). For every point the row holds, for each loss in
(l2, h1) and each convention in (expected, exact), the closed-form population Hessian's

    lambda_min = min Re λ,  lambda_max = max Re λ,  kappa = lambda_max / lambda_min
    (inf when lambda_min <= 0),  max_abs_imag = max |Im λ|,

computed by :func:`proofs_check.commands.cond.spectrum_summary` (the numbers of
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

Rows are appended to the CSV as they finish (order of completion), so the file is always a
valid partial result. Re-running with the same output skips points already in the file (their
key is the grid axes plus ``method``); a truncated last line from an interrupted run is dropped.
Every number is written with ``repr(float)``, so it round-trips exactly and a row is a
deterministic function of its key: a local process pool and a Dask cluster give identical tables.

Executors: a local process pool (concurrent.futures, "spawn" start method) by default,
in-process when ``workers == 1``, or a Dask distributed cluster when ``scheduler`` is given
(an address such as "tcp://host:8786", or a ``distributed.Client``; needs the ``dask`` extra).
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import multiprocessing
import os
import tomllib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from numerics.activations import get_activation
from theory.activations import get_activation as closed_form_activation
from theory.configurations import PLACEMENTS, default_placement, make_configuration
from theory.validation import CONVENTIONS, check_method, check_sobolev_weight

SWEEP_LOSSES = ("l2", "h1")
#: Flows integrated when flow_t_max is set: l2 (both conventions coincide) and h1 in both.
FLOWS = (("l2", "expected"), ("h1", "expected"), ("h1", "exact"))
AXES = ("width", "teacher_width", "dim", "seed", "sobolev_weight", "at", "radius", "activation")
KEY_COLUMNS = (*AXES, "method", "flow_t_max")
SPECTRUM_FIELDS = ("lambda_min", "lambda_max", "kappa", "max_abs_imag", "undefined")
SPECTRUM_COLUMNS = tuple(
    f"{loss}_{convention}_{name}"
    for loss in SWEEP_LOSSES for convention in CONVENTIONS for name in SPECTRUM_FIELDS
)
FLOW_FIELDS = ("rate", "rate_stderr", "status", "note")
FLOW_COLUMNS = tuple(
    f"flow_{loss}_{convention}_{name}" for loss, convention in FLOWS for name in FLOW_FIELDS
)
COLUMNS = (*KEY_COLUMNS, "status", *SPECTRUM_COLUMNS, *FLOW_COLUMNS, "error")

#: Names accepted in a TOML grid file's [grid] table, mapped to the axis they set.
TOML_AXES = {
    "width": "width", "widths": "width",
    "teacher_width": "teacher_width", "teacher": "teacher_width", "teacher_widths": "teacher_width",
    "dim": "dim", "dims": "dim",
    "seed": "seed", "seeds": "seed",
    "sobolev_weight": "sobolev_weight", "sobolev_weights": "sobolev_weight",
    "at": "at", "radius": "radius", "radii": "radius",
    "activation": "activation", "activations": "activation",
}


@dataclass(frozen=True)
class GridPoint:
    """One configuration of the sweep (``at`` and ``radius`` already resolved to defaults).

    radius is None for at="teacher", where it plays no role.
    """

    width: int
    teacher_width: int
    dim: int
    seed: int
    sobolev_weight: float
    at: str
    radius: float | None
    method: str = "auto"
    flow_t_max: float | None = None
    activation: str = "relu"

    def key(self) -> tuple[str, ...]:
        """The point's identity as written in the CSV key columns."""
        return tuple(_format(getattr(self, name)) for name in KEY_COLUMNS)


@dataclass(frozen=True)
class Grid:
    """Axis values of a product grid. None in teacher_width means K* = K; None in ``at`` means
    the default placement ("perturbed" if K = K* else "random"); None in ``radius`` the default
    radius (0.1 perturbed, 1.0 random). flow_t_max: None = no flows, else the final time of the
    gradient flows whose rates are recorded."""

    width: tuple[int, ...] = (2,)
    teacher_width: tuple[int | None, ...] = (None,)
    dim: tuple[int, ...] = (3,)
    seed: tuple[int, ...] = (0,)
    sobolev_weight: tuple[float, ...] = (1.0,)
    at: tuple[str | None, ...] = (None,)
    radius: tuple[float | None, ...] = (None,)
    method: str = "auto"
    flow_t_max: float | None = None
    activation: tuple[str, ...] = ("relu",)

    def __post_init__(self) -> None:
        check_method(self.method)
        object.__setattr__(self, "activation",
                           tuple(_canonical_activation(v) for v in self.activation))
        if self.flow_t_max is not None and not (
            isinstance(self.flow_t_max, (int, float)) and not isinstance(self.flow_t_max, bool)
            and math.isfinite(self.flow_t_max) and self.flow_t_max > 0
        ):
            raise ValueError(f"flow_t_max must be a finite number > 0 (or None for no flows); "
                             f"got {self.flow_t_max!r}")
        for name in ("width", "dim"):
            for value in getattr(self, name):
                _check_positive_int(value, name)
        for value in self.teacher_width:
            if value is not None:
                _check_positive_int(value, "teacher_width")
        for value in self.seed:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"seed values must be non-negative integers; got {value!r}")
        for value in self.sobolev_weight:
            check_sobolev_weight(value)
        for value in self.at:
            if value is not None and value not in PLACEMENTS:
                raise ValueError(f"at values must be among {PLACEMENTS}; got {value!r}")
        for value in self.radius:
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"radius values must be finite numbers > 0; got {value!r}")
        for name in AXES:
            if not getattr(self, name):
                raise ValueError(f"grid axis {name!r} is empty; give at least one value")

    def points(self) -> list[GridPoint]:
        """All points in grid order (width slowest, radius fastest), duplicates removed."""
        seen: dict[tuple[str, ...], GridPoint] = {}
        for K, K_star, d, seed, weight, at, radius, activation in itertools.product(
            self.width, self.teacher_width, self.dim, self.seed, self.sobolev_weight, self.at,
            self.radius, self.activation,
        ):
            K_star = K if K_star is None else K_star
            at = default_placement(K, K_star) if at is None else at
            if at == "teacher":
                radius = None
            elif radius is None:
                radius = 0.1 if at == "perturbed" else 1.0
            point = GridPoint(K, K_star, d, seed, float(weight), at,
                              None if radius is None else float(radius), self.method,
                              None if self.flow_t_max is None else float(self.flow_t_max),
                              activation)
            seen.setdefault(point.key(), point)
        return list(seen.values())


def _canonical_activation(value: Any) -> str:
    """The canonical spec of an activation theory has closed forms for, else ValueError."""
    if not isinstance(value, str):
        raise ValueError(f"activation values must be names such as 'erf' or 'leaky_relu(0.1)'; "
                         f"got {value!r}")
    try:
        name = get_activation(value).name
        closed_form_activation(name)  # raises for activations without closed forms (tanh)
    except ValueError as exc:
        raise ValueError(f"activation (grid axis, --activation): {exc}") from None
    return name


def _check_positive_int(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} values must be positive integers; got {value!r}")


def _format(value: Any) -> str:
    """CSV text of a value: repr for floats (exact round trip), '' for None."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value).replace("\r", " ").replace("\n", " ")


# ---------------------------------------------------------------------------------- grid input


def parse_int_values(values: Iterable[str | int], name: str) -> list[int]:
    """Integers from CLI/TOML values; a string "A:B" is range(A, B) (B excluded)."""
    out: list[int] = []
    for value in values:
        if isinstance(value, str) and ":" in value:
            start, _, stop = value.partition(":")
            try:
                out.extend(range(int(start), int(stop)))
            except ValueError:
                raise ValueError(
                    f"{name}: a range is written START:STOP with integers; got {value!r}"
                ) from None
            continue
        if isinstance(value, bool) or isinstance(value, float):
            raise ValueError(f"{name} values must be integers; got {value!r}")
        try:
            out.append(int(value))
        except (TypeError, ValueError):
            raise ValueError(f"{name} values must be integers; got {value!r}") from None
    return out


def _float_values(values: Iterable[Any], name: str) -> list[float]:
    out = []
    for value in values:
        if isinstance(value, bool):
            raise ValueError(f"{name} values must be numbers; got {value!r}")
        try:
            out.append(float(value))
        except (TypeError, ValueError):
            raise ValueError(f"{name} values must be numbers; got {value!r}") from None
    return out


def grid_from_lists(*, width: Sequence[Any] = (2,), teacher_width: Sequence[Any] = ("same",),
                    dim: Sequence[Any] = (3,), seed: Sequence[Any] = (0,),
                    sobolev_weight: Sequence[Any] = (1.0,), at: Sequence[Any] = ("default",),
                    radius: Sequence[Any] = ("default",), method: str = "auto",
                    flow_t_max: float | None = None,
                    activation: Sequence[Any] = ("relu",)) -> Grid:
    """Build a Grid from lists of values as typed on the command line or in TOML.

    teacher_width accepts "same" (K* = K); at and radius accept "default"; integer axes accept
    "A:B" ranges. flow_t_max (a number, or None for no flows) applies to every point.
    """
    teachers = [None if v in ("same", None) else v for v in _as_list(teacher_width)]
    radii = [None if v in ("default", None) else v for v in _as_list(radius)]
    ats = [None if v in ("default", None) else v for v in _as_list(at)]
    return Grid(
        width=tuple(parse_int_values(_as_list(width), "width")),
        teacher_width=tuple(
            None if v is None else parse_int_values([v], "teacher_width")[0] for v in teachers
        ),
        dim=tuple(parse_int_values(_as_list(dim), "dim")),
        seed=tuple(parse_int_values(_as_list(seed), "seed")),
        sobolev_weight=tuple(_float_values(_as_list(sobolev_weight), "sobolev_weight")),
        at=tuple(ats),
        radius=tuple(None if v is None else _float_values([v], "radius")[0] for v in radii),
        method=method,
        flow_t_max=None if flow_t_max is None else _float_values([flow_t_max], "flow_t_max")[0],
        activation=tuple(_as_list(activation)),
    )


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def grid_from_toml(path: str | os.PathLike[str]) -> Grid:
    """Read a grid file. Example::

        [grid]
        width = [2, 4]
        teacher_width = ["same", 1]   # "same": K* = K
        dim = [3, 10]
        seed = "0:5"                  # or a list; "A:B" = range(A, B)
        sobolev_weight = [0.5, 1.0]
        at = ["default"]              # "teacher" | "perturbed" | "random" | "default"
        radius = ["default"]
        method = "auto"               # spectrum method for every point
        flow_t_max = 200.0            # optional: also record gradient-flow rates up to t = 200

    Scalars are accepted for one-value axes. Unknown keys raise ValueError.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise ValueError(f"grid file {str(path)!r} does not exist; check --grid") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"grid file {str(path)!r} is not valid TOML: {exc}") from None
    table = document.get("grid", document)
    if not isinstance(table, dict):
        raise ValueError(f"grid file {str(path)!r}: [grid] must be a table")
    kwargs: dict[str, Any] = {}
    for name, value in table.items():
        if name in ("method", "flow_t_max"):
            kwargs[name] = value
            continue
        if name not in TOML_AXES:
            raise ValueError(
                f"grid file {str(path)!r}: unknown key {name!r}; allowed keys are "
                f"{sorted(set(TOML_AXES) | {'method', 'flow_t_max'})}"
            )
        kwargs[TOML_AXES[name]] = value
    return grid_from_lists(**kwargs)


# ------------------------------------------------------------------------------- one grid point


def compute_point(point: GridPoint) -> dict[str, str]:
    """The tidy CSV row of one grid point. Never raises: failures become status="error"."""
    from proofs_check.commands.cond import spectrum_summary  # lazy: keeps workers' import light

    row = dict(zip(KEY_COLUMNS, point.key(), strict=True))
    try:
        config = make_configuration(point.width, point.teacher_width, point.dim, point.seed,
                                    at=point.at, radius=point.radius)
        for loss in SWEEP_LOSSES:
            for convention in CONVENTIONS:
                summary = spectrum_summary(config.W, config.W_star, loss, convention,
                                           point.sobolev_weight, point.method, point.activation)
                prefix = f"{loss}_{convention}_"
                if not summary["exists"]:
                    row[prefix + "undefined"] = _format(summary["reason"])
                    continue
                for name in ("lambda_min", "lambda_max", "kappa", "max_abs_imag"):
                    row[prefix + name] = _format(float(summary[name]))
        if point.flow_t_max is not None:
            for loss, convention in FLOWS:
                row.update(_flow_fields(config, loss, convention, point))
    except Exception as exc:  # recorded in the table; the sweep goes on
        return error_row(point, exc)
    row["status"] = "ok"
    return _complete(row)


def _flow_fields(config: Any, loss: str, convention: str, point: GridPoint) -> dict[str, str]:
    """Rate columns of one flow; a failed flow is recorded in its status, not raised."""
    from numerics.flow import gradient_flow

    prefix = f"flow_{loss}_{convention}_"
    try:
        result = gradient_flow(config.W, config.W_star, loss, convention=convention,
                               sobolev_weight=point.sobolev_weight, t_max=point.flow_t_max,
                               activation=point.activation)
    except ValueError as exc:  # FlowError, NonDifferentiableError at W0, ...
        return {prefix + "status": _format(f"error: {type(exc).__name__}: {exc}")}
    fields = {prefix + "status": result.status,
              prefix + "note": _format(f"{result.message}; q = {result.fit_quantity}; "
                                       f"{result.method} rtol={result.rtol:g} "
                                       f"atol={result.atol:g}; rate: {result.rate_note}")}
    if result.rate is not None:
        fields[prefix + "rate"] = _format(float(result.rate))
        fields[prefix + "rate_stderr"] = _format(float(result.rate_stderr))
    return fields


def error_row(point: GridPoint, exc: BaseException) -> dict[str, str]:
    row = dict(zip(KEY_COLUMNS, point.key(), strict=True))
    row.update(status="error", error=_format(f"{type(exc).__name__}: {exc}"))
    return _complete(row)


def _complete(row: dict[str, str]) -> dict[str, str]:
    return {name: row.get(name, "") for name in COLUMNS}


# ------------------------------------------------------------------------------------ CSV file


def _row_key(row: dict[str, str]) -> tuple[str, ...]:
    return tuple(row[name] for name in KEY_COLUMNS)


def read_results(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Complete rows of a sweep CSV, in file order (a truncated last line is ignored).

    Raises ValueError if the file's header is not this version's column list.
    """
    rows, _ = _load(Path(path))
    return rows


def _load(path: Path) -> tuple[list[dict[str, str]], bool]:
    """(rows, clean): rows deduplicated by key; clean is False if anything had to be dropped."""
    text = path.read_text(encoding="utf-8")
    clean = True
    if text and not text.endswith("\n"):  # interrupted mid-line: drop the partial row
        text = text[: text.rfind("\n") + 1]
        clean = False
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return [], False
    if tuple(header) != COLUMNS:
        raise ValueError(
            f"{str(path)!r} is not a sweep table of this version (its columns differ); "
            "choose another --out file or delete it"
        )
    rows: list[dict[str, str]] = []
    seen: set[tuple[str, ...]] = set()
    for values in reader:
        if len(values) != len(COLUMNS) or values[COLUMNS.index("status")] not in ("ok", "error"):
            clean = False
            continue
        row = dict(zip(COLUMNS, values, strict=True))
        if _row_key(row) in seen:
            clean = False
            continue
        seen.add(_row_key(row))
        rows.append(row)
    return rows, clean


def _write_table(path: Path, rows: Iterable[dict[str, str]]) -> None:
    """Atomically replace ``path`` with a table of ``rows``."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


# ------------------------------------------------------------------------------------- running


@dataclass
class SweepSummary:
    """What a run did: grid size, points skipped (already in the file), computed, failed."""

    path: Path
    total: int
    skipped: int = 0
    computed: int = 0
    failed: int = 0
    executor: str = ""
    errors: list[str] = field(default_factory=list)


def run_sweep(points: Sequence[GridPoint] | Grid, out: str | os.PathLike[str], *,
              workers: int | None = None, scheduler: Any = None, progress: bool = True,
              retry_errors: bool = False,
              on_row: Callable[[dict[str, str]], None] | None = None) -> SweepSummary:
    """Compute every point not yet in ``out`` and append its row as soon as it finishes.

    Args:
        points: a Grid or a list of GridPoints.
        out: CSV path; created with a header if missing, else resumed (finished keys skipped).
        workers: local process-pool size (default os.cpu_count()); 1 runs in this process.
            Ignored with ``scheduler``.
        scheduler: Dask scheduler address or a ``distributed.Client``; None = local.
        progress: show a tqdm bar (done/total, rate, time left) on stderr.
        retry_errors: recompute points whose stored row has status "error".
        on_row: called with each new row after it is written (e.g. for monitoring).
    Returns:
        A SweepSummary. Errors inside a point never raise; KeyboardInterrupt stops the sweep
        with every finished row already on disk.
    """
    if isinstance(points, Grid):
        points = points.points()
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ValueError(f"workers must be a positive integer; got {workers!r}")
    path = Path(out)
    done: dict[tuple[str, ...], dict[str, str]] = {}
    if path.exists() and path.stat().st_size > 0:
        rows, clean = _load(path)
        kept = [r for r in rows if not (retry_errors and r["status"] == "error")]
        if not clean or len(kept) != len(rows):
            _write_table(path, kept)
        done = {_row_key(r): r for r in kept}
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_table(path, [])
    pending = [p for p in points if p.key() not in done]
    summary = SweepSummary(path, total=len(points), skipped=len(points) - len(pending))

    from tqdm.auto import tqdm

    bar = tqdm(total=len(points), initial=summary.skipped, unit="point", desc="sweep",
               disable=not progress, dynamic_ncols=True)
    with path.open("a", encoding="utf-8", newline="") as handle, bar:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")

        def record(row: dict[str, str]) -> None:
            writer.writerow(row)
            handle.flush()
            summary.computed += 1
            if row["status"] == "error":
                summary.failed += 1
                summary.errors.append(row["error"])
            bar.update(1)
            if on_row is not None:
                on_row(row)

        if not pending:
            summary.executor = "none (all points already done)"
        elif scheduler is not None:
            summary.executor = _run_dask(pending, scheduler, record)
        elif workers == 1:
            summary.executor = "in-process"
            for point in pending:
                record(compute_point(point))
        else:
            summary.executor = _run_pool(pending, workers, record)
    return summary


def _run_pool(pending: Sequence[GridPoint], workers: int | None,
              record: Callable[[dict[str, str]], None]) -> str:
    workers = workers or os.cpu_count() or 1
    context = multiprocessing.get_context("spawn")  # no fork of a threaded parent (tqdm, BLAS)
    pool = ProcessPoolExecutor(max_workers=min(workers, len(pending)), mp_context=context)
    try:
        futures = {pool.submit(compute_point, point): point for point in pending}
        for future in as_completed(futures):
            try:
                row = future.result()
            except BrokenProcessPool as exc:
                raise RuntimeError(
                    "the local process pool died (a worker crashed or was killed, e.g. out of "
                    "memory; from a script, run_sweep with workers > 1 must be called under "
                    "`if __name__ == '__main__':` because workers are spawned). Finished rows "
                    "are saved: re-run to resume, or use workers=1 to find the failing point"
                ) from exc
            except Exception as exc:  # e.g. the row could not be unpickled: record, go on
                row = error_row(futures[future], exc)
            record(row)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return f"local process pool ({workers} workers)"


def _run_dask(pending: Sequence[GridPoint], scheduler: Any,
              record: Callable[[dict[str, str]], None]) -> str:
    try:
        import distributed
    except ImportError:
        raise ImportError(
            "--scheduler needs dask.distributed: pip install 'sobolev-verify[dask]'"
        ) from None
    own_client = not isinstance(scheduler, distributed.Client)
    client = distributed.Client(scheduler) if own_client else scheduler
    try:
        futures = {client.submit(compute_point, point, pure=False): point for point in pending}
        try:
            for future in distributed.as_completed(list(futures)):
                try:
                    row = future.result()
                except Exception as exc:  # worker lost, deserialisation failure, ...
                    row = error_row(futures[future], exc)
                record(row)
        finally:
            client.cancel([f for f in futures if not f.done()])
        return f"dask distributed ({client.scheduler.address})"
    finally:
        if own_client:
            client.close()


def sort_rows(rows: Iterable[dict[str, str]], points: Sequence[GridPoint]) -> list[dict[str, str]]:
    """Rows in grid order (rows whose key is not in ``points`` go last, in file order)."""
    order = {point.key(): index for index, point in enumerate(points)}
    return sorted(rows, key=lambda row: order.get(_row_key(row), len(order)))
