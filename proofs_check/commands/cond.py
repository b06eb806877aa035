"""`sobolev-verify cond`: λmin, λmax and κ of the population Hessian for l2 and h1."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import numpy as np

import theory
from proofs_check.commands._options import (
    activation_from_args,
    add_activation_option,
    add_configuration_options,
    configuration_from_args,
    positive_int,
)
from theory.validation import CONVENTIONS, SPECTRUM_METHODS, NonDifferentiableError


def spectrum_summary(W, W_star, loss: str, convention: str, sobolev_weight: float,
                     method: str, activation: str = "relu") -> dict[str, Any]:
    """λmin, λmax (by real part), κ and provenance; or the reason the Hessian does not exist."""
    row: dict[str, Any] = {"loss": loss, "convention": convention,
                           "sobolev_weight": sobolev_weight if loss != "l2" else None}
    try:
        values = theory.spectrum(W, W_star, loss, convention=convention,
                                 sobolev_weight=sobolev_weight, method=method,
                                 activation=activation)
    except NonDifferentiableError as exc:
        row.update(exists=False, reason=str(exc))
        return row
    real = np.real(values)
    smallest, largest = float(real.min()), float(real.max())
    row.update(
        exists=True,
        lambda_min=smallest,
        lambda_max=largest,
        kappa=largest / smallest if smallest > 0 else math.inf,
        complex_eigenvalues=bool(np.iscomplexobj(values)),
        max_abs_imag=float(np.abs(np.imag(values)).max()),
        symmetric=loss == "l2" or convention == "exact",
    )
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
                 if row["complex_eigenvalues"] else ""))
    reasons = {row["reason"] for row in rows if not row["exists"]}
    for reason in sorted(reasons):
        print(f"note: {reason}")
    print("note: l2 has one Hessian (both conventions coincide); 'expected' is the Jacobian of the "
          "field that gradient descent and SGD follow, 'exact' the Hessian of the population loss.")


def run(args: argparse.Namespace) -> int:
    activation = activation_from_args(args)
    if args.compare_autograd and activation != "relu":
        raise ValueError(f"--compare-autograd supports --activation relu only; got {activation!r}")
    config = configuration_from_args(args)
    rows = [
        spectrum_summary(config.W, config.W_star, loss, convention, args.sobolev_weight,
                         args.method, activation)
        for loss in ("l2", "h1") for convention in CONVENTIONS
    ]
    comparison = None
    if args.compare_autograd:  # issue 8: see proofs_check.autograd_gap
        from proofs_check.autograd_gap import compare_autograd, format_comparison

        comparison = compare_autograd(config.W, config.W_star, args.samples,
                                      sobolev_weight=args.sobolev_weight, seed=args.seed)
    if args.json:
        payload = {"configuration": config.describe(), "at": config.at, "method": args.method,
                   "activation": activation,
                   "W": config.W.tolist(), "W_star": config.W_star.tolist(), "results": rows}
        if comparison is not None:
            payload["autograd_comparison"] = comparison
        print(json.dumps(payload, indent=2))
    else:
        _print_table(rows, f"{config.describe()}; activation {activation}", args.method)
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
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--compare-autograd", action="store_true",
                        help="also print κ of the autograd Hessian of the empirical loss on "
                             "--samples Gaussian inputs, beside the population κ")
    parser.add_argument("--samples", type=positive_int, default=10_000,
                        help="number of samples for --compare-autograd (default 10000)")
    parser.set_defaults(func=run)
