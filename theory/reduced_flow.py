r"""The one-neuron gradient flow in reduced coordinates (r = |w|, θ = angle(w, w*)).

Setting: K = K* = 1, teacher w* with r* = |w*|, student w = r (cos θ u + sin θ e₀) where
u = w*/r* and e₀ is the unit vector of w's part orthogonal to u. The field F(w) lies in
span(w, w*), so the flow dw/dt = −F(w) stays in that plane and is described by (r, θ):

    dr/dt = −v·F,        dθ/dt = (e·F)/r,        v = w/r, e = unit(w* − (w*·v) v).

With p = π − θ and h = p cos θ + sin θ the three pair fields give (all over 2π):

    l2:                dr/dt = −r/2 + r* h/(2π)          dθ/dt = −r* p sin θ/(2π r)
    sobolev, expected: dr/dt = −r/2 + r* p cos θ/(2π)    dθ/dt = −r* p sin θ/(2π r)
    sobolev, exact:    dr/dt = −r/2 + r* p cos θ/(2π)    dθ/dt = −r* (p sin θ + cos θ)/(2π r)

and "h1" = l2 + λ·sobolev. The losses are

    L = r²/4 − r r* h/(2π) + r*²/4,       J = r²/4 − r r* p cos θ/(2π) + r*²/4,

and the exact fields are −(∂/∂r, r⁻² ∂/∂θ) of them (polar gradient flow).

Singularities. The exact Sobolev angular speed does not vanish at θ = 0 (−λ r*/(2π r)) nor at
θ = π (+λ r*/(2π r)): the cone singularity of J makes the exact flow reach θ = 0 (or θ = π)
in finite time, after which the Filippov solution slides along the ray (θ stays fixed, r follows
dr/dt at that θ). :func:`reduced_field` returns the one-sided limits from inside (0, π) at
θ ∈ {0, π}; :func:`reduced_flow` integrates the sliding motion. The expected field and l2 have
dθ/dt = 0 at θ ∈ {0, π} (the rays are invariant).

Basins (one neuron): l2 and the expected Sobolev/h1 flows have dθ/dt < 0 on (0, π), so every
θ₀ < π converges to the teacher. The exact Sobolev/h1 flow has dθ/dt > 0 on (θ_c, π) with θ_c
the root of (1 + λ) p sin θ + λ cos θ = 0 (l2 weight 1, Sobolev weight λ; for "sobolev" alone
p sin θ + cos θ = 0, θ_c ≈ 2.2813): starts with θ₀ > θ_c go to the antiparallel ray and die
(r → 0). :func:`critical_angle` computes θ_c.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from theory.validation import check_convention, check_loss, check_sobolev_weight

_TWO_PI = 2.0 * math.pi


def _weights(loss: str, sobolev_weight: float) -> tuple[float, float]:
    """(l2 weight, Sobolev weight) of a loss name."""
    check_loss(loss)
    lam = check_sobolev_weight(sobolev_weight)
    return {"l2": (1.0, 0.0), "sobolev": (0.0, 1.0), "h1": (1.0, lam)}[loss]


def _check_r_star(r_star: float) -> float:
    value = float(r_star)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"r_star (the teacher norm |w*|) must be finite and > 0; got {r_star!r}")
    return value


def reduced_field(r: ArrayLike, theta: ArrayLike, loss: str = "h1", *,
                  convention: str = "expected", sobolev_weight: float = 1.0,
                  r_star: float = 1.0) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(dr/dt, dθ/dt) of the one-neuron flow dw/dt = −F(w) (formulas in the module docstring).

    Args:
        r: student norm |w| > 0; theta: angle(w, w*) in [0, π]; broadcast together.
        loss: "l2", "sobolev" or "h1" (= l2 + sobolev_weight·sobolev).
        convention: "expected" or "exact" (they differ only in dθ/dt of the Sobolev part).
        r_star: teacher norm |w*|.
    Returns:
        Two float arrays of the broadcast shape. For the exact convention at θ = 0 or π the
        angular speed is the one-sided limit from inside (0, π) (the field is discontinuous there).
    """
    check_convention(convention)
    w_l2, w_sob = _weights(loss, sobolev_weight)
    rs = _check_r_star(r_star)
    r = np.asarray(r, dtype=np.float64)
    theta = np.asarray(theta, dtype=np.float64)
    if np.any(~np.isfinite(r)) or np.any(r <= 0):
        raise ValueError("r (the student norm |w|) must be finite and > 0")
    if np.any(~np.isfinite(theta)) or np.any(theta < 0) or np.any(theta > math.pi):
        raise ValueError("theta (the angle between w and w*) must lie in [0, π]")
    p = math.pi - theta
    s, c = np.sin(theta), np.cos(theta)
    dr = -(w_l2 + w_sob) * r / 2 + rs * (w_l2 * (p * c + s) + w_sob * p * c) / _TWO_PI
    angular = (w_l2 + w_sob) * p * s
    if convention == "exact":
        angular = angular + w_sob * c
    dtheta = -rs * angular / (_TWO_PI * r)
    return dr, dtheta


def reduced_loss(r: ArrayLike, theta: ArrayLike, loss: str = "h1", *,
                 sobolev_weight: float = 1.0, r_star: float = 1.0) -> NDArray[np.float64]:
    """Population loss of one neuron in (r, θ): w_l2·L + w_sob·J (module docstring formulas)."""
    w_l2, w_sob = _weights(loss, sobolev_weight)
    rs = _check_r_star(r_star)
    r = np.asarray(r, dtype=np.float64)
    theta = np.asarray(theta, dtype=np.float64)
    p = math.pi - theta
    base = r**2 / 4 + rs**2 / 4
    l2 = base - r * rs * (p * np.cos(theta) + np.sin(theta)) / _TWO_PI
    sob = base - r * rs * p * np.cos(theta) / _TWO_PI
    return w_l2 * l2 + w_sob * sob


def critical_angle(loss: str = "h1", *, convention: str = "expected",
                   sobolev_weight: float = 1.0) -> float:
    """Supremum θ_c of the one-neuron basin in angle: θ₀ < θ_c converges to the teacher.

    π for l2, for the expected convention, and for a zero Sobolev weight. For the exact
    convention with a Sobolev part: the root in (π/2, π) of w_l2·p sin θ + w_sob·(p sin θ + cos θ)
    (brentq, xtol 1e-15), above which dθ/dt > 0 and the neuron goes antiparallel.
    """
    check_convention(convention)
    w_l2, w_sob = _weights(loss, sobolev_weight)
    if convention == "expected" or w_sob == 0:
        return math.pi

    def angular(theta: float) -> float:
        p = math.pi - theta
        return (w_l2 + w_sob) * p * math.sin(theta) + w_sob * math.cos(theta)

    return float(brentq(angular, math.pi / 2, math.pi, xtol=1e-15, rtol=4 * np.finfo(float).eps))


@dataclass(frozen=True)
class ReducedFlow:
    """Solution of the reduced flow.

    t, r, theta: (n,) arrays. sliding_from: time at which an exact flow reached θ = 0 or π and
    began to slide along that ray (None if it never did). status: "t_max" or "collapsed" (r fell
    below 1e-12·r*: the neuron died on the antiparallel ray). Tolerances rtol/atol of DOP853.
    """

    t: NDArray[np.float64]
    r: NDArray[np.float64]
    theta: NDArray[np.float64]
    sliding_from: float | None
    sliding_angle: float | None
    status: str
    rtol: float
    atol: float


def reduced_flow(r0: float, theta0: float, loss: str = "h1", *, convention: str = "expected",
                 sobolev_weight: float = 1.0, r_star: float = 1.0, t_max: float = 50.0,
                 t_eval: ArrayLike | None = None, rtol: float = 1e-10,
                 atol: float = 1e-12) -> ReducedFlow:
    """Integrate (dr/dt, dθ/dt) = reduced_field(r, θ) from (r0, θ0) over [0, t_max] (DOP853).

    For the exact convention the flow is stopped by an event when θ reaches 0 or π, then
    continued as the Filippov sliding motion θ ≡ 0 (or π), dr/dt = reduced_field(r, θ)[0].
    t_eval: output times in [0, t_max] (default: the solver's steps).
    """
    check_convention(convention)
    _weights(loss, sobolev_weight)
    rs = _check_r_star(r_star)
    for name, value in (("t_max", t_max), ("rtol", rtol), ("atol", atol)):
        if not math.isfinite(float(value)) or float(value) <= 0:
            raise ValueError(f"{name} must be finite and > 0; got {value!r}")
    reduced_field(r0, theta0, loss, convention=convention, sobolev_weight=sobolev_weight,
                  r_star=rs)  # validates r0 and theta0
    if t_eval is not None:
        t_eval = np.asarray(t_eval, dtype=np.float64)
        if t_eval.ndim != 1 or np.any(np.diff(t_eval) < 0) or t_eval[0] < 0 or t_eval[-1] > t_max:
            raise ValueError("t_eval must be a sorted 1-D array inside [0, t_max]")
    options = dict(loss=loss, convention=convention, sobolev_weight=sobolev_weight, r_star=rs)
    floor = 1e-12 * rs

    def rhs(_t, y):
        theta = min(max(y[1], 0.0), math.pi)
        dr, dtheta = reduced_field(max(y[0], floor), theta, **options)
        return [float(dr), float(dtheta)]

    def hits_zero(_t, y):
        return y[1]

    def hits_pi(_t, y):
        return math.pi - y[1]

    def collapses(_t, y):
        return y[0] - floor

    for event in (hits_zero, hits_pi, collapses):
        event.terminal = True
        event.direction = -1
    slides = convention == "exact" and _weights(loss, sobolev_weight)[1] > 0
    events = [hits_zero, hits_pi, collapses] if slides else [collapses]
    first = solve_ivp(rhs, (0.0, t_max), [float(r0), float(theta0)], method="DOP853",
                      rtol=rtol, atol=atol, events=events, dense_output=True)
    if first.status == -1:
        raise ValueError(f"reduced_flow: the solver failed ({first.message})")
    t_end = float(first.t[-1])
    sliding_from = sliding_angle = None
    status = "t_max"
    second = None
    if first.status == 1:
        hit = [i for i, times in enumerate(first.t_events) if len(times)][0]
        if events[hit] is collapses:
            status = "collapsed"
        else:
            sliding_from = t_end
            sliding_angle = 0.0 if events[hit] is hits_zero else math.pi

            def slide(_t, y):
                return [float(reduced_field(max(y[0], floor), sliding_angle, **options)[0])]

            second = solve_ivp(slide, (t_end, t_max), [float(first.y[0, -1])], method="DOP853",
                               rtol=rtol, atol=atol, events=[collapses], dense_output=True)
            if second.status == 1:
                status = "collapsed"
    if t_eval is None:
        t = first.t
        r, theta = first.y
        if second is not None:
            t = np.concatenate([t, second.t[1:]])
            r = np.concatenate([r, second.y[0, 1:]])
            theta = np.concatenate([theta, np.full(len(second.t) - 1, sliding_angle)])
    else:
        last = float(second.t[-1]) if second is not None else t_end
        t = t_eval[t_eval <= last]
        early = t <= t_end
        r = np.empty_like(t)
        theta = np.empty_like(t)
        r[early], theta[early] = first.sol(t[early])
        if second is not None:
            r[~early] = second.sol(t[~early])[0]
            theta[~early] = sliding_angle
    return ReducedFlow(np.asarray(t), np.asarray(r), np.clip(theta, 0.0, math.pi), sliding_from,
                       sliding_angle, status, rtol, atol)


def to_reduced(W: ArrayLike, W_star: ArrayLike) -> tuple[float, float]:
    """(|w|, angle(w, w*)) of a one-neuron student and teacher (accurate angle, see kernels)."""
    from theory.kernels import stable_angle
    from theory.validation import as_student_teacher

    student, teacher = as_student_teacher(W, W_star)
    if student.shape[0] != 1 or teacher.shape[0] != 1:
        raise ValueError("to_reduced needs one student and one teacher neuron (K = K* = 1)")
    w, ws = student[0], teacher[0]
    norm = float(np.linalg.norm(w))
    return norm, float(stable_angle(w / norm, ws / np.linalg.norm(ws)))
