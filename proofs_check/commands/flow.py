"""`sobolev-verify flow`: L2 vs H1 (and H2) gradient flows from the same initialisation.

--loss picks the flows (default l2 h1; h2 = L + λJ + μJ₂ needs a smooth --activation);
--input-covariance FILE.npy or --spike STRENGTH:RANK set the input law x ~ N(0, Σ), which every
flow and every prediction uses.

Prints, per loss, the stop status, time to reach loss <= ε, the fitted rate (with window and
standard error), the predicted local rate (proofs_check.analysis.rates), and the number of output
points (the solver's steps) and field evaluations; --plot draws loss vs time on a log scale
(matplotlib, imported lazily); --json prints the same as JSON.
"""

from __future__ import annotations

import argparse
import inspect
import math
from pathlib import Path

from numerics.flow import FlowError, gradient_flow, loss_rounding_bound
from proofs_check.analysis.rates import compare_flow_rate
from proofs_check.commands._options import (
    activation_from_args,
    add_activation_option,
    add_configuration_options,
    add_input_law_options,
    check_output_file,
    configuration_from_args,
    describe_input_law,
    dump_json,
    input_covariance_from_args,
)

#: The solver numerics.gradient_flow uses by default (and so the report's flows).
DEFAULT_METHOD = inspect.signature(gradient_flow).parameters["method"].default


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "flow", help="integrate the L2 and H1 (and H2) gradient flows and compare rates",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_configuration_options(parser)
    add_activation_option(parser)
    parser.add_argument("--t-max", type=float, default=2000.0,
                        help="final time (default 2000; a flow stops earlier when its field "
                             "falls below 1e-10)")
    parser.add_argument("--epsilon", type=float, default=1e-8,
                        help="report the time to reach loss <= epsilon (default 1e-8)")
    parser.add_argument("--convention", choices=("expected", "exact"), default="expected",
                        help="convention of the Sobolev field (default expected)")
    parser.add_argument("--sobolev-weight", type=float, default=1.0, help="λ in H = L + λJ")
    parser.add_argument("--loss", nargs="+", choices=("l2", "h1", "h2"), default=["l2", "h1"],
                        help="flows to integrate, in this order (default l2 h1; h2 = L + λJ + "
                             "μJ₂ needs a smooth activation: erf, sine or gelu)")
    add_input_law_options(parser)
    parser.add_argument("--method", default=DEFAULT_METHOD,
                        help=f"solve_ivp method (default {DEFAULT_METHOD}, the library's and "
                             "the report's)")
    parser.add_argument("--rtol", type=float, default=1e-10)
    parser.add_argument("--atol", type=float, default=1e-13)
    parser.add_argument("--plot", metavar="OUT.png",
                        help="save loss and distance vs raw and (1 + λ)-rescaled time "
                             "(.png, .svg or .pdf)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def _finite(value):
    return None if value is None or not math.isfinite(value) else value


def run(args: argparse.Namespace) -> int:
    if args.dim < 2:
        raise ValueError("--dim must be >= 2: in d = 1 every pair of neurons is parallel or "
                         "antiparallel, where the Sobolev field has no Jacobian and no local "
                         "rate to predict")
    activation = activation_from_args(args)
    if not math.isfinite(args.epsilon) or args.epsilon <= 0:
        raise ValueError(f"--epsilon must be > 0; got {args.epsilon}")
    losses = list(dict.fromkeys(args.loss))  # in the given order, each once
    if "h2" in losses:
        from numerics.activations import get_activation

        if not get_activation(activation).is_smooth:
            raise ValueError(f"--loss h2 needs a smooth --activation (erf, sine or gelu): for "
                             f"{activation} φ'' is a Dirac mass and J₂ is infinite")
        if not math.isfinite(args.second_order_weight) or args.second_order_weight < 0:
            raise ValueError(f"--second-order-weight must be finite and >= 0; got "
                             f"{args.second_order_weight}")
    if args.plot:
        check_output_file(args.plot, "--plot")
    config = configuration_from_args(args)
    sigma = input_covariance_from_args(args, config.W.shape[1])
    law = {"input_covariance": sigma}
    if "h2" in losses:
        law["second_order_weight"] = args.second_order_weight
    matched = config.W.shape[0] == config.W_star.shape[0]
    rows, flows = [], {}
    for loss in losses:
        try:
            flow = gradient_flow(config.W, config.W_star, loss, convention=args.convention,
                                 sobolev_weight=args.sobolev_weight, t_max=args.t_max,
                                 method=args.method, rtol=args.rtol, atol=args.atol,
                                 activation=activation, **law)
        except FlowError as exc:
            raise ValueError(str(exc)) from None
        flows[loss] = flow
        bound = loss_rounding_bound(flow.W[-1], config.W_star, loss,
                                    sobolev_weight=args.sobolev_weight,
                                    second_order_weight=args.second_order_weight,
                                    input_covariance=sigma)
        computed_loss = float(flow.loss[-1])
        row = {"loss": loss, "convention": args.convention if loss != "l2" else "(l2)",
               "status": flow.status, "message": flow.message, "t_end": float(flow.t[-1]),
               "time_to_epsilon": _finite(flow.time_to(args.epsilon)),
               "final_loss": max(computed_loss, 0.0),
               "final_loss_rounding_bound": bound,
               "rate": flow.rate,
               "rate_stderr": flow.rate_stderr, "fit_window": flow.fit_window,
               "fit_quantity": flow.fit_quantity, "max_loss_increase": flow.max_loss_increase,
               "nfev": flow.nfev, "output_points": len(flow.t), "method": flow.method,
               "rtol": flow.rtol, "atol": flow.atol}
        if -bound <= computed_loss < 0:
            row["final_loss_note"] = (f"computed {computed_loss:.3g}: below 0 by less than the "
                                      f"rounding bound {bound:.2g} "
                                      "(numerics.flow.loss_rounding_bound), reported as 0")
        elif computed_loss < 0:  # not rounding: shown as computed, never hidden
            row["final_loss"] = computed_loss
            row["final_loss_note"] = (f"computed {computed_loss:.3g} < 0 beyond the rounding "
                                      f"bound {bound:.2g}: the closed form is wrong here")
        if row["time_to_epsilon"] is None:
            row["time_to_epsilon_reason"] = (f"the loss did not reach {args.epsilon:g} by "
                                             f"t = {row['t_end']:.6g} ({flow.status})")
        if flow.rate is None:
            reason = _rate_hint(flow, {**row, "predicted_rate": None}, args.t_max)
            row.update(rate_reason=reason, rate_stderr_reason=reason, fit_window_reason=reason)
        if len(flow.t) < 2:
            row["max_loss_increase"] = None
            row["max_loss_increase_reason"] = ("one output point (the flow stopped at its start): "
                                               "no loss change to measure")
        if matched and flow.distance is not None and flow.distance[-1] == 0:
            reason = ("the flow starts at the teacher (W = W*), so there is no approach "
                      "direction to take the local rate along")
            row.update(predicted_rate=None, predicted_window_rate=None,
                       prediction=f"none: {reason}", predicted_rate_reason=reason,
                       predicted_window_rate_reason=reason)
        elif matched:
            comparison = compare_flow_rate(config.W, config.W_star, loss, flow=flow,
                                           convention=args.convention,
                                           sobolev_weight=args.sobolev_weight,
                                           activation=activation, **law)
            row.update(predicted_rate=_finite(comparison.predicted),
                       predicted_window_rate=comparison.predicted_window,
                       prediction=comparison.how)
            if row["predicted_rate"] is None:
                row["predicted_rate_reason"] = (f"the local Jacobian's min Re λ is "
                                                f"{comparison.predicted} (not a finite rate)")
            if comparison.predicted_window is None:
                row["predicted_window_rate_reason"] = (
                    "no fit window: the same-window linear model needs the window the rate "
                    "was fitted over (see rate_reason)")
        else:
            reason = (f"K = {config.W.shape[0]} ≠ K* = {config.W_star.shape[0]}: there is no "
                      "teacher to converge to, so no local rate to predict")
            row.update(predicted_rate=None, predicted_rate_reason=reason)
        rows.append(row)
    report = {"configuration": config.describe(), "activation": activation,
              "input_law": describe_input_law(args), "epsilon": args.epsilon, "flows": rows}
    if "h2" in losses:
        report["second_order_weight"] = args.second_order_weight
    if args.plot:
        _plot(flows, args.plot, config, args)
        report["plot"] = args.plot
    if args.json:
        print(dump_json(report))
        return 0
    law_note = f"; {describe_input_law(args)}" if sigma is not None else ""
    if "h2" in losses:
        law_note += f"; μ = {args.second_order_weight:g}"
    print(f"flow: {config.describe()}; activation {activation}{law_note}")
    print(f"dW/dt = −F(W), solve_ivp {args.method}, rtol={args.rtol:g}, atol={args.atol:g}")
    for row in rows:
        def fmt(value, spec=".4g"):
            return "—" if value is None else format(value, spec)
        print(f"\n[{row['loss']}] {row['message']}")
        print(f"  time to loss <= {args.epsilon:g}: {fmt(row['time_to_epsilon'])}"
              f"   final loss {_loss_text(row)}   max loss increase "
              f"{_increase_text(row)}   ({row['output_points']} output "
              f"point{'s' * (row['output_points'] != 1)}, {row['nfev']} field evaluations)")
        if row["rate"] is not None:
            print(f"  fitted rate of the {row['fit_quantity']}: {row['rate']:.5f} ± "
                  f"{row['rate_stderr']:.1e} over t in [{row['fit_window'][0]:.1f}, "
                  f"{row['fit_window'][1]:.1f}]")
        else:
            print(f"  fitted rate: — ({_rate_hint(flows[row['loss']], row, args.t_max)})")
        if "predicted_rate" in row:
            print(f"  predicted local rate: {fmt(row['predicted_rate'], '.5f')}"
                  f"   same-window linear model: {fmt(row['predicted_window_rate'], '.5f')}")
            print(f"  ({row['prediction']})")
    if args.plot:
        print(f"\nplot saved to {args.plot}")
    return 0


def _loss_text(row) -> str:
    """The final loss, or "0 ± bound" when the computed value is within the rounding bound of 0
    (the closed form then gives rounding noise, possibly below 0)."""
    bound = row["final_loss_rounding_bound"]
    if 0 <= row["final_loss"] <= bound:
        return f"0 ± {bound:.1e} (rounding bound)"
    return f"{row['final_loss']:.3e}"


def _increase_text(row) -> str:
    increase = row["max_loss_increase"]
    if increase is None:
        return "—"
    if 0 < increase <= row["final_loss_rounding_bound"]:
        return f"{increase:.1e} (rounding)"
    return f"{increase:.1e}"


def _rate_hint(flow, row, t_max: float) -> str:
    """The flow's rate note with q named, and the option that gives a rate."""
    quantity = {"distance": "the distance ‖W − W*‖", "loss": "the loss"}.get(
        row["fit_quantity"], row["fit_quantity"])
    note = flow.rate_note.replace(" q ", f" {quantity} ").replace(
        "increase t_max or lower gradient_tol", "increase --t-max").replace(
        "increase t_max", "increase --t-max")
    predicted = row.get("predicted_rate")
    if flow.status == "t_max" and predicted and predicted > 0:
        # time for q to fall by the window's 1e5 at the predicted local rate, past t_end
        needed = row["t_end"] + math.log(1e5) / predicted
        note += f"; at the predicted rate about --t-max {math.ceil(needed / 100) * 100:g} will do"
    return note


def _plot(flows, path: str, config, args) -> None:

    try:
        from proofs_check.report.figures import FORMATS, plot_flows
    except ImportError:  # pragma: no cover - depends on the environment
        raise ValueError("--plot needs matplotlib: pip install 'sobolev-verify[plot]'") from None
    if Path(path).suffix.lstrip(".") not in FORMATS:
        raise ValueError(f"--plot {path}: the file name must end in one of "
                         f"{', '.join('.' + f for f in FORMATS)}")
    plot_flows(flows, config.W_star, Path(path),
               f"Gradient flow from the same start, {config.describe()}; {args.method}, rtol "
               f"{args.rtol:g}, λ = {args.sobolev_weight:g}", sobolev_weight=args.sobolev_weight,
               second_order_weight=args.second_order_weight)
