r"""Gradient flow dW/dt = −F(W) of the population loss, integrated with scipy's solve_ivp.

F is theory.population_gradient (convention "expected" — E_x of the pointwise gradient, what
training follows — or "exact" — the gradient of the population loss); implicit methods (Radau,
BDF, LSODA) receive the analytic Jacobian theory.population_hessian of the same convention.
Where that Jacobian does not exist (a student row (anti)parallel to another row: the Sobolev
cone) the call falls back to forward differences of F (scipy.optimize.approx_fprime) and the
fallback is counted in the result.

Stopping (events of solve_ivp): convergence when ‖F(W)‖_F <= gradient_tol; a row norm below
1e-8·scale (a neuron collapsed to 0, the model is undefined there); a row norm above 1e6·scale
(divergence, raises FlowError); for the exact Sobolev convention of a kinked activation (relu,
leaky relu), a pair reaching sin θ <= 1e-7:
the exact flow reaches the cone singularity in finite time (theory.reduced_flow), beyond which
it is a Filippov sliding motion that this integrator does not follow (status "singular").

Measured rate: the slope −d log q/dt fitted by least squares (scipy.stats.linregress, with its
standard error) over the window where q is between window[1]·scale and window[0]·scale, with q
the distance to the teacher minimised over neuron permutations (scipy.optimize.
linear_sum_assignment) when K = K*, scale = ‖W*‖_F; otherwise q = ‖F(W)‖_F, scale = ‖F(W0)‖_F.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import solve_ivp
from scipy.optimize import approx_fprime, linear_sum_assignment
from scipy.stats import linregress

import theory
from numerics.activations import get_activation
from theory.kernels import pair_geometry
from theory.validation import (
    as_student_teacher,
    check_convention,
    check_loss,
    check_sobolev_weight,
)

METHODS = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")
IMPLICIT_METHODS = ("Radau", "BDF", "LSODA")
#: sin θ at which the exact Sobolev flow is stopped as having reached the cone.
SINGULAR_SIN_TOL = 1e-7


class FlowError(ValueError):
    """The flow could not be completed (solver failure, divergence, evaluation budget).

    ``result`` holds the trajectory up to the failure when one exists, else None.
    """

    def __init__(self, message: str, result: FlowResult | None = None):
        super().__init__(message)
        self.result = result


class _Abort(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FlowResult:
    """A solved gradient flow.

    t: (n,) times; W: (n, K, d) trajectory; loss: (n,) population loss (closed form) of the flowed
    loss; gradient_norm: (n,) ‖F(W(t))‖_F; distance: (n,) permutation-minimised ‖W − W*‖_F when
    K = K*, else None. rate / rate_stderr: fitted asymptotic rate of ``fit_quantity`` (None with
    ``rate_note`` saying why when the window holds too few samples); fit_window: (t_start, t_end).
    status: "converged", "t_max", "singular" or "collapsed"; message explains it.
    max_loss_increase: max over consecutive samples of loss[k+1] − loss[k] (<= 0: monotone).
    """

    t: NDArray[np.float64]
    W: NDArray[np.float64]
    loss: NDArray[np.float64]
    gradient_norm: NDArray[np.float64]
    distance: NDArray[np.float64] | None
    rate: float | None
    rate_stderr: float | None
    fit_window: tuple[float, float] | None
    fit_quantity: str
    rate_note: str
    status: str
    message: str
    loss_name: str
    convention: str
    sobolev_weight: float
    method: str
    rtol: float
    atol: float
    nfev: int
    njev: int
    jacobian_fallbacks: int
    W_star: NDArray[np.float64] = field(repr=False, default=None)

    @property
    def max_loss_increase(self) -> float:
        return float(np.max(np.diff(self.loss), initial=-np.inf))

    def time_to(self, epsilon: float, quantity: str = "loss") -> float:
        """First time the quantity ("loss", "distance" or "gradient_norm") is <= epsilon,
        interpolated linearly in log between samples; math.inf if never reached."""
        values = getattr(self, quantity)
        if values is None:
            raise ValueError(f"quantity {quantity!r} is not available (needs K = K*)")
        below = np.flatnonzero(values <= epsilon)
        if below.size == 0:
            return math.inf
        k = int(below[0])
        if k == 0:
            return float(self.t[0])
        a, b = np.log(max(values[k - 1], 1e-300)), np.log(max(values[k], 1e-300))
        fraction = 1.0 if a == b else (a - np.log(epsilon)) / (a - b)
        return float(self.t[k - 1] + fraction * (self.t[k] - self.t[k - 1]))


def matched_distance(W: ArrayLike, W_star: ArrayLike) -> float:
    """min over permutations π of ‖W − W*_π‖_F (K = K*), by linear_sum_assignment."""
    W = np.asarray(W, dtype=float)
    W_star = np.asarray(W_star, dtype=float)
    cost = ((W[:, None, :] - W_star[None, :, :]) ** 2).sum(axis=-1)
    rows, cols = linear_sum_assignment(cost)
    return float(math.sqrt(cost[rows, cols].sum()))


def matched_difference(W: ArrayLike, W_star: ArrayLike) -> NDArray[np.float64]:
    """W − W*_π for the permutation π minimising ‖W − W*_π‖_F (K = K*), shape (K, d)."""
    W = np.asarray(W, dtype=float)
    W_star = np.asarray(W_star, dtype=float)
    cost = ((W[:, None, :] - W_star[None, :, :]) ** 2).sum(axis=-1)
    rows, cols = linear_sum_assignment(cost)
    return W[rows] - W_star[cols]


def _min_pair_sin(W: NDArray[np.float64], W_star: NDArray[np.float64]) -> float:
    teacher = pair_geometry(W[:, None, :], W_star[None, :, :]).sin
    values = [teacher.min()]
    if W.shape[0] > 1:
        student = pair_geometry(W[:, None, :], W[None, :, :]).sin
        values.append(student[~np.eye(W.shape[0], dtype=bool)].min())
    return float(min(values))


def _check_positive(name: str, value: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number; got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{name} must be finite and > 0; got {value!r}")
    return number


def _fit_rate(t, q, scale, window):
    upper, lower = window[0] * scale, window[1] * scale
    inside = (q <= upper) & (q >= lower) & (q > 0)
    if inside.sum() < 5:
        return None, None, None, (
            f"too few samples ({int(inside.sum())}) with {lower:.1e} <= q <= {upper:.1e}; "
            "increase t_max or lower gradient_tol")
    fit = linregress(t[inside], np.log(q[inside]))
    window_t = (float(t[inside][0]), float(t[inside][-1]))
    return (-float(fit.slope), float(fit.stderr), window_t,
            f"least-squares slope of log q over q in [{lower:.1e}, {upper:.1e}] "
            f"({int(inside.sum())} samples)")


def gradient_flow(W0: ArrayLike, W_star: ArrayLike, loss: str = "h1", *,
                  convention: str = "expected", sobolev_weight: float = 1.0,
                  t_max: float = 200.0, rtol: float = 1e-10, atol: float = 1e-13,
                  method: str = "DOP853", gradient_tol: float = 1e-10,
                  window: tuple[float, float] = (1e-3, 1e-8), n_samples: int = 200,
                  max_evaluations: int = 200_000, activation: str = "relu") -> FlowResult:
    """Integrate dW/dt = −F(W), F = theory.population_gradient(convention), from W0.

    Args:
        W0: initial student (K, d) (or (d,)); W_star: teacher (K*, d).
        loss, convention, sobolev_weight: as in theory.population_gradient.
        t_max: final time; rtol, atol: solve_ivp tolerances (rtol >= 100·eps).
        method: a solve_ivp method; implicit ones get the analytic Jacobian.
        gradient_tol: convergence event ‖F(W)‖_F <= gradient_tol.
        window: (upper, lower) bounds of the rate-fit window, relative to the scale of q
            (see the module docstring).
        n_samples: uniform output times added to the solver's own steps.
        max_evaluations: budget of field evaluations; exceeding it raises FlowError.
        activation: σ of student and teacher, any spec theory has closed forms for ("relu",
            "leaky_relu(0.1)", "gelu", "erf", "sine"). Smooth σ have no cone singularity, so
            the exact convention gets no "singular" stop event.
    Returns:
        FlowResult (see its docstring).
    Raises:
        ValueError for bad arguments; FlowError (a ValueError) when the solver fails, the
        trajectory diverges, or the evaluation budget is exhausted.
    """
    W0, W_star = as_student_teacher(W0, W_star)
    check_loss(loss)
    check_convention(convention)
    weight = check_sobolev_weight(sobolev_weight)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    t_max = _check_positive("t_max", t_max)
    rtol = _check_positive("rtol", rtol)
    atol = _check_positive("atol", atol)
    gradient_tol = _check_positive("gradient_tol", gradient_tol)
    if rtol < 100 * np.finfo(float).eps or rtol >= 1:
        raise ValueError(f"rtol must lie in [100·eps ≈ 2.2e-14, 1); got {rtol!r}")
    if not (len(window) == 2 and 0 < window[1] < window[0]):
        raise ValueError(f"window must be (upper, lower) with 0 < lower < upper; got {window!r}")
    if int(n_samples) < 2:
        raise ValueError(f"n_samples must be >= 2; got {n_samples!r}")
    if int(max_evaluations) < 10:
        raise ValueError(f"max_evaluations must be >= 10; got {max_evaluations!r}")

    K, d = W0.shape
    act = get_activation(activation)
    activation, kinked = act.name, not act.is_smooth
    options = dict(convention=convention, sobolev_weight=weight, activation=activation)
    scale = float(np.linalg.norm(W0) + np.linalg.norm(W_star))
    singular_flow = convention == "exact" and loss != "l2" and weight > 0 and kinked
    counters = {"nfev": 0, "njev": 0, "fallbacks": 0}
    initial_field = theory.population_gradient(W0, W_star, loss, **options)  # may raise

    def field_of(y):
        counters["nfev"] += 1
        if counters["nfev"] > max_evaluations:
            raise _Abort(
                f"the solver exceeded max_evaluations={max_evaluations} field evaluations; "
                f"rtol={rtol:g}/atol={atol:g} may be too tight for method {method!r}, or t_max "
                "too long: loosen the tolerances, shorten t_max or raise max_evaluations")
        if not np.all(np.isfinite(y)):
            raise _Abort("the state became non-finite (the trajectory diverged)")
        try:
            return theory.population_gradient(y.reshape(K, d), W_star, loss, **options)
        except theory.NonDifferentiableError as exc:
            raise _Abort(f"the field is undefined at a trial point of the solver: {exc}") from exc
        except ValueError as exc:
            raise _Abort(f"the field could not be evaluated at a trial point: {exc}") from exc

    def rhs(_t, y):
        return -field_of(y).ravel()

    def jac(_t, y):
        counters["njev"] += 1
        try:
            return -theory.population_hessian(y.reshape(K, d), W_star, loss, **options)
        except theory.NonDifferentiableError:
            counters["fallbacks"] += 1
            return approx_fprime(y, lambda z: rhs(0.0, z), 1e-7 * max(1.0, scale))

    def converged(_t, y):
        return math.log(max(float(np.linalg.norm(field_of(y))), 1e-300)) - math.log(gradient_tol)

    def collapsed(_t, y):
        return float(np.linalg.norm(y.reshape(K, d), axis=1).min()) - 1e-8 * scale

    def diverged(_t, y):
        return 1e6 * scale - float(np.linalg.norm(y.reshape(K, d), axis=1).max())

    def singular(_t, y):
        return _min_pair_sin(y.reshape(K, d), W_star) - SINGULAR_SIN_TOL

    events = [converged, collapsed, diverged] + ([singular] if singular_flow else [])
    for event in events:
        event.terminal = True
        event.direction = -1
    if np.linalg.norm(initial_field) <= gradient_tol:
        t_max = 1e-12 * t_max  # already converged: record the initial point only
    extra = {"jac": jac} if method in IMPLICIT_METHODS else {}
    try:
        solution = solve_ivp(rhs, (0.0, t_max), W0.ravel(), method=method, rtol=rtol, atol=atol,
                             events=events, dense_output=True, **extra)
    except _Abort as abort:
        raise FlowError(f"gradient_flow ({loss}, {convention}, {method}) stopped: "
                        f"{abort.message}") from None
    if solution.status == -1:
        raise FlowError(f"gradient_flow ({loss}, {convention}, {method}): the solver failed at "
                        f"t = {solution.t[-1]:.6g}: {solution.message}. Try another method "
                        "(e.g. 'LSODA' or 'Radau'), looser rtol/atol, or a smaller t_max.")
    t_end = float(solution.t[-1])
    status, message = "t_max", f"reached t_max = {t_max:g} before the convergence event"
    if solution.status == 1:
        hit = events[[i for i, times in enumerate(solution.t_events) if len(times)][0]]
        if hit is converged:
            status, message = "converged", (
                f"converged: ‖F(W)‖_F <= gradient_tol = {gradient_tol:g} at t = {t_end:.6g}")
        elif hit is collapsed:
            status, message = "collapsed", (
                f"a student neuron collapsed to |w| <= {1e-8 * scale:.1e} at t = {t_end:.6g} "
                "(the model is undefined at w = 0)")
        elif hit is singular:
            status, message = "singular", (
                f"the exact Sobolev flow reached the cone singularity (a pair with sin θ <= "
                f"{SINGULAR_SIN_TOL:g}) in finite time t = {t_end:.6g}; beyond it the exact flow "
                "slides along the cone (Filippov), which this integrator does not follow — use "
                "convention='expected', or theory.reduced_flow for one neuron")
        else:
            status, message = "diverged", (
                f"a row norm exceeded 1e6·(‖W0‖+‖W*‖) at t = {t_end:.6g}: the flow diverged")

    times = np.union1d(solution.t, np.linspace(0.0, t_end, int(n_samples)))
    states = solution.sol(times).T
    states[np.searchsorted(times, solution.t)] = solution.y.T  # exact solver points
    W = states.reshape(-1, K, d)
    losses = np.array([theory.population_loss(w, W_star, loss, sobolev_weight=weight,
                                              activation=activation) for w in W])
    if singular_flow:
        grad_norms = np.full(len(W), np.nan)
        for k, w in enumerate(W):
            try:
                grad_norms[k] = np.linalg.norm(theory.population_gradient(w, W_star, loss,
                                                                          **options))
            except theory.NonDifferentiableError:
                pass
    else:
        grad_norms = np.array([np.linalg.norm(theory.population_gradient(w, W_star, loss,
                                                                         **options)) for w in W])
    distance = None
    if K == W_star.shape[0]:
        distance = np.array([matched_distance(w, W_star) for w in W])
        quantity, q, q_scale = "distance", distance, float(np.linalg.norm(W_star))
    else:
        quantity, q, q_scale = "gradient_norm", grad_norms, float(np.linalg.norm(initial_field))
    finite = np.isfinite(q)
    rate, stderr, fit_window, note = _fit_rate(times[finite], q[finite], q_scale, window)
    result = FlowResult(times, W, losses, grad_norms, distance, rate, stderr, fit_window,
                        quantity, note, status, message, loss, convention, weight, method,
                        rtol, atol, counters["nfev"], counters["njev"], counters["fallbacks"],
                        W_star)
    if status == "diverged":
        raise FlowError(f"gradient_flow ({loss}, {convention}): {message}", result)
    return result
