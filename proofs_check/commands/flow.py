"""`sobolev-verify flow`: L2 vs H1 gradient flow from the same initialisation.

Prints, per loss, the stop status, time to reach loss <= ε, the fitted rate (with window and
standard error) and the predicted local rate (proofs_check.rates); --plot draws loss vs time on
a log scale (matplotlib, imported lazily); --json prints the same as JSON.
"""

from __future__ import annotations

import argparse
import json
import math

from numerics.flow import FlowError, gradient_flow
from proofs_check.commands._options import (
    activation_from_args,
    add_activation_option,
    add_configuration_options,
    configuration_from_args,
)
from proofs_check.rates import compare_flow_rate


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "flow", help="integrate the L2 and H1 gradient flows and compare rates",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_configuration_options(parser)
    add_activation_option(parser)
    parser.add_argument("--t-max", type=float, default=300.0, help="final time (default 300)")
    parser.add_argument("--epsilon", type=float, default=1e-8,
                        help="report the time to reach loss <= epsilon (default 1e-8)")
    parser.add_argument("--convention", choices=("expected", "exact"), default="expected",
                        help="convention of the Sobolev field (default expected)")
    parser.add_argument("--sobolev-weight", type=float, default=1.0, help="λ in H = L + λJ")
    parser.add_argument("--method", default="LSODA", help="solve_ivp method (default LSODA)")
    parser.add_argument("--rtol", type=float, default=1e-10)
    parser.add_argument("--atol", type=float, default=1e-13)
    parser.add_argument("--plot", metavar="OUT.png", help="save loss vs time (log scale)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def _finite(value):
    return None if value is None or not math.isfinite(value) else value


def run(args: argparse.Namespace) -> int:
    activation = activation_from_args(args)
    config = configuration_from_args(args)
    if not math.isfinite(args.epsilon) or args.epsilon <= 0:
        raise ValueError(f"--epsilon must be > 0; got {args.epsilon}")
    matched = config.W.shape[0] == config.W_star.shape[0]
    rows, flows = [], {}
    for loss in ("l2", "h1"):
        try:
            flow = gradient_flow(config.W, config.W_star, loss, convention=args.convention,
                                 sobolev_weight=args.sobolev_weight, t_max=args.t_max,
                                 method=args.method, rtol=args.rtol, atol=args.atol,
                                 activation=activation)
        except FlowError as exc:
            raise ValueError(str(exc)) from None
        flows[loss] = flow
        row = {"loss": loss, "convention": args.convention if loss == "h1" else "(l2)",
               "status": flow.status, "message": flow.message, "t_end": float(flow.t[-1]),
               "time_to_epsilon": _finite(flow.time_to(args.epsilon)),
               "final_loss": float(flow.loss[-1]), "rate": flow.rate,
               "rate_stderr": flow.rate_stderr, "fit_window": flow.fit_window,
               "fit_quantity": flow.fit_quantity, "max_loss_increase": flow.max_loss_increase,
               "nfev": flow.nfev, "method": flow.method, "rtol": flow.rtol, "atol": flow.atol}
        if matched:
            comparison = compare_flow_rate(config.W, config.W_star, loss, flow=flow,
                                           convention=args.convention,
                                           sobolev_weight=args.sobolev_weight,
                                           activation=activation)
            row.update(predicted_rate=_finite(comparison.predicted),
                       predicted_window_rate=comparison.predicted_window,
                       prediction=comparison.how)
        rows.append(row)
    report = {"configuration": config.describe(), "activation": activation,
              "epsilon": args.epsilon, "flows": rows}
    if args.plot:
        _plot(flows, args.plot, config.describe())
        report["plot"] = args.plot
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    print(f"flow: {config.describe()}; activation {activation}")
    print(f"dW/dt = −F(W), solve_ivp {args.method}, rtol={args.rtol:g}, atol={args.atol:g}")
    for row in rows:
        def fmt(value, spec=".4g"):
            return "—" if value is None else format(value, spec)
        print(f"\n[{row['loss']}] {row['message']}")
        print(f"  time to loss <= {args.epsilon:g}: {fmt(row['time_to_epsilon'])}"
              f"   final loss {row['final_loss']:.3e}   max loss increase "
              f"{row['max_loss_increase']:.1e}")
        if row["rate"] is not None:
            print(f"  fitted rate of the {row['fit_quantity']}: {row['rate']:.5f} ± "
                  f"{row['rate_stderr']:.1e} over t in [{row['fit_window'][0]:.1f}, "
                  f"{row['fit_window'][1]:.1f}]")
        else:
            print(f"  fitted rate: — ({flows[row['loss']].rate_note})")
        if "predicted_rate" in row:
            print(f"  predicted local rate: {fmt(row['predicted_rate'], '.5f')}"
                  f"   same-window linear model: {fmt(row['predicted_window_rate'], '.5f')}")
            print(f"  ({row['prediction']})")
    if args.plot:
        print(f"\nplot saved to {args.plot}")
    return 0


def _plot(flows, path: str, title: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ValueError("--plot needs matplotlib: pip install 'sobolev-verify[plot]'") from None
    figure, axis = plt.subplots(figsize=(6, 4))
    for loss, flow in flows.items():
        positive = flow.loss > 0
        axis.semilogy(flow.t[positive], flow.loss[positive], label=f"{loss} ({flow.status})")
    axis.set_xlabel("t")
    axis.set_ylabel("population loss")
    axis.set_title(title, fontsize=7)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
