r"""erf: φ(t) = erf(t), the closed-form sigmoid (tanh has no closed-form Gaussian pair kernel).

For (u, v) centred Gaussian with variances s_a, s_b and covariance c (Williams 1997):

    k(s_a, s_b, c) = E[erf(u) erf(v)] = (2/π) · arcsin( 2c / √((1 + 2s_a)(1 + 2s_b)) ).

The argument of arcsin lies strictly inside (−1, 1) for every non-degenerate Gaussian
(4c² <= 4 s_a s_b < (1 + 2s_a)(1 + 2s_b)), so k is analytic in (s_a, s_b, c) everywhere: the
population loss is smooth, the two gradient conventions coincide and the Hessian exists at the
teacher. Not positively homogeneous (erf(rt) ≠ r·erf(t)).

SymPy derivation and proof against the Gaussian integral: theory/symbolic/activations.py.
"""

from __future__ import annotations

import sympy as sp

from theory.activations._partials import c, s_a, s_b

NAME = "erf"
KERNEL = 2 / sp.pi * sp.asin(2 * c / sp.sqrt((1 + 2 * s_a) * (1 + 2 * s_b)))

# The same kernel with Δ = √((1 + 2s_a)(1 + 2s_b) − 4c²) and A = the arcsin as auxiliary symbols
# (theory.activations._partials); tests check KERNEL_AUX = KERNEL after substitution.
#
# Evaluation (float64): Δ² is written as the sum of non-negative terms
#     Δ² = 1 + 2s_a + 2s_b + 4G(√(s_a s_b) + |c|),   G = √(s_a s_b) − |c| >= 0,
# instead of the difference (1 + 2s_a)(1 + 2s_b) − 4c², which cancels for (nearly) parallel
# rows at large scale: for a row paired with itself the difference loses all digits once
# s ≳ 1e8, while G is then exactly 0 (theory.pair_frame.grams makes the Gram entries of
# identical rows exactly consistent) and Δ² = 1 + 4s to rounding. The arcsin's argument is
# 2c/(√(1 + 2s_a)·√(1 + 2s_b)) (the product under one root would overflow for s ≳ 1e154).
Delta, A = sp.symbols("Delta A", positive=True)
_PA, _PB = 1 + 2 * s_a, 1 + 2 * s_b
_ROOT = sp.sqrt(s_a * s_b)
KERNEL_AUX = 2 / sp.pi * A
AUXILIARY = (
    (Delta, sp.sqrt(1 + 2 * s_a + 2 * s_b + 4 * (_ROOT - sp.Abs(c)) * (_ROOT + sp.Abs(c))),
     (_PB / Delta, _PA / Delta, -4 * c / Delta)),
    (A, sp.asin(2 * c / (sp.sqrt(_PA) * sp.sqrt(_PB))),
     (-2 * c / (_PA * Delta), -2 * c / (_PB * Delta), 2 / Delta)),
)
