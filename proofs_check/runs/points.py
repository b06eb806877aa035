"""One sweep row: the spectra (and optional flow rates) of one grid point, computed by
:func:`compute_point` — a deterministic function of the point's key — or an error row."""

from __future__ import annotations

from typing import Any

from proofs_check.runs.grid import (
    GridPoint,
    _complete,
    _format,
)
from theory.configurations import make_configuration
from theory.validation import CONVENTIONS


def compute_point(point: GridPoint) -> dict[str, str]:
    """The tidy CSV row of one grid point. Never raises: failures become status="error"."""
    from proofs_check.analysis.summaries import (
        spectrum_summary,  # lazy: keeps workers' import light
    )

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


