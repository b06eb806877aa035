"""Argument helpers shared by subcommands."""

from __future__ import annotations

import argparse

from numerics.activations import get_activation
from theory.activations import get_activation as closed_form_activation
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


def add_activation_option(parser: argparse.ArgumentParser, *, closed_form: bool = True) -> None:
    """--activation NAME: "relu" (default), "leaky_relu(α)", "gelu", "erf", "sine" (and "tanh"
    where only measurements are made, closed_form=False)."""
    names = "relu, leaky_relu(0.1) (any slope 0 <= α < 1), gelu, erf, sine"
    parser.add_argument(
        "--activation", default="relu", metavar="NAME",
        help=f"activation σ: {names}" + (", tanh (measured only)" if not closed_form else
                                         "; tanh has no closed form (use validate)")
        + " (default relu)")


def activation_from_args(args: argparse.Namespace, *, closed_form: bool = True) -> str:
    """The canonical spec of --activation (e.g. "leaky_relu(0.1)"); ValueError naming the option
    for an unknown name, or (closed_form) for one theory has no closed form for, e.g. tanh."""
    try:
        name = get_activation(args.activation).name
        if closed_form:
            closed_form_activation(name)
    except ValueError as exc:
        raise ValueError(f"--activation: {exc}") from None
    return name
