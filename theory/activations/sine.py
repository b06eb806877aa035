r"""sine: φ(t) = sin t.

For (u, v) centred Gaussian with variances s_a, s_b and covariance c,
E[sin u sin v] = ½(E cos(u − v) − E cos(u + v)) = ½(e^{−(s_a+s_b−2c)/2} − e^{−(s_a+s_b+2c)/2}):

    k(s_a, s_b, c) = e^{−(s_a + s_b)/2} · sinh(c).

Entire in (s_a, s_b, c): the loss is smooth, the two conventions coincide, the Hessian exists at
the teacher. Not homogeneous: the kernels decay like e^{−|w|²/2} in the weight scale, so the
landscape depends on the teacher's norm, not only on angles.

Evaluation: every partial derivative of k is a polynomial times S = e^{−(s_a+s_b)/2} sinh c or
C = e^{−(s_a+s_b)/2} cosh c, which are kept as auxiliary symbols
(theory.activations._partials). Written as the product, S overflows to inf·0 = NaN once
|c| > 710 (|w| ≈ 27 for parallel rows); written as below it never does, because
|c| <= √(s_a s_b) <= (s_a + s_b)/2 by Cauchy–Schwarz and AM–GM, so the exponent is <= 0:

    S = sign(c) · e^{|c| − (s_a+s_b)/2} · (1 − e^{−2|c|})/2   (1 − e^{−2|c|} as −expm1(−2|c|),
                                                              no cancellation at small |c|)
    C =           e^{|c| − (s_a+s_b)/2} · (1 + e^{−2|c|})/2.

SymPy derivation and proof against the Gaussian integral: theory/symbolic/activations.py.
"""

from __future__ import annotations

import sympy as sp
from sympy.codegen.cfunctions import expm1

from theory.activations._partials import c, s_a, s_b

NAME = "sine"
KERNEL = sp.exp(-(s_a + s_b) / 2) * sp.sinh(c)

# KERNEL = S with the auxiliaries S, C above; tests check KERNEL_AUX = KERNEL after substitution.
S, C = sp.symbols("S C", real=True)
# the exponent |c| − (s_a + s_b)/2 = −(√s_a − √s_b)²/2 − (√(s_a s_b) − |c|), a sum of
# non-positive terms: the difference would lose every digit for (nearly) parallel rows at large
# scale (e^{±ε·s}); the second term is exactly 0 for identical rows (theory.pair_frame.grams)
_SCALE = sp.exp(-(sp.sqrt(s_a) - sp.sqrt(s_b)) ** 2 / 2 - (sp.sqrt(s_a * s_b) - sp.Abs(c)))
KERNEL_AUX = S
AUXILIARY = (
    (S, sp.sign(c) * _SCALE * (-expm1(-2 * sp.Abs(c))) / 2, (-S / 2, -S / 2, C)),
    (C, _SCALE * (1 + sp.exp(-2 * sp.Abs(c))) / 2, (-C / 2, -C / 2, S)),
)
