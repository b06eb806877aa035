r"""Activations with closed-form Gaussian pair kernels, one module per activation.

Each module states its L2 kernel k(s_a, s_b, c) = E[φ(a·x) φ(b·x)] for x ~ N(0, Σ),
s_a = aᵀΣa, s_b = bᵀΣb, c = aᵀΣb, and points to its SymPy derivation
(theory/symbolic/activations.py). Every Sobolev kernel follows from k by Price's theorem
(E[φ^(n)(a·x) φ^(n)(b·x)] = ∂ⁿk/∂cⁿ, times (a·b)ⁿ), and every loss, gradient and Hessian
from the partial derivatives of k by one chain rule (theory.pair_frame).

=================  ============================================================  ===========
name               k(s_a, s_b, c)                                                 family
=================  ============================================================  ===========
relu               √(s_a s_b)(sin θ + (π − θ) cos θ)/(2π), cos θ = c/√(s_a s_b)  two-slope
leaky_relu(α)      α c + (1 − α)² k_relu   (leaky_relu = leaky_relu(0.01))          two-slope
erf                (2/π) arcsin(2c/√((1 + 2s_a)(1 + 2s_b)))                       smooth
sine               e^{−(s_a + s_b)/2} sinh c                                      smooth
gelu               c/4 + [(c² + s_a s_b Δ²)/(PΔ) + c arcsin(c/√P)]/(2π),           smooth
                   P = (1 + s_a)(1 + s_b), Δ = √(P − c²)
=================  ============================================================  ===========

tanh has no closed-form Gaussian pair kernel: it stays a measured activation
(numerics.quadrature, numerics.monte_carlo); erf is the closed-form sigmoid.

Conventions: for smooth activations E_x[∇_W ℓ] = ∇_W E_x[ℓ] (the integrand is smooth and
dominated, so differentiating under the expectation is legitimate): "expected" and "exact" are
the same field and both names are accepted. For the two-slope family they differ in the
Sobolev term (theory.kernels). Homogeneity: relu and leaky relu are positively homogeneous
(loss(rW, rW*) = r² loss), the smooth activations are not (their landscape depends on |w|).
"""

from __future__ import annotations

import functools
import importlib
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import sympy as sp

# SymPy (and each smooth activation's module, which builds its kernel as a SymPy expression) is
# imported on first use: relu needs none of it, and `import theory` stays fast for the CLI.

#: Smooth activations with a closed-form kernel: name -> module (KERNEL, NAME).
_SMOOTH = {"erf": "theory.activations.erf", "sine": "theory.activations.sine",
           "gelu": "theory.activations.gelu"}
#: Default negative-side slope of "leaky_relu" (as numerics.activations).
DEFAULT_LEAKY_SLOPE = 0.01
#: Activations that exist in numerics but have no closed form here, with the reason.
NO_CLOSED_FORM = {
    "tanh": "tanh has no closed-form Gaussian pair kernel E[tanh(u) tanh(v)]; it stays a measured "
            "activation (numerics.quadrature / numerics.monte_carlo) and erf is the closed-form "
            "sigmoid",
}

_SPEC = re.compile(r"^\s*([a-z_]+)\s*(?:\(\s*([^()]*?)\s*\))?\s*$")
_ASCII_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)


def available() -> tuple[str, ...]:
    """Names accepted by theory's activation argument ("leaky_relu(α)" takes any α in [0, 1))."""
    return ("relu", "leaky_relu", "leaky_relu(α)", "erf", "sine", "gelu")


def _available_text() -> str:
    return ", ".join(repr(name) for name in available())


def parse_activation(spec: str) -> tuple[str, float | None]:
    """Split an activation spec into (name, parameter): "leaky_relu(0.1)" -> ("leaky_relu", 0.1).

    "leaky_relu" alone gets the default slope 0.01; "relu" is ("relu", None). The slope must be a
    finite number in [0, 1). Only leaky_relu takes a parameter. Raises ValueError naming
    ``activation`` otherwise. Names are not checked against a registry here (numerics may parse
    its own names with it).
    """
    if not isinstance(spec, str):
        raise ValueError(f"activation must be a string such as 'relu' or 'leaky_relu(0.1)'; "
                         f"got {spec!r}")
    match = _SPEC.match(spec)
    if match is None:
        raise ValueError(f"activation {spec!r} is not of the form 'name' or 'name(parameter)'; "
                         f"available: {_available_text()}")
    name, argument = match.group(1), match.group(2)
    if name != "leaky_relu":
        if argument is not None:
            raise ValueError(f"activation {name!r} takes no parameter; got {spec!r}")
        return name, None
    if argument is None:
        return name, DEFAULT_LEAKY_SLOPE
    if not _ASCII_NUMBER.fullmatch(argument):  # float() also reads '٠.١', '1_0', ' 1 ', 'nan'
        raise ValueError(f"activation {spec!r}: the leaky_relu slope must be a number in [0, 1) "
                         f"written with ASCII digits (e.g. 0.1 or 1e-2); got {argument!r}")
    try:
        slope = float(argument)
    except ValueError:
        raise ValueError(f"activation {spec!r}: the leaky_relu slope must be a number in [0, 1); "
                         f"got {argument!r}") from None
    if not math.isfinite(slope) or not 0.0 <= slope < 1.0:
        raise ValueError(f"activation {spec!r}: the leaky_relu slope must be in [0, 1) (0 is "
                         f"relu, 1 would be linear); got {slope!r}")
    return name, slope


@dataclass(frozen=True)
class ClosedFormActivation:
    """A resolved activation of theory.

    name: canonical spec ("relu", "leaky_relu(0.1)", "erf", ...); family: "two_slope" or
    "smooth"; slope: α of the two-slope family (0 for relu, None for smooth ones);
    module: the module holding a smooth activation's kernel (KERNEL, and optionally KERNEL_AUX
    and AUXILIARY), imported, with SymPy, only when an expression is asked for or its
    generated code is not in the disk cache (theory.activations._code_cache).
    """

    name: str
    family: str
    slope: float | None = None
    module: str | None = None

    @property
    def kernel(self) -> sp.Expr | None:
        """SymPy expression of k(s_a, s_b, c) (smooth family only)."""
        return None if self.module is None else importlib.import_module(self.module).KERNEL

    @property
    def kernel_aux(self) -> sp.Expr | None:
        """The kernel written with auxiliary symbols (faster SymPy partials), if any."""
        if self.module is None:
            return None
        return getattr(importlib.import_module(self.module), "KERNEL_AUX", None)

    @property
    def auxiliary(self) -> tuple:
        """The auxiliary symbols of :attr:`kernel_aux` with their definitions."""
        if self.module is None:
            return ()
        return getattr(importlib.import_module(self.module), "AUXILIARY", ())

    @property
    def homogeneous(self) -> bool:
        """Positively homogeneous of degree 1 (loss(rW, rW*) = r² loss(W, W*))."""
        return self.family == "two_slope"

    @property
    def smooth(self) -> bool:
        return self.family == "smooth"

    def partials(self, n: int, order: int, sa, sb, cc) -> tuple[np.ndarray, ...]:
        """h_n = ∂ⁿk/∂cⁿ and its partials in (s_a, s_b, c) up to ``order`` (smooth family).

        Refuses (ValueError) squared norms s_a, s_b outside :data:`SMOOTH_SQUARED_NORM_RANGE`
        and any non-finite result, so a NaN or inf never leaves the kernels."""
        if self.module is None:
            raise ValueError(f"{self.name} has no smooth kernel; use theory.kernels")
        from theory.activations._code_cache import kernel_partials

        check_smooth_squared_norms(self.name, sa, sb)
        function = kernel_partials(self.name, self.module, n, order)
        with np.errstate(all="ignore"):
            values = function(sa, sb, cc)
        if not np.isfinite(values.stacked).all():
            raise ValueError(
                f"activation {self.name!r}: a pair kernel (order {n}) is not finite in float64 "
                f"at these weights; keep every row's squared norm wᵀΣw within "
                f"{_range_text()}")
        return values


#: Squared Σ-norms s = wᵀΣw of the rows (student and teacher, Σ = input_covariance) within which
#: the smooth activations' closed forms are evaluated in float64. Above the upper end the chain
#: rule cancels: the kernels saturate (erf), grow linearly (gelu) or stay bounded (sine) in the
#: scale while their radial and cross partials each grow, so a gradient's terms cancel to a
#: relative rounding error of about 1e-16·s and a Hessian's to about 1e-16·s² times a
#: constant. Measured against 50-digit mpmath (unit rows scaled by |w|): gradients 1e-12 at
#: s = 1e4 and 1e-8 at s = 1e8; the erf Sobolev Hessian 1.1e-9 at |w| = 30 (s = 900) and
#: 2.4e-7 at |w| = 99. At the upper end 1e3 (|w|_Σ ≈ 31.6) losses, gradients and Hessians stay
#: within about 1e-9 of their largest entry. Below the lower end products of Gram entries
#: underflow. Outside the range the population functions raise ValueError instead of returning
#: a wrong number.
SMOOTH_SQUARED_NORM_RANGE = (1e-150, 1e3)


def _range_text() -> str:
    low, high = SMOOTH_SQUARED_NORM_RANGE
    return (f"[{low:g}, {high:g}] (row norms |w|_Σ in [{math.sqrt(low):g}, "
            f"{math.sqrt(high):.3g}])")


def check_smooth_squared_norms(name: str, *squared_norms, what: str = "W or W_star") -> None:
    """ValueError unless every squared norm s = wᵀΣw lies in SMOOTH_SQUARED_NORM_RANGE."""
    low, high = SMOOTH_SQUARED_NORM_RANGE
    for values in squared_norms:
        values = np.asarray(values)
        if values.size == 0:
            continue
        largest, smallest = float(values.max()), float(values.min())
        if largest <= high and smallest >= low:
            continue
        bad = largest if not largest <= high else smallest
        shown = f"{bad:.3g}" if math.isfinite(bad) else "beyond float64 (> 1.8e308)"
        raise ValueError(
            f"activation {name!r}: a row of {what} has squared norm wᵀΣw = {shown} "
            f"(Σ = input_covariance, I by default), outside the range {_range_text()} where "
            "the closed-form kernels of the smooth activations are accurate in float64 (beyond "
            "it the chain rule cancels to a relative error of ~1e-16·wᵀΣw, squared for Hessians). "
            "Rescale W and "
            "W_star (or input_covariance) into that range")


def get_activation(spec: str = "relu") -> ClosedFormActivation:
    """Resolve an activation spec (see :func:`available`); ValueError listing what exists."""
    if isinstance(spec, ClosedFormActivation):
        return spec
    if not isinstance(spec, str):
        raise ValueError(f"activation must be a string such as 'relu' or 'leaky_relu(0.1)'; "
                         f"got {spec!r}; available: {_available_text()}")
    return _resolve(spec)


@functools.cache
def _resolve(spec: str) -> ClosedFormActivation:
    name, parameter = parse_activation(spec)
    if name in NO_CLOSED_FORM:
        raise ValueError(f"activation {name!r} has no closed form in theory: "
                         f"{NO_CLOSED_FORM[name]}. Available: {_available_text()}")
    if name == "relu":
        return ClosedFormActivation("relu", "two_slope", 0.0)
    if name == "leaky_relu":
        slope = float(parameter)
        canonical = "relu" if slope == 0.0 else f"leaky_relu({slope:g})"
        return ClosedFormActivation(canonical, "two_slope", slope)
    if name in _SMOOTH:
        return ClosedFormActivation(name, "smooth", None, _SMOOTH[name])
    raise ValueError(f"unknown activation {spec!r}; available: {_available_text()}")


def kernel_expression(spec: str) -> sp.Expr:
    """k(s_a, s_b, c) = E[φ(a·x)φ(b·x)] of an activation as a SymPy expression in KERNEL_SYMBOLS.

    relu: (√(s_a s_b − c²) + (π − arccos(c/√(s_a s_b))) c)/(2π); leaky_relu(α): αc + (1 − α)²·that.
    """
    import sympy as sp

    from theory.activations._partials import c, s_a, s_b

    act = get_activation(spec)
    if act.smooth:
        return act.kernel
    relu_kernel = (sp.sqrt(s_a * s_b - c**2)
                   + (sp.pi - sp.acos(c / sp.sqrt(s_a * s_b))) * c) / (2 * sp.pi)
    alpha = sp.nsimplify(act.slope)
    return relu_kernel if alpha == 0 else alpha * c + (1 - alpha) ** 2 * relu_kernel


def __getattr__(name: str) -> Any:
    """KERNEL_SYMBOLS: the SymPy symbols (s_a, s_b, c) = (aᵀΣa, bᵀΣb, aᵀΣb) of every kernel
    expression (built on first access, so importing theory does not import SymPy)."""
    if name == "KERNEL_SYMBOLS":
        from theory.activations._partials import c, s_a, s_b

        return (s_a, s_b, c)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DEFAULT_LEAKY_SLOPE", "KERNEL_SYMBOLS", "SMOOTH_SQUARED_NORM_RANGE",
           "ClosedFormActivation", "available", "check_smooth_squared_norms", "get_activation",
           "kernel_expression", "parse_activation"]
