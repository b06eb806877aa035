"""Library summaries shared by the command line and the sweeps (no argument parsing here).

:func:`spectrum_summary` is the row `sobolev-verify cond` prints and `sobolev-verify sweep`
stores for one (loss, convention): λmin, λmax (real parts), κ and provenance, or why the Hessian
does not exist.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import theory
from theory.activations import get_activation
from theory.validation import NonDifferentiableError


def spectrum_summary(W, W_star, loss: str, convention: str, sobolev_weight: float,
                     method: str, **options: Any) -> dict[str, Any]:
    """λmin, λmax (by real part), κ and provenance; or the reason the Hessian does not exist.

    ``options``: further keywords of theory.spectrum (activation, second_order_weight,
    input_covariance), passed only when given.
    """
    row: dict[str, Any] = {"loss": loss, "convention": convention,
                           "sobolev_weight": sobolev_weight if loss != "l2" else None}
    if loss in ("h2", "sobolev2"):
        row["second_order_weight"] = options.get("second_order_weight", 1.0)
    try:
        values = theory.spectrum(W, W_star, loss, convention=convention,
                                 sobolev_weight=sobolev_weight, method=method, **options)
    except NonDifferentiableError as exc:
        row.update(exists=False, reason=str(exc))
        return row
    real = np.real(values)
    smallest, largest = float(real.min()), float(real.max())
    row.update(
        exists=True,
        lambda_min=smallest,
        lambda_max=largest,
        kappa=largest / smallest if smallest > 0 else math.inf,
        complex_eigenvalues=bool(np.iscomplexobj(values)),
        max_abs_imag=float(np.abs(np.imag(values)).max()),
        # symmetric by construction: l2, the exact convention, or a smooth activation (whose
        # two conventions coincide); the expected Sobolev Jacobian of relu/leaky relu is not
        symmetric=(loss == "l2" or convention == "exact"
                   or get_activation(options.get("activation", "relu")).smooth),
    )
    return row
