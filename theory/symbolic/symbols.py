"""The documented symbols of the symbolic layer (shared by derivations, printing and check_formula).

Scalars (all positive; θ ∈ (0, π) is the open range where every one-neuron quantity exists):

    r        |w|   — norm of the student neuron (of the differentiated vector, for pair kernels)
    r_star   |w*|  — norm of the teacher neuron (of the other vector, for pair kernels)
    theta    θ = angle(w, w*)
    lam      λ, the Sobolev weight in H_λ = L + λJ
    rho, phi polar coordinates x = ρ(cos φ, sin φ) of the Gaussian input in the plane of (w, w*)

Matrix symbols (dimension n, substituted by d when evaluated):

    u = w*/|w*|,  v = w/|w|  (n×1),   I = identity(n),   w = r·v,   w_star = r_star·u
"""

from __future__ import annotations

import sympy as sp

r, r_star = sp.symbols("r r_star", positive=True)
theta = sp.Symbol("theta", positive=True)
lam = sp.Symbol("lam", nonnegative=True)
rho, phi = sp.symbols("rho phi", real=True)
n = sp.Symbol("n", integer=True, positive=True)
u = sp.MatrixSymbol("u", n, 1)
v = sp.MatrixSymbol("v", n, 1)
I = sp.Identity(n)  # noqa: E741


def local_dict() -> dict[str, object]:
    """Names accepted in string formulas (see proofs_check.check_formula)."""
    return {
        "r": r, "r_star": r_star, "theta": theta, "lam": lam,
        "u": u, "v": v, "I": I, "w": r * v, "w_star": r_star * u,
        "pi": sp.pi, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "cot": sp.cot,
        "sqrt": sp.sqrt,
    }
