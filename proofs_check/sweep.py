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

computed by :func:`proofs_check.summaries.spectrum_summary` (the numbers of
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

Second-order loss and input law (issue 17): ``losses`` (any of "l2", "h1", "h2"; h2 needs smooth
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
thread; local pool workers get cores // workers, see :func:`_worker_threads`).

Executors: a local process pool (concurrent.futures, "spawn" start method) by default,
in-process when ``workers == 1`` or a single point is pending (a pool of one only adds a worker's
start-up, ~0.2 s of Python and numpy/theory imports), or a Dask distributed cluster when
``scheduler`` is given
(an address such as "tcp://host:8786", or a ``distributed.Client``; needs the ``dask`` extra).
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proofs_check.dask_client import dask_client
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
#: Losses a sweep can tabulate (issue 17: h2 = L + λJ + μJ₂, smooth activations only).
ALL_SWEEP_LOSSES = ("l2", "h1", "h2")
#: Axes of the input law and second-order loss; a grid that uses them (or losses other than
#: SWEEP_LOSSES) writes a table of version LAW_TABLE_VERSION, whose key columns add
#: LAW_KEY_COLUMNS: the default table above is unchanged.
LAW_AXES = ("second_order_weight", "spike")
LAW_KEY_COLUMNS = ("second_order_weight", "input_law")
LAW_TABLE_VERSION = "2"


@dataclass(frozen=True)
class TableSchema:
    """Columns of one sweep table: the default (losses l2, h1; x ~ N(0, I)) or, with
    ``law_keys``, the version-2 table keyed also by μ and the input law, for ``losses``."""

    losses: tuple[str, ...] = SWEEP_LOSSES
    law_keys: bool = False

    @property
    def key_columns(self) -> tuple[str, ...]:
        if not self.law_keys:
            return KEY_COLUMNS
        return ("table_version", *AXES, *LAW_KEY_COLUMNS, "method", "flow_t_max")

    @property
    def flows(self) -> tuple[tuple[str, str], ...]:
        if not self.law_keys:
            return FLOWS
        return tuple((loss, convention) for loss in self.losses
                     for convention in (("expected",) if loss == "l2" else CONVENTIONS))

    @property
    def spectrum_columns(self) -> tuple[str, ...]:
        return tuple(f"{loss}_{convention}_{name}" for loss in self.losses
                     for convention in CONVENTIONS for name in SPECTRUM_FIELDS)

    @property
    def flow_columns(self) -> tuple[str, ...]:
        return tuple(f"flow_{loss}_{convention}_{name}" for loss, convention in self.flows
                     for name in FLOW_FIELDS)

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.key_columns, "status", *self.spectrum_columns, *self.flow_columns,
                "error")

    @property
    def header_line(self) -> str:
        return ",".join(self.columns) + "\n"

    @property
    def float_columns(self) -> tuple[str, ...]:
        return tuple(name for name in (*self.spectrum_columns, *self.flow_columns)
                     if not name.endswith(("_undefined", "_status", "_note")))


DEFAULT_SCHEMA = TableSchema()
#: Largest grid a sweep accepts (its rows and bookkeeping must fit in memory).
MAX_GRID_POINTS = 1_000_000

#: Names accepted in a TOML grid file's [grid] table, mapped to the axis they set.
TOML_AXES = {
    "width": "width", "widths": "width",
    "teacher_width": "teacher_width", "teacher": "teacher_width", "teacher_widths": "teacher_width",
    "dim": "dim", "dims": "dim",
    "seed": "seed", "seeds": "seed",
    "sobolev_weight": "sobolev_weight", "sobolev_weights": "sobolev_weight",
    "at": "at", "radius": "radius", "radii": "radius",
    "activation": "activation", "activations": "activation",
    "second_order_weight": "second_order_weight", "second_order_weights": "second_order_weight",
    "spike": "spike", "spikes": "spike",
    "input_covariance": "input_covariance", "loss": "losses", "losses": "losses",
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
    #: μ of h2 = L + λJ + μJ₂; input_law: "identity", "spike S:R" (Σ = I + S·Σ_{r<R} e_r e_rᵀ)
    #: or "file PATH sha256:HEX" (Σ from a .npy file with that content); losses tabulated.
    second_order_weight: float = 1.0
    input_law: str = "identity"
    losses: tuple[str, ...] = SWEEP_LOSSES
    law_keys: bool = False

    @property
    def schema(self) -> TableSchema:
        return TableSchema(self.losses, self.law_keys)

    def key(self) -> tuple[str, ...]:
        """The point's identity as written in the CSV key columns."""
        return tuple(LAW_TABLE_VERSION if name == "table_version" else
                     _format(getattr(self, name)) for name in self.schema.key_columns)

    def input_covariance(self) -> Any:
        """Σ of this point (None for the identity): a theory.SpikedCovariance for a spike of
        strength >= 0 (structured spectrum at any d), else a dense (d, d) array."""
        import numpy as np

        from proofs_check.input_laws import load_covariance, spiked_covariance
        from theory.validation import SpikedCovariance

        if self.input_law == "identity":
            return None
        kind, _, rest = self.input_law.partition(" ")
        if kind == "spike":
            strength, rank = float(rest.split(":")[0]), int(rest.split(":")[1])
            if strength >= 0:
                factor = np.zeros((self.dim, rank))
                factor[np.arange(rank), np.arange(rank)] = math.sqrt(strength)
                return SpikedCovariance(factor)
            return spiked_covariance(self.dim, strength, rank)
        path, _, digest = rest.rpartition(" sha256:")
        if _file_digest(path) != digest:
            raise ValueError(f"input_covariance file {path!r} changed since the sweep started "
                             f"(sha256 prefix {digest} expected); restart the sweep")
        return load_covariance(path, self.dim)


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
    second_order_weight: tuple[float, ...] = (1.0,)
    spike: tuple[str | None, ...] = (None,)
    input_covariance: str | None = None
    losses: tuple[str, ...] = SWEEP_LOSSES

    @property
    def schema(self) -> TableSchema:
        """The default table unless μ, a spike, a Σ file or other losses are asked for."""
        law_keys = (self.losses != SWEEP_LOSSES or self.input_covariance is not None
                    or self.spike != (None,) or self.second_order_weight != (1.0,))
        return TableSchema(self.losses, law_keys)

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
        for name in (*AXES, *LAW_AXES):
            if not getattr(self, name):
                raise ValueError(f"grid axis {name!r} is empty; give at least one value")
        self._check_law()

    def _check_law(self) -> None:
        """Losses, μ, spikes and the Σ file: each refused with a ValueError naming it."""
        from theory.validation import check_second_order_weight

        losses = tuple(self.losses)
        if not losses or any(loss not in ALL_SWEEP_LOSSES for loss in losses):
            raise ValueError(f"losses (--loss) must be among {ALL_SWEEP_LOSSES}; got "
                             f"{list(losses)!r}")
        object.__setattr__(self, "losses",
                           tuple(loss for loss in ALL_SWEEP_LOSSES if loss in losses))
        for value in self.second_order_weight:
            check_second_order_weight(value)
        if "h2" not in self.losses and self.second_order_weight != (1.0,):
            raise ValueError("second_order_weight (--second-order-weight) only changes the loss "
                             "h2; add h2 to the losses (--loss l2 h1 h2) or drop it")
        if "h2" in self.losses:
            from numerics.activations import get_activation

            kinked = [a for a in self.activation if not get_activation(a).is_smooth]
            if kinked:
                raise ValueError(f"loss h2 needs smooth activations (erf, sine, gelu): for "
                                 f"{kinked[0]} φ'' is a Dirac mass and J₂ is infinite; drop h2 "
                                 "from --loss or use --activation erf|sine|gelu")
        spikes = tuple(None if v in (None, "none") else _spike_text(v) for v in self.spike)
        object.__setattr__(self, "spike", spikes)
        for text in spikes:
            if text is None:
                continue
            rank = int(text.split(":")[1])
            small = [d for d in self.dim if d < rank]
            if small:
                raise ValueError(f"spike {text} has rank {rank} > d = {small[0]} (grid axis "
                                 "dim); use a rank <= every d of the grid")
        if self.input_covariance is not None:
            if spikes != (None,):
                raise ValueError("input_covariance (--input-covariance) and spike (--spike) "
                                 "are exclusive; give one input law")
            from proofs_check.input_laws import load_covariance

            path = str(self.input_covariance)
            import numpy as np

            try:
                shape = np.load(path, allow_pickle=False, mmap_mode="r").shape
            except (OSError, ValueError) as exc:
                raise ValueError(f"input_covariance (--input-covariance): cannot read {path!r} "
                                 f"as a .npy array ({exc})") from None
            other = [d for d in self.dim if (d, d) != tuple(shape)]
            if len(shape) != 2 or other:
                raise ValueError(f"input_covariance (--input-covariance) {path!r} has shape "
                                 f"{tuple(shape)}, but the grid has d = "
                                 f"{other[0] if other else self.dim[0]}: a Σ file fits only "
                                 "grids whose every dim equals its size (use --spike for "
                                 "a Σ built per d)")
            try:
                load_covariance(path, self.dim[0])
            except ValueError as exc:
                raise ValueError(f"--input-covariance: {exc}") from None

    def input_laws(self) -> tuple[str, ...]:
        """The input_law key texts of the grid (one per spike, or the Σ file's)."""
        if self.input_covariance is not None:
            path = str(self.input_covariance)
            return (f"file {path} sha256:{_file_digest(path)}",)
        return tuple("identity" if text is None else f"spike {text}" for text in self.spike)

    def size(self) -> int:
        """Number of points of the product (before removing duplicates)."""
        return math.prod(len(getattr(self, name)) for name in (*AXES, *LAW_AXES))

    def points(self) -> list[GridPoint]:
        """All points in grid order (width slowest, radius fastest), duplicates removed.

        Raises ValueError for grids of more than MAX_GRID_POINTS points (before building any).
        """
        if self.size() > MAX_GRID_POINTS:
            raise ValueError(
                f"the grid has {self.size()} points, more than a sweep takes "
                f"(MAX_GRID_POINTS = {MAX_GRID_POINTS}); split it into several sweeps"
            )
        seen: dict[tuple[str, ...], GridPoint] = {}
        schema = self.schema
        for (K, K_star, d, seed, weight, at, radius, activation, mu,
             law) in itertools.product(
            self.width, self.teacher_width, self.dim, self.seed, self.sobolev_weight, self.at,
            self.radius, self.activation, self.second_order_weight, self.input_laws(),
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
                              activation, float(mu), law, schema.losses, schema.law_keys)
            seen.setdefault(point.key(), point)
        return list(seen.values())


def _canonical_activation(value: Any) -> str:
    """The canonical spec of an activation theory has closed forms for, else ValueError."""
    if not isinstance(value, str):
        raise ValueError(f"activation values must be names such as 'erf' or 'leaky_relu(0.1)'; "
                         f"got {value!r}")
    try:
        # theory's registry canonicalises the spec and raises for activations without closed
        # forms (tanh); numerics.activations is not needed here (it imports scipy.special and
        # mpmath: ~0.1 s of every sweep's start-up).
        name = closed_form_activation(value).name
    except ValueError as exc:
        raise ValueError(f"activation (grid axis, --activation): {exc}") from None
    return name


def _spike_text(value: Any) -> str:
    """Canonical "STRENGTH:RANK" of a spike (repr of the float strength), else ValueError."""
    try:
        strength, rank = str(value).split(":")
        strength, rank = float(strength), int(rank)
    except ValueError:
        raise ValueError(f"spike (--spike) values must be STRENGTH:RANK (e.g. 3:1) or 'none'; "
                         f"got {value!r}") from None
    if not math.isfinite(strength) or strength <= -1 or rank < 1:
        raise ValueError(f"spike (--spike) {value!r}: need a finite STRENGTH > -1 (Σ positive "
                         "definite) and RANK >= 1")
    return f"{strength!r}:{rank}"


def _file_digest(path: str) -> str:
    """First 16 hex digits of the file's sha256 (the Σ file's identity in the table key)."""
    import hashlib

    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()[:16]


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
                values_range = range(int(start), int(stop))
            except ValueError:
                raise ValueError(
                    f"{name}: a range is written START:STOP with integers; got {value!r}"
                ) from None
            if len(out) + len(values_range) > MAX_GRID_POINTS:
                raise ValueError(
                    f"{name}: the range {value!r} has {len(values_range)} values, more than a "
                    f"sweep takes (at most {MAX_GRID_POINTS} grid points); split it into "
                    "several sweeps with smaller ranges"
                )
            out.extend(values_range)
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
                    activation: Sequence[Any] = ("relu",),
                    second_order_weight: Sequence[Any] = (1.0,),
                    spike: Sequence[Any] = ("none",), input_covariance: str | None = None,
                    losses: Sequence[str] = SWEEP_LOSSES) -> Grid:
    """Build a Grid from lists of values as typed on the command line or in TOML.

    teacher_width accepts "same" (K* = K); at and radius accept "default"; integer axes accept
    "A:B" ranges. flow_t_max (a number, or None for no flows) applies to every point.
    spike takes "STRENGTH:RANK" or "none" (Σ = I); input_covariance (a .npy path) and losses
    (among "l2", "h1", "h2") apply to every point.
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
        second_order_weight=tuple(_float_values(_as_list(second_order_weight),
                                                "second_order_weight")),
        spike=tuple(_as_list(spike)),
        input_covariance=None if input_covariance is None else str(input_covariance),
        losses=tuple(_as_list(losses)),
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
        loss = ["l2", "h1", "h2"]     # optional (default l2, h1); h2 needs smooth activations
        second_order_weight = [1.0]   # μ of h2 (needs h2 in loss)
        spike = ["none", "3:1"]       # Σ = I + 3·e_0 e_0ᵀ, built per d; or
        # input_covariance = "sigma.npy"  # one (d, d) Σ: every dim of the grid must be d

    Scalars are accepted for one-value axes. Unknown keys raise ValueError.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise ValueError(f"grid file {str(path)!r} does not exist; check --grid") from None
    except IsADirectoryError:
        raise ValueError(f"grid file {str(path)!r} is a directory; --grid takes a TOML "
                         "file") from None
    except PermissionError:
        raise ValueError(f"grid file {str(path)!r} is not readable (permission denied); "
                         "check --grid") from None
    except UnicodeDecodeError:
        raise ValueError(f"grid file {str(path)!r} is not a text (TOML) file; check "
                         "--grid") from None
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
            import difflib

            allowed = sorted(set(TOML_AXES) | {"method", "flow_t_max"})
            close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"grid file {str(path)!r}: unknown key {name!r}{hint}; allowed keys are "
                f"{allowed}"
            )
        kwargs[TOML_AXES[name]] = value
    covariance = kwargs.get("input_covariance")
    if covariance is not None:
        if not isinstance(covariance, str):
            raise ValueError(f"grid file {str(path)!r}: input_covariance must be the path of a "
                             f".npy file (relative to the grid file); got {covariance!r}")
        kwargs["input_covariance"] = str(path.parent / covariance)
    return grid_from_lists(**kwargs)


# ------------------------------------------------------------------------------- one grid point


def compute_point(point: GridPoint) -> dict[str, str]:
    """The tidy CSV row of one grid point. Never raises: failures become status="error"."""
    from proofs_check.summaries import spectrum_summary  # lazy: keeps workers' import light

    schema = point.schema
    row = dict(zip(schema.key_columns, point.key(), strict=True))
    try:
        config = make_configuration(point.width, point.teacher_width, point.dim, point.seed,
                                    at=point.at, radius=point.radius)
        options = _theory_options(point)
        for loss in schema.losses:
            for convention in CONVENTIONS:
                summary = spectrum_summary(config.W, config.W_star, loss, convention,
                                           point.sobolev_weight, point.method, **options)
                prefix = f"{loss}_{convention}_"
                if not summary["exists"]:
                    row[prefix + "undefined"] = _format(summary["reason"])
                    continue
                for name in ("lambda_min", "lambda_max", "kappa", "max_abs_imag"):
                    row[prefix + name] = _format(float(summary[name]))
        if point.flow_t_max is not None:
            for loss, convention in schema.flows:
                row.update(_flow_fields(config, loss, convention, point, options))
    except Exception as exc:  # recorded in the table; the sweep goes on
        return error_row(point, exc)
    row["status"] = "ok"
    return _complete(row, schema)


def _theory_options(point: GridPoint) -> dict[str, Any]:
    """Keywords of theory's population functions for a point (only the non-default ones)."""
    options: dict[str, Any] = {}
    if point.activation != "relu":
        options["activation"] = point.activation
    if "h2" in point.losses:
        options["second_order_weight"] = point.second_order_weight
    sigma = point.input_covariance()
    if sigma is not None:
        options["input_covariance"] = sigma
    return options


def _flow_fields(config: Any, loss: str, convention: str, point: GridPoint,
                 options: dict[str, Any]) -> dict[str, str]:
    """Rate columns of one flow; a failed flow is recorded in its status, not raised."""
    from numerics.flow import gradient_flow

    prefix = f"flow_{loss}_{convention}_"
    try:
        result = gradient_flow(config.W, config.W_star, loss, convention=convention,
                               sobolev_weight=point.sobolev_weight, t_max=point.flow_t_max,
                               **{"activation": point.activation, **options})
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
    row = dict(zip(point.schema.key_columns, point.key(), strict=True))
    row.update(status="error", error=_format(f"{type(exc).__name__}: {exc}"))
    return _complete(row, point.schema)


def _complete(row: dict[str, str], schema: TableSchema = DEFAULT_SCHEMA) -> dict[str, str]:
    return {name: row.get(name, "") for name in schema.columns}


# ------------------------------------------------------------------------------------ CSV file


def _row_key(row: dict[str, str]) -> tuple[str, ...]:
    columns = (DEFAULT_SCHEMA if "table_version" not in row
               else TableSchema(law_keys=True)).key_columns
    return tuple(row[name] for name in columns)


HEADER_LINE = ",".join(COLUMNS) + "\n"
#: Every table this version writes: the default one and the version-2 tables of each loss set.
_KNOWN_SCHEMAS = (DEFAULT_SCHEMA, *(
    TableSchema(tuple(loss for loss in ALL_SWEEP_LOSSES if loss in chosen), True)
    for size in range(1, len(ALL_SWEEP_LOSSES) + 1)
    for chosen in itertools.combinations(ALL_SWEEP_LOSSES, size)))
_INT_KEYS = ("width", "teacher_width", "dim", "seed")


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def valid_row(row: dict[str, str], schema: TableSchema = DEFAULT_SCHEMA) -> bool:
    """True if a stored row is one this version could have written (checked on resume).

    Key columns parse (integers, numbers, a known placement), status is "ok" or "error", every
    numeric column is empty or a number, no value holds a NUL or control character, and an "ok"
    row has, for each (loss, convention), either all four spectrum numbers or the reason the
    Hessian is undefined. Anything else (a hand edit, a disk error) is recomputed.
    """
    if any(ch in value for value in row.values() for ch in ("\x00", "\r", "\n")):
        return False
    if row["status"] not in ("ok", "error"):
        return False
    if not all(row[name].lstrip("-").isdigit() for name in _INT_KEYS):
        return False
    if not _is_float(row["sobolev_weight"]) or row["at"] not in PLACEMENTS:
        return False
    for name in ("radius", "flow_t_max"):
        if row[name] and not _is_float(row[name]):
            return False
    if row["method"] not in ("auto", "dense", "structured"):
        return False
    if schema.law_keys and (row["table_version"] != LAW_TABLE_VERSION
                            or not _is_float(row["second_order_weight"])
                            or not row["input_law"]):
        return False
    if not all(row[name] == "" or _is_float(row[name]) for name in schema.float_columns):
        return False
    if row["status"] == "error":
        return bool(row["error"])
    for loss in schema.losses:
        for convention in CONVENTIONS:
            prefix = f"{loss}_{convention}_"
            numbers = [row[prefix + n] for n in ("lambda_min", "lambda_max", "kappa",
                                                 "max_abs_imag")]
            if not row[prefix + "undefined"] and not all(numbers):
                return False
    if row["flow_t_max"]:
        if not all(row[f"flow_{loss}_{convention}_status"]
                   for loss, convention in schema.flows):
            return False
    return True


def read_results(path: str | os.PathLike[str],
                 schema: TableSchema | None = None) -> list[dict[str, str]]:
    """Complete, valid rows of a sweep CSV, in file order (a truncated last line is ignored).

    schema: the table's columns (default: recognised from its header among the default table
    and the version-2 tables of every loss set). Raises ValueError if the file is not a sweep
    table of this version (see :func:`_load`).
    """
    path = Path(path)
    if schema is None:
        schema = _schema_of_file(path)
    rows, _ = _load(path, schema)
    return rows


def _schema_of_file(path: Path) -> TableSchema:
    with path.open("rb") as handle:
        first = handle.readline().decode("utf-8", errors="replace")
    for schema in _KNOWN_SCHEMAS:
        if first == schema.header_line:
            return schema
    return DEFAULT_SCHEMA  # _load refuses it with the usual message


def _load(path: Path, schema: TableSchema = DEFAULT_SCHEMA
          ) -> tuple[list[dict[str, str]], int]:
    """(rows, dropped): valid rows deduplicated by key, and how many lines were dropped
    (truncated, unparsable, invalid or duplicate).

    The file must start with this version's header line; anything else (another CSV, a text
    without line breaks, a binary file) raises ValueError so that it is never overwritten.
    Rows are parsed line by line (the writer never puts a line break inside a value), so one
    corrupt line costs only itself.
    """
    data = path.read_bytes()
    header = schema.header_line.encode("utf-8")
    if not data.startswith(header):
        first = data.split(b"\n", 1)[0].decode("utf-8", errors="replace") + "\n"
        other = next((known for known in _KNOWN_SCHEMAS if first == known.header_line), None)
        hint = ""
        if other is not None:
            hint = (f" It is a sweep table of other options (losses {', '.join(other.losses)}; "
                    + ("keyed by μ and the input law, table version "
                       f"{LAW_TABLE_VERSION}" if other.law_keys else
                       "the default table, without --loss h2, --spike, --second-order-weight or "
                       "--input-covariance") + "): rerun with the options that wrote it, or")
        elif first.startswith("width,") or first.startswith("table_version,"):
            hint = (" It looks like a sweep table of another version of sobolev-verify "
                    f"(this one writes table version {LAW_TABLE_VERSION} for --loss h2, --spike, "
                    "--second-order-weight, --input-covariance, and the default table "
                    "otherwise):")
        raise ValueError(
            f"{str(path)!r} exists and is not a sweep table of this version (its first line is "
            f"not this run's header).{hint} choose another --out file or delete it"
        )
    text = data[len(header):].decode("utf-8", errors="replace")
    dropped = 0
    if text and not text.endswith("\n"):  # interrupted mid-line: drop the partial row
        text = text[: text.rfind("\n") + 1]
        dropped += 1
    rows: list[dict[str, str]] = []
    seen: set[tuple[str, ...]] = set()
    for line in text.splitlines(keepends=False):
        try:
            values = next(csv.reader([line]))
        except (csv.Error, StopIteration):
            dropped += 1
            continue
        if len(values) != len(schema.columns):
            dropped += 1
            continue
        row = dict(zip(schema.columns, values, strict=True))
        if not valid_row(row, schema) or _row_key(row) in seen:
            dropped += 1
            continue
        seen.add(_row_key(row))
        rows.append(row)
    return rows, dropped


def _write_table(path: Path, rows: Iterable[dict[str, str]],
                 schema: TableSchema = DEFAULT_SCHEMA) -> None:
    """Atomically replace ``path`` with a table of ``rows`` (callers hold the table's lock)."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=schema.columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class SweepLockedError(ValueError):
    """Another process is writing the same sweep table."""


@contextlib.contextmanager
def _exclusive(path: Path):
    """Hold an exclusive advisory lock (fcntl.flock) on ``<table>.lock`` for the whole run.

    Every run_sweep on the same table takes this lock before it reads, rewrites or appends, so a
    second writer is refused at once instead of interleaving rows or replacing a file the first
    one still appends to. The lock file is left in place (removing it would race with a waiting
    writer); the lock itself dies with the process, even on SIGKILL.
    """
    lock_path = path.with_name(path.name + ".lock")
    handle = lock_path.open("a")
    try:
        try:
            import fcntl
        except ImportError:  # not POSIX: no locking available
            fcntl = None
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SweepLockedError(
                    f"{str(path)!r} is being written by another sweep (it holds "
                    f"{str(lock_path)!r}); wait for it to finish, or choose another --out"
                ) from None
        yield
    finally:
        handle.close()


# ------------------------------------------------------------------------------------- running


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
    path.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(path):
        return _run_locked(points, path, workers, scheduler, progress, retry_errors, on_row)


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


def _die_with_parent(parent_pid: int) -> None:
    """Pool-worker initializer: the worker dies when the sweep process dies, even by SIGKILL.

    On Linux the kernel delivers SIGKILL to the worker when its parent exits
    (prctl(PR_SET_PDEATHSIG)); elsewhere a daemon thread polls os.getppid(). Ctrl-C is left to
    the parent (which terminates the workers), so workers ignore SIGINT.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


#: Variables that size the BLAS / OpenMP thread pools of a process when numpy loads.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def _worker_threads(threads: int):
    """Processes started inside get ``threads`` BLAS threads each (via the environment they
    inherit); variables the user has set are kept, and the parent's environment is restored.

    Without it every spawned worker starts as many BLAS threads as there are cores, and
    OpenBLAS threads busy-wait: 2 workers on 2 cores ran a 12-point sweep (K = 8, 12;
    d = 50, 100) in 5–21 s of wall time (3–12 s CPU) against 1.6–1.8 s (1 s CPU) with one
    thread each, on a loaded machine. The same rule as joblib's loky executor (cores // workers).
    """
    added = [name for name in BLAS_THREAD_VARIABLES if name not in os.environ]
    for name in added:
        os.environ[name] = str(threads)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


#: BLAS threads while an in-process sweep computes its points (unless the user set one of
#: BLAS_THREAD_VARIABLES). The sweep parallelises over points (--workers), and OpenBLAS's
#: threads busy-wait for every small product: a 54-point sweep (--width 8 12 16 --dim 50 100
#: 200 --seed 0:6) in-process took 76 s with numpy's default 2 threads on 2 cores against 6.2 s
#: with one, at load average 3.4.
IN_PROCESS_BLAS_THREADS = 1


@contextlib.contextmanager
def _in_process_blas_threads(threads: int):
    """Limit the BLAS thread pools of this process (threadpoolctl: works after numpy is loaded,
    unlike the environment variables) while inside; the user's variables take precedence."""
    if any(name in os.environ for name in BLAS_THREAD_VARIABLES):
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="blas"):
        yield


def _run_pool(pending: Sequence[GridPoint], workers: int | None,
              record: Callable[[dict[str, str]], None]) -> str:
    workers = workers or os.cpu_count() or 1
    size = min(workers, len(pending))
    context = multiprocessing.get_context("spawn")  # no fork of a threaded parent (tqdm, BLAS)
    pool = ProcessPoolExecutor(max_workers=size, mp_context=context,
                               initializer=_die_with_parent, initargs=(os.getpid(),))
    finished = False
    try:
        # The pool spawns its workers while the points are submitted (len(pending) >= size).
        with _worker_threads(max(1, (os.cpu_count() or 1) // size)):
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
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:  # interrupted (Ctrl-C, SIGTERM, error): stop the workers now, not after their point
            processes = list((getattr(pool, "_processes", None) or {}).values())
            # taken before shutdown, which sets the pool's reference to None
            manager = getattr(pool, "_executor_manager_thread", None)
            pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.terminate()
            for process in processes:
                process.join(timeout=5)
            # Let the pool's manager thread see the dead workers and exit now: left running, it
            # races the interpreter's atexit hook of concurrent.futures, which then writes to
            # the wake-up pipe the thread is closing ("Bad file descriptor" traceback after the
            # one-line message; seen in ~1 of 10 SIGTERM/SIGINT runs under load). Once the
            # thread has exited, the pipe is marked closed and the hook's write is skipped.
            if manager is not None:
                manager.join(timeout=30)
    return f"local process pool ({workers} workers)"


def _run_dask(pending: Sequence[GridPoint], scheduler: Any,
              record: Callable[[dict[str, str]], None]) -> str:
    with dask_client(scheduler) as client:
        import distributed

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


def sort_rows(rows: Iterable[dict[str, str]], points: Sequence[GridPoint]) -> list[dict[str, str]]:
    """Rows in grid order (rows whose key is not in ``points`` go last, in file order)."""
    order = {point.key(): index for index, point in enumerate(points)}
    return sorted(rows, key=lambda row: order.get(_row_key(row), len(order)))
