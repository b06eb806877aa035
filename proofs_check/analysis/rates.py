r"""Predicted vs measured convergence rates near the teacher (K = K*).

Prediction. Near a minimum W*, the flow dW/dt = −F(W) contracts like exp(−μ t) with
μ = min Re λ(J), J the Jacobian of F at W*.

* l2 (and λ = 0): J = ∇²L(W*) exists (L is C¹ but not C² there; its Hessian is continuous), so
  μ = λ_min(∇²L(W*)) (symmetric eigensolver).
* expected Sobolev/h1: F is Lipschitz but not differentiable at W* (each student row is parallel
  to its teacher row). Along W = W* + εD the Jacobian has a limit J_D as ε → 0+ that depends on
  the direction D (through the unit vectors e_i from w_i towards w*_i), and so does its spectrum.
  The prediction is J_D evaluated at the documented offset ε = ``offset``·‖W*‖_F (default 1e-7;
  ``offset_sensitivity`` reports the change of μ between ε and 10ε), with D the flow's own
  approach direction W(t) − W*_π at the end of the fit window. For K = 1, J_D has one repeated
  eigenvalue (1 + λ)/2 with a Jordan block (the r-equation is driven by |θ|), so a finite-window
  fit sees q ∝ (a + b t) e^{−μt}; the linear-model window prediction below accounts for it.
* exact Sobolev/h1: the angular components reach 0 in finite time (cone singularity; see
  theory.reduced_flow): no exponential rate exists, μ = ∞ is reported.

Window prediction: the linear model δ' = −J_D δ started from the measured δ(t₀) at the start of
the fit window (scipy.linalg.expm), fitted over the same window exactly as the flow — this is
the like-for-like comparison, independent of transient and Jordan effects.

Gradient descent: W ← W − η F(W) from W* + δ (|δ| = start·‖W*‖_F). The per-step contraction
ρ(η) is measured on log‖W − W*‖ (renormalised, power-iteration style). For a real positive
spectrum ρ(η) = max(1 − ημ, ηL − 1), a V with minimum ρ* = (κ − 1)/(κ + 1) at
η* = 2/(μ + L). The implied κ_GD = L_GD/μ_GD comes from fitting both branches of the V away
from its kink (see GDConditioning); (1 + ρ*)/(1 − ρ*) from the grid minimum is also reported.
The prediction is
ρ*_pred = min_η max_k |1 − η λ_k| over the eigenvalues of J (complex-aware), and
κ_pred = λ_max/λ_min.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.linalg import expm
from scipy.optimize import minimize_scalar
from scipy.stats import linregress

import theory
from numerics.activations import get_activation
from numerics.flow import FlowResult, gradient_flow, matched_difference
from theory.validation import as_student_teacher, check_convention, check_sobolev_weight


def _has_cone(loss: str, sobolev_weight: float, activation: str = "relu") -> bool:
    """Whether the field has the Sobolev cone at W* (a kinked σ with a Sobolev term)."""
    return (loss != "l2" and check_sobolev_weight(sobolev_weight) > 0
            and not get_activation(activation).is_smooth)


@dataclass(frozen=True)
class PredictedRate:
    """μ = min Re λ(J) with the eigenvalues used and how J was taken (see module docstring)."""

    rate: float
    eigenvalues: NDArray
    how: str
    offset: float | None = None
    offset_sensitivity: float | None = None


def local_jacobian(W_star: ArrayLike, loss: str = "h1", *, convention: str = "expected",
                   sobolev_weight: float = 1.0, direction: ArrayLike | None = None,
                   offset: float = 1e-7, activation: str = "relu",
                   second_order_weight: float = 1.0, input_covariance: ArrayLike | None = None
                   ) -> tuple[NDArray[np.float64], str]:
    """J at W* (l2, or any loss of a smooth activation) or the directional J_D at
    W* + offset·‖W*‖·D/‖D‖ (Sobolev term of a kinked activation, expected convention).

    Returns (J of shape (K·d, K·d), description). Raises ValueError for the exact Sobolev
    convention (no Jacobian limit exists: the exact Hessian blows up like 1/θ).
    second_order_weight (μ of h2) and input_covariance (Σ of x ~ N(0, Σ), None = I) go to
    theory.population_hessian.
    """
    _, W_star = as_student_teacher(W_star, W_star)
    check_convention(convention)
    law = dict(second_order_weight=second_order_weight)
    if input_covariance is not None:
        law["input_covariance"] = input_covariance
    if not _has_cone(loss, sobolev_weight, activation):
        J = theory.population_hessian(W_star, W_star, loss, convention=convention,
                                      sobolev_weight=sobolev_weight, activation=activation, **law)
        return J, ("Hessian at W* (exists: the l2 field is C¹ at the teacher)" if loss == "l2"
                   else f"Hessian at W* (exists: {activation} is smooth)")
    if convention == "exact":
        raise ValueError(
            "the exact Sobolev Hessian has no limit at the teacher (it grows like 1/θ): the exact "
            "flow reaches the cone in finite time; use convention='expected' for a local rate")
    if direction is None:
        raise ValueError("direction is required for the Sobolev field (its Jacobian at W* "
                         "depends on the direction of approach); pass e.g. W(t) − W*")
    D = np.asarray(direction, dtype=float).reshape(W_star.shape)
    norm = float(np.linalg.norm(D))
    if not math.isfinite(norm) or norm == 0:
        raise ValueError("direction must be a finite non-zero array of the shape of W_star")
    epsilon = offset * float(np.linalg.norm(W_star))
    how = (f"directional Jacobian J_D at W* + ε·D/|D|, ε = {offset:g}·‖W*‖_F "
           "(expected Sobolev field: not differentiable at W*)")
    try:
        J = theory.population_hessian(W_star + epsilon * D / norm, W_star, loss,
                                      convention=convention, sobolev_weight=sobolev_weight,
                                      activation=activation, **law)
    except theory.NonDifferentiableError:
        # D is (anti)parallel to a teacher row in some row: tilt it by 1e-3 (seeded) so that
        # the limit is taken along a nearby direction, and say so.
        tilt = np.random.default_rng(20250919).normal(size=D.shape)
        tilt -= np.sum(tilt * W_star, axis=1, keepdims=True) * W_star / np.sum(
            W_star**2, axis=1, keepdims=True)  # orthogonal to each teacher row
        D = D / norm + 1e-3 * tilt / np.linalg.norm(tilt)
        J = theory.population_hessian(W_star + epsilon * D / np.linalg.norm(D), W_star, loss,
                                      convention=convention, sobolev_weight=sobolev_weight,
                                      activation=activation, **law)
        how += "; D was radial in some row, so it was tilted by 1e-3 (seeded)"
    return J, how


def predicted_rate(W_star: ArrayLike, loss: str = "h1", *, convention: str = "expected",
                   sobolev_weight: float = 1.0, direction: ArrayLike | None = None,
                   offset: float = 1e-7, activation: str = "relu",
                   second_order_weight: float = 1.0,
                   input_covariance: ArrayLike | None = None) -> PredictedRate:
    """Predicted local rate μ = min Re λ(J) (module docstring says how J is taken);
    second_order_weight and input_covariance as in :func:`local_jacobian`."""
    if convention == "exact" and _has_cone(loss, sobolev_weight, activation):
        return PredictedRate(math.inf, np.array([math.inf]),
                             "exact Sobolev: cone singularity, finite-time arrival (no "
                             "exponential rate)")
    kwargs = dict(convention=convention, sobolev_weight=sobolev_weight, direction=direction,
                  activation=activation, second_order_weight=second_order_weight,
                  input_covariance=input_covariance)
    J, how = local_jacobian(W_star, loss, offset=offset, **kwargs)
    values = np.linalg.eigvals(J)
    rate = float(values.real.min())
    sensitivity = None
    if _has_cone(loss, sobolev_weight, activation):
        J10, _ = local_jacobian(W_star, loss, offset=10 * offset, **kwargs)
        sensitivity = abs(float(np.linalg.eigvals(J10).real.min()) - rate)
    return PredictedRate(rate, values[np.argsort(values.real)], how,
                         offset if sensitivity is not None else None, sensitivity)


def direction_range(W_star: ArrayLike, loss: str = "h1", *, sobolev_weight: float = 1.0,
                    n_directions: int = 100, seed: int = 0,
                    offset: float = 1e-7) -> tuple[float, float]:
    """(min, max) of the predicted expected-convention rate over ``n_directions`` random
    Gaussian directions (default 100: the rate at W* depends on the direction of approach, so
    quote its range, never one direction's value)."""
    _, W_star = as_student_teacher(W_star, W_star)
    rng = np.random.default_rng(seed)
    rates = [predicted_rate(W_star, loss, sobolev_weight=sobolev_weight, offset=offset,
                            direction=rng.normal(size=W_star.shape)).rate
             for _ in range(n_directions)]
    return float(min(rates)), float(max(rates))


def window_rate(J: ArrayLike, delta0: ArrayLike, t0: float, t1: float,
                n_points: int = 200) -> float:
    """Rate fitted over [t0, t1] to |exp(−J (t − t0)) δ0| exactly as the flow's fit is made."""
    J = np.asarray(J, dtype=float)
    delta0 = np.asarray(delta0, dtype=float).ravel()
    times = np.linspace(t0, t1, n_points)
    norms = [np.linalg.norm(expm(-J * (t - t0)) @ delta0) for t in times]
    return -float(linregress(times, np.log(norms)).slope)


@dataclass(frozen=True)
class RateComparison:
    """Measured flow rate vs predictions (asymptotic μ and like-for-like window rate)."""

    loss: str
    convention: str
    sobolev_weight: float
    measured: float | None
    measured_stderr: float | None
    fit_window: tuple[float, float] | None
    predicted: float
    predicted_window: float | None
    how: str
    offset_sensitivity: float | None
    status: str

    def as_dict(self) -> dict:
        return asdict(self)


def compare_flow_rate(W0: ArrayLike, W_star: ArrayLike, loss: str = "h1", *,
                      convention: str = "expected", sobolev_weight: float = 1.0,
                      flow: FlowResult | None = None, activation: str = "relu",
                      second_order_weight: float = 1.0, input_covariance: ArrayLike | None = None,
                      **flow_options) -> RateComparison:
    """Run (or reuse) gradient_flow and set its fitted rate beside the predictions.

    Needs K = K*. The approach direction D for the Sobolev prediction is W(t₁) − W*_π at the end
    t₁ of the fit window. flow_options go to numerics.gradient_flow; second_order_weight (μ of
    h2) and input_covariance (Σ) go to the flow and to the prediction alike.
    """
    W0, W_star = as_student_teacher(W0, W_star)
    if W0.shape[0] != W_star.shape[0]:
        raise ValueError("compare_flow_rate needs K = K* (a rate towards the teacher)")
    if flow is None:
        flow = gradient_flow(W0, W_star, loss, convention=convention,
                             sobolev_weight=sobolev_weight, activation=activation,
                             second_order_weight=second_order_weight,
                             input_covariance=input_covariance, **flow_options)
    law = dict(second_order_weight=second_order_weight, input_covariance=input_covariance)
    if flow.fit_window is None:
        prediction = predicted_rate(W_star, loss, convention=convention,
                                    sobolev_weight=sobolev_weight, activation=activation,
                                    direction=matched_difference(flow.W[-1], W_star), **law)
        return RateComparison(loss, convention, sobolev_weight, None, None, None,
                              prediction.rate, None, prediction.how,
                              prediction.offset_sensitivity, flow.status)
    t0, t1 = flow.fit_window
    k0, k1 = np.searchsorted(flow.t, t0), np.searchsorted(flow.t, t1)
    direction = matched_difference(flow.W[k1], W_star)
    prediction = predicted_rate(W_star, loss, convention=convention,
                                sobolev_weight=sobolev_weight, direction=direction,
                                activation=activation, **law)
    J, _ = local_jacobian(W_star, loss, convention=convention, sobolev_weight=sobolev_weight,
                          direction=direction, activation=activation, **law)
    window = window_rate(J, matched_difference(flow.W[k0], W_star), t0, t1)
    return RateComparison(loss, convention, sobolev_weight, flow.rate, flow.rate_stderr,
                          flow.fit_window, prediction.rate, window, prediction.how,
                          prediction.offset_sensitivity, flow.status)


def _best_contraction(eigenvalues: NDArray) -> tuple[float, float]:
    """(η*, ρ*) minimising max_k |1 − η λ_k| (bounded Brent on (0, 4/max|λ|))."""
    values = np.asarray(eigenvalues, dtype=complex)
    top = float(np.abs(values).max())
    result = minimize_scalar(lambda eta: float(np.abs(1 - eta * values).max()),
                             bounds=(0.0, 4.0 / top), method="bounded",
                             options={"xatol": 1e-10 / top})
    return float(result.x), float(result.fun)


def gd_contraction(W_star: ArrayLike, step: float, loss: str = "h1", *,
                   convention: str = "expected", sobolev_weight: float = 1.0,
                   start: float = 1e-3, seed: int = 0,
                   max_steps: int = 1500) -> tuple[float, NDArray[np.float64]]:
    """Per-step contraction ρ(η) of GD W ← W − η F(W) from W* + start·‖W*‖·Z/‖Z‖ (Z Gaussian).

    Power-iteration style: whenever ‖W − W*_π‖ leaves [1e-4, 1e2]·start·‖W*‖ the difference is
    rescaled back to start·‖W*‖ (the map is linear, or positively homogeneous at the Sobolev
    cone, at these scales), so the dominant mode of the linearised map wins in the end. ρ = exp
    of the mean per-step log ratio log(‖δ_{k+1}‖/‖δ_k‖) over the second half of ``max_steps``
    steps; ρ > 1 means the step is unstable.
    Returns (ρ, final difference W − W*_π).
    """
    _, W_star = as_student_teacher(W_star, W_star)
    scale = float(np.linalg.norm(W_star))
    Z = np.random.default_rng(seed).normal(size=W_star.shape)
    W = W_star + start * scale * Z / np.linalg.norm(Z)
    distance = start * scale
    ratios = []
    for _ in range(int(max_steps)):
        W = W - step * theory.population_gradient(W, W_star, loss, convention=convention,
                                                  sobolev_weight=sobolev_weight)
        difference = W - W_star  # the permutation is the identity this close to W*
        new = float(np.linalg.norm(difference))
        if not math.isfinite(new):
            raise ValueError(f"gradient descent with step {step:g} produced a non-finite iterate")
        if new == 0:
            return 0.0, difference
        ratios.append(math.log(new / distance))
        distance = new
        if distance < 1e-4 * start * scale or distance > 1e2 * start * scale:
            W = W - difference + difference * (start * scale / distance)
            distance = start * scale
    return float(math.exp(np.mean(ratios[len(ratios) // 2:]))), matched_difference(W, W_star)


@dataclass(frozen=True)
class GDConditioning:
    """κ implied by GD at its best constant step vs the predicted κ (module docstring).

    best_step/best_contraction: the minimum of the measured ρ(η) (grid, then bounded Brent when
    refined) and kappa_direct = (1 + ρ*)/(1 − ρ*). The direct minimum is biased low when the two
    slowest modes of I − ηJ decay alike (as they do at η*), so the V-shape of ρ(η) is also fitted
    away from its kink: left branch ρ = 1 − ημ at η̂·(0.5, 0.7), right branch ρ = ηL − 1 at
    η̂·(1.3, 1.5) give μ_GD, L_GD and kappa_measured = L_GD/μ_GD; branch_spread is the largest
    relative disagreement of the two points of a branch (0 for an exact V).
    """

    loss: str
    convention: str
    sobolev_weight: float
    best_step: float
    best_contraction: float
    kappa_direct: float
    mu_measured: float
    L_measured: float
    kappa_measured: float
    branch_spread: float
    predicted_step: float
    predicted_contraction: float
    mu_predicted: float
    L_predicted: float
    kappa_predicted: float
    how: str
    steps_per_measurement: int

    def as_dict(self) -> dict:
        return asdict(self)


def gd_condition_number(W_star: ArrayLike, loss: str = "h1", *, convention: str = "expected",
                        sobolev_weight: float = 1.0, start: float = 1e-3, seed: int = 0,
                        max_steps: int = 400, grid: int = 16,
                        refine: bool = False) -> GDConditioning:
    """Measure GD's contraction near W* and compare the implied κ with κ_pred = λ_max/λ_min.

    The η search: a geometric grid of ``grid`` steps on [0.01, 20] (independent of the
    prediction); with refine, bounded Brent between the best grid point's neighbours
    (xatol 1e-3·η). The Sobolev prediction uses the directional Jacobian along the GD's final
    approach direction at the best step. Exact Sobolev: no local κ (ValueError).
    """
    if convention == "exact" and _has_cone(loss, sobolev_weight):
        raise ValueError("no local condition number for the exact Sobolev field (cone at W*); "
                         "use convention='expected'")
    options = dict(loss=loss, convention=convention, sobolev_weight=sobolev_weight,
                   start=start, seed=seed, max_steps=max_steps)

    def rho(eta: float) -> float:
        return gd_contraction(W_star, eta, **options)[0]

    steps = np.geomspace(0.01, 20.0, grid)
    contractions = [rho(eta) for eta in steps]
    best = int(np.argmin(contractions))
    eta_best, rho_best = float(steps[best]), float(contractions[best])
    if refine:
        low, high = steps[max(best - 1, 0)], steps[min(best + 1, grid - 1)]
        result = minimize_scalar(rho, bounds=(low, high), method="bounded",
                                 options={"xatol": 1e-3 * eta_best})
        if float(result.fun) < rho_best:
            eta_best, rho_best = float(result.x), float(result.fun)
    mus = [(1 - rho(f * eta_best)) / (f * eta_best) for f in (0.5, 0.7)]
    Ls = [(1 + rho(f * eta_best)) / (f * eta_best) for f in (1.3, 1.5)]
    spread = max(abs(mus[0] - mus[1]) / abs(np.mean(mus)), abs(Ls[0] - Ls[1]) / np.mean(Ls))
    mu, L = float(np.mean(mus)), float(np.mean(Ls))
    _, final = gd_contraction(W_star, eta_best, **options)
    J, how = local_jacobian(W_star, loss, convention=convention, sobolev_weight=sobolev_weight,
                            direction=final if _has_cone(loss, sobolev_weight) else None)
    values = np.linalg.eigvals(J)
    eta_pred, rho_pred = _best_contraction(values)
    real = values.real
    kappa_pred = float(real.max() / real.min()) if real.min() > 0 else math.inf
    kappa_direct = (1 + rho_best) / (1 - rho_best) if rho_best < 1 else math.inf
    kappa_measured = L / mu if mu > 0 else math.inf
    return GDConditioning(loss, convention, float(sobolev_weight), eta_best, rho_best,
                          float(kappa_direct), mu, L, float(kappa_measured), float(spread),
                          eta_pred, rho_pred, float(real.min()), float(real.max()), kappa_pred,
                          how, int(max_steps))
