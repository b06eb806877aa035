"""50-digit mpmath reference evaluations, independent of theory's float64 code paths.

Values use the Gaussian pair kernels evaluated with mpmath (angles by mp.acos at 50 digits, which
is accurate there); derivatives come from mpmath's numerical differentiation (mp.diff) of those
values, not from theory's derivative formulas.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np

DIGITS = 50


def _vec(row):
    return [mp.mpf(float(x)) for x in row]


def _dot(a, b):
    return mp.fsum(x * y for x, y in zip(a, b, strict=True))


def _angle(a, b):
    cos = _dot(a, b) / mp.sqrt(_dot(a, a) * _dot(b, b))
    return mp.acos(max(min(cos, mp.mpf(1)), mp.mpf(-1)))


def _k(a, b):  # E[relu(a·x) relu(b·x)]
    t = _angle(a, b)
    return mp.sqrt(_dot(a, a) * _dot(b, b)) * (mp.sin(t) + (mp.pi - t) * mp.cos(t)) / (2 * mp.pi)


def _q(a, b):  # E[1{a·x>0} 1{b·x>0}] a·b
    return _dot(a, b) * (mp.pi - _angle(a, b)) / (2 * mp.pi)


def _rows(flat, d):
    return [flat[i:i + d] for i in range(0, len(flat), d)]


def loss(W, W_star, loss_name, sobolev_weight=1):
    """Population loss at 50 digits; W given as float64 arrays (exact binary values)."""
    with mp.workdps(DIGITS):
        return _loss_flat([mp.mpf(float(x)) for x in np.ravel(W)], W_star, np.shape(W)[-1],
                          loss_name, sobolev_weight)


def _loss_flat(flat, W_star, d, loss_name, sobolev_weight):
    student = _rows(list(flat), d)
    teacher = [_vec(r) for r in np.atleast_2d(W_star)]
    kernels = {"l2": [(1, _k)], "sobolev": [(1, _q)],
               "h1": [(1, _k), (mp.mpf(sobolev_weight), _q)]}[loss_name]
    total = mp.mpf(0)
    for weight, kernel in kernels:
        ss = mp.fsum(kernel(a, b) for a in student for b in student)
        st = mp.fsum(kernel(a, b) for a in student for b in teacher)
        tt = mp.fsum(kernel(a, b) for a in teacher for b in teacher)
        total += weight * (ss / 2 - st + tt / 2)
    return total


def exact_gradient(W, W_star, loss_name, sobolev_weight=1):
    """∇_W of the 50-digit loss by mp.diff, as a float64 (K, d) array."""
    W = np.atleast_2d(W)
    d = W.shape[1]
    with mp.workdps(DIGITS):
        point = [mp.mpf(float(x)) for x in W.ravel()]
        n = len(point)

        def f(*xs):
            return _loss_flat(xs, W_star, d, loss_name, sobolev_weight)

        grad = [mp.diff(f, point, tuple(int(j == i) for j in range(n))) for i in range(n)]
    return np.array([float(g) for g in grad]).reshape(W.shape)


def _expected_field_flat(flat, W_star, d, loss_name, sobolev_weight):
    """Expected gradient field: ∇ of the l2 part by mp.diff of the loss is not needed here; the
    field is E[pointwise gradient] = Σ_j E[...] pair sums, written with 50-digit kernels."""
    student = _rows(list(flat), d)
    teacher = [_vec(r) for r in np.atleast_2d(W_star)]
    field = []
    for a in student:
        row = [mp.mpf(0)] * d
        terms = []
        if loss_name in ("l2", "h1"):
            # E[relu(b·x) 1{a·x>0} x] = [(π−θ) b + |b| sin θ â] / (2π)
            def relu_pair(a, b):
                t = _angle(a, b)
                na, nb = mp.sqrt(_dot(a, a)), mp.sqrt(_dot(b, b))
                return [((mp.pi - t) * bj + nb * mp.sin(t) * aj / na) / (2 * mp.pi)
                        for aj, bj in zip(a, b, strict=True)]
            terms.append((1, relu_pair))
        if loss_name in ("sobolev", "h1"):
            def step_pair(a, b):  # E[1{a·x>0} 1{b·x>0}] b
                t = _angle(a, b)
                return [(mp.pi - t) * bj / (2 * mp.pi) for bj in b]
            terms.append((1 if loss_name == "sobolev" else mp.mpf(sobolev_weight), step_pair))
        for weight, pair in terms:
            for b in student:
                row = [r + weight * p for r, p in zip(row, pair(a, b), strict=True)]
            for b in teacher:
                row = [r - weight * p for r, p in zip(row, pair(a, b), strict=True)]
        field.extend(row)
    return field


def expected_gradient(W, W_star, loss_name, sobolev_weight=1):
    W = np.atleast_2d(W)
    with mp.workdps(DIGITS):
        flat = [mp.mpf(float(x)) for x in W.ravel()]
        field = _expected_field_flat(flat, W_star, W.shape[1], loss_name, sobolev_weight)
    return np.array([float(v) for v in field]).reshape(W.shape)


def hessian(W, W_star, loss_name, convention, sobolev_weight=1):
    """Jacobian of the field of the given convention by mp.diff at 50 digits, (K·d, K·d).

    exact: second derivatives of the loss; expected: first derivatives of the expected field.
    """
    W = np.atleast_2d(W)
    d = W.shape[1]
    with mp.workdps(DIGITS):
        point = [mp.mpf(float(x)) for x in W.ravel()]
        n = len(point)
        out = np.zeros((n, n))
        unit = [tuple(int(j == i) for j in range(n)) for i in range(n)]
        for col in range(n):
            if convention == "exact":
                for row in range(n):
                    order = tuple(u + v for u, v in zip(unit[row], unit[col], strict=True))
                    out[row, col] = float(mp.diff(
                        lambda *xs: _loss_flat(xs, W_star, d, loss_name, sobolev_weight),
                        point, order))
            else:
                for row in range(n):
                    out[row, col] = float(mp.diff(
                        lambda *xs, r=row: _expected_field_flat(
                            xs, W_star, d, loss_name, sobolev_weight)[r],
                        point, unit[col]))
    return out
