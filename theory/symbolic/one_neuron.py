r"""One-neuron (K = K* = 1) losses, gradients and Hessians, derived with SymPy.

Symbols: r = |w|, r_star = |w*|, θ = angle(w, w*) ∈ (0, π), λ = ``lam``; directions
v = w/|w| (the algebra's x) and u = w*/|w*| (the algebra's y); see :mod:`theory.symbolic.algebra`.

Losses, from the pair kernels of :mod:`theory.symbolic.kernels` (the square of the difference of
one student and one teacher term, expanded: ½P(w, w) − P(w, w*) + ½P(w*, w*)):

    L = ½k(w, w) − k(w, w*) + ½k(w*, w*),     J = same with q,     H_λ = L + λJ.

Gradients, two conventions:

* "exact":    ∇_w of the derived loss by the chain rule (∇r = v, ∇θ = −(u − cos θ v)/(r sin θ)).
* "expected": E of the pointwise gradient with the step derivative taken as 0,
      L: E[(relu(w·x) − relu(w*·x)) 1{w·x>0} x] = V(w, w) − V(w, w*)
      J: E[1{w·x>0}(1{w·x>0} w − 1{w*·x>0} w*)] = p(0) w − p(θ) w*
  with V and p the polar integrals. For L the two conventions agree (tested symbolically).

Hessians are the Jacobians of the gradient fields (symmetric for "exact"; the "expected" Sobolev
Jacobian is not). A Vec is c_u·u + c_v·v; a Mat is c_I·I + Σ c_pq p qᵀ over p, q ∈ (u, v).
All derivations are cached (``functools.cache``).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from theory.symbolic import algebra, kernels
from theory.symbolic.algebra import Frame, Mat, Vec, simplify
from theory.symbolic.symbols import lam, r, r_star, theta
from theory.validation import check_convention, check_loss

QUANTITIES = ("loss", "gradient", "hessian", "flow")


def _pair_loss(kernel: sp.Expr) -> sp.Expr:
    self_student = kernels.at_parallel(kernel)
    self_teacher = self_student.subs(r, r_star)
    return simplify(self_student / 2 - kernel + self_teacher / 2)


@cache
def loss(name: str) -> sp.Expr:
    """Population loss of one neuron as a function of (r, r_star, θ[, lam])."""
    check_loss(name)
    if name == "l2":
        return _pair_loss(kernels.relu_kernel())
    if name == "sobolev":
        return _pair_loss(kernels.step_kernel())
    return loss("l2") + lam * loss("sobolev")


def _simplified(vector: Vec) -> Vec:
    return vector.map(simplify)


@cache
def expected_gradient(name: str) -> Vec:
    """E_x of the pointwise gradient (step derivative 0), as c_u u + c_v v."""
    check_loss(name)
    if name == "l2":
        field = kernels.relu_pair_field()  # V(w, w*) = cy u + cx v
        self_field = kernels.at_parallel(field.cy + field.cx)  # V(w, w) along v
        return _simplified(Vec(-field.cy, self_field - field.cx))
    if name == "sobolev":
        p = kernels.both_positive_probability()
        p_self = p.subs(theta, 0)
        return _simplified(Vec(-p * r_star, p_self * r))
    return expected_gradient("l2") + expected_gradient("sobolev").scale(lam)


@cache
def exact_gradient(name: str) -> Vec:
    """∇_w of the derived population loss (chain rule in (r, θ))."""
    return _simplified(algebra.gradient(loss(name)))


def gradient(name: str, convention: str = "expected") -> Vec:
    """Gradient field of ``name`` in ``convention`` as c_u u + c_v v."""
    check_convention(convention)
    return exact_gradient(name) if convention == "exact" else expected_gradient(name)


@cache
def hessian(name: str, convention: str = "expected") -> Mat:
    """Jacobian of the gradient field: c_I I + Σ c_pq p qᵀ (rows = gradient components)."""
    return algebra.jacobian(gradient(name, convention)).map(simplify)


@cache
def gradient_frame(name: str, convention: str = "expected") -> tuple[sp.Expr, sp.Expr]:
    """Invariant form of the gradient: components along v and along e = (u − cos θ v)/sin θ."""
    return algebra.vec_to_frame(gradient(name, convention))


@cache
def hessian_frame(name: str, convention: str = "expected") -> Frame:
    """Invariant form of the Hessian: γ on span(u, v)^⊥ and the 2×2 block C in the basis (v, e)."""
    return algebra.to_frame(hessian(name, convention))


def conventions_agree(name: str) -> bool:
    """Whether the exact and expected gradients coincide symbolically (true for l2 only)."""
    return (exact_gradient(name) - expected_gradient(name)).map(simplify) == Vec(0, 0)
