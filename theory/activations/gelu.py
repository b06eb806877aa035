r"""gelu: φ(t) = t·Φ(t) (the exact GELU, Φ the standard normal cdf; not the tanh approximation).

For (u, v) centred Gaussian with variances s_a, s_b and covariance c, with
P = (1 + s_a)(1 + s_b) and Δ = √(P − c²) > 0 (the arXiv:2002.08517 kernel, as in
neural-tangents' stax.Gelu):

    k(s_a, s_b, c) = c/4 + [ (c² + s_a s_b Δ²) / (P Δ) + c · arcsin(c/√P) ] / (2π).

Checks: at c = 0 it is E[uΦ(u)]·E[vΦ(v)] = s_a s_b / (2π√P) (Stein: E[uΦ(u)] = s E[φ(u)]);
∂k/∂c = E[φ'(u)φ'(v)] and the value agree with 2-D Gaussian quadrature (tests). Analytic
(Δ² >= 1 + s_a + s_b > 0): the conventions coincide and the Hessian exists at the teacher. Not
homogeneous.

SymPy derivation and proof against the Gaussian integral: theory/symbolic/activations.py.
"""

from __future__ import annotations

import sympy as sp

from theory.activations._partials import c, s_a, s_b

NAME = "gelu"
_P = (1 + s_a) * (1 + s_b)
_DELTA = sp.sqrt(_P - c**2)
KERNEL = c / 4 + ((c**2 + s_a * s_b * _DELTA**2) / (_P * _DELTA) + c * sp.asin(c / sp.sqrt(_P))) / (
    2 * sp.pi)

# The same kernel with Δ and A = arcsin(c/√P) as auxiliary symbols (theory.activations._partials);
# tests check KERNEL_AUX = KERNEL after substitution.
#
# Evaluation (float64): Δ² = P − c² is written as the sum of non-negative terms
#     Δ² = 1 + s_a + s_b + G(√(s_a s_b) + |c|),   G = √(s_a s_b) − |c| >= 0,
# (the difference cancels for (nearly) parallel rows at large scale; G is exactly 0 for
# identical rows, see theory.pair_frame.grams), and arcsin's argument is c/(√(1+s_a)·√(1+s_b)).
Delta, A = sp.symbols("Delta A", positive=True)
_ROOT = sp.sqrt(s_a * s_b)
KERNEL_AUX = c / 4 + ((c**2 + s_a * s_b * Delta**2) / (_P * Delta) + c * A) / (2 * sp.pi)
AUXILIARY = (
    (Delta, sp.sqrt(1 + s_a + s_b + (_ROOT - sp.Abs(c)) * (_ROOT + sp.Abs(c))),
     ((1 + s_b) / (2 * Delta), (1 + s_a) / (2 * Delta), -c / Delta)),
    (A, sp.asin(c / (sp.sqrt(1 + s_a) * sp.sqrt(1 + s_b))),
     (-c / (2 * (1 + s_a) * Delta), -c / (2 * (1 + s_b) * Delta), 1 / Delta)),
)
