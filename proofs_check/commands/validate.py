"""`sobolev-verify validate`: closed form vs quadrature vs Monte-Carlo at one configuration.

For the loss, the expected gradient and the expected Hessian (Jacobian of the expected gradient
field) it prints theory's closed form (every activation but tanh, which has none),
numerics.quadrature and numerics.monte_carlo /
monte_carlo_hessian with their error bars, and exits 1 when a disagreement exceeds its bar:

* quadrature vs closed form: |Δ| <= max(1e-10, 100·quadrature error estimate)·(1 + |value|);
* Monte-Carlo vs the reference (closed form, else quadrature): |Δ| <= z·stderr with z the
  Bonferroni-corrected two-sided normal quantile for the number of Monte-Carlo comparisons at the
  familywise level --familywise (default 0.01). Monte-Carlo Hessian bars are sampling errors of
  the CRN central difference; its O(h²) step bias is not included.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from typing import Any

import numpy as np
from scipy import stats

import theory
from numerics.activations import get_activation
from numerics.montecarlo import DEFAULT_BATCH_SIZE, monte_carlo, monte_carlo_hessian
from numerics.quadrature import quadrature
from proofs_check.commands._options import (
    activation_from_args,
    add_activation_option,
    add_configuration_options,
    add_input_law_options,
    configuration_from_args,
    describe_input_law,
    dump_json,
    input_covariance_from_args,
    positive_int,
)
from theory.validation import (
    LOSSES,
    SECOND_ORDER_LOSSES,
    NonDifferentiableError,
    dense_hessian_bytes,
    require_memory,
)

QUADRATURE_FLOOR = 1e-10
#: Most Monte-Carlo samples accepted by --samples and --hessian-samples (1e9: minutes at small
#: K·d; beyond, a run is hours long and a typo such as 1e11 would leave it running for days).
MAX_SAMPLES = 10**9
#: Monte-Carlo samples of the Hessian check when --hessian-samples is not given.
DEFAULT_HESSIAN_SAMPLES = 200_000
#: Fewest Monte-Carlo samples for which the normal intervals are used. Measured (relu, h1,
#: K = 3, d = 4, loss and gradient, familywise 0.01): with 100 samples 3 of 40 seeds raised a
#: false alarm (7.5 %, far above 1 %); with 1000 samples 2 of 200 (1 %, as stated).
MIN_SAMPLES = 1000

#: Activations theory has no closed form for (measured only: quadrature vs Monte-Carlo).
CLOSED_FORM_MISSING = ("tanh",)
Z95 = float(stats.norm.ppf(0.975))


def _quadrature_tolerance(reference: np.ndarray, error_estimate: float) -> np.ndarray:
    return max(QUADRATURE_FLOOR, 100.0 * error_estimate) * (1.0 + np.abs(reference))


def _hessian_bytes(K: int, K_star: int, d: int) -> float:
    """Peak bytes of the Hessian checks: the quadrature's dense Jacobian, and the Monte-Carlo
    Hessian's chunk of difference quotients (chunk·(K·d)², as numerics.monte_carlo_hessian sizes
    it, about 3 live copies) with its moment arrays."""
    n = K * d
    chunk = min(DEFAULT_BATCH_SIZE, max(256, 2**22 // n**2))
    return max(dense_hessian_bytes(K, K_star, d), 8.0 * (3 * chunk * n**2 + 6 * n**2))


def _compare(name: str, closed, quad, quad_error: float, mc, mc_stderr,
             z_crit: float) -> dict[str, Any]:
    """One quantity's comparison; arrays are flattened into lists for JSON."""
    shape = list(np.shape(quad))
    quad_arr = np.asarray(quad, dtype=float).ravel()
    row: dict[str, Any] = {"quantity": name, "shape": shape, "quadrature": quad_arr.tolist(),
                           "quadrature_error_estimate": quad_error, "ok": True}
    reference = quad_arr
    if closed is not None:
        closed_arr = np.asarray(closed, dtype=float).ravel()
        diff = np.abs(quad_arr - closed_arr)
        tol = _quadrature_tolerance(closed_arr, quad_error)
        row.update(closed_form=closed_arr.tolist(), quadrature_max_abs_diff=float(diff.max()),
                   quadrature_ok=bool(np.all(diff <= tol)))
        row["ok"] &= row["quadrature_ok"]
        reference = closed_arr
    if mc is not None:
        mc_arr = np.asarray(mc, dtype=float).ravel()
        se = np.asarray(mc_stderr, dtype=float).ravel()
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(se > 0, np.abs(mc_arr - reference) / se,
                         np.where(mc_arr == reference, 0.0, np.inf))
        row.update(monte_carlo=mc_arr.tolist(), monte_carlo_stderr=se.tolist(),
                   monte_carlo_max_z=float(z.max()),
                   outside_95=int(np.sum(z > Z95)), entries=int(z.size),
                   monte_carlo_ok=bool(np.all(z <= z_crit)))
        row["ok"] &= row["monte_carlo_ok"]
    return row


def _second_order_and_input_law(args: argparse.Namespace, d: int) -> dict[str, Any]:
    """second_order_weight (second-order losses) and input_covariance (when given)."""
    extra: dict[str, Any] = {}
    if args.loss in SECOND_ORDER_LOSSES:
        extra["second_order_weight"] = args.second_order_weight
    sigma = input_covariance_from_args(args, d)
    if sigma is not None:
        extra["input_covariance"] = sigma
    return extra


def _monte_carlo_unsupported(loss: str, extra: dict[str, Any]) -> str | None:
    """Why numerics.monte_carlo cannot measure this case on this build (None when it can)."""
    parameters = inspect.signature(monte_carlo).parameters
    missing = [name for name in extra if name not in parameters]
    if missing or (loss in SECOND_ORDER_LOSSES and "second_order_weight" not in parameters):
        return (f"Monte-Carlo skipped: numerics.monte_carlo does not support "
                f"{missing or ['loss ' + loss]} on this build; closed form vs quadrature only")
    return None


def validate(args: argparse.Namespace, progress: bool) -> dict[str, Any]:
    config = configuration_from_args(args)
    W, W_star = config.W, config.W_star
    if args.slope is not None:
        if args.activation != "leaky_relu":
            raise ValueError("--slope applies only to --activation leaky_relu (or write "
                             "--activation 'leaky_relu(0.1)')")
        args.activation = f"leaky_relu({args.slope!r})"
    act = get_activation(activation_from_args(args, closed_form=False))
    common = {"sobolev_weight": args.sobolev_weight}
    K, d = W.shape
    extra = _second_order_and_input_law(args, d)  # h2 and x ~ N(0, Σ)
    has_closed_form = act.name not in CLOSED_FORM_MISSING
    closed_options = {**common, **extra, "activation": act.name}
    do_hessian = not args.no_hessian
    comparisons = 1 + K * d + (K * d) ** 2 * do_hessian
    z_crit = float(stats.norm.ppf(1 - args.familywise / (2 * comparisons)))

    if do_hessian:
        require_memory(_hessian_bytes(K, W_star.shape[0], d),
                       f"the Monte-Carlo and quadrature Hessians ({K * d}×{K * d}, chunks of "
                       "difference quotients)",
                       "pass --no-hessian, or a smaller --width/--dim")
    notes: list[str] = []
    hessian_reason = None
    try:
        quad = quadrature(W, W_star, args.loss, activation=act, hessian=do_hessian, **common,
                          **extra)
    except NonDifferentiableError as exc:
        hessian_reason = str(exc)
        do_hessian = False
        quad = quadrature(W, W_star, args.loss, activation=act, hessian=False, **common,
                          **extra)
    mc = mc_h = None
    mc_missing = _monte_carlo_unsupported(args.loss, extra)
    if mc_missing:
        notes.append(mc_missing)
    else:
        mc = monte_carlo(W, W_star, args.loss, n_samples=args.samples, seed=args.mc_seed,
                         activation=act, progress=progress, **common, **extra)
    if do_hessian and mc is not None:
        mc_h = monte_carlo_hessian(W, W_star, args.loss, n_samples=args.hessian_samples,
                                   seed=args.mc_seed, activation=act, progress=progress, **common,
                                   **extra)
    closed = {"loss": None, "gradient": None, "hessian": None}
    if has_closed_form:
        closed["loss"] = theory.population_loss(W, W_star, args.loss, **closed_options)
        closed["gradient"] = theory.population_gradient(W, W_star, args.loss, **closed_options)
        if do_hessian:
            closed["hessian"] = theory.population_hessian(W, W_star, args.loss, **closed_options)
    else:
        notes.append(f"no closed form for {act.name}: Monte-Carlo is compared with quadrature")
    rows = [
        _compare("loss", closed["loss"], quad.loss, quad.error_estimate,
                 None if mc is None else mc.value, None if mc is None else mc.value_stderr,
                 z_crit),
        _compare("gradient", closed["gradient"], quad.gradient, quad.error_estimate,
                 None if mc is None else mc.gradient, None if mc is None else mc.gradient_stderr,
                 z_crit),
    ]
    if do_hessian:
        rows.append(_compare("hessian", closed["hessian"], quad.hessian, quad.error_estimate,
                             None if mc_h is None else mc_h.hessian,
                             None if mc_h is None else mc_h.stderr, z_crit))
    elif hessian_reason:
        notes.append(f"hessian skipped: {hessian_reason}")
    provenance = {
        "convention": "expected (E_x of the pointwise gradient; its Jacobian for the Hessian)",
        "quadrature": quad.method,
        "monte_carlo": f"{args.samples} samples, seed {args.mc_seed}, intervals mean ± "
                       f"1.96·stderr" if mc is not None else None,
        "input_law": describe_input_law(args),
        "monte_carlo_hessian": (f"{args.hessian_samples} samples, CRN central differences, "
                                f"{mc_h.step_rule}; bars exclude the O(h²) step bias")
        if mc_h is not None else None,
        "monte_carlo_threshold": f"|Δ| <= {z_crit:.3f}·stderr (Bonferroni over {comparisons} "
                                 f"numbers, familywise {args.familywise:g})",
        "quadrature_threshold": f"|Δ| <= max({QUADRATURE_FLOOR:g}, 100·error estimate)"
                                "·(1 + |value|)",
    }
    return {"configuration": config.describe(), "loss": args.loss,
            "sobolev_weight": args.sobolev_weight, "activation": act.name,
            "W": W.tolist(), "W_star": W_star.tolist(), "provenance": provenance,
            "results": rows, "notes": notes, "ok": all(row["ok"] for row in rows)}


def _print(report: dict[str, Any]) -> None:
    print(report["configuration"])
    print(f"loss {report['loss']} (λ = {report['sobolev_weight']:g}), activation "
          f"{report['activation']}")
    for key, text in report["provenance"].items():
        if text:
            print(f"  {key}: {text}")
    for row in report["results"]:
        status = "ok" if row["ok"] else "DISAGREES"
        print(f"\n{row['quantity']}: {status}")
        if row["quantity"] != "hessian":
            print(f"  {'entry':<8}{'closed form':>16} {'quadrature':>16} {'monte-carlo':>14} "
                  f"{'95% interval':>28}")
            shape = row["shape"]
            closed = row.get("closed_form", [None] * len(row["quadrature"]))
            for i, q in enumerate(row["quadrature"]):
                c = f"{closed[i]:16.10g}" if closed[i] is not None else f"{'n/a':>16}"
                label = f"w[{i // shape[1]},{i % shape[1]}]" if shape else "value"
                if "monte_carlo" not in row:
                    print(f"  {label:<8}{c} {q:16.10g} {'n/a':>14}")
                    continue
                m, s = row["monte_carlo"][i], row["monte_carlo_stderr"][i]
                lo, hi = m - Z95 * s, m + Z95 * s
                print(f"  {label:<8}{c} {q:16.10g} {m:14.6g}   [{lo:11.6g}, {hi:11.6g}]")
        if "quadrature_max_abs_diff" in row:
            print(f"  quadrature vs closed form: max |Δ| = {row['quadrature_max_abs_diff']:.2e}")
        if "monte_carlo" in row:
            print(f"  monte-carlo: max |Δ|/stderr = {row['monte_carlo_max_z']:.2f}; "
                  f"{row['outside_95']}/{row['entries']} entries outside their 95 % interval")
    for note in report["notes"]:
        print(f"note: {note}")
    print("\nresult:", "all agree within their error bars" if report["ok"]
          else "DISAGREEMENT beyond the error bars")


def run(args: argparse.Namespace) -> int:
    if not 0 < args.familywise < 1:
        raise ValueError(f"--familywise must be in (0, 1); got {args.familywise!r}")
    if args.no_hessian and args.hessian_samples is not None:
        raise ValueError("--hessian-samples has no effect with --no-hessian; drop one of them")
    if args.hessian_samples is None:
        args.hessian_samples = DEFAULT_HESSIAN_SAMPLES
    for option, value in (("--samples", args.samples), ("--hessian-samples",
                                                         args.hessian_samples)):
        if value < MIN_SAMPLES:
            raise ValueError(
                f"{option} must be at least {MIN_SAMPLES}: the Monte-Carlo checks use normal "
                f"intervals (mean ± z·stderr), which are not valid for {value} samples")
        if value > MAX_SAMPLES:
            raise ValueError(
                f"{option} {value} is above the maximum {MAX_SAMPLES:.0e}: at roughly 1e7 "
                "samples per second and per K·d that run would take hours to days; the "
                "standard error falls only like 1/√samples")
    progress = (not args.json) and sys.stderr.isatty() and not args.no_progress
    report = validate(args, progress)
    if args.json:
        print(dump_json(report))
    else:
        _print(report)
    return 0 if report["ok"] else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate", help="closed form vs quadrature vs Monte-Carlo for loss, gradient, Hessian",
        description="Compare theory's closed forms (all activations but tanh), quadrature and "
                    "Monte-Carlo (with intervals) for the loss, expected gradient and expected "
                    "Hessian at one configuration; exit 1 on any disagreement beyond the error "
                    "bars.")
    add_configuration_options(parser)
    parser.add_argument("--loss", choices=LOSSES + SECOND_ORDER_LOSSES, default="h1",
                        help="loss (default h1; sobolev2/h2 need a smooth activation)")
    parser.add_argument("--sobolev-weight", type=float, default=1.0,
                        help="λ in H = L + λ·J (default 1)")
    add_activation_option(parser, closed_form=False)
    parser.add_argument("--slope", type=float, default=None,
                        help="negative-side slope of --activation leaky_relu (default 0.01; "
                             "same as --activation 'leaky_relu(SLOPE)')")
    parser.add_argument("--samples", type=positive_int, default=1_000_000,
                        help="Monte-Carlo samples for loss and gradient (default 1e6, at most "
                             "1e9)")
    parser.add_argument("--hessian-samples", type=positive_int, default=None,
                        help="Monte-Carlo samples for the Hessian (default 2e5; costs 2·K·d "
                             "gradient evaluations per sample)")
    parser.add_argument("--mc-seed", type=int, default=0, help="Monte-Carlo seed (default 0)")
    parser.add_argument("--familywise", type=float, default=0.01,
                        help="familywise false-alarm level of the Monte-Carlo checks "
                             "(default 0.01)")
    parser.add_argument("--no-hessian", action="store_true", help="skip the Hessian")
    add_input_law_options(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)
