r"""General K, K*: the population losses and gradients as sums over pairs of the derived kernels.

The expansion is itself derived: with placeholders F_i for relu(w_i·x) (or 1{w_i·x>0} w_i) and
G_j for the teacher terms, SymPy expands ½(Σ_i F_i − Σ_j G_j)² and every product F_i F_j, F_i G_j,
G_i G_j becomes the pair kernel P of the two rows (k for "l2", q for "sobolev"):

    loss = ½ Σ_i P(w_i, w_i) + Σ_{i<j} P(w_i, w_j) − Σ_{i,j} P(w_i, w*_j) + (teacher terms).

Gradients for row i:
* "exact":    Σ over the expansion's terms containing w_i of coefficient × ∇_{w_i} P (the derived
              pair field ∇_a P, and ∇(P(w, w)) for the self term);
* "expected": E[(Σ_j F_j − Σ_j G_j) ∂F_i/∂w_i] with the step derivative 0, i.e. for "l2"
              Σ_j V(w_i, w_j) − Σ_j V(w_i, w*_j) (V = E[relu(b·x) 1{a·x>0} x]) and for
              "sobolev" Σ_j p(θ_ij) w_j − Σ_j p(θ_ij*) w*_j.

Numeric evaluation lambdifies the derived kernels (no closed form is typed here); the Hessian for
general K is left to :mod:`theory.assembly`.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import sympy as sp
from numpy.typing import ArrayLike, NDArray

from theory.symbolic import algebra, kernels
from theory.symbolic.symbols import r, r_star, theta
from theory.validation import (
    as_student_teacher,
    check_convention,
    check_loss,
    check_sobolev_weight,
)


@cache
def pair_expansion(width: int,
                   teacher_width: int) -> tuple[tuple[sp.Expr, str, int, str, int], ...]:
    """Terms (coefficient, side, i, side, j) of ½(Σ F_i − Σ G_j)², side ∈ {"s", "t"}, i <= j."""
    F = sp.symbols(f"F0:{width}")
    G = sp.symbols(f"G0:{teacher_width}")
    square = sp.expand(sp.Rational(1, 2) * (sum(F) - sum(G)) ** 2)
    rows = [("s", i, s) for i, s in enumerate(F)] + [("t", j, g) for j, g in enumerate(G)]
    terms = []
    for a, (side_a, i, x) in enumerate(rows):
        for side_b, j, y in rows[a:]:
            coefficient = square.coeff(x * y) if x != y else square.coeff(x**2)
            if coefficient != 0:
                terms.append((coefficient, side_a, i, side_b, j))
    return tuple(terms)


def _kernel(name: str) -> sp.Expr:
    return kernels.relu_kernel() if name == "l2" else kernels.step_kernel()


@cache
def _kernel_fn(name: str):
    return sp.lambdify((r, r_star, theta), _kernel(name), modules="numpy")


@cache
def _pair_field_fn(name: str):
    """∇_a P(a, b) = cy b̂ + cx â (exact, derived by the chain rule)."""
    field = algebra.gradient(_kernel(name)).map(algebra.simplify)
    return sp.lambdify((r, r_star, theta), [field.cy, field.cx], modules="numpy")


@cache
def _self_field_fn(name: str):
    """∇_w P(w, w) along ŵ (the self term)."""
    self_value = kernels.at_parallel(_kernel(name))
    return sp.lambdify((r,), sp.diff(self_value, r), modules="numpy")


@cache
def _expected_relu_fn():
    field = kernels.relu_pair_field()
    return sp.lambdify((r, r_star, theta), [field.cy, field.cx], modules="numpy")


@cache
def _probability_fn():
    return sp.lambdify((theta,), kernels.both_positive_probability(), modules="numpy")


def _geometry(a: NDArray[np.float64], b: NDArray[np.float64]):
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    ah, bh = a / na, b / nb
    angle = float(2.0 * np.arctan2(np.linalg.norm(ah - bh), np.linalg.norm(ah + bh)))
    return na, nb, angle, ah, bh


def _rows(W, W_star, side, index):
    return W[index] if side == "s" else W_star[index]


def loss(W: ArrayLike, W_star: ArrayLike, name: str = "h1", *,
         sobolev_weight: float = 1.0) -> float:
    """Population loss for any K, K* from the derived pair kernels and the derived expansion."""
    check_loss(name)
    weight = check_sobolev_weight(sobolev_weight)
    W, W_star = as_student_teacher(W, W_star)
    parts = [("l2", 1.0), ("sobolev", weight)] if name == "h1" else [(name, 1.0)]
    total = 0.0
    for part, factor in parts:
        for coefficient, sa, i, sb, j in pair_expansion(W.shape[0], W_star.shape[0]):
            na, nb, angle, _, _ = _geometry(_rows(W, W_star, sa, i), _rows(W, W_star, sb, j))
            total += factor * float(coefficient) * float(_kernel_fn(part)(na, nb, angle))
    return total


def _exact_row(W, W_star, part: str, i: int) -> NDArray[np.float64]:
    out = np.zeros(W.shape[1])
    for coefficient, sa, a, sb, b in pair_expansion(W.shape[0], W_star.shape[0]):
        ends = [(sa, a, sb, b), (sb, b, sa, a)]
        if (sa, a) == (sb, b):
            if (sa, a) == ("s", i):
                w = W[i]
                out += float(coefficient) * _self_field_fn(part)(np.linalg.norm(w)) * (
                    w / np.linalg.norm(w))
            continue
        for s1, k1, s2, k2 in ends:
            if (s1, k1) != ("s", i):
                continue
            na, nb, angle, ah, bh = _geometry(W[i], _rows(W, W_star, s2, k2))
            if np.sin(angle) <= 1e-12:
                raise ValueError(
                    f"the exact gradient of {part!r} is not defined: student row {i} is "
                    f"(anti)parallel to {'student' if s2 == 's' else 'teacher'} row {k2}"
                )
            cy, cx = _pair_field_fn(part)(na, nb, angle)
            out += float(coefficient) * (cy * bh + cx * ah)
    return out


def _expected_row(W, W_star, part: str, i: int) -> NDArray[np.float64]:
    out = np.zeros(W.shape[1])
    for sign, others in ((1.0, W), (-1.0, W_star)):
        for b in others:
            na, nb, angle, ah, bh = _geometry(W[i], b)
            if part == "l2":
                cy, cx = _expected_relu_fn()(na, nb, angle)
                out += sign * (cy * bh + cx * ah)
            else:
                out += sign * float(_probability_fn()(angle)) * b
    return out


def gradient(W: ArrayLike, W_star: ArrayLike, name: str = "h1", *,
             convention: str = "expected", sobolev_weight: float = 1.0) -> NDArray[np.float64]:
    """Population gradient (K, d) for any K, K* from the derived pair quantities."""
    check_loss(name)
    check_convention(convention)
    weight = check_sobolev_weight(sobolev_weight)
    W, W_star = as_student_teacher(W, W_star)
    parts = [("l2", 1.0), ("sobolev", weight)] if name == "h1" else [(name, 1.0)]
    row = _exact_row if convention == "exact" else _expected_row
    out = np.zeros_like(W)
    for part, factor in parts:
        if factor == 0.0:
            continue
        for i in range(W.shape[0]):
            out[i] += factor * row(W, W_star, part, i)
    return out
