r"""Pretty text, LaTeX and JSON renderings of the derived one-neuron formulas.

:func:`derivation` collects, for one quantity/loss/convention, named SymPy expressions:

* matrix form: vectors as c_u·u + c_v·v, matrices as c_I·I + Σ c_pq·p·qᵀ (u = w*/|w*|, v = w/|w|);
* invariant form: components in the orthonormal frame (v, e), e = (u − cos θ v)/sin θ, and for
  Hessians the scalar γ on span(u, v)^⊥ with the 2×2 block C in the basis (v, e);
* flow: ṙ and θ̇ under ẇ = −F(w).

Symbols: r = |w|, r_star = |w*|, theta = θ, lam = λ (see :mod:`theory.symbolic.symbols`).
"""

from __future__ import annotations

import json
import re

import sympy as sp

from theory.symbolic import flow, one_neuron
from theory.symbolic.algebra import Mat, Vec
from theory.symbolic.symbols import I, lam, r_star, u, v
from theory.validation import check_convention, check_loss

FORMATS = ("pretty", "latex", "json")
_LOSS_NAMES = {"l2": "L", "sobolev": "J", "h1": "H_λ"}


def vec_expr(vector: Vec) -> sp.MatrixExpr:
    """c_u·u + c_v·v as a SymPy matrix expression (n×1)."""
    return sp.MatAdd(vector.cy * u, vector.cx * v)


def mat_expr(matrix: Mat) -> sp.MatrixExpr:
    """c_I·I + Σ c_pq·p·qᵀ as a SymPy matrix expression (n×n)."""
    basis = (u, v)
    terms = [matrix.iso * I] + [matrix.M[i, j] * basis[i] * basis[j].T
                                for i in range(2) for j in range(2) if matrix.M[i, j] != 0]
    return sp.MatAdd(*terms)


def derivation(quantity: str, name: str, convention: str = "expected") -> dict[str, sp.Basic]:
    """Named derived formulas of one quantity ("loss", "gradient", "hessian" or "flow")."""
    check_loss(name)
    check_convention(convention)
    symbol = _LOSS_NAMES[name]
    if quantity == "loss":
        return {symbol: one_neuron.loss(name)}
    if quantity == "gradient":
        along_v, along_e = one_neuron.gradient_frame(name, convention)
        return {
            f"grad {symbol} (matrix form)": vec_expr(one_neuron.gradient(name, convention)),
            f"grad {symbol} along v": along_v,
            f"grad {symbol} along e": along_e,
        }
    if quantity == "hessian":
        frame = one_neuron.hessian_frame(name, convention)
        return {
            f"hess {symbol} (matrix form)": mat_expr(one_neuron.hessian(name, convention)),
            f"hess {symbol} gamma (on span(u, v)^perp)": frame.gamma,
            f"hess {symbol} C (basis v, e)": frame.C,
        }
    if quantity == "flow":
        r_dot, theta_dot = flow.flow(name, convention)
        return {f"{symbol} flow: dr/dt": r_dot, f"{symbol} flow: dtheta/dt": theta_dot}
    raise ValueError(f"quantity must be one of {one_neuron.QUANTITIES}; got {quantity!r}")


#: How the documented symbols are shown to people (JSON keeps the parseable names).
LATEX_NAMES = {lam: r"\lambda", r_star: r"r_{*}"}
_DISPLAY = {lam: sp.Symbol("λ", nonnegative=True), r_star: sp.Symbol("r_*", positive=True)}


def to_latex(expr: sp.Basic) -> str:
    """LaTeX with λ and r_* for the Sobolev weight and |w*|, and "a - b" for "a + -b"."""
    text = sp.latex(expr, symbol_names=LATEX_NAMES)
    return re.sub(r"\+\s*-\s*", "- ", text)


def to_pretty(expr: sp.Basic) -> str:
    """Unicode 2-D text with λ and r_* for the Sobolev weight and |w*|."""
    text = sp.pretty(expr.xreplace(_DISPLAY), use_unicode=True, wrap_line=False)
    return text


def render(sections: list[tuple[str, dict[str, sp.Basic]]], fmt: str = "pretty") -> str:
    """Render [(heading, formulas)] as pretty text (default), LaTeX or JSON."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}; got {fmt!r}")
    if fmt == "json":
        payload = [{"heading": heading,
                    "formulas": {key: {"sympy": sp.sstr(expr), "latex": to_latex(expr)}
                                 for key, expr in formulas.items()}}
                   for heading, formulas in sections]
        return json.dumps(payload, indent=2)
    lines = []
    for heading, formulas in sections:
        lines.append(f"== {heading} ==")
        for key, expr in formulas.items():
            if fmt == "latex":
                lines.append(f"% {key}\n{to_latex(expr)}")
            else:
                lines.append(f"{key} =\n{to_pretty(expr)}")
        lines.append("")
    return "\n".join(lines)
