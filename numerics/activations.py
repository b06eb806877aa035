r"""Activations σ with their first three derivatives, for Monte-Carlo and quadrature.

The activations compared by Oh, Lyu & Son (2025): relu, leaky relu (slope α), GELU, tanh, sine,
and erf, the sigmoid with closed-form Gaussian kernels (tanh has none; theory documents erf as the
closed-form stand-in for tanh).

Conventions (those of autograd):

* relu(t) = max(t, 0), σ'(t) = 1{t > 0} (σ'(0) = 0), σ'' = σ''' = 0.
* leaky_relu(t) = t for t > 0 and α t otherwise; σ'(t) = 1 for t > 0 and α otherwise; σ'' = 0.
* gelu(t) = t Φ(t), σ' = Φ + tφ, σ'' = φ (2 − t²), σ''' = φ (t³ − 4t)   (exact, not the tanh
  approximation; Φ, φ the standard normal cdf and pdf).
* tanh: σ' = 1 − tanh², σ'' = −2 tanh (1 − tanh²), σ''' = (1 − tanh²)(6 tanh² − 2).
* sine: σ = sin, σ' = cos, σ'' = −sin, σ''' = −cos.
* erf: σ = erf(t), σ' = (2/√π) e^{−t²}, σ'' = −2t σ', σ''' = (4t² − 2) σ'.

Names: "relu", "leaky_relu" (slope from the ``slope`` keyword, default 0.01), "gelu", "tanh",
"sine", "erf", and the spec string "leaky_relu(α)", e.g. "leaky_relu(0.1)" (the names theory
accepts; an activation's ``name`` is such a spec, so ``get_activation(act.name)`` round-trips).

``derivative(k)`` returns the *regular* part of the k-th derivative. For the piecewise-linear
activations σ' jumps by ``jump`` = 1 − α at 0, so in the sense of distributions
σ'' = (regular part 0) + jump·δ. The expected (autograd) gradient uses the regular part only; the
Jacobian of the expected gradient field also sees the δ (see numerics.quadrature).

``homogeneous`` marks positively homogeneous activations of degree 1 (σ(r t) = r σ(t) for r > 0):
their Gaussian pair integrals reduce to one angular integral times a radial Gaussian moment.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import mpmath
import numpy as np
from numpy.typing import NDArray
from scipy import special

from theory.activations import parse_activation

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Activation:
    """An activation with its derivatives (regular parts) in numpy and in mpmath.

    Attributes:
        name: registry name, e.g. "relu" or "leaky_relu(0.1)".
        numpy: (σ, σ', σ'', σ''') acting elementwise on float64 arrays.
        mp: the same four functions on one mpmath number (for high-precision quadrature).
        homogeneous: True when σ is positively homogeneous of degree 1 (relu, leaky relu).
        jump: the jump σ'(0+) − σ'(0−) (the coefficient of δ in σ''); 0 for smooth activations.
    """

    name: str
    numpy: tuple[Callable[[Array], Array], ...]
    mp: tuple[Callable, ...] = field(repr=False)
    homogeneous: bool = False
    jump: float = 0.0
    shared_jet: Callable[[Array, int, tuple[Array, ...]], None] | None = field(default=None,
                                                                                repr=False)

    def jet(self, t: Array, order: int, out: tuple[Array, ...] | None = None
            ) -> tuple[Array, ...]:
        """(σ(t), σ'(t), …, σ⁽ᵒʳᵈᵉʳ⁾(t)) elementwise, order in 0..3 (regular parts).

        The same values, bit for bit, as ``numpy[0](t), …, numpy[order](t)``, computed together
        where the derivatives share a costly factor (tanh: tanh t; erf and gelu: the Gaussian
        factor; sine: sin t and cos t), so a caller that needs several orders pays for it once.
        ``out``: optional order + 1 float64 arrays shaped like t (not t itself) to write into, so
        that a caller streaming chunks allocates nothing (fresh large arrays cost page faults).
        """
        if order not in (0, 1, 2, 3):
            raise ValueError(f"order must be 0, 1, 2 or 3; got {order!r}")
        t = np.asarray(t, dtype=np.float64)
        if out is None:
            out = tuple(np.empty_like(t) for _ in range(order + 1))
        elif len(out) != order + 1 or any(o.shape != t.shape or o is t for o in out):
            raise ValueError(f"out must be {order + 1} arrays of shape {t.shape}, none of them t")
        if self.shared_jet is not None:
            self.shared_jet(t, order, out)
        else:
            for function, target in zip(self.numpy, out, strict=False):
                np.copyto(target, function(t))
        return tuple(out)

    def derivative(self, order: int) -> Callable[[Array], Array]:
        """The regular part of σ^(order), order in 0..3, as a numpy function."""
        if order not in (0, 1, 2, 3):
            raise ValueError(f"order must be 0, 1, 2 or 3; got {order!r}")
        return self.numpy[order]

    def mp_derivative(self, order: int) -> Callable:
        if order not in (0, 1, 2, 3):
            raise ValueError(f"order must be 0, 1, 2 or 3; got {order!r}")
        return self.mp[order]

    def __call__(self, t: Array) -> Array:
        return self.numpy[0](np.asarray(t, dtype=np.float64))

    @property
    def is_smooth(self) -> bool:
        return self.jump == 0.0 and not self.homogeneous


def leaky_relu(slope: float = 0.01) -> Activation:
    """Leaky relu max(t, 0) + slope·min(t, 0) with slope α in [0, 1); slope 0 is relu."""
    try:
        alpha = float(slope)
    except (TypeError, ValueError):
        raise ValueError(f"slope must be a real number in [0, 1); got {slope!r}") from None
    if not math.isfinite(alpha) or not 0.0 <= alpha < 1.0:
        raise ValueError(
            f"slope must be in [0, 1) (0 is relu; 1 would be linear); got {slope!r}"
        )

    def value(t: Array) -> Array:
        return np.maximum(t, 0.0) if alpha == 0.0 else np.where(t > 0, t, alpha * t)

    def first(t: Array) -> Array:
        return (t > 0).astype(np.float64) if alpha == 0.0 else np.where(t > 0, 1.0, alpha)

    def zero(t: Array) -> Array:
        return np.zeros_like(np.asarray(t, dtype=np.float64))

    mp_alpha = mpmath.mpf(alpha)
    mp_functions = (
        lambda t: t if t > 0 else mp_alpha * t,
        lambda t: mpmath.mpf(1) if t > 0 else mp_alpha,
        lambda t: mpmath.mpf(0),
        lambda t: mpmath.mpf(0),
    )
    name = "relu" if alpha == 0.0 else f"leaky_relu({alpha:g})"
    return Activation(name, (value, first, zero, zero), mp_functions, homogeneous=True,
                      jump=1.0 - alpha)


def relu() -> Activation:
    """relu(t) = max(t, 0); σ'(t) = 1{t > 0}."""
    return leaky_relu(0.0)


_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _pdf(t: Array) -> Array:
    return np.exp(-0.5 * t * t) / _SQRT_2PI


def gelu() -> Activation:
    """GELU t·Φ(t) (exact form) with its derivatives (module docstring)."""
    functions = (
        lambda t: t * special.ndtr(t),
        lambda t: special.ndtr(t) + t * _pdf(t),
        lambda t: _pdf(t) * (2.0 - t * t),
        lambda t: _pdf(t) * (t ** 3 - 4.0 * t),
    )
    mp_functions = (
        lambda t: t * mpmath.ncdf(t),
        lambda t: mpmath.ncdf(t) + t * mpmath.npdf(t),
        lambda t: mpmath.npdf(t) * (2 - t * t),
        lambda t: mpmath.npdf(t) * (t ** 3 - 4 * t),
    )

    def jet(t: Array, order: int, out: tuple[Array, ...]) -> None:
        if order == 0:
            np.multiply(t, special.ndtr(t, out=out[0]), out=out[0])
            return
        cdf = special.ndtr(t, out=out[1])
        np.multiply(t, cdf, out=out[0])
        pdf = np.multiply(t, t)  # t², then φ(t) = e^{−t²/2}/√(2π)
        if order >= 2:
            np.subtract(2.0, pdf, out=out[2])
        pdf *= -0.5
        np.exp(pdf, out=pdf)
        pdf /= _SQRT_2PI
        if order >= 2:
            np.multiply(out[2], pdf, out=out[2])
        if order == 3:
            np.power(t, 3, out=out[3])
            np.subtract(out[3], 4.0 * t, out=out[3])
            np.multiply(out[3], pdf, out=out[3])
        pdf *= t
        cdf += pdf  # σ' = Φ + tφ

    return Activation("gelu", functions, mp_functions, shared_jet=jet)


def tanh() -> Activation:
    """tanh with σ' = 1 − tanh², σ'' = −2 tanh (1 − tanh²), σ''' = (1 − tanh²)(6 tanh² − 2)."""
    functions = (
        np.tanh,
        lambda t: 1.0 - np.tanh(t) ** 2,
        lambda t: -2.0 * np.tanh(t) * (1.0 - np.tanh(t) ** 2),
        lambda t: (1.0 - np.tanh(t) ** 2) * (6.0 * np.tanh(t) ** 2 - 2.0),
    )
    mp_functions = (
        mpmath.tanh,
        lambda t: 1 - mpmath.tanh(t) ** 2,
        lambda t: -2 * mpmath.tanh(t) * (1 - mpmath.tanh(t) ** 2),
        lambda t: (1 - mpmath.tanh(t) ** 2) * (6 * mpmath.tanh(t) ** 2 - 2),
    )

    def jet(t: Array, order: int, out: tuple[Array, ...]) -> None:
        value = np.tanh(t, out=out[0])
        if order == 0:
            return
        square = np.multiply(value, value, out=out[1])
        if order == 3:  # 6 tanh² − 2 before out[1] becomes 1 − tanh²
            np.multiply(square, 6.0, out=out[3])
            np.subtract(out[3], 2.0, out=out[3])
        first = np.subtract(1.0, square, out=out[1])
        if order >= 2:
            np.multiply(value, -2.0, out=out[2])
            np.multiply(out[2], first, out=out[2])
        if order == 3:
            np.multiply(out[3], first, out=out[3])

    return Activation("tanh", functions, mp_functions, shared_jet=jet)


def sine() -> Activation:
    """sin with derivatives cos, −sin, −cos."""
    functions = (np.sin, np.cos, lambda t: -np.sin(t), lambda t: -np.cos(t))
    mp_functions = (mpmath.sin, mpmath.cos, lambda t: -mpmath.sin(t), lambda t: -mpmath.cos(t))

    def jet(t: Array, order: int, out: tuple[Array, ...]) -> None:
        np.sin(t, out=out[0])
        if order >= 1:
            np.cos(t, out=out[1])
        if order >= 2:
            np.negative(out[0], out=out[2])
        if order == 3:
            np.negative(out[1], out=out[3])

    return Activation("sine", functions, mp_functions, shared_jet=jet)


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def erf() -> Activation:
    """erf(t) with σ' = (2/√π) e^{−t²}, σ'' = −2t σ', σ''' = (4t² − 2) σ'."""
    def first(t: Array) -> Array:
        return _TWO_OVER_SQRT_PI * np.exp(-t * t)

    functions = (
        special.erf,
        first,
        lambda t: -2.0 * t * first(t),
        lambda t: (4.0 * t * t - 2.0) * first(t),
    )

    def mp_first(t):
        return 2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-t * t)

    mp_functions = (
        mpmath.erf,
        mp_first,
        lambda t: -2 * t * mp_first(t),
        lambda t: (4 * t * t - 2) * mp_first(t),
    )

    def jet(t: Array, order: int, out: tuple[Array, ...]) -> None:
        special.erf(t, out=out[0])
        if order == 0:
            return
        slope = np.multiply(t, t, out=out[1])
        np.negative(slope, out=slope)
        np.exp(slope, out=slope)
        slope *= _TWO_OVER_SQRT_PI
        if order >= 2:  # −2t σ'
            np.multiply(t, -2.0, out=out[2])
            np.multiply(out[2], slope, out=out[2])
        if order == 3:  # (4t² − 2) σ'
            np.multiply(t, 4.0, out=out[3])
            np.multiply(out[3], t, out=out[3])
            np.subtract(out[3], 2.0, out=out[3])
            np.multiply(out[3], slope, out=out[3])

    return Activation("erf", functions, mp_functions, shared_jet=jet)


#: Registry: name -> factory. leaky_relu takes the keyword ``slope``.
ACTIVATIONS: dict[str, Callable[..., Activation]] = {
    "relu": relu,
    "leaky_relu": leaky_relu,
    "gelu": gelu,
    "tanh": tanh,
    "sine": sine,
    "erf": erf,
}


def get_activation(activation: str | Activation = "relu", *, slope: float | None = None
                   ) -> Activation:
    """Look up an activation by name ("relu", "leaky_relu", "gelu", "tanh", "sine", "erf") or
    by the spec "leaky_relu(α)" (e.g. "leaky_relu(0.1)").

    ``slope`` is the negative-side slope of leaky_relu (default 0.01); it is an error for the
    other names and beside a spec that already states the slope. An :class:`Activation`
    instance is returned unchanged.
    """
    if isinstance(activation, Activation):
        if slope is not None:
            raise ValueError("slope applies only when activation is given by name ('leaky_relu')")
        return activation
    if isinstance(activation, str) and "(" in activation:  # a spec "name(parameter)"
        if slope is not None:
            raise ValueError(f"activation {activation!r} already states the slope; drop slope=")
        name, value = parse_activation(activation)  # the same parser as theory's
        if name != "leaky_relu":
            raise ValueError(f"activation {activation!r}: only leaky_relu takes a parameter")
        return leaky_relu(value)
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)} or 'leaky_relu(α)' "
                         f"with 0 <= α < 1; got {activation!r}")
    if activation == "leaky_relu":
        return leaky_relu(0.01 if slope is None else slope)
    if slope is not None:
        raise ValueError(f"slope applies only to activation='leaky_relu', not {activation!r}")
    return ACTIVATIONS[activation]()
