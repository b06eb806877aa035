"""Reproducible student-teacher configurations for the CLI, examples and checks.

A configuration is a teacher W* (K*×d) with i.i.d. N(0, 1/d) entries (rows of norm ≈ 1) and a
student W (K×d) placed relative to it:

* ``"teacher"``   W = W* (needs K = K*): the global minimum.
* ``"perturbed"`` W = W* + radius · Z / √d (needs K = K*), Z standard normal: near the minimum.
* ``"random"``    W with i.i.d. N(0, radius²/d) entries, independent of W*.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from theory.validation import check_seed

PLACEMENTS = ("teacher", "perturbed", "random")


@dataclass(frozen=True)
class Configuration:
    """A student W (K, d), a teacher W_star (K*, d), and how they were made."""

    W: NDArray[np.float64]
    W_star: NDArray[np.float64]
    at: str
    radius: float
    seed: int

    def describe(self) -> str:
        K, d = self.W.shape
        where = {
            "teacher": "at the teacher (W = W*)",
            "perturbed": f"at W = W* + {self.radius:g}·Z/√d (Z standard normal)",
            "random": f"at random W with N(0, {self.radius:g}²/d) entries",
        }[self.at]
        return (f"K={K}, K*={self.W_star.shape[0]}, d={d}, seed={self.seed}: teacher with "
                f"N(0, 1/d) entries; evaluated {where}")


def default_placement(width: int, teacher_width: int) -> str:
    """"perturbed" when the widths match (there is a teacher to perturb), else "random"."""
    return "perturbed" if width == teacher_width else "random"


def make_configuration(width: int, teacher_width: int, dim: int, seed: int = 0, *,
                       at: str | None = None, radius: float | None = None) -> Configuration:
    """Build a reproducible configuration (see the module docstring for the placements).

    radius defaults to 0.1 for "perturbed" and 1.0 for "random" (ignored for "teacher").
    """
    for name, value in (("width", width), ("teacher_width", teacher_width), ("dim", dim)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    check_seed(seed)
    if at is None:
        at = default_placement(width, teacher_width)
    if at not in PLACEMENTS:
        raise ValueError(f"at must be one of {PLACEMENTS}; got {at!r}")
    if at in ("teacher", "perturbed") and width != teacher_width:
        raise ValueError(
            f"at={at!r} needs width == teacher_width (got {width} and {teacher_width}); "
            "use at='random' for over- or under-parameterised students"
        )
    if radius is None:
        radius = 0.1 if at == "perturbed" else 1.0
    radius = float(radius)
    if not math.isfinite(radius) or radius <= 0:
        raise ValueError(f"radius must be a finite number > 0; got {radius!r}")
    rng = np.random.default_rng(seed)
    scale = 1.0 / math.sqrt(dim)
    W_star = rng.normal(scale=scale, size=(teacher_width, dim))
    noise = rng.normal(scale=scale, size=(width, dim))
    if at == "teacher":
        W = W_star.copy()
    elif at == "perturbed":
        W = W_star + radius * noise
    else:
        W = radius * noise
    return Configuration(W, W_star, at, radius, int(seed))
