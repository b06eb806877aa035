"""Argument helpers shared by subcommands."""

from __future__ import annotations

import argparse

from theory.configurations import PLACEMENTS, Configuration, make_configuration


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def add_configuration_options(parser: argparse.ArgumentParser) -> None:
    """--width --teacher-width --dim --seed --at --radius (see theory.configurations)."""
    group = parser.add_argument_group("configuration")
    group.add_argument("--width", "-K", type=positive_int, default=2, help="student width K")
    group.add_argument("--teacher-width", type=positive_int, default=None,
                       help="teacher width K* (default: K)")
    group.add_argument("--dim", "-d", type=positive_int, default=3, help="input dimension d")
    group.add_argument("--seed", type=int, default=0, help="random seed of the configuration")
    group.add_argument("--at", choices=PLACEMENTS, default=None,
                       help="where to evaluate: teacher (W = W*), perturbed (W* + radius noise), "
                            "random (default: perturbed when K = K*, else random)")
    group.add_argument("--radius", type=float, default=None,
                       help="perturbation size (default 0.1) or random scale (default 1.0)")


def configuration_from_args(args: argparse.Namespace) -> Configuration:
    teacher_width = args.teacher_width if args.teacher_width is not None else args.width
    return make_configuration(args.width, teacher_width, args.dim, args.seed,
                              at=args.at, radius=args.radius)


def add_input_law_options(parser: argparse.ArgumentParser) -> None:
    """--second-order-weight, --input-covariance FILE.npy, --spike STRENGTH:RANK (issue 17)."""
    group = parser.add_argument_group("second-order loss and input law")
    group.add_argument("--second-order-weight", type=float, default=1.0, metavar="MU",
                       help="μ in H2 = L + λJ + μJ₂ (loss h2; default 1, the official code's)")
    law = group.add_mutually_exclusive_group()
    law.add_argument("--input-covariance", metavar="FILE.npy", default=None,
                     help="x ~ N(0, Σ) with Σ read from a (d, d) .npy file (symmetric positive "
                          "definite); default Σ = I")
    law.add_argument("--spike", metavar="STRENGTH:RANK", default=None,
                     help="spiked Σ = I + STRENGTH·Σ_{r<RANK} e_r e_rᵀ: spikes on the first RANK "
                          "coordinate axes (proofs_check.input_laws.spiked_covariance)")


def input_covariance_from_args(args: argparse.Namespace, d: int):
    """Σ from --input-covariance or --spike (None for Σ = I); ValueError naming the option."""
    from proofs_check.input_laws import load_covariance, spiked_covariance

    if getattr(args, "input_covariance", None):
        try:
            return load_covariance(args.input_covariance, d)
        except ValueError as exc:
            raise ValueError(f"--input-covariance: {exc}") from None
    spike = getattr(args, "spike", None)
    if spike:
        try:
            strength, rank = spike.split(":")
            return spiked_covariance(d, float(strength), int(rank))
        except ValueError as exc:
            raise ValueError(f"--spike must be STRENGTH:RANK with STRENGTH > -1 and "
                             f"1 <= RANK <= d = {d} (input_covariance); got {spike!r} ({exc})"
                             ) from None
    return None


def describe_input_law(args: argparse.Namespace) -> str:
    if getattr(args, "input_covariance", None):
        return f"x ~ N(0, Σ), Σ from {args.input_covariance}"
    if getattr(args, "spike", None):
        return f"x ~ N(0, Σ), Σ = I + spike {args.spike} (first coordinate axes)"
    return "x ~ N(0, I)"
