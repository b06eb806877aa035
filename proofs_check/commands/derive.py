"""`sobolev-verify derive`: print the SymPy-derived one-neuron formulas (theory.symbolic)."""

from __future__ import annotations

import argparse

from theory.validation import CONVENTIONS, LOSSES

QUANTITIES = ("loss", "gradient", "hessian", "flow")
LEGEND = ("Symbols: r = |w|, r_star = |w*|, theta = angle(w, w*) in (0, pi), lam = Sobolev weight; "
          "u = w*/|w*|, v = w/|w|, e = (u - cos(theta) v)/sin(theta). K = K* = 1, x ~ N(0, I_d). "
          "Derived by SymPy from the Gaussian integrals in polar coordinates (theory.symbolic).")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "derive", help="print the SymPy-derived one-neuron formulas",
        description="Print the one-neuron losses, gradients, Hessians and (r, theta) flow "
                    "derived with SymPy. " + LEGEND)
    parser.add_argument("--quantity", choices=QUANTITIES, action="append",
                        help="quantity to print (repeatable; default: all)")
    parser.add_argument("--loss", choices=LOSSES, action="append",
                        help="loss to print (repeatable; default: all)")
    parser.add_argument("--convention", choices=CONVENTIONS, action="append",
                        help="gradient convention (repeatable; default: both)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--latex", action="store_const", dest="fmt", const="latex",
                        help="print LaTeX")
    output.add_argument("--json", action="store_const", dest="fmt", const="json",
                        help="print JSON (sympy string and LaTeX per formula)")
    parser.set_defaults(func=run, fmt="pretty")


def run(args: argparse.Namespace) -> int:
    from theory.symbolic import printing

    sections = []
    for quantity in args.quantity or QUANTITIES:
        for loss in args.loss or LOSSES:
            conventions = ["expected"] if quantity == "loss" else (args.convention or CONVENTIONS)
            for convention in conventions:
                heading = f"{quantity}, loss={loss}" + (
                    "" if quantity == "loss" else f", convention={convention}")
                sections.append((heading, printing.derivation(quantity, loss, convention)))
    text = printing.render(sections, args.fmt)
    if args.fmt == "pretty":
        text = LEGEND + "\n\n" + text
    print(text)
    return 0
