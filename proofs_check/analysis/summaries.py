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
from theory.operators import ITERATIVE_TOL
from theory.spectra import DENSE_SPECTRUM_MAX_SIZE
from theory.validation import NonDifferentiableError


def spectrum_summary(W, W_star, loss: str, convention: str, sobolev_weight: float,
                     method: str, *, imaginary_parts: bool = True,
                     **options: Any) -> dict[str, Any]:
    """λmin, λmax (by real part), κ and provenance; or the reason the Hessian does not exist.

    ``options``: further keywords of theory.spectrum (activation, second_order_weight,
    input_covariance), passed only when given.

    Above the dense size (in-span K·m > theory.spectra.DENSE_SPECTRUM_MAX_SIZE, Σ = I, method
    not "dense") the extreme eigenvalues come from ARPACK (theory.extreme_eigenvalues) instead
    of the whole spectrum, for a symmetric Jacobian always (its spectrum is real), and for the
    non-symmetric one unless ``imaginary_parts`` asks for max |Im λ| over the whole spectrum:
    then complex_eigenvalues and max_abs_imag are None, with the reason in imaginary_reason.
    """
    row: dict[str, Any] = {"loss": loss, "convention": convention,
                           "sobolev_weight": sobolev_weight if loss != "l2" else None}
    if loss in ("h2", "sobolev2"):
        row["second_order_weight"] = options.get("second_order_weight", 1.0)
    # symmetric by construction: l2, the exact convention, or a smooth activation (whose two
    # conventions coincide); the expected Sobolev Jacobian of relu/leaky relu is not
    symmetric = (loss == "l2" or convention == "exact"
                 or get_activation(options.get("activation", "relu")).smooth)
    W_arr, W_star_arr = np.atleast_2d(W), np.atleast_2d(W_star)
    K, d = W_arr.shape
    in_span = K * min(d, K + W_star_arr.shape[0])
    # A symmetric Jacobian has a real spectrum, so its two extreme eigenvalues say everything
    # this row reports: above the dense size they come from ARPACK (theory.extreme_eigenvalues)
    # instead of the whole spectrum (K = 64, d = 1000: under a second instead of minutes).
    extremes_only = ((symmetric or not imaginary_parts) and method != "dense"
                     and options.get("input_covariance") is None
                     and in_span > DENSE_SPECTRUM_MAX_SIZE)
    try:
        if extremes_only:
            smallest, largest = theory.extreme_eigenvalues(
                W, W_star, loss, convention=convention, sobolev_weight=sobolev_weight,
                method=method, **options)
            solver = f"ARPACK, extreme eigenvalues only (relative tolerance {ITERATIVE_TOL:g})"
            if symmetric:
                has_complex, max_imag = False, 0.0
            else:
                has_complex = max_imag = None
                row["imaginary_reason"] = (
                    "not computed: ARPACK finds only the eigenvalues of smallest and largest real "
                    "part of this non-symmetric Jacobian; theory.spectrum gives all of them")
        else:
            values = theory.spectrum(W, W_star, loss, convention=convention,
                                     sobolev_weight=sobolev_weight, method=method, **options)
            real = np.real(values)
            smallest, largest = float(real.min()), float(real.max())
            has_complex = bool(np.iscomplexobj(values))
            max_imag = float(np.abs(np.imag(values)).max())
            solver = "LAPACK, whole spectrum"
    except NonDifferentiableError as exc:
        row.update(exists=False, reason=str(exc))
        return row
    row.update(
        exists=True,
        lambda_min=smallest,
        lambda_max=largest,
        kappa=largest / smallest if smallest > 0 else math.inf,
        complex_eigenvalues=has_complex,
        max_abs_imag=max_imag,
        symmetric=symmetric,
        eigensolver=solver,
    )
    return row
