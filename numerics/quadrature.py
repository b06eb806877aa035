r"""Deterministic quadrature of the population loss, expected gradient and expected Hessian.

Independent of theory's closed forms: every population quantity is assembled over neuron pairs
from Gaussian pair integrals evaluated numerically, for any activation σ of
:mod:`numerics.activations`.

Pair integrals
--------------
For a pair (a, b) let â = a/|a|, e the unit vector along b's part orthogonal to a, θ = ∠(a, b),
c = cos θ, s = sin θ. With z₁ = â·x, z₂ = e·x (independent N(0, 1)) the pair lives in a plane:

    u = a·x = |a| z₁,      v = b·x = |b| (c z₁ + s z₂),

and every needed expectation is E[σ⁽ⁱ⁾(u) σ⁽ʲ⁾(v) z₁ᵏ z₂ˡ], a 2-D Gaussian integral; vectors
and matrices follow from E[f x] = E[f z₁] â + E[f z₂] e and
E[f x xᵀ] = Σ_pq E[f z_p z_q] e_p e_qᵀ + E[f] (I − ââᵀ − eeᵀ) (the rest of x is independent).

Rules (``precision="double"``):

* positively homogeneous σ (relu, leaky relu): in polar coordinates z = r(cos φ, sin φ) the
  integrand is r^m F(φ), so E = R_m/(2π) ∫₀^{2π} F(φ) dφ with the radial moment
  R_m = ∫₀^∞ r^{m+1} e^{−r²/2} dr = 2^{m/2} Γ(m/2 + 1). The angular integral is split at the
  kinks φ ∈ {π/2, 3π/2, θ ± π/2} and each piece (a trigonometric polynomial of degree ≤ 4) is
  integrated by Gauss–Legendre (scipy.special.roots_legendre): exact to rounding.
* smooth σ (gelu, tanh, sine): tensor Gauss–Hermite rule (numpy.polynomial.hermite_e) in
  (z₁, z₂), spectrally accurate for these analytic integrands.

Each result carries ``error_estimate``: the largest difference between the rule with ``nodes``
and a coarser one (3/4 of the nodes), a conservative estimate of the error of the finer rule.
``precision="mp"`` evaluates every pair integral with mpmath.quad at ``dps`` digits (angular
integral times an mpmath Gamma moment for homogeneous σ; a 2-D polar integral otherwise — slow,
meant for spot checks) and assembles in float64.

Assembly (expected convention)
------------------------------
With pair field G(a, b) = c₂ E[σ'(u)σ(v) x] + c_s (E[σ'(u)σ'(v)] b + (a·b) E[σ''(u)σ'(v) x]):

    loss = Σ_{pairs} ½ (c₂ E[σ(u)σ(v)] + c_s E[σ'(u)σ'(v)] a·b)  over (W,W), −(W,W*), +(W*,W*)
    F_i  = Σ_j G(w_i, w_j) − Σ_j G(w_i, w*_j)          (j runs over all students, self included)
    ∂F_i/∂w_k = ∂_b G(w_i, w_k) (k ≠ i),
    ∂F_i/∂w_i = Σ_{j≠i} ∂_a G(w_i, w_j) − Σ_j ∂_a G(w_i, w*_j) + (∂_a G + ∂_b G)(w_i, w_i),

(c₂, c_s) = (1, 0) "l2", (0, 1) "sobolev", (1, λ) "h1"; σ'' is the regular part (0 for relu), as
autograd takes it. The Jacobian blocks differentiate the pair integrals in the sense of
distributions: σ'' = σ''_reg + J δ where J is the jump of σ' at 0 (1 − slope for leaky relu),
so ∂_a and ∂_b pick up line integrals over the kinks, e.g.
E[δ(u) h(v) z₂ᵐ] = φ(0)/|a| · E[h(|b| s t) tᵐ], t ~ N(0, 1) — the boundary terms that a pointwise
(autograd) Hessian misses. Those line integrals of homogeneous integrands are half-line Gaussian
moments H_m = ∫₀^∞ t^m φ(t) dt = 2^{m/2} Γ((m+1)/2) / (2√π). Where σ has a kink and a student row
is parallel or antiparallel to another row, the Sobolev part has no Jacobian
(theory.NonDifferentiableError is raised); the l2 Jacobian is the continuous limit there.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import mpmath
import numpy as np
from numpy.polynomial import hermite_e
from numpy.typing import ArrayLike, NDArray
from scipy import special

from numerics.activations import Activation, get_activation
from theory.validation import (
    NonDifferentiableError,
    as_student_teacher,
    check_input_covariance,
    loss_weights,
)

Array = NDArray[np.float64]

PRECISIONS = ("double", "mp")
#: sin θ at or below this: the pair is treated as exactly parallel or antiparallel.
PARALLEL_SIN_TOL = 1e-12
DEFAULT_NODES = {"homogeneous": 24, "smooth": 128}
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# --------------------------------------------------------------------------- pair geometry
@dataclass(frozen=True)
class _Geometry:
    norm_a: Array
    norm_b: Array
    cos: Array
    sin: Array
    theta: Array
    a_hat: Array
    e: Array
    dot: Array
    #: lower Cholesky factor L of Σ = L Lᵀ (None for Σ = I): x = L z with z ~ N(0, I).
    chol: Array | None = None

    @property
    def degenerate(self) -> NDArray[np.bool_]:
        return self.sin <= PARALLEL_SIN_TOL


def _geometry(a: Array, b: Array, chol: Array | None = None) -> _Geometry:
    """Norms, angle (2·atan2(|â − b̂|, |â + b̂|), accurate near 0 and π) and the frame (â, e).

    With x = L z (Σ = L Lᵀ) the pair sees u = a·x = (Lᵀa)·z: norms, angle and frame are those of
    the whitened vectors Lᵀa, Lᵀb, while ``dot`` stays the Euclidean a·b of the Sobolev terms.
    """
    dot = np.sum(a * b, axis=-1)
    if chol is not None:
        a, b = a @ chol, b @ chol
    norm_a = np.linalg.norm(a, axis=-1)
    norm_b = np.linalg.norm(b, axis=-1)
    a_hat = a / norm_a[:, None]
    b_hat = b / norm_b[:, None]
    theta = 2.0 * np.arctan2(np.linalg.norm(a_hat - b_hat, axis=-1),
                             np.linalg.norm(a_hat + b_hat, axis=-1))
    sin, cos = np.sin(theta), np.cos(theta)
    shifted = np.where((cos >= 0)[:, None], b_hat - a_hat, b_hat + a_hat)
    perp = shifted - np.sum(shifted * a_hat, axis=-1, keepdims=True) * a_hat
    perp_norm = np.linalg.norm(perp, axis=-1)
    flat = (sin <= PARALLEL_SIN_TOL) | (perp_norm == 0)
    e = np.where(flat[:, None], 0.0, perp / np.where(flat, 1.0, perp_norm)[:, None])
    return _Geometry(norm_a, norm_b, cos, sin, theta, a_hat, e, dot, chol)


# --------------------------------------------------------------------------- σ⁽⁴⁾
def _erf_prime(t):
    return 2.0 / math.sqrt(math.pi) * np.exp(-t * t)


#: Fourth derivatives (the Jacobian of the H² field needs σ⁗), numpy and mpmath, by name:
#: gelu⁗ = φ(t)(−t⁴ + 7t² − 4), sin⁗ = sin, tanh⁗ = 8 tanh (1 − tanh²)(2 − 3 tanh²),
#: erf⁗ = (12t − 8t³)·(2/√π)e^{−t²}. Checked against mpmath.diff in tests/test_quadrature_h2.py.
_FOURTH = {
    "gelu": (lambda t: np.exp(-0.5 * t * t) / math.sqrt(2 * math.pi) * (-t**4 + 7 * t**2 - 4),
             lambda t: mpmath.npdf(t) * (-t**4 + 7 * t**2 - 4)),
    "sine": (np.sin, mpmath.sin),
    "tanh": (lambda t: 8 * np.tanh(t) * (1 - np.tanh(t)**2) * (2 - 3 * np.tanh(t)**2),
             lambda t: 8 * mpmath.tanh(t) * (1 - mpmath.tanh(t)**2) * (2 - 3 * mpmath.tanh(t)**2)),
    "erf": (lambda t: (12 * t - 8 * t**3) * _erf_prime(t),
            lambda t: (12 * t - 8 * t**3) * 2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-t * t)),
}


def derivative(act: Activation, order: int, *, mp: bool = False):
    """σ⁽ᵒʳᵈᵉʳ⁾ (regular part) for order 0..4, numpy or mpmath; order 4 for smooth σ only."""
    if order <= 3:
        return act.mp[order] if mp else act.numpy[order]
    if act.homogeneous:
        return (lambda t: mpmath.mpf(0)) if mp else (lambda t: np.zeros_like(t))
    if order == 4 and act.name in _FOURTH:
        return _FOURTH[act.name][1 if mp else 0]
    raise ValueError(f"the fourth derivative of {act.name!r} is not available: the h2 Hessian by "
                     f"quadrature supports {tuple(_FOURTH)}")


# --------------------------------------------------------------------------- integrators
def _degree(order: int) -> int:
    return 1 if order == 0 else 0


def _radial_moment(m: int) -> float:
    """R_m = ∫₀^∞ r^{m+1} e^{−r²/2} dr = 2^{m/2} Γ(m/2 + 1)."""
    return 2.0 ** (m / 2) * special.gamma(m / 2 + 1)


def _half_moment(m: int) -> float:
    """H_m = ∫₀^∞ t^m φ(t) dt = 2^{m/2} Γ((m+1)/2) / (2√π)."""
    return 2.0 ** (m / 2) * special.gamma((m + 1) / 2) / (2.0 * math.sqrt(math.pi))


@functools.cache
def _hermite_rule(nodes: int) -> tuple[Array, Array]:
    """Gauss–Hermite nodes and weights for the N(0, 1) density (weights sum to 1), read-only."""
    x, w = hermite_e.hermegauss(nodes)
    w = w / math.sqrt(2 * math.pi)
    x.flags.writeable = w.flags.writeable = False
    return x, w


@functools.cache
def _legendre_rule(nodes: int) -> tuple[Array, Array]:
    """Gauss–Legendre nodes and weights on [−1, 1], read-only."""
    x, w = special.roots_legendre(nodes)
    x.flags.writeable = w.flags.writeable = False
    return x, w


class _DoubleRule:
    """Vectorised float64 evaluation of E[σ⁽ⁱ⁾(u)σ⁽ʲ⁾(v) z₁ᵏ z₂ˡ] for all pairs at once.

    Smooth σ: the tensor Gauss–Hermite rule with nodes tₙ and weights ωₙ (normalised to the
    N(0, 1) density) factorises, because u = |a| z₁ does not depend on z₂:

        E[σ⁽ⁱ⁾(u)σ⁽ʲ⁾(v) z₁ᵏ z₂ˡ] ≈ Σₙ ωₙ tₙᵏ σ⁽ⁱ⁾(|a| tₙ) Iⱼₗ(tₙ),
        Iⱼₗ(tₙ) = Σₘ ωₘ tₘˡ σ⁽ʲ⁾(|b| (c tₙ + s tₘ)),

    the same sum as the 2-D rule, taken in the other order. σ⁽ⁱ⁾(u) is then evaluated at the
    N nodes of z₁ (not at all N² nodes), σ⁽ʲ⁾(v) once per order at the N² nodes, and the inner
    sums Iⱼₗ for l = 0, 1, 2 come from one matrix product per order j; every (i, k) then costs
    O(P·N).
    """

    def __init__(self, geometry: _Geometry, activation: Activation, nodes: int) -> None:
        self.g = geometry
        self.act = activation
        P = geometry.norm_a.shape[0]
        g = geometry
        self._cache: dict[tuple[str, int], Array] = {}
        if activation.homogeneous:
            x, w = _legendre_rule(nodes)
            quarter = np.pi / 2
            points = np.sort(np.stack([
                np.zeros(P), np.full(P, quarter), np.full(P, 3 * quarter),
                np.mod(geometry.theta + quarter, 2 * np.pi),
                np.mod(geometry.theta + 3 * quarter, 2 * np.pi), np.full(P, 2 * np.pi),
            ], axis=1), axis=1)
            lo, hi = points[:, :-1, None], points[:, 1:, None]
            phi = (0.5 * (lo + hi) + 0.5 * (hi - lo) * x).reshape(P, -1)
            self.weights = (0.5 * (hi - lo) * w).reshape(P, -1) / (2 * np.pi)
            self.z1, self.z2 = np.cos(phi), np.sin(phi)
            self.u = g.norm_a[:, None] * self.z1
            self.v = g.norm_b[:, None] * (g.cos[:, None] * self.z1 + g.sin[:, None] * self.z2)
        else:
            x, w = _hermite_rule(nodes)
            self.nodes, self.node_weights = x, w
            #: (N, 3): ωₘ tₘˡ for l = 0, 1, 2, the columns of the inner sums Iⱼₗ
            self._powers = np.stack([w * x ** power for power in range(3)], axis=1)
            self._node_powers = np.stack([x ** power for power in range(3)], axis=1)  # tₙᵏ
            self.u = g.norm_a[:, None] * x                                     # (P, N)
            self.v = g.norm_b[:, None, None] * (g.cos[:, None, None] * x[:, None]
                                                + g.sin[:, None, None] * x)   # (P, N, N)
            self._inner: dict[int, Array] = {}                   # j -> (P, N, 3): Iⱼₗ(tₙ)
            self._expectations: dict[tuple[int, int], Array] = {}  # (i, j) -> (P, 3, 3)

    def _sigma(self, which: str, order: int) -> Array:
        key = (which, order)
        if key not in self._cache:
            points = self.u if which == "u" else self.v
            if order <= 3:  # orders 0..3 at once: the derivatives share their costly factors
                self._cache.update(((which, k), values)
                                   for k, values in enumerate(self.act.jet(points, 3)))
            else:
                self._cache[key] = derivative(self.act, order)(points)
        return self._cache[key]

    def _inner_sums(self, j: int) -> Array:
        """Iⱼₗ(tₙ) for l = 0, 1, 2, shape (P, N, 3). σ⁽ʲ⁾(v) on the N² nodes is not kept: for
        j <= 2 the orders 0..2 are evaluated together (one jet) and reduced at once."""
        if j not in self._inner:
            P, N = self.u.shape
            if j <= 2:
                orders = self.act.jet(self.v, 2)
                for order, values in enumerate(orders):
                    self._inner[order] = (values.reshape(P * N, N) @ self._powers
                                          ).reshape(P, N, 3)
            else:
                values = (self.act.jet(self.v, 3)[3] if j == 3 else
                          derivative(self.act, j)(self.v))
                self._inner[j] = (values.reshape(P * N, N) @ self._powers).reshape(P, N, 3)
        return self._inner[j]

    def expect(self, i: int, j: int, k: int = 0, l: int = 0) -> Array:  # noqa: E741
        if self.act.homogeneous:
            if i >= 2 or j >= 2:
                return np.zeros_like(self.g.norm_a)
            f = self._sigma("u", i) * self._sigma("v", j) * self.z1 ** k * self.z2 ** l
            total = np.sum(self.weights * f, axis=1)
            return total * _radial_moment(_degree(i) + _degree(j) + k + l)
        outer = self._sigma("u", i) * self.node_weights                      # (P, N)
        if k <= 2 and l <= 2:
            if (i, j) not in self._expectations:  # every (k, l) <= 2 of this (i, j) at once
                weighted = outer[:, :, None] * self._node_powers            # (P, N, 3)
                self._expectations[(i, j)] = np.matmul(weighted.transpose(0, 2, 1),
                                                       self._inner_sums(j))
            return self._expectations[(i, j)][:, k, l]
        inner = (self._inner_sums(j)[:, :, l] if l <= 2 else
                 self._sigma_v_full(j) @ (self.node_weights * self.nodes ** l))
        return np.einsum("pn,pn->p", outer * self.nodes ** k, inner)

    def _sigma_v_full(self, j: int) -> Array:
        """σ⁽ʲ⁾(v) at every node (P, N, N): only for moments z₂ˡ with l > 2."""
        return self.act.jet(self.v, j)[j] if j <= 3 else derivative(self.act, j)(self.v)

    def delta_u(self, j: int, k: int, l: int) -> Array:  # noqa: E741
        """E[δ(u) σ⁽ʲ⁾(v) z₁ᵏ z₂ˡ] (homogeneous σ): the line z₁ = 0."""
        g = self.g
        if k > 0:
            return np.zeros_like(g.norm_a)
        f = self.act.numpy[j]
        plus = f(g.norm_b * g.sin)
        minus = f(-g.norm_b * g.sin) * (-1.0) ** l
        return _INV_SQRT_2PI / g.norm_a * _half_moment(_degree(j) + l) * (plus + minus)

    def delta_v(self, i: int, k: int, l: int) -> Array:  # noqa: E741
        """E[σ⁽ⁱ⁾(u) δ(v) z₁ᵏ z₂ˡ] (homogeneous σ): the line z = t(−s, c)."""
        g = self.g
        f = self.act.numpy[i]

        def at(z1, z2):
            return f(g.norm_a * z1) * z1 ** k * z2 ** l

        total = at(-g.sin, g.cos) + at(g.sin, -g.cos)
        return _INV_SQRT_2PI / g.norm_b * _half_moment(_degree(i) + k + l) * total


class _MpRule:
    """mpmath evaluation of the same pair integrals (one pair at a time), rounded to float64."""

    def __init__(self, geometry: _Geometry, activation: Activation, dps: int) -> None:
        self.g = geometry
        self.act = activation
        self.dps = dps
        self.max_error = 0.0

    def _pair(self, p: int):
        g = self.g
        return (mpmath.mpf(g.norm_a[p]), mpmath.mpf(g.norm_b[p]), mpmath.mpf(g.cos[p]),
                mpmath.mpf(g.sin[p]), mpmath.mpf(g.theta[p]))

    def _quad(self, f, *intervals) -> float:
        value, error = mpmath.quad(f, *intervals, error=True)
        self.max_error = max(self.max_error, float(abs(error)))
        return float(value)

    def expect(self, i: int, j: int, k: int = 0, l: int = 0) -> Array:  # noqa: E741
        act = self.act
        out = np.zeros_like(self.g.norm_a)
        if act.homogeneous and (i >= 2 or j >= 2):
            return out
        fi, fj = derivative(act, i, mp=True), derivative(act, j, mp=True)
        with mpmath.workdps(self.dps):
            for p in range(out.shape[0]):
                na, nb, c, s, theta = self._pair(p)
                half = mpmath.pi / 2
                cuts = sorted({mpmath.mpf(0), half, 3 * half, (theta + half) % (2 * mpmath.pi),
                               (theta + 3 * half) % (2 * mpmath.pi), 2 * mpmath.pi})

                def angular(phi, r=1, na=na, nb=nb, c=c, s=s):
                    z1, z2 = r * mpmath.cos(phi), r * mpmath.sin(phi)
                    return fi(na * z1) * fj(nb * (c * z1 + s * z2)) * z1 ** k * z2 ** l

                if act.homogeneous:
                    m = _degree(i) + _degree(j) + k + l
                    moment = 2 ** (mpmath.mpf(m) / 2) * mpmath.gamma(mpmath.mpf(m) / 2 + 1)
                    out[p] = self._quad(angular, cuts) * float(moment / (2 * mpmath.pi))
                else:
                    def polar(phi, r, angular=angular):
                        return angular(phi, r) * r * mpmath.exp(-r * r / 2) / (2 * mpmath.pi)

                    out[p] = self._quad(polar, cuts, [0, mpmath.inf])
        return out

    def _line(self, f, scale) -> float:
        with mpmath.workdps(self.dps):
            def integrand(t):
                return f(t) * mpmath.npdf(t)

            # δ(scale·z) = δ(z)/scale, and integrating out z gives the density φ(0) = 1/√(2π).
            line = self._quad(integrand, [-mpmath.inf, 0, mpmath.inf])
            return line * _INV_SQRT_2PI / float(scale)

    def delta_u(self, j: int, k: int, l: int) -> Array:  # noqa: E741
        out = np.zeros_like(self.g.norm_a)
        if k > 0:
            return out
        fj = self.act.mp[j]
        with mpmath.workdps(self.dps):
            for p in range(out.shape[0]):
                na, nb, c, s, _ = self._pair(p)
                out[p] = self._line(lambda t, nb=nb, s=s: fj(nb * s * t) * t ** l, na)
        return out

    def delta_v(self, i: int, k: int, l: int) -> Array:  # noqa: E741
        out = np.zeros_like(self.g.norm_a)
        fi = self.act.mp[i]
        with mpmath.workdps(self.dps):
            for p in range(out.shape[0]):
                na, nb, c, s, _ = self._pair(p)
                out[p] = self._line(
                    lambda t, na=na, c=c, s=s: fi(-na * s * t) * (-s * t) ** k * (c * t) ** l, nb)
        return out


# --------------------------------------------------------------------------- pair assembly
def _vec(g: _Geometry, c1: Array, c2: Array) -> Array:
    """E[f x] = L (E[f z₁] â + E[f z₂] e) (L = I for isotropic x)."""
    out = c1[:, None] * g.a_hat + c2[:, None] * g.e
    return out if g.chol is None else out @ g.chol.T


def _mat(g: _Geometry, c11: Array, c12: Array, c22: Array, c0: Array) -> Array:
    a, e = g.a_hat, g.e
    d = a.shape[1]
    out = c0[:, None, None] * np.eye(d)
    out = out + (c11 - c0)[:, None, None] * np.einsum("pi,pj->pij", a, a)
    out = out + c12[:, None, None] * (np.einsum("pi,pj->pij", a, e) + np.einsum("pi,pj->pij", e, a))
    out = out + (c22 - c0)[:, None, None] * np.einsum("pi,pj->pij", e, e)
    if g.chol is not None:  # E[f x xᵀ] = L E[f z zᵀ] Lᵀ
        out = np.einsum("ij,pjk,lk->pil", g.chol, out, g.chol, optimize=True)
    return out


def _mat_spec(rule, g, fn) -> Array:
    """Matrix E[f x xᵀ] from fn(k, l) = E[f z₁ᵏ z₂ˡ]."""
    return _mat(g, fn(2, 0), fn(1, 1), fn(0, 2), fn(0, 0))


def _outer(x: Array, y: Array) -> Array:
    return np.einsum("pi,pj->pij", x, y)


@dataclass(frozen=True)
class _PairTerms:
    value: Array                 # (P,) pair loss kernel c₂ k + c_s p a·b
    field: Array                 # (P, d) G(a, b)
    d_a: Array | None = None     # (P, d, d) ∂G/∂a
    d_b: Array | None = None     # (P, d, d) ∂G/∂b


def _second_order_terms(rule, g: _Geometry, b: Array, a: Array, hessian: bool):
    """J₂ pair terms: value P₂(a·b)², field (a·b)² M₁ + 2(a·b)P₂ b and its two Jacobians.

    P₂ = E[σ''(u)σ''(v)], M₁ = E[σ'''(u)σ''(v) x], M₂ = E[σ''(u)σ'''(v) x]:
    ∂_a = 2(a·b) M₁bᵀ + (a·b)² E[σ⁗(u)σ''(v) xxᵀ] + 2P₂ bbᵀ + 2(a·b) bM₁ᵀ,
    ∂_b = 2(a·b) M₁aᵀ + (a·b)² E[σ'''(u)σ'''(v) xxᵀ] + 2P₂ baᵀ + 2(a·b)P₂ I + 2(a·b) bM₂ᵀ.
    """
    E = rule.expect
    dot = g.dot
    p2 = E(2, 2)
    m1 = _vec(g, E(3, 2, 1, 0), E(3, 2, 0, 1))
    value = p2 * dot**2
    field_ = dot[:, None] ** 2 * m1 + 2 * (dot * p2)[:, None] * b
    if not hessian:
        return value, field_, None, None
    m2 = _vec(g, E(2, 3, 1, 0), E(2, 3, 0, 1))
    dot3 = dot[:, None, None]
    d_a = (2 * dot3 * _outer(m1, b) + dot3**2 * _mat_spec(rule, g, lambda k, l: E(4, 2, k, l))  # noqa: E741
           + 2 * p2[:, None, None] * _outer(b, b) + 2 * dot3 * _outer(b, m1))
    eye = np.eye(b.shape[1])
    d_b = (2 * dot3 * _outer(m1, a) + dot3**2 * _mat_spec(rule, g, lambda k, l: E(3, 3, k, l))  # noqa: E741
           + 2 * p2[:, None, None] * _outer(b, a) + 2 * (dot * p2)[:, None, None] * eye
           + 2 * dot3 * _outer(b, m2))
    return value, field_, d_a, d_b


def _pair_terms(rule, g: _Geometry, b: Array, a: Array, c2: float, cs: float,
                jump: float, hessian: bool, c2nd: float = 0.0) -> _PairTerms:
    E = rule.expect
    p = E(1, 1)
    value = c2 * E(0, 0) + cs * p * g.dot
    m = _vec(g, E(2, 1, 1, 0), E(2, 1, 0, 1))
    field_ = c2 * _vec(g, E(1, 0, 1, 0), E(1, 0, 0, 1)) + cs * (p[:, None] * b + g.dot[:, None] * m)
    second = _second_order_terms(rule, g, b, a, hessian) if c2nd else None
    if second is not None:
        value = value + c2nd * second[0]
        field_ = field_ + c2nd * second[1]
    if not hessian:
        return _PairTerms(value, field_)
    d_a = c2 * _mat_spec(rule, g, lambda k, l: E(2, 0, k, l))  # noqa: E741
    d_b = c2 * _mat_spec(rule, g, lambda k, l: E(1, 1, k, l))  # noqa: E741
    if jump and c2:
        d_a = d_a + c2 * jump * _mat_spec(rule, g, lambda k, l: rule.delta_u(0, k, l))  # noqa: E741
    if cs:
        grad_a_p = m + (jump * _vec(g, rule.delta_u(1, 1, 0), rule.delta_u(1, 0, 1))
                        if jump else 0.0)
        grad_b_p = _vec(g, E(1, 2, 1, 0), E(1, 2, 0, 1))
        if jump:
            grad_b_p = grad_b_p + jump * _vec(g, rule.delta_v(1, 1, 0), rule.delta_v(1, 0, 1))
        d_a = d_a + cs * (_outer(b, grad_a_p) + _outer(m, b)
                          + g.dot[:, None, None] * _mat_spec(rule, g, lambda k, l: E(3, 1, k, l)))  # noqa: E741
        d = b.shape[1]
        d_b = d_b + cs * (p[:, None, None] * np.eye(d) + _outer(b, grad_b_p) + _outer(m, a)
                          + g.dot[:, None, None] * _mat_spec(rule, g, lambda k, l: E(2, 2, k, l)))  # noqa: E741
    if second is not None:
        d_a = d_a + c2nd * second[2]
        d_b = d_b + c2nd * second[3]
    return _PairTerms(value, field_, d_a, d_b)


@dataclass(frozen=True)
class QuadratureResult:
    """Loss, expected gradient (K, d) and expected Hessian (K·d, K·d) by quadrature.

    hessian[i·d + a, k·d + b] = ∂F_ia/∂w_kb (None when not requested). error_estimate: the
    largest absolute change of any reported number between the rule used and a coarser one
    (double) or the largest error mpmath.quad reported (mp).
    """

    loss: float
    gradient: Array
    hessian: Array | None
    error_estimate: float
    activation: str
    loss_name: str
    sobolev_weight: float
    precision: str
    method: str
    convention: str = "expected"
    details: dict = field(default_factory=dict)


def _assemble(W: Array, W_star: Array, act: Activation, weights: list[tuple[float, float, float]],
              hessian: bool, make_rule, chol: Array | None = None
              ) -> list[tuple[float, Array, Array | None]]:
    """(loss, gradient, Jacobian) for each (c₂, c_s, c₂ₙ𝒹) in ``weights``, from one rule.

    Pairs (a, b) that occur more than once (all three blocks coincide at W = W*) are
    integrated once: the rule runs on the distinct rows of [a, b] and the pair terms are
    spread back.
    """
    K, d = W.shape
    Ks = W_star.shape[0]
    ia, ib = np.meshgrid(np.arange(K), np.arange(K), indexing="ij")
    ta, tb = np.meshgrid(np.arange(K), np.arange(Ks), indexing="ij")
    sa, sb = np.meshgrid(np.arange(Ks), np.arange(Ks), indexing="ij")
    a = np.concatenate([W[ia.ravel()], W[ta.ravel()], W_star[sa.ravel()]])
    b = np.concatenate([W[ib.ravel()], W_star[tb.ravel()], W_star[sb.ravel()]])
    n_ss, n_st = K * K, K * Ks
    _, first, spread = np.unique(np.concatenate([a, b], axis=1), axis=0, return_index=True,
                                 return_inverse=True)
    spread = spread.reshape(-1)
    a_distinct, b_distinct = a[first], b[first]
    geometry = _geometry(a_distinct, b_distinct, chol)
    if hessian and act.jump and any(cs for _, cs, _ in weights):
        self_pair = np.zeros(a.shape[0], dtype=bool)
        self_pair[:n_ss] = (ia == ib).ravel()
        bad = geometry.degenerate[spread][: n_ss + n_st] & ~self_pair[: n_ss + n_st]
        if bad.any():
            q = int(np.flatnonzero(bad)[0])
            where = (f"student rows {ia.ravel()[q]} and {ib.ravel()[q]}" if q < n_ss else
                     f"student row {ta.ravel()[q - n_ss]} and teacher row {tb.ravel()[q - n_ss]}")
            raise NonDifferentiableError(
                f"the expected Sobolev Hessian does not exist here for {act.name}: {where} are "
                "parallel or antiparallel (cone singularity of the kink); perturb W"
            )
    rule = make_rule(geometry)
    out = []
    for c2, cs, c2nd in weights:
        terms = _pair_terms(rule, geometry, b_distinct, a_distinct, c2, cs, act.jump, hessian,
                            c2nd)
        value = terms.value[spread]
        loss = (0.5 * value[:n_ss].sum() - value[n_ss:n_ss + n_st].sum()
                + 0.5 * value[n_ss + n_st:].sum())
        field_ = terms.field[spread[:n_ss + n_st]]
        field_ss = field_[:n_ss].reshape(K, K, d)
        field_st = field_[n_ss:].reshape(K, Ks, d)
        gradient = field_ss.sum(axis=1) - field_st.sum(axis=1)
        if not hessian:
            out.append((float(loss), gradient, None))
            continue
        da_ss = terms.d_a[spread[:n_ss]].reshape(K, K, d, d)
        db_ss = terms.d_b[spread[:n_ss]].reshape(K, K, d, d)
        da_st = terms.d_a[spread[n_ss:n_ss + n_st]].reshape(K, Ks, d, d)
        jac = db_ss.transpose(0, 2, 1, 3).copy()  # (i, a, k, b) = ∂_b G(w_i, w_k)
        idx = np.arange(K)
        # diagonal: Σ_j ∂_a G(w_i, w_j) (all j, self included) − Σ_j ∂_a G(w_i, w*_j)
        # + ∂_b G(w_i, w_i)
        diagonal = da_ss.sum(axis=1) - da_st.sum(axis=1) + db_ss[idx, idx]
        jac[idx, :, idx, :] = diagonal
        out.append((float(loss), gradient, jac.reshape(K * d, K * d)))
    return out


def quadrature(W: ArrayLike, W_star: ArrayLike, loss: str = "h1", *,
               activation: str | Activation = "relu", slope: float | None = None,
               sobolev_weight: float = 1.0, second_order_weight: float = 1.0,
               input_covariance: ArrayLike | None = None, hessian: bool = True,
               precision: str = "double", nodes: int | None = None, dps: int = 30
               ) -> QuadratureResult:
    """Loss, expected gradient and expected Hessian by Gaussian pair quadrature.

    Args:
        W: student (K, d) or (d,); W_star: teacher (K*, d).
        loss: "l2", "sobolev", "h1" (= l2 + λ·sobolev), "sobolev2" (J₂ = E ½‖∇²ₓg − ∇²ₓg*‖²_F,
            ∇²ₓg = Σᵢ σ''(wᵢ·x) wᵢwᵢᵀ) or "h2" (= l2 + λ·sobolev + μ·sobolev2); the
            second-order losses need a smooth σ (for relu/leaky relu σ'' is a Dirac mass and J₂
            is infinite: ValueError).
        activation: "relu", "leaky_relu" (``slope``, default 0.01), "gelu", "tanh", "sine" (and
            any other name of numerics.activations).
        sobolev_weight: λ. second_order_weight: μ (h2 only).
        input_covariance: Σ of x ~ N(0, Σ) (symmetric positive definite d×d; None = I). Pair
            integrals are taken in whitened coordinates x = L z (Σ = L Lᵀ): u = (Lᵀa)·z, and
            E[f x] = L E[f z], E[f xxᵀ] = L E[f zzᵀ] Lᵀ, while the Sobolev terms keep the
            Euclidean a·b and b (they measure the Euclidean input gradient and Hessian).
        hessian: also compute the (K·d)×(K·d) Jacobian of the expected gradient field.
        precision: "double" (vectorised scipy/numpy rules) or "mp" (mpmath.quad at ``dps``).
        nodes: Gauss–Legendre nodes per angular piece (homogeneous σ, default 24) or
            Gauss–Hermite nodes per axis (smooth σ, default 128).
    Returns:
        :class:`QuadratureResult` (expected convention; see the module docstring for the rules
        and the error estimate). Raises theory.NonDifferentiableError for a Sobolev Hessian of a
        kinked activation at a parallel pair. Several losses at the same (W, W*):
        :func:`quadrature_losses` (the pair integrals are shared).
    """
    return quadrature_losses(
        W, W_star, (loss,), activation=activation, slope=slope, sobolev_weight=sobolev_weight,
        second_order_weight=second_order_weight, input_covariance=input_covariance,
        hessian=hessian, precision=precision, nodes=nodes, dps=dps)[loss]


def quadrature_losses(W: ArrayLike, W_star: ArrayLike, losses: Sequence[str] = ("l2", "h1"), *,
                      activation: str | Activation = "relu", slope: float | None = None,
                      sobolev_weight: float = 1.0, second_order_weight: float = 1.0,
                      input_covariance: ArrayLike | None = None, hessian: bool = True,
                      precision: str = "double", nodes: int | None = None, dps: int = 30
                      ) -> dict[str, QuadratureResult]:
    """:func:`quadrature` for several losses at one (W, W*): {loss: QuadratureResult}.

    Every loss is a weighted sum c₂·L + c_s·J + c₂ₙ𝒹·J₂ of the same pair integrals
    E[σ⁽ⁱ⁾(u)σ⁽ʲ⁾(v) z₁ᵏ z₂ˡ], so each rule (the one with ``nodes`` and the coarser one of the
    error estimate) evaluates them once for all losses. Each result is the one
    ``quadrature(W, W_star, loss, ...)`` returns (same rules; the double-precision error
    estimate per loss; with precision="mp" the largest error mpmath.quad reported over the
    integrals of all the losses).
    Arguments as :func:`quadrature`; ``losses`` is a non-empty sequence of its loss names.
    """
    if isinstance(losses, str) or not len(losses):
        raise ValueError(f"losses must be a non-empty sequence of loss names such as "
                         f"('l2', 'h1'); got {losses!r}")
    W, W_star = as_student_teacher(W, W_star)
    weights = [loss_weights(loss, sobolev_weight, second_order_weight) for loss in losses]
    act = get_activation(activation, slope=slope)
    second_order = [loss for loss in losses if loss in ("sobolev2", "h2")]
    if second_order and not act.is_smooth:
        raise ValueError(
            f"loss={second_order[0]!r} needs a smooth activation: for {act.name} σ'' is a Dirac "
            "mass at 0 and the second-order Sobolev term J₂ is infinite; use gelu, sine, tanh "
            "or erf"
        )
    sigma = check_input_covariance(input_covariance, W.shape[1])
    chol = None if sigma is None else np.linalg.cholesky(sigma)
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}; got {precision!r}")
    kind = "homogeneous" if act.homogeneous else "smooth"
    if nodes is None:
        nodes = DEFAULT_NODES[kind]
    if isinstance(nodes, bool) or not isinstance(nodes, (int, np.integer)) or nodes < 8:
        raise ValueError(f"nodes must be an integer >= 8; got {nodes!r}")
    if precision == "mp":
        if isinstance(dps, bool) or not isinstance(dps, int) or dps < 16:
            raise ValueError(f"dps must be an integer >= 16 (decimal digits); got {dps!r}")
        rules: list = []

        def make_rule(geometry):
            rules.append(_MpRule(geometry, act, dps))
            return rules[-1]

        results = _assemble(W, W_star, act, weights, hessian, make_rule, chol)
        errors = [max(r.max_error for r in rules)] * len(losses)
        method = f"mpmath.quad at {dps} digits, pair integrals rounded to float64"
    else:
        coarse_nodes = max(8, (3 * int(nodes)) // 4)
        results = _assemble(W, W_star, act, weights, hessian,
                            lambda g: _DoubleRule(g, act, int(nodes)), chol)
        coarse = _assemble(W, W_star, act, weights, hessian,
                           lambda g: _DoubleRule(g, act, coarse_nodes), chol)
        errors = []
        for (value, grad, hess), (value_c, grad_c, hess_c) in zip(results, coarse, strict=True):
            diffs = [abs(value - value_c), np.abs(grad - grad_c).max()]
            if hess is not None:
                diffs.append(np.abs(hess - hess_c).max())
            errors.append(float(max(diffs)))
        rule = ("Gauss-Legendre in angle (split at kinks) x exact radial moments"
                if act.homogeneous else "tensor Gauss-Hermite")
        method = f"{rule}, {nodes} nodes (error estimate vs {coarse_nodes})"
    out = {}
    for loss, (_, _, c2nd), (value, grad, hess), error in zip(losses, weights, results, errors,
                                                                strict=True):
        details = {"second_order_weight": float(c2nd) if loss in ("sobolev2", "h2") else None,
                   "input_covariance": "identity" if sigma is None else "given (d×d SPD)"}
        out[loss] = QuadratureResult(value, grad, hess, error, act.name, loss,
                                     float(sobolev_weight), precision, method, details=details)
    return out
