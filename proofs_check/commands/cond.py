"""`sobolev-verify cond`: λmin, λmax and κ of the population Hessian for l2 and h1."""

from __future__ import annotations

import argparse
import math
from typing import Any

from proofs_check.analysis.summaries import spectrum_summary
from proofs_check.commands._options import (
    activation_from_args,
    add_activation_option,
    add_configuration_options,
    add_input_law_options,
    configuration_fields,
    configuration_from_args,
    describe_input_law,
    dump_json,
    input_covariance_from_args,
    positive_int,
)
from theory.validation import CONVENTIONS, SPECTRUM_METHODS


def json_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row for strict JSON: κ = inf becomes null with ``kappa_reason``."""
    row = dict(row)
    if row.get("sobolev_weight") is None and row.get("loss") == "l2":
        row["sobolev_weight_reason"] = "l2 has no Sobolev term"
    if row.get("exists") and not math.isfinite(row["kappa"]):
        row["kappa"] = None
        row["kappa_reason"] = (f"min Re λ = {row['lambda_min']:.6g} <= 0: not positive "
                               "definite, κ undefined (printed as inf)")
    return row


def _format_number(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.6g}"


def _print_table(rows: list[dict[str, Any]], header: str, method: str) -> None:
    print(header)
    print(f"method: closed-form population Jacobian (theory), eigenvalues by {method!r} solver; "
          "λ ordered by real part; κ = max Re λ / min Re λ (inf if min Re λ <= 0)")
    print(f"{'loss':<6} {'convention':<10} {'lambda_min':>12} {'lambda_max':>12} {'kappa':>12}")
    for row in rows:
        label = f"{row['loss']:<6} {row['convention']:<10}"
        if not row["exists"]:
            print(f"{label} {'undefined':>12}   ({row['reason'].split(':')[0]})")
            continue
        print(f"{label} {_format_number(row['lambda_min']):>12} "
              f"{_format_number(row['lambda_max']):>12} {_format_number(row['kappa']):>12}"
              + ("   complex pairs, |Im| <= " + f"{row['max_abs_imag']:.2g}"
                 if row["complex_eigenvalues"] else
                 "   (Im λ not computed: ARPACK extremes)" if row["complex_eigenvalues"] is None
                 else ""))
    solvers = sorted({row["eigensolver"] for row in rows if row["exists"]})
    if any(solver.startswith("ARPACK") for solver in solvers):
        print("note: eigenvalues by " + "; ".join(solvers))
    reasons = {row["reason"] for row in rows if not row["exists"]}
    for reason in sorted(reasons):
        print(f"note: {reason}")
    print("note: l2 has one Hessian (both conventions coincide); 'expected' is the Jacobian of the "
          "field that gradient descent and SGD follow, 'exact' the Hessian of the population loss.")


def run(args: argparse.Namespace) -> int:
    if args.samples is not None and not args.compare_autograd:
        raise ValueError("--samples is only used by --compare-autograd; add "
                         "--compare-autograd or drop --samples")
    if args.include_weights and not args.json:
        raise ValueError("--include-weights only changes --json output; add --json")
    activation = activation_from_args(args)
    if args.compare_autograd and activation != "relu":
        raise ValueError(f"--compare-autograd supports --activation relu only; got {activation!r}")
    config = configuration_from_args(args)
    options: dict[str, Any] = {}
    sigma = input_covariance_from_args(args, config.W.shape[1])
    if sigma is not None:
        options["input_covariance"] = sigma
    if activation != "relu":
        options["activation"] = activation
    if "h2" in args.loss:
        options["second_order_weight"] = args.second_order_weight
    rows = [
        spectrum_summary(config.W, config.W_star, loss, convention, args.sobolev_weight,
                         args.method, imaginary_parts=False, **options)
        for loss in args.loss for convention in CONVENTIONS
    ]
    comparison = None
    if args.compare_autograd:  # see proofs_check.analysis.autograd_gap
        from proofs_check.analysis.autograd_gap import compare_autograd, format_comparison

        comparison = compare_autograd(config.W, config.W_star, args.samples or 10_000,
                                      sobolev_weight=args.sobolev_weight, seed=args.seed)
    if args.json:
        payload = {"configuration": config.describe(), **configuration_fields(config),
                   "sobolev_weight": args.sobolev_weight, "method": args.method,
                   "activation": options.get("activation", "relu"),
                   "input_law": describe_input_law(args),
                   "results": [json_row(row) for row in rows]}
        if "h2" in args.loss:
            payload["second_order_weight"] = args.second_order_weight
        if args.include_weights:
            payload.update(W=config.W.tolist(), W_star=config.W_star.tolist(),
                           input_covariance=None if sigma is None else sigma.tolist())
        if comparison is not None:
            payload["autograd_comparison"] = comparison
        print(dump_json(payload))
    else:
        header = config.describe()
        if sigma is not None or "h2" in args.loss:
            header += f"; {describe_input_law(args)}"
        if "activation" in options:
            header += f"; activation {options['activation']}"
        _print_table(rows, header, args.method)
        if comparison is not None:
            print(format_comparison(comparison))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cond", help="condition numbers of the population Hessian (l2 and h1, both conventions)",
        description="Print λmin, λmax and κ of the population Hessian for l2 and h1 in both "
                    "conventions, at a reproducible configuration.")
    add_configuration_options(parser)
    add_activation_option(parser)
    parser.add_argument("--sobolev-weight", type=float, default=1.0,
                        help="λ in H = L + λ·J (default 1)")
    parser.add_argument("--method", choices=SPECTRUM_METHODS, default="auto",
                        help="eigenvalue method (default auto: structured when d > K + K*)")
    parser.add_argument("--loss", nargs="+", choices=("l2", "h1", "h2"), default=["l2", "h1"],
                        help="losses to tabulate (default l2 h1; h2 = L + λJ + μJ₂ needs a "
                             "smooth activation)")
    add_input_law_options(parser)
    parser.add_argument("--json", action="store_true",
                        help="machine-readable output: K, K*, d, seed, at, radius and one row "
                             "per loss/convention (κ null with a reason where undefined)")
    parser.add_argument("--include-weights", action="store_true",
                        help="with --json, also W and W* (K·d and K*·d numbers)")
    parser.add_argument("--compare-autograd", action="store_true",
                        help="also print κ of the autograd Hessian of the empirical loss on "
                             "--samples Gaussian inputs, beside the population κ")
    parser.add_argument("--samples", type=positive_int, default=None,
                        help="number of samples for --compare-autograd (default 10000)")
    parser.set_defaults(func=run)
