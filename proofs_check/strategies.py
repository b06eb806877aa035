"""Hypothesis strategies for student-teacher configurations — public, for your own property tests.

Example::

    from hypothesis import given
    from proofs_check import strategies as sv
    import theory

    @given(sv.configurations(max_width=3, max_dim=4))
    def test_loss_is_nonnegative(config):
        W, W_star = config
        assert theory.population_loss(W, W_star, "h1") >= 0

All strategies draw float64 arrays whose rows have norms in [min_norm, max_norm], so every draw
is a valid input. ``min_sine`` keeps every student-student and student-teacher pair at
sin θ >= min_sine (where the Sobolev Hessians exist and finite differences are well behaved);
:func:`near_degenerate_configurations` does the opposite on purpose.
Requires hypothesis (a test dependency of sobolev-verify).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from theory.assembly import smallest_pair_sine

__all__ = [
    "configurations",
    "dimensions",
    "near_degenerate_configurations",
    "weight_matrices",
    "widths",
]


def dimensions(min_dim: int = 2, max_dim: int = 6) -> st.SearchStrategy[int]:
    """Input dimensions d in [min_dim, max_dim] (d = 1 makes every pair (anti)parallel)."""
    return st.integers(min_dim, max_dim)


def widths(min_width: int = 1, max_width: int = 3) -> st.SearchStrategy[int]:
    """Numbers of neurons K (or K*)."""
    return st.integers(min_width, max_width)


def _unit_rows(rows: int, dim: int) -> st.SearchStrategy[np.ndarray]:
    entries = hnp.arrays(np.float64, (rows, dim), elements=st.floats(-1.0, 1.0, width=64))
    return entries.filter(lambda a: bool((np.linalg.norm(a, axis=1) > 0.1).all())).map(
        lambda a: a / np.linalg.norm(a, axis=1, keepdims=True))


def weight_matrices(rows: int, dim: int, *, min_norm: float = 0.3,
                    max_norm: float = 2.0) -> st.SearchStrategy[np.ndarray]:
    """(rows, dim) float64 matrices with row norms in [min_norm, max_norm]."""
    if not 0 < min_norm <= max_norm:
        raise ValueError("need 0 < min_norm <= max_norm")
    norms = hnp.arrays(np.float64, (rows, 1),
                       elements=st.floats(min_norm, max_norm, width=64))
    return st.tuples(_unit_rows(rows, dim), norms).map(lambda pair: pair[0] * pair[1])


@st.composite
def configurations(draw, *, min_width: int = 1, max_width: int = 3, min_teacher_width: int = 1,
                   max_teacher_width: int = 3, min_dim: int = 2, max_dim: int = 5,
                   same_width: bool = False, min_sine: float = 0.0, min_norm: float = 0.3,
                   max_norm: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """A pair (W, W_star): student K×d and teacher K*×d with a common d.

    same_width: K = K*. min_sine: reject draws with a pair closer than that to (anti)parallel.
    """
    dim = draw(dimensions(min_dim, max_dim))
    width = draw(widths(min_width, max_width))
    teacher_width = width if same_width else draw(widths(min_teacher_width, max_teacher_width))
    W = draw(weight_matrices(width, dim, min_norm=min_norm, max_norm=max_norm))
    W_star = draw(weight_matrices(teacher_width, dim, min_norm=min_norm, max_norm=max_norm))
    if min_sine > 0:
        from hypothesis import assume

        assume(smallest_pair_sine(W, W_star) >= min_sine)
    return W, W_star


@st.composite
def near_degenerate_configurations(draw, *, min_dim: int = 2, max_dim: int = 5,
                                   min_log10_angle: float = -8.0, max_log10_angle: float = -3.0,
                                   antiparallel: bool | None = None
                                   ) -> tuple[np.ndarray, np.ndarray, float]:
    """One student neuron at a tiny angle θ from the teacher (or π − θ if antiparallel).

    Returns (W (1, d), W_star (1, d), angle) where angle is the intended θ ∈ [10^min, 10^max]
    (or π − θ). The student norm differs from the teacher's, so the loss is not near zero.
    """
    dim = draw(dimensions(min_dim, max_dim))
    frame = draw(_unit_rows(2, dim).filter(
        lambda a: abs(float(a[0] @ a[1])) < 0.9))
    u = frame[0]
    orth = frame[1] - (frame[1] @ u) * u
    orth /= np.linalg.norm(orth)
    angle = 10.0 ** draw(st.floats(min_log10_angle, max_log10_angle))
    flip = draw(st.booleans()) if antiparallel is None else antiparallel
    if flip:
        angle = math.pi - angle
    teacher_norm = draw(st.floats(0.5, 2.0))
    student_norm = teacher_norm * draw(st.sampled_from([0.5, 1.5, 2.0]))
    v = math.cos(angle) * u + math.sin(angle) * orth
    return (student_norm * v)[None, :], (teacher_norm * u)[None, :], angle
