r"""Pair kernels derived from the Gaussian integrals in the plane of (a, b).

For x ~ N(0, I_d) only the projection of x onto span(a, b) matters, a standard Gaussian in that
plane. Put a = |a|(1, 0) and b = |b|(cos θ, sin θ), θ ∈ (0, π), and x = ρ(cos φ, sin φ) with
density e^{−ρ²/2} ρ dρ dφ / (2π). Then a·x > 0 ⇔ |φ| < π/2 and b·x > 0 ⇔ |φ − θ| < π/2, so both
hold for φ ∈ (θ − π/2, π/2). SymPy integrates ρ over (0, ∞) and φ over that arc:

    k(a, b) = E[relu(a·x) relu(b·x)]                       (the L2 pair kernel)
    p(θ)    = E[1{a·x>0} 1{b·x>0}]                         q(a, b) = p(θ) a·b (Sobolev kernel)
    V(a, b) = E[relu(b·x) 1{a·x>0} x]   in the frame (â, e) (the expected L2 pair field)

e is the unit vector of b's part orthogonal to a. The self terms are the θ → 0 values
(a = b: the arc is (−π/2, π/2) and the formulas are continuous there).

Everything is cached: the integrals run once per process (~2 s).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from theory.symbolic.algebra import Vec, simplify
from theory.symbolic.symbols import phi, r, r_star, rho, theta

#: Gaussian density of the plane in polar coordinates (including the Jacobian ρ).
DENSITY = sp.exp(-rho**2 / 2) * rho / (2 * sp.pi)
#: The arc where a·x > 0 and b·x > 0.
ARC = (phi, theta - sp.pi / 2, sp.pi / 2)


def plane_expectation(integrand: sp.Expr) -> sp.Expr:
    """∫_arc ∫_0^∞ integrand · e^{−ρ²/2} ρ/(2π) dρ dφ, integrand restricted to a·x>0, b·x>0."""
    radial = sp.integrate(integrand * DENSITY, (rho, 0, sp.oo))
    return simplify(sp.integrate(radial, ARC))


@cache
def relu_kernel() -> sp.Expr:
    """k(a, b) with |a| = r, |b| = r_star, as a function of (r, r_star, θ)."""
    a_x = r * rho * sp.cos(phi)
    b_x = r_star * rho * sp.cos(phi - theta)
    return plane_expectation(a_x * b_x)


@cache
def both_positive_probability() -> sp.Expr:
    """p(θ) = P(a·x > 0, b·x > 0)."""
    return plane_expectation(sp.Integer(1))


@cache
def step_kernel() -> sp.Expr:
    """q(a, b) = p(θ) a·b = p(θ) r r_star cos θ."""
    return simplify(both_positive_probability() * r * r_star * sp.cos(theta))


@cache
def relu_pair_field_frame() -> tuple[sp.Expr, sp.Expr]:
    """V(a, b) = E[relu(b·x) 1{a·x>0} x], components (along â, along e)."""
    b_x = r_star * rho * sp.cos(phi - theta)
    return (plane_expectation(b_x * rho * sp.cos(phi)),
            plane_expectation(b_x * rho * sp.sin(phi)))


def frame_to_vec(along_x: sp.Expr, along_e: sp.Expr) -> Vec:
    """(along x, along e) -> Vec in the basis (y, x), with e = (y − cos θ x)/sin θ."""
    s, c = sp.sin(theta), sp.cos(theta)
    return Vec(along_e / s, along_x - along_e * c / s)


@cache
def relu_pair_field() -> Vec:
    """V(a, b) as cy·b̂ + cx·â (the algebra's y = b̂, x = â)."""
    return frame_to_vec(*relu_pair_field_frame()).map(simplify)


def at_parallel(expr: sp.Expr) -> sp.Expr:
    """Value at θ = 0 with both norms equal to r (the self pair a = b)."""
    return simplify(expr.subs(theta, 0).subs(r_star, r))
