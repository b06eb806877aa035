r"""Partial derivatives of a Gaussian pair kernel k(s_a, s_b, c), generated once with SymPy.

For a pair (a, b) and x ~ N(0, Σ) the pair (a·x, b·x) is Gaussian with variances s_a = aᵀΣa,
s_b = bᵀΣb and covariance c = aᵀΣb, so k_φ(a, b) = E[φ(a·x) φ(b·x)] is a function
k(s_a, s_b, c) of three numbers. By Price's theorem E[φ^(n)(a·x) φ^(n)(b·x)] = ∂ⁿk/∂cⁿ, so the
pair kernel of the n-th order Sobolev term (∇ⁿ_x of the network, Euclidean norm) is

    P_n(a, b) = eⁿ · h_n(s_a, s_b, c),     h_n = ∂ⁿk/∂cⁿ,   e = a·b.

The assembly (theory.pair_frame) needs, for n = 0, 1, 2, the value of h_n and its first and
second partial derivatives in (s_a, s_b, c) — up to fourth derivatives of k for the Hessian of
the h2 loss. :func:`partials_function` differentiates the SymPy expression of k, eliminates
common subexpressions and lambdifies the result into one numpy function per (n, order); the
functions are built on first use and cached for the life of the process.

Order of the returned tuple (``order`` = 0, 1 or 2 returns the first 1, 4 or 10 entries):

    h, h_sa, h_sb, h_c, h_sa_sa, h_sa_sb, h_sa_c, h_sb_sb, h_sb_c, h_c_c
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import sympy as sp

s_a, s_b, c = sp.symbols("s_a s_b c", real=True)

#: The (variable, variable) pairs of the second partial derivatives, in output order.
SECOND_ORDER_PAIRS = ((s_a, s_a), (s_a, s_b), (s_a, c), (s_b, s_b), (s_b, c), (c, c))
FIRST_ORDER = (s_a, s_b, c)
PARTIAL_NAMES = ("h", "h_sa", "h_sb", "h_c", "h_sa_sa", "h_sa_sb", "h_sa_c", "h_sb_sb", "h_sb_c",
                 "h_c_c")
_COUNT = {0: 1, 1: 4, 2: 10}


#: An auxiliary symbol of a kernel: (symbol, its definition in (s_a, s_b, c), its partials
#: (∂/∂s_a, ∂/∂s_b, ∂/∂c) written with the auxiliary symbols). Differentiating with the
#: auxiliaries kept as symbols (total derivative by the chain rule) keeps a square root or an
#: arcsin from being re-expanded at every order: the expressions stay small and generate in a
#: fraction of the time.
Auxiliary = tuple[sp.Symbol, sp.Expr, tuple[sp.Expr, sp.Expr, sp.Expr]]


def total_derivative(expression: sp.Expr, variable: sp.Symbol,
                     auxiliary: tuple[Auxiliary, ...] = ()) -> sp.Expr:
    """d/dv of an expression in (s_a, s_b, c) and auxiliary symbols that depend on them."""
    index = FIRST_ORDER.index(variable)
    result = sp.diff(expression, variable)
    for symbol, _, partials in auxiliary:
        result += sp.diff(expression, symbol) * partials[index]
    return result


@functools.cache
def _price_derivative(kernel: sp.Expr, n: int, auxiliary: tuple[Auxiliary, ...]) -> sp.Expr:
    """h_n = ∂ⁿk/∂cⁿ (cached, so h_2 reuses h_1)."""
    if n == 0:
        return kernel
    return total_derivative(_price_derivative(kernel, n - 1, auxiliary), c, auxiliary)


def partial_expressions(kernel: sp.Expr, n: int, order: int,
                        auxiliary: tuple[Auxiliary, ...] = ()) -> list[sp.Expr]:
    """[h_n, its first partials, its second partials] (truncated to ``order``) as SymPy."""
    h = _price_derivative(kernel, n, auxiliary)
    expressions = [h]
    first = [total_derivative(h, v, auxiliary) for v in FIRST_ORDER] if order >= 1 else []
    expressions += first
    if order >= 2:
        expressions += [total_derivative(first[FIRST_ORDER.index(u)], v, auxiliary)
                        for u, v in SECOND_ORDER_PAIRS]
    return expressions


@functools.cache
def partials_function(kernel_key: str, kernel: sp.Expr, n: int, order: int,
                      auxiliary: tuple[Auxiliary, ...] = ()
                      ) -> Callable[..., tuple[np.ndarray, ...]]:
    """numpy function (s_a, s_b, c) -> tuple of ``_COUNT[order]`` arrays (module docstring).

    ``kernel`` may contain the auxiliary symbols; they are evaluated from their definitions.
    ``kernel_key`` names the kernel in the cache (SymPy expressions hash structurally, the key
    only keeps cache entries readable).
    """
    if order not in _COUNT:
        raise ValueError(f"order must be 0, 1 or 2; got {order!r}")
    expressions = partial_expressions(kernel, n, order, auxiliary)
    symbols = [symbol for symbol, _, _ in auxiliary]
    function = sp.lambdify((s_a, s_b, c, *symbols), expressions, modules="numpy", cse=True)
    definitions = sp.lambdify((s_a, s_b, c), [definition for _, definition, _ in auxiliary],
                              modules="numpy")

    def evaluate(sa, sb, cc):
        sa, sb, cc = np.broadcast_arrays(sa, sb, cc)
        values = function(sa, sb, cc, *definitions(sa, sb, cc))
        # lambdify returns python scalars for constant entries: broadcast them to the pair shape
        return tuple(np.broadcast_to(np.asarray(v, dtype=np.float64), sa.shape) for v in values)

    evaluate.__doc__ = f"Partials {PARTIAL_NAMES[:_COUNT[order]]} of ∂^{n}k/∂c^{n}, k = {kernel}"
    return evaluate
