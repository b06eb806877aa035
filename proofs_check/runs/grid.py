"""Sweep grids: the table schema (columns per loss set and version), one grid point
(:class:`GridPoint`, its key and its configuration) and the Cartesian grid (:class:`Grid`), built
from lists (:func:`grid_from_lists`) or a TOML file (:func:`grid_from_toml`). See
:mod:`proofs_check.runs.sweep` for the table a sweep writes."""

from __future__ import annotations

import itertools
import math
import os
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from theory.activations import get_activation as closed_form_activation
from theory.configurations import PLACEMENTS, default_placement
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
#: Losses a sweep can tabulate (h2 = L + λJ + μJ₂ needs a smooth activation).
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

        from proofs_check.analysis.input_laws import load_covariance, spiked_covariance
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
            from proofs_check.analysis.input_laws import covariance_file_shape, load_covariance

            path = str(self.input_covariance)
            try:
                shape, _ = covariance_file_shape(path)
            except ValueError as exc:
                raise ValueError(f"--input-covariance: {exc}") from None
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
    if not table:
        raise ValueError(f"grid file {str(path)!r} has no grid axes (an empty file or an empty "
                         "[grid] table); give at least one, e.g. [grid] width = [2, 4] — or "
                         "drop --grid for the default grid")
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


def _complete(row: dict[str, str], schema: TableSchema = DEFAULT_SCHEMA) -> dict[str, str]:
    return {name: row.get(name, "") for name in schema.columns}
