"""50-digit mpmath references for the smooth activations (erf, gelu, sine), independent of theory.

Each pair kernel is evaluated from its defining closed form k(s_a, s_b, c) = E[φ(u)φ(v)]
((u, v) centred Gaussian, variances s_a, s_b, covariance c) at 50 significant digits, with the
Gram entries s_a = aᵀΣa, s_b = bᵀΣb, c = aᵀΣb and e = a·b formed exactly from the float64
inputs (binary values converted without rounding). The n-th Sobolev pair kernel is
eⁿ ∂ⁿk/∂cⁿ (Price's theorem), the derivative of this module's own plain kernel expression taken
by SymPy and evaluated in mpmath (not theory's auxiliary-symbol forms or generated code; a
numerical mp.diff would lose relative accuracy where ∂ⁿk/∂cⁿ vanishes, e.g. at c → 0).
Gradients are mp.diff of the loss in each weight entry.
"""

from __future__ import annotations

import functools

import mpmath as mp
import numpy as np

DIGITS = 50


def _k_erf(sa, sb, c):
    return 2 / mp.pi * mp.asin(2 * c / mp.sqrt((1 + 2 * sa) * (1 + 2 * sb)))


def _k_gelu(sa, sb, c):
    P = (1 + sa) * (1 + sb)
    delta = mp.sqrt(P - c**2)
    return c / 4 + ((c**2 + sa * sb * delta**2) / (P * delta) + c * mp.asin(c / mp.sqrt(P))) / (
        2 * mp.pi)


def _k_sine(sa, sb, c):
    return mp.exp(-(sa + sb) / 2) * mp.sinh(c)  # mpmath's exponent range is unbounded


KERNELS = {"erf": _k_erf, "gelu": _k_gelu, "sine": _k_sine}


@functools.cache
def _price_derivative(activation: str, n: int):
    """mpmath function (s_a, s_b, c) -> ∂ⁿk/∂cⁿ from the plain closed form (SymPy diff)."""
    import sympy as sp

    sa, sb, c = sp.symbols("s_a s_b c", real=True)
    P = (1 + sa) * (1 + sb)
    plain = {"erf": 2 / sp.pi * sp.asin(2 * c / sp.sqrt((1 + 2 * sa) * (1 + 2 * sb))),
             "gelu": c / 4 + ((c**2 + sa * sb * (P - c**2)) / (P * sp.sqrt(P - c**2))
                              + c * sp.asin(c / sp.sqrt(P))) / (2 * sp.pi),
             "sine": sp.exp(-(sa + sb) / 2) * sp.sinh(c)}[activation]
    return sp.lambdify((sa, sb, c), sp.diff(plain, c, n), modules="mpmath")


def _mp_rows(array):
    return [[mp.mpf(float(x)) for x in row] for row in np.atleast_2d(np.asarray(array, float))]


def _dot(a, b):
    return mp.fsum(x * y for x, y in zip(a, b, strict=True))


def _quad(a, sigma, b):
    if sigma is None:
        return _dot(a, b)
    d = len(a)
    return mp.fsum(a[i] * sigma[i][j] * b[j] for i in range(d) for j in range(d))


def pair_kernel(activation, a, b, weights, sigma=None):
    """Σ_n w_n eⁿ ∂ⁿk/∂cⁿ at the pair (a, b) (mp vectors)."""
    k = KERNELS[activation]
    sa, sb, c, e = _quad(a, sigma, a), _quad(b, sigma, b), _quad(a, sigma, b), _dot(a, b)
    total = mp.mpf(0)
    for n, w in weights.items():
        if w == 0:
            continue
        h = k(sa, sb, c) if n == 0 else _price_derivative(activation, n)(sa, sb, c)
        total += mp.mpf(w) * e**n * h
    return total


def _weights(loss, sobolev_weight, second_order_weight):
    lam, mu = sobolev_weight, second_order_weight
    return {"l2": {0: 1}, "sobolev": {1: 1}, "h1": {0: 1, 1: lam}, "sobolev2": {2: 1},
            "h2": {0: 1, 1: lam, 2: mu}}[loss]


def _loss_rows(activation, student, teacher, weights, sigma):
    def block(X, Y):
        return mp.fsum(pair_kernel(activation, a, b, weights, sigma) for a in X for b in Y)
    return block(student, student) / 2 - block(student, teacher) + block(teacher, teacher) / 2


def _sigma(input_covariance):
    return None if input_covariance is None else _mp_rows(input_covariance)


def loss(W, W_star, loss_name, activation, sobolev_weight=1.0, second_order_weight=1.0,
         input_covariance=None):
    """The population loss at 50 digits (an mpf)."""
    with mp.workdps(DIGITS):
        weights = {n: mp.mpf(float(w)) for n, w in
                   _weights(loss_name, sobolev_weight, second_order_weight).items()}
        return _loss_rows(activation, _mp_rows(W), _mp_rows(W_star), weights,
                          _sigma(input_covariance))


def gradient(W, W_star, loss_name, activation, sobolev_weight=1.0, second_order_weight=1.0,
             input_covariance=None):
    """The gradient of the loss in W at 50 digits (list of lists of mpf), by mp.diff."""
    with mp.workdps(DIGITS):
        weights = {n: mp.mpf(float(w)) for n, w in
                   _weights(loss_name, sobolev_weight, second_order_weight).items()}
        student, teacher = _mp_rows(W), _mp_rows(W_star)
        sigma = _sigma(input_covariance)
        out = []
        for i, row in enumerate(student):
            out_row = []
            for j in range(len(row)):
                def f(t, i=i, j=j):
                    moved = [list(r) for r in student]
                    moved[i][j] = t
                    return _loss_rows(activation, moved, teacher, weights, sigma)
                out_row.append(mp.diff(f, student[i][j]))
            out.append(out_row)
        return out
