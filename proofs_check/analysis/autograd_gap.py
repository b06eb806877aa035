r"""How far the autograd Hessian of the empirical loss is from the Jacobian that governs training.

Three matrices are set side by side at a point W (all (K·d)×(K·d), index i·d + a):

* **autograd** — numerics.empirical_hessian on n samples: the Hessian PyHessian-style tools
  report (relu'' = 0, step derivative 0, activation pattern frozen);
* **population** — theory.population_hessian, convention "expected" (the Jacobian of the field
  that large-batch GD follows) and "exact" (the Hessian of the population loss). Where it does
  not exist (Sobolev part with a parallel pair, e.g. at the teacher) the *one-sided limit along a
  direction Z* is used: it is evaluated at W + ε·Z with ε = ``offset`` (the expected-convention
  blocks depend only on angles, so the value is independent of ε once ε ≪ 1; the exact one blows
  up like 1/ε and is reported as not existing);
* **secant** — numerics.secant_jacobian: central differences of the empirical gradient field
  with step h. For h < activation margin it *is* the autograd Hessian; for h ≫ pattern spacing
  (~1/n) it approaches the population expected Jacobian.

And the rate gradient descent actually shows on the empirical loss (fixed samples, step η) is
measured and compared with the rate each matrix predicts (see :func:`rate_comparison`).

κ of a matrix = max Re λ / min Re λ (math.inf when min Re λ <= 0), as theory.condition_number.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

import theory
from numerics.empirical import (
    activation_margin,
    empirical_gradient,
    empirical_hessian,
    empirical_loss,
    gaussian_samples,
    secant_jacobian,
)
from theory.validation import as_student_teacher

#: Default offset ε of the one-sided population limit where the Hessian does not exist.
LIMIT_OFFSET = 1e-7


def kappa(matrix: NDArray[np.float64]) -> float:
    """max Re λ / min Re λ of a square matrix; math.inf when min Re λ <= 0."""
    real = np.linalg.eigvals(matrix).real
    return math.inf if real.min() <= 0 else float(real.max() / real.min())


def extreme_eigenvalues(matrix: NDArray[np.float64]) -> tuple[float, float]:
    """(min Re λ, max Re λ) of a square matrix."""
    real = np.linalg.eigvals(matrix).real
    return float(real.min()), float(real.max())


def limit_direction(shape: tuple[int, int], seed: int) -> NDArray[np.float64]:
    """Unit-Frobenius-norm direction Z ~ normalised N(0, I) from default_rng([seed, 8]).

    The stream differs from theory.configurations' default_rng(seed) (which draws W* first):
    with the same stream Z would be exactly parallel to W*.
    """
    Z = np.random.default_rng([seed, 8]).standard_normal(shape)
    return Z / np.linalg.norm(Z)


@dataclass(frozen=True)
class PopulationJacobian:
    """Population Jacobian at W, or its one-sided limit along a direction, with provenance."""

    matrix: NDArray[np.float64] | None
    convention: str
    how: str  # "at W", "one-sided limit at W + offset·Z (...)" or "does not exist (...)"


def population_jacobian(W: ArrayLike, W_star: ArrayLike, loss: str, convention: str, *,
                        sobolev_weight: float = 1.0, offset: float = LIMIT_OFFSET,
                        direction_seed: int = 0) -> PopulationJacobian:
    """theory.population_hessian at W; where it does not exist, the documented substitute.

    "expected": one-sided limit along Z = limit_direction(W.shape, direction_seed), evaluated at
    W + offset·Z. "exact": reported as not existing (its Sobolev blocks grow like 1/offset).
    """
    student, teacher = as_student_teacher(W, W_star)
    try:
        matrix = theory.population_hessian(student, teacher, loss, convention=convention,
                                           sobolev_weight=sobolev_weight)
        return PopulationJacobian(matrix, convention, "at W")
    except theory.NonDifferentiableError as exc:
        if convention == "exact":
            return PopulationJacobian(None, convention, f"does not exist ({exc})")
    Z = limit_direction(student.shape, direction_seed)
    matrix = theory.population_hessian(student + offset * Z, teacher, loss,
                                       convention=convention, sobolev_weight=sobolev_weight)
    return PopulationJacobian(
        matrix, convention,
        f"one-sided limit along Z (normalised N(0,I), default_rng([{direction_seed}, 8])) "
        f"at W + {offset:g}·Z",
    )


def _relative_gap(value: float, reference: float) -> float:
    if not (math.isfinite(value) and math.isfinite(reference)):
        return math.inf
    return abs(value / reference - 1.0)


def condition_gap(W: ArrayLike, W_star: ArrayLike, loss: str, n_values: list[int], *,
                  sobolev_weight: float = 1.0, seed: int = 0) -> list[dict]:
    """κ of the autograd Hessian on n samples vs κ of the population Jacobian, for each n.

    Samples: numerics.gaussian_samples(n, d, seed + n). Each row holds n, κ_autograd,
    κ_expected, κ_exact (None where it does not exist), the relative gap |κ_auto/κ_exp − 1|,
    the relative Frobenius distance ‖H_auto − J_exp‖/‖J_exp‖ and the provenance strings.
    """
    student, teacher = as_student_teacher(W, W_star)
    expected = population_jacobian(student, teacher, loss, "expected",
                                   sobolev_weight=sobolev_weight, direction_seed=seed)
    exact = population_jacobian(student, teacher, loss, "exact", sobolev_weight=sobolev_weight,
                                direction_seed=seed)
    kappa_expected = kappa(expected.matrix)
    kappa_exact = None if exact.matrix is None else kappa(exact.matrix)
    rows = []
    for n in n_values:
        X = gaussian_samples(n, student.shape[1], seed + n)
        hessian = empirical_hessian(student, teacher, X, loss, sobolev_weight=sobolev_weight)
        k_auto = kappa(hessian)
        rows.append({
            "n": int(n),
            "kappa_autograd": k_auto,
            "kappa_expected": kappa_expected,
            "kappa_exact": kappa_exact,
            "kappa_gap": _relative_gap(k_auto, kappa_expected),
            "matrix_gap": float(np.linalg.norm(hessian - expected.matrix)
                                / np.linalg.norm(expected.matrix)),
            "expected_how": expected.how,
            "exact_how": exact.how,
            "samples": f"x ~ N(0, I_d), default_rng(seed={seed + n})",
        })
    return rows


def secant_scan(W: ArrayLike, W_star: ArrayLike, loss: str, n_values: list[int],
                steps: list[float], *, sobolev_weight: float = 1.0, seed: int = 0) -> list[dict]:
    """Secant Jacobian of the empirical field vs autograd Hessian and population Jacobian.

    For each n (samples as in :func:`condition_gap`) and finite-difference step h, a row with
    the activation margin, κ_secant, and the relative Frobenius distances of the secant Jacobian
    to the autograd Hessian (same samples) and to the population expected Jacobian (or its
    one-sided limit, see :func:`population_jacobian`).
    """
    student, teacher = as_student_teacher(W, W_star)
    expected = population_jacobian(student, teacher, loss, "expected",
                                   sobolev_weight=sobolev_weight, direction_seed=seed)
    reference_norm = np.linalg.norm(expected.matrix)
    rows = []
    for n in n_values:
        X = gaussian_samples(n, student.shape[1], seed + n)
        hessian = empirical_hessian(student, teacher, X, loss, sobolev_weight=sobolev_weight)
        margin = activation_margin(student, X)
        for h in steps:
            secant = secant_jacobian(student, teacher, X, loss, step=h,
                                     sobolev_weight=sobolev_weight)
            rows.append({
                "n": int(n),
                "step": float(h),
                "margin": margin,
                "kappa_secant": kappa(secant),
                "to_autograd": float(np.linalg.norm(secant - hessian) / np.linalg.norm(hessian)),
                "to_population": float(np.linalg.norm(secant - expected.matrix) / reference_norm),
                "population_how": expected.how,
            })
    return rows


@dataclass(frozen=True)
class RateMeasurement:
    """Contraction of ‖W_t − W*‖ under an iteration, over the window ‖e‖ ∈ [reduction·r0, r0].

    rate = (‖e_T‖/‖e_0‖)^(1/T) with T the first step reaching reduction·r0; when the window is
    not reached within max_steps, ``reached`` is False and rate is computed over all steps.
    """

    rate: float
    steps: int
    reached: bool
    final_distance: float
    final_loss: float | None = None


def _window_rate(step_fn, e0: NDArray[np.float64], reduction: float, max_steps: int,
                 ) -> tuple[float, int, bool, NDArray[np.float64]]:
    r0 = np.linalg.norm(e0)
    e = e0
    for t in range(1, max_steps + 1):
        e = step_fn(e)
        distance = np.linalg.norm(e)
        if not np.isfinite(distance):
            raise ValueError("the iteration diverged (non-finite iterate); use a smaller step")
        if distance <= reduction * r0:
            return float((distance / r0) ** (1.0 / t)), t, True, e
    return float((np.linalg.norm(e) / r0) ** (1.0 / max_steps)), max_steps, False, e


def gd_rate(W0: ArrayLike, W_star: ArrayLike, X: ArrayLike, loss: str, eta: float, *,
            sobolev_weight: float = 1.0, reduction: float = 1e-2,
            max_steps: int = 5000) -> RateMeasurement:
    """Measured rate of gradient descent W ← W − η ∇̂ (autograd gradient on fixed samples X)."""
    W0, teacher = as_student_teacher(W0, W_star)

    def step(e):
        W = teacher + e
        return e - eta * empirical_gradient(W, teacher, X, loss, sobolev_weight=sobolev_weight)

    rate, t, reached, e = _window_rate(step, W0 - teacher, reduction, max_steps)
    final_loss = empirical_loss(teacher + e, teacher, X, loss, sobolev_weight=sobolev_weight)
    return RateMeasurement(rate, t, reached, float(np.linalg.norm(e)), final_loss)


def population_gd_rate(W0: ArrayLike, W_star: ArrayLike, loss: str, eta: float, *,
                       sobolev_weight: float = 1.0, reduction: float = 1e-2,
                       max_steps: int = 5000) -> RateMeasurement:
    """Rate of GD on the population expected field (theory.population_gradient), n = ∞."""
    W0, teacher = as_student_teacher(W0, W_star)

    def step(e):
        return e - eta * theory.population_gradient(teacher + e, teacher, loss,
                                                    sobolev_weight=sobolev_weight)

    rate, t, reached, e = _window_rate(step, W0 - teacher, reduction, max_steps)
    return RateMeasurement(rate, t, reached, float(np.linalg.norm(e)))


def linear_model_rate(matrix: NDArray[np.float64], e0: NDArray[np.float64], eta: float, *,
                      reduction: float = 1e-2, max_steps: int = 5000) -> RateMeasurement:
    """Rate of e ← (I − ηM) e from the same start and window as :func:`gd_rate` (the rate
    the matrix M predicts, transient included)."""
    shape = e0.shape
    iteration = np.eye(matrix.shape[0]) - eta * matrix

    def step(e):
        return (iteration @ e.ravel()).reshape(shape)

    rate, t, reached, e = _window_rate(step, e0, reduction, max_steps)
    return RateMeasurement(rate, t, reached, float(np.linalg.norm(e)))


def predicted_rates(matrix: NDArray[np.float64], eta: float) -> dict[str, float]:
    """Asymptotic rates a matrix M predicts: spectral radius of I − ηM, 1 − η·min Re λ, and
    the best-fixed-step rate (κ − 1)/(κ + 1)."""
    low, _ = extreme_eigenvalues(matrix)
    k = kappa(matrix)
    return {
        "spectral_radius": float(np.abs(np.linalg.eigvals(np.eye(len(matrix)) - eta * matrix)
                                        ).max()),
        "one_minus_eta_lambda_min": 1.0 - eta * low,
        "best_step_rate": (k - 1.0) / (k + 1.0) if math.isfinite(k) else 1.0,
        "kappa": k,
    }


def rate_comparison(W_star: ArrayLike, loss: str, n_values: list[int], *, radius: float = 0.1,
                    eta_factor: float = 1.0, sobolev_weight: float = 1.0, seed: int = 0,
                    reduction: float = 1e-2, max_steps: int = 3000) -> list[dict]:
    """GD rate on the empirical loss vs the rates each matrix predicts, for each n.

    Start W0 = W* + radius·Z (Z = limit_direction(W*.shape, seed)); step η = eta_factor /
    λ_max of the population expected Jacobian's one-sided limit at W* along Z (a practical
    step: the largest stable-ish fixed step for the population problem). For every n: the
    measured GD rate on n fixed samples, the linear-model rates (same start and window) of the
    autograd Hessian at W* and of the population Jacobian limit, their asymptotic spectral
    radii and (κ−1)/(κ+1), and the rate of GD on the population field itself. The minimiser of
    the empirical loss is W* (loss 0), so ‖W_t − W*‖ is the error.
    """
    _, teacher = as_student_teacher(W_star, W_star)
    Z = limit_direction(teacher.shape, seed)
    e0 = radius * Z
    expected = population_jacobian(teacher, teacher, loss, "expected",
                                   sobolev_weight=sobolev_weight, direction_seed=seed)
    eta = eta_factor / extreme_eigenvalues(expected.matrix)[1]
    population_run = population_gd_rate(teacher + e0, teacher, loss, eta,
                                         sobolev_weight=sobolev_weight, reduction=reduction,
                                         max_steps=max_steps)
    population_model = linear_model_rate(expected.matrix, e0, eta, reduction=reduction,
                                         max_steps=max_steps)
    rows = []
    for n in n_values:
        X = gaussian_samples(n, teacher.shape[1], seed + n)
        hessian = empirical_hessian(teacher, teacher, X, loss, sobolev_weight=sobolev_weight)
        measured = gd_rate(teacher + e0, teacher, X, loss, eta, sobolev_weight=sobolev_weight,
                           reduction=reduction, max_steps=max_steps)
        autograd_model = linear_model_rate(hessian, e0, eta, reduction=reduction,
                                           max_steps=max_steps)
        rows.append({
            "n": int(n),
            "eta": eta,
            "margin_at_teacher": activation_margin(teacher, X),
            "measured": asdict(measured),
            "autograd_model": asdict(autograd_model),
            "population_model": asdict(population_model),
            "population_gd": asdict(population_run),
            "autograd_predicted": predicted_rates(hessian, eta),
            "population_predicted": predicted_rates(expected.matrix, eta),
            "population_how": expected.how,
            "window": f"‖W−W*‖ from {radius:g} down to {reduction * radius:g}",
        })
    return rows


def compare_autograd(W: ArrayLike, W_star: ArrayLike, samples: int, *,
                     sobolev_weight: float = 1.0, seed: int = 0) -> dict:
    """Side-by-side κ for `sobolev-verify cond --compare-autograd`: for l2 and h1, the autograd
    Hessian on ``samples`` Gaussian inputs (default_rng(seed + samples)) and the population
    Jacobian in both conventions (with the documented substitute where it does not exist), plus
    the activation margin of W on those samples (the cell inside which autograd is exact)."""
    student, teacher = as_student_teacher(W, W_star)
    X = gaussian_samples(samples, student.shape[1], seed + samples)
    rows = []
    for loss in ("l2", "h1"):
        row = {"loss": loss}
        hessian = empirical_hessian(student, teacher, X, loss, sobolev_weight=sobolev_weight)
        row["autograd"] = {"kappa": kappa(hessian), "how": f"n={samples} samples"}
        for convention in ("expected", "exact"):
            reference = population_jacobian(student, teacher, loss, convention,
                                            sobolev_weight=sobolev_weight, direction_seed=seed)
            row[convention] = {
                "kappa": None if reference.matrix is None else kappa(reference.matrix),
                "how": reference.how,
            }
        row["matrix_gap"] = float(np.linalg.norm(hessian - population_jacobian(
            student, teacher, loss, "expected", sobolev_weight=sobolev_weight,
            direction_seed=seed).matrix) / np.linalg.norm(hessian))
        rows.append(row)
    return {"samples": samples, "sample_seed": seed + samples,
            "activation_margin": activation_margin(student, X), "rows": rows}


RATE_NOTE = (
    "note: gradient descent at practical steps moves W across many activation cells, where the "
    "empirical field averages to the population one: its measured rate follows the population "
    "'expected' Jacobian (GD on the population field), not the autograd Hessian, which is the "
    "Jacobian only inside one cell (|ΔW| < activation margin). They agree for l2 at the teacher; "
    "for h1 (everywhere) and l2 away from the teacher the gap does not shrink with n. "
    "Evidence: claim autograd-hessian-governs-training and proofs_check.analysis.autograd_gap."
)


def format_comparison(result: dict) -> str:
    """Text table of :func:`compare_autograd`."""
    def number(value):
        return "n/a" if value is None else ("inf" if math.isinf(value) else f"{value:.6g}")

    lines = [f"autograd Hessian of the empirical loss on n={result['samples']} samples "
             f"(x ~ N(0, I), default_rng({result['sample_seed']})) vs population Jacobian; "
             f"activation margin of W: {result['activation_margin']:.3g}",
             f"{'loss':<6} {'kappa_expected':>15} {'kappa_exact':>12} {'kappa_autograd':>15} "
             f"{'|H_auto-J_exp|/|H_auto|':>24}"]
    notes = set()
    for row in result["rows"]:
        lines.append(f"{row['loss']:<6} {number(row['expected']['kappa']):>15} "
                     f"{number(row['exact']['kappa']):>12} {number(row['autograd']['kappa']):>15} "
                     f"{row['matrix_gap']:>24.3g}")
        for convention in ("expected", "exact"):
            how = row[convention]["how"]
            if how.startswith("does not exist"):
                how = "does not exist (a student row is parallel to a teacher or student row)"
            if how != "at W":
                notes.add(f"note: {row['loss']} {convention}: {how}")
    lines.extend(sorted(notes))
    lines.append(RATE_NOTE)
    return "\n".join(lines)
