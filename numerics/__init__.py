"""numerics: independent measurements of the population quantities.

Estimators here (Monte-Carlo, quadrature, training on sampled data, empirical autograd Hessians)
never call theory's closed forms; the ODE integrator takes theory's field as its right-hand side.
Public names are loaded lazily from their modules (PEP 562), except `quadrature` (see below).
"""

from __future__ import annotations

import importlib

# The function `quadrature` shares its name with its module: importing the submodule binds the
# package attribute to the module, which a lazy __getattr__ would never override. Bind it eagerly.
from numerics.quadrature import quadrature as quadrature

_EXPORTS = {
    "monte_carlo": "numerics.montecarlo",
    "monte_carlo_hessian": "numerics.montecarlo",
    "gradient_flow": "numerics.flow",
    "train": "numerics.training",
    "empirical_gradient": "numerics.empirical",
    "empirical_hessian": "numerics.empirical",
}

__all__ = sorted([*_EXPORTS, "quadrature"])


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'numerics' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
