"""numerics: independent measurements of the population quantities.

Estimators here (Monte-Carlo, quadrature, training on sampled data, empirical autograd Hessians)
never call theory's closed forms; the ODE integrator takes theory's field as its right-hand side.
Public names are loaded lazily from their modules (PEP 562), so `import numerics` costs no scipy
import: CLI start-up and every spawned sweep worker pay only for what they use.
"""

from __future__ import annotations

import importlib
import sys
import types

_EXPORTS = {
    "monte_carlo": "numerics.montecarlo",
    "monte_carlo_hessian": "numerics.montecarlo",
    "quadrature": "numerics.quadrature",
    "gradient_flow": "numerics.flow",
    "train": "numerics.training",
    "empirical_gradient": "numerics.empirical",
    "empirical_hessian": "numerics.empirical",
}

__all__ = sorted(_EXPORTS)


class _Package(types.ModuleType):
    """The function `quadrature` shares its name with its module. Importing a submodule binds
    the package attribute of that name to the module (after the module has run); this keeps the
    function there instead, whichever of the two is imported first."""

    def __setattr__(self, name: str, value) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'numerics' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
