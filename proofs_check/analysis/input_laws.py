r"""Input covariances Σ for x ~ N(0, Σ): spiked and power-law families, and loading from .npy.

* ``spiked_covariance(d, strength, rank)`` = I + strength·Σ_{r<rank} e_r e_rᵀ: the spikes lie on
  the first ``rank`` coordinate axes (a deterministic, documented choice; rotate W, W* and Σ
  together to move them, by rotation covariance nothing else changes). Condition number
  1 + strength.
* ``power_law_covariance(d, condition, seed)`` = Q diag(λ_i) Qᵀ with λ_i = i^{−p}, i = 1..d,
  p = log(condition)/log(d) (so λ_max/λ_min = condition) and Q a seeded Haar-random rotation
  (scipy.stats.ortho_group).
* ``load_covariance(path, d)``: a (d, d) .npy file, validated like every input_covariance.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from theory.validation import check_input_covariance


def spiked_covariance(d: int, strength: float, rank: int) -> NDArray[np.float64]:
    """I + strength·Σ_{r<rank} e_r e_rᵀ (spikes on the first ``rank`` coordinate axes)."""
    if not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError(f"d must be a positive integer; got {d!r}")
    if not isinstance(rank, (int, np.integer)) or not 1 <= rank <= d:
        raise ValueError(f"spike rank must be an integer in [1, d = {d}]; got {rank!r}")
    strength = float(strength)
    if not math.isfinite(strength) or strength <= -1:
        raise ValueError(f"spike strength must be finite and > -1 (Σ positive definite); "
                         f"got {strength!r}")
    sigma = np.eye(d)
    sigma[np.arange(rank), np.arange(rank)] += strength
    return sigma


def power_law_covariance(d: int, condition: float, seed: int = 0) -> NDArray[np.float64]:
    """Q diag(i^{−p}) Qᵀ with λ_max/λ_min = condition and Q Haar-random (seeded)."""
    if not isinstance(d, (int, np.integer)) or d < 2:
        raise ValueError(f"a power-law spectrum needs d >= 2; got {d!r}")
    condition = float(condition)
    if not math.isfinite(condition) or condition < 1:
        raise ValueError(f"condition must be a finite number >= 1; got {condition!r}")
    power = math.log(condition) / math.log(d)
    eigenvalues = np.arange(1, d + 1, dtype=float) ** (-power)
    from scipy.stats import ortho_group  # on use: scipy.stats is slow to import

    Q = ortho_group.rvs(d, random_state=seed)
    sigma = (Q * eigenvalues) @ Q.T
    return 0.5 * (sigma + sigma.T)


def covariance_file_shape(path: str) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from a .npy file's header, without reading its data; ValueError naming
    input_covariance when the file is missing, empty, truncated, pickled or not a .npy file."""
    from numpy.lib import format as npy_format

    try:
        with open(path, "rb") as handle:
            version = npy_format.read_magic(handle)
            if version == (1, 0):
                shape, _, dtype = npy_format.read_array_header_1_0(handle)
            else:
                shape, _, dtype = npy_format.read_array_header_2_0(handle)
    except OSError as exc:
        raise ValueError(f"input_covariance: cannot read {path!r} ({exc.strerror})") from None
    except (ValueError, EOFError) as exc:  # EOFError: an empty or truncated file
        raise ValueError(f"input_covariance: {path!r} is not a .npy array file "
                         f"({exc or 'empty file'})") from None
    return tuple(shape), dtype


def load_covariance(path: str, d: int) -> NDArray[np.float64]:
    """Σ from a .npy file; ValueError naming input_covariance when unreadable or invalid.

    The header is checked before any data is read: the shape must be (d, d), the dtype real
    (a complex Σ is refused, not truncated to its real part) and not an object array, and the
    array must fit in memory (a header may claim any size)."""
    from theory.validation import require_memory

    shape, dtype = covariance_file_shape(path)
    if shape != (d, d):
        raise ValueError(f"input_covariance: {path!r} holds an array of shape {shape}; "
                         f"the input dimension needs ({d}, {d})")
    if dtype.kind == "c":
        raise ValueError(f"input_covariance: {path!r} holds complex numbers ({dtype}); a "
                         "covariance must be real symmetric positive definite")
    if dtype.kind not in "fiub":
        raise ValueError(f"input_covariance: {path!r} holds {dtype} values; give a real "
                         "numeric (d, d) array")
    require_memory(4.0 * 8 * d * d, f"input_covariance {path!r} ({d}×{d})",
                   "give a smaller matrix")
    try:
        sigma = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(
            f"input_covariance: cannot read {path!r} as a .npy array ({exc})") from None
    checked = check_input_covariance(sigma, d)
    return np.eye(d) if checked is None else checked
