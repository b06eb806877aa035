r"""The derived-and-lambdified evaluation route (a second route beside theory's numpy closed forms).

The SymPy results of :mod:`theory.symbolic.one_neuron` are turned into numpy functions with
``sympy.lambdify`` (cached per quantity/loss/convention) and evaluated in the invariant frame:

    gradient = g_v v + g_e e,     Hessian = γ(I − vvᵀ − eeᵀ) + [v e] C [v e]ᵀ,

where v = w/|w|, u = w*/|w*|, θ = 2·atan2(|v − u|, |v + u|) and e is the unit vector of u's part
orthogonal to v (computed from u ∓ v, whichever is shorter, so it stays accurate near θ = 0, π).
Only the geometry is computed here; every coefficient comes from the derivation.

One neuron only: w and w_star are (d,) arrays (or (1, d)). Quantities whose derivation divides
by sin θ need θ ∈ (0, π): exactly (anti)parallel inputs raise ValueError.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp
from numpy.typing import ArrayLike, NDArray

from theory.symbolic import flow as flow_module
from theory.symbolic import one_neuron
from theory.symbolic.symbols import lam, r, r_star, theta
from theory.validation import (
    as_student_teacher,
    check_convention,
    check_loss,
    check_sobolev_weight,
)

_ARGS = (r, r_star, theta, lam)


@dataclass(frozen=True)
class OneNeuronGeometry:
    """r = |w|, r_star = |w*|, θ, v = w/|w|, u = w*/|w*|, e (unit, ⟂ v, in span(v, u))."""

    r: float
    r_star: float
    theta: float
    v: NDArray[np.float64]
    u: NDArray[np.float64]
    e: NDArray[np.float64] | None


def geometry(w: ArrayLike, w_star: ArrayLike) -> OneNeuronGeometry:
    """Validated one-neuron geometry (ValueError for K != 1 or K* != 1)."""
    W, W_star = as_student_teacher(w, w_star)
    if W.shape[0] != 1 or W_star.shape[0] != 1:
        raise ValueError(
            f"the derived one-neuron route needs one student and one teacher neuron; got "
            f"w of shape {W.shape} and w_star of shape {W_star.shape}"
        )
    w_vec, t_vec = W[0], W_star[0]
    norm_w, norm_t = float(np.linalg.norm(w_vec)), float(np.linalg.norm(t_vec))
    v, u = w_vec / norm_w, t_vec / norm_t
    angle = float(2.0 * np.arctan2(np.linalg.norm(v - u), np.linalg.norm(v + u)))
    shifted = u - v if np.dot(u, v) >= 0 else u + v
    perp = shifted - np.dot(shifted, v) * v
    perp_norm = float(np.linalg.norm(perp))
    e = perp / perp_norm if perp_norm > 0 and 0.0 < angle < np.pi else None
    return OneNeuronGeometry(norm_w, norm_t, angle, v, u, e)


@cache
def _compiled(quantity: str, name: str, convention: str) -> Callable:
    if quantity == "loss":
        exprs = one_neuron.loss(name)
    elif quantity == "gradient":
        exprs = list(one_neuron.gradient_frame(name, convention))
    elif quantity == "hessian":
        frame = one_neuron.hessian_frame(name, convention)
        exprs = [frame.gamma, *list(frame.C)]
    elif quantity == "flow":
        exprs = list(flow_module.flow(name, convention))
    else:
        raise ValueError(f"quantity must be one of {one_neuron.QUANTITIES}; got {quantity!r}")
    return sp.lambdify(_ARGS, exprs, modules="numpy")


def _values(quantity: str, name: str, convention: str, geo: OneNeuronGeometry,
            weight: float):
    with np.errstate(divide="raise", invalid="raise"):
        try:
            return _compiled(quantity, name, convention)(geo.r, geo.r_star, geo.theta, weight)
        except FloatingPointError:
            raise ValueError(
                f"the derived {quantity} of {name!r} ({convention}) is not defined at θ = "
                f"{geo.theta!r}: its formula divides by sin θ; move w off the line of w_star"
            ) from None


def _need_frame(geo: OneNeuronGeometry, what: str) -> NDArray[np.float64]:
    if geo.e is None:
        raise ValueError(
            f"the derived {what} needs w and w_star not (anti)parallel (θ = {geo.theta!r}): the "
            "frame vector e = (u − cos θ v)/sin θ is undefined there"
        )
    return geo.e


def loss(w: ArrayLike, w_star: ArrayLike, name: str = "h1", *,
         sobolev_weight: float = 1.0) -> float:
    """Derived population loss L, J or H_λ of one neuron (float)."""
    check_loss(name)
    weight = check_sobolev_weight(sobolev_weight)
    geo = geometry(w, w_star)
    return float(_values("loss", name, "expected", geo, weight))


def gradient(w: ArrayLike, w_star: ArrayLike, name: str = "h1", *, convention: str = "expected",
             sobolev_weight: float = 1.0) -> NDArray[np.float64]:
    """Derived gradient field of one neuron, shape (d,): g_v v + g_e e."""
    check_loss(name)
    check_convention(convention)
    weight = check_sobolev_weight(sobolev_weight)
    geo = geometry(w, w_star)
    e = _need_frame(geo, "gradient")
    g_v, g_e = _values("gradient", name, convention, geo, weight)
    return g_v * geo.v + g_e * e


def hessian(w: ArrayLike, w_star: ArrayLike, name: str = "h1", *, convention: str = "expected",
            sobolev_weight: float = 1.0) -> NDArray[np.float64]:
    """Derived Hessian (Jacobian of the gradient field) of one neuron, shape (d, d)."""
    check_loss(name)
    check_convention(convention)
    weight = check_sobolev_weight(sobolev_weight)
    geo = geometry(w, w_star)
    e = _need_frame(geo, "Hessian")
    gamma, c00, c01, c10, c11 = _values("hessian", name, convention, geo, weight)
    frame = np.stack([geo.v, e], axis=1)  # d×2
    C = np.array([[c00, c01], [c10, c11]], dtype=float)
    d = geo.v.shape[0]
    return gamma * (np.eye(d) - frame @ frame.T) + frame @ C @ frame.T


def flow(w: ArrayLike, w_star: ArrayLike, name: str = "h1", *, convention: str = "expected",
         sobolev_weight: float = 1.0) -> tuple[float, float]:
    """(ṙ, θ̇) of the one-neuron gradient flow ẇ = −F(w) (derived, see theory.symbolic.flow)."""
    check_loss(name)
    check_convention(convention)
    weight = check_sobolev_weight(sobolev_weight)
    geo = geometry(w, w_star)
    r_dot, theta_dot = _values("flow", name, convention, geo, weight)
    return float(r_dot), float(theta_dot)
