r"""The one-neuron gradient flow ẇ = −F(w) reduced to (r, θ) coordinates (r = |w|, w* fixed).

With F = c_u u + c_v v (a gradient field of :mod:`theory.symbolic.one_neuron`), the chain rule
d/dt f(r, θ) = ∇f · ẇ with ∇r = v and ∇θ = −(u − cos θ v)/(r sin θ) gives

    ṙ = −v·F = −(c_v + c_u cos θ),        θ̇ = (u − cos θ v)·F/(r sin θ) = c_u sin θ / r.

The flow is closed in (r, θ): the right-hand sides depend on r, r_star, θ (and λ) only.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from theory.symbolic import algebra, one_neuron
from theory.symbolic.algebra import simplify
from theory.symbolic.symbols import r, theta


@cache
def flow(name: str, convention: str = "expected") -> tuple[sp.Expr, sp.Expr]:
    """(ṙ, θ̇) under ẇ = −F(w) for loss ``name`` in ``convention``."""
    velocity = one_neuron.gradient(name, convention).scale(-1)
    return (simplify(algebra.directional(r, velocity)),
            simplify(algebra.directional(theta, velocity)))
