r"""Predicted vs measured condition numbers over a grid of configurations.

Predicted: κ = max Re λ / min Re λ of theory's population Jacobian (expected convention — the
field that sampling, gradient descent and SGD see; for l2 it is also the exact Hessian).

Measured: the Monte-Carlo Jacobian of the expected gradient field (numerics.monte_carlo_hessian,
common random numbers and central differences; it never calls theory's formulas), split into
``replicates`` independent runs (seeds seed, seed+1, …). The point estimate is κ of the pooled
(averaged) Jacobian; its standard error is the jackknife over replicates (leave one replicate
out, re-pool, recompute κ), which accounts for the correlation between Hessian entries that an
entrywise error bar would miss. Because SE is itself estimated from B replicates, the critical
value is Student's t with B − 1 degrees of freedom, at a family-wise false-alarm rate
``familywise`` shared (Bonferroni) by the ``comparisons`` rows of a table: a row *agrees* when
|κ_MC − κ_pred| <= t·SE, is *inconclusive* when some leave-one-out Jacobian is not
positive-definite in real part (κ unbounded at this sample size), and *disagrees* otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

import theory
from numerics.montecarlo import monte_carlo_hessian
from theory.configurations import make_configuration


@dataclass(frozen=True)
class GridPoint:
    """One configuration: widths, dimension, seed and placement (theory.configurations)."""

    width: int
    teacher_width: int
    dim: int
    seed: int = 0
    at: str | None = None
    radius: float | None = None


#: Exactly, over- and under-parameterised students where both Hessians are positive definite.
DEFAULT_GRID: tuple[GridPoint, ...] = (
    GridPoint(1, 1, 3, 0, "perturbed", 0.5),
    GridPoint(2, 2, 3, 0, "perturbed", 0.3),
    GridPoint(2, 1, 3, 0, "random", 1.0),
    GridPoint(1, 2, 3, 0, "random", 1.0),
    GridPoint(3, 2, 2, 0, "random", 1.0),
)


@dataclass(frozen=True)
class ComparisonRow:
    width: int
    teacher_width: int
    dim: int
    seed: int
    at: str
    radius: float
    loss: str
    convention: str
    predicted_lambda_min: float
    predicted_lambda_max: float
    predicted_kappa: float
    measured_kappa: float
    measured_kappa_stderr: float
    n_samples: int
    replicates: int
    threshold: float  # critical t value: agreement means |κ_MC − κ_pred| <= threshold·SE
    verdict: str  # "agrees" | "disagrees" | "inconclusive"
    method: str

    def as_dict(self) -> dict:
        return asdict(self)


def _kappa(matrix: np.ndarray) -> float:
    real = np.real(np.linalg.eigvals(matrix))
    return math.inf if real.min() <= 0 else float(real.max() / real.min())


def _jackknife_kappa(replicas: Sequence[np.ndarray]) -> tuple[float, float]:
    """κ of the pooled matrix and its jackknife standard error (inf if any κ is unbounded)."""
    pooled = np.mean(replicas, axis=0)
    estimate = _kappa(pooled)
    count = len(replicas)
    total = np.sum(replicas, axis=0)
    leave_one_out = np.array([_kappa((total - r) / (count - 1)) for r in replicas])
    if not np.isfinite(leave_one_out).all() or not math.isfinite(estimate):
        return estimate, math.inf
    spread = leave_one_out - leave_one_out.mean()
    return estimate, float(math.sqrt((count - 1) / count * np.sum(spread**2)))


def critical_value(replicates: int, familywise: float, comparisons: int) -> float:
    """Two-sided Student-t critical value, B − 1 degrees of freedom, Bonferroni over rows."""
    if not 0 < familywise < 1:
        raise ValueError(f"familywise must be in (0, 1); got {familywise!r}")
    if comparisons < 1:
        raise ValueError(f"comparisons must be >= 1; got {comparisons!r}")
    return float(stats.t.ppf(1 - familywise / (2 * comparisons), replicates - 1))


def compare_point(point: GridPoint, loss: str, *, n_samples: int, seed: int = 0,
                  replicates: int = 16, familywise: float = 0.01, comparisons: int = 1,
                  sobolev_weight: float = 1.0) -> ComparisonRow:
    """Predicted vs Monte-Carlo κ for one configuration and loss (expected convention)."""
    if replicates < 2:
        raise ValueError(f"replicates must be >= 2 for a jackknife error; got {replicates}")
    if n_samples < 2 * replicates:
        raise ValueError(f"n_samples must be >= 2·replicates; got {n_samples}")
    threshold = critical_value(replicates, familywise, comparisons)
    config = make_configuration(point.width, point.teacher_width, point.dim, point.seed,
                                at=point.at, radius=point.radius)
    values = np.real(theory.spectrum(config.W, config.W_star, loss, convention="expected",
                                     sobolev_weight=sobolev_weight))
    lam_min, lam_max = float(values.min()), float(values.max())
    predicted = lam_max / lam_min if lam_min > 0 else math.inf
    per_replicate = n_samples // replicates
    replicas = [
        monte_carlo_hessian(config.W, config.W_star, loss, n_samples=per_replicate,
                            seed=seed + r, sobolev_weight=sobolev_weight).hessian
        for r in range(replicates)
    ]
    measured, stderr = _jackknife_kappa(replicas)
    if not math.isfinite(stderr) or not math.isfinite(predicted):
        verdict = "inconclusive"
    else:
        verdict = "agrees" if abs(measured - predicted) <= threshold * stderr else "disagrees"
    return ComparisonRow(
        point.width, point.teacher_width, point.dim, point.seed, config.at, config.radius, loss,
        "expected", lam_min, lam_max, predicted, measured, stderr,
        per_replicate * replicates, replicates, threshold, verdict,
        "predicted: closed-form Jacobian eigenvalues; measured: Monte-Carlo CRN central-"
        f"difference Jacobian, {replicates} replicates, jackknife SE; agreement within "
        f"t_{replicates - 1}·SE = {threshold:.2f}·SE (family-wise false-alarm rate "
        f"{familywise:g} over {comparisons} rows)",
    )


def compare_condition_numbers(grid: Iterable[GridPoint] = DEFAULT_GRID,
                              losses: Sequence[str] = ("l2", "h1"), *, n_samples: int = 200_000,
                              seed: int = 0, replicates: int = 16,
                              familywise: float = 0.01) -> list[ComparisonRow]:
    """One row per (grid point, loss): predicted κ, Monte-Carlo κ ± SE, agreement verdict."""
    points = list(grid)
    comparisons = len(points) * len(losses)
    return [compare_point(point, loss, n_samples=n_samples, seed=seed, replicates=replicates,
                          familywise=familywise, comparisons=comparisons)
            for point in points for loss in losses]


def format_table(rows: Sequence[ComparisonRow]) -> str:
    """A fixed-width text table of comparison rows."""
    header = (f"{'K':>2} {'K*':>2} {'d':>3} {'at':<9} {'loss':<4} {'kappa_pred':>11} "
              f"{'kappa_MC':>10} {'± SE':>9} {'N':>8}  verdict")
    lines = [header]
    for row in rows:
        lines.append(
            f"{row.width:>2} {row.teacher_width:>2} {row.dim:>3} {row.at:<9} {row.loss:<4} "
            f"{row.predicted_kappa:>11.4g} {row.measured_kappa:>10.4g} "
            f"{row.measured_kappa_stderr:>9.2g} {row.n_samples:>8}  {row.verdict}")
    return "\n".join(lines)
