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
Delta, A = sp.symbols("Delta A", positive=True)
KERNEL_AUX = c / 4 + ((c**2 + s_a * s_b * Delta**2) / (_P * Delta) + c * A) / (2 * sp.pi)
AUXILIARY = (
    (Delta, _DELTA, ((1 + s_b) / (2 * Delta), (1 + s_a) / (2 * Delta), -c / Delta)),
    (A, sp.asin(c / sp.sqrt(_P)),
     (-c / (2 * (1 + s_a) * Delta), -c / (2 * (1 + s_b) * Delta), 1 / Delta)),
)
