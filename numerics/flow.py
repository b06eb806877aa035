r"""Gradient flow dW/dt = −F(W) of the population loss, integrated by scipy's ODE solvers.

Why one file of ~640 lines: the step-by-step driver, its field cache, the stop rules and the
rate fit read the same solver state; they are one object's life cycle.

The solver (scipy.integrate.RK45, DOP853, Radau, ... — the classes behind solve_ivp) is driven
step by step, so the flow takes exactly the steps of solve_ivp with the same method, tolerances
and span (t_eval=None), and makes the same field evaluations.

F is theory.population_gradient (convention "expected" — E_x of the pointwise gradient, what
training follows — or "exact" — the gradient of the population loss); implicit methods (Radau,
BDF, LSODA) receive the analytic Jacobian theory.population_hessian of the same convention.
Where that Jacobian does not exist (a student row (anti)parallel to another row: the Sobolev
cone) the call falls back to forward differences of F (scipy.optimize.approx_fprime) and the
fallback is counted in the result.

Stopping (status): "converged" when ‖F(W)‖_F <= max(gradient_tol, gradient_rtol·‖F(W0)‖_F)
(the message says which tolerance); "plateau" when ‖F‖ has fallen below 1e-6·‖F(W0)‖ and has
not halved for 5 times the median of its last halving times — the floor that the solver's
tolerances and rounding put under ‖F‖ (about λ_max·rtol·‖W‖), so a smaller gradient_tol would
only integrate on in place; "collapsed" at a row norm below 1e-8·scale (a neuron collapsed to 0,
the model is undefined there); a row norm above 1e6·scale (divergence, raises FlowError); for
the exact Sobolev convention of a kinked activation (relu, leaky relu), "singular" at a pair
reaching sin θ <= 1e-7: the exact flow reaches the cone singularity in finite time
(theory.reduced_flow), beyond which it is a Filippov sliding motion that this integrator does
not follow; "t_max" otherwise. The conditions are checked at every accepted step; one that falls
from > 0 to <= 0 inside a step is located on the step's dense output by brentq (as solve_ivp's
terminal events are), the plateau stops at the step where it is detected.

Output: the solver's accepted steps (non-uniform: dense where the flow is fast), the point of
a located stop, and, only on request (n_samples), uniform output times computed from the
solver's dense output.

Cost: the convergence check reads the field the step has just computed (a cache keyed by the
state; RK45, RK23 and DOP853 evaluate F at the step's end point) and the geometric stops are a
few norms per step, so without n_samples the flow makes exactly the field evaluations of the
bare solver, plus, once, the dense output and brentq evaluations that locate a convergence
stop inside its step. Uniform output times cost DOP853 3 extra field evaluations per step
holding one (RK45 and RK23 build their dense output from the step's stages: free). The loss at
the output times, and ‖F‖ at output times that are not solver steps, are evaluated on first
access.

Measured rate: the slope −d log q/dt fitted by least squares (scipy.stats.linregress, with its
standard error) over the window where q is between window[1]·scale and window[0]·scale, with q
the distance to the teacher minimised over neuron permutations (scipy.optimize.
linear_sum_assignment) when K = K*, scale = ‖W*‖_F; otherwise q = ‖F(W)‖_F, scale = ‖F(W0)‖_F;
it needs MIN_FIT_SAMPLES = 3 output samples in the window. The samples are the output points
(by default the solver's steps), so the fit weighs the window as the solver's steps do.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

import theory
from numerics.activations import get_activation
from theory.kernels import pair_geometry
from theory.validation import (
    as_student_teacher,
    check_convention,
    check_population_loss,
    check_second_order_weight,
    check_sobolev_weight,
    loss_weights,
)

METHODS = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")
IMPLICIT_METHODS = ("Radau", "BDF", "LSODA")
#: sin θ at which the exact Sobolev flow is stopped as having reached the cone.
SINGULAR_SIN_TOL = 1e-7
#: Plateau rule: ‖F‖ below PLATEAU_BELOW·‖F(W0)‖ that has not halved for PLATEAU_PATIENCE times
#: the median of its last halving times.
PLATEAU_BELOW = 1e-6
PLATEAU_PATIENCE = 5.0
EPS = float(np.finfo(float).eps)
#: Fewest output samples in the fit window for a rate: 3 solver points leave the least-squares
#: line one residual degree of freedom for its standard error. (Interpolated output samples add
#: no information beyond the solver points they are interpolated from.)
MIN_FIT_SAMPLES = 3


class FlowError(ValueError):
    """The flow could not be completed (solver failure, divergence, evaluation budget).

    ``result`` holds the trajectory up to the failure when one exists, else None.
    """

    def __init__(self, message: str, result: FlowResult | None = None):
        super().__init__(message)
        self.result = result


class _Outputs:
    """Loss and field norms at the output states, evaluated once, on first access (integrating
    pays for the solve only). Plain data, so a FlowResult pickles (sweep workers)."""

    def __init__(self, W, W_star, loss, options, gradient_norm):
        self.W, self.W_star, self.loss, self.options = W, W_star, loss, options
        self.values = {}
        self.known_norms = gradient_norm  # NaN where not yet evaluated

    def get(self, name: str) -> NDArray[np.float64]:
        if name not in self.values:
            self.values[name] = self._loss() if name == "loss" else self._gradient_norm()
        return self.values[name]

    def _loss(self) -> NDArray[np.float64]:
        law = {key: value for key, value in self.options.items() if key != "convention"}
        return np.array([theory.population_loss(w, self.W_star, self.loss, **law)
                         for w in self.W])

    def _gradient_norm(self) -> NDArray[np.float64]:
        norms = self.known_norms.copy()
        for k in np.flatnonzero(np.isnan(norms)):
            try:
                norms[k] = np.linalg.norm(theory.population_gradient(self.W[k], self.W_star,
                                                                     self.loss, **self.options))
            except theory.NonDifferentiableError:
                pass
        return norms


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
    status: "converged", "plateau", "t_max", "singular" or "collapsed"; message explains it
    (for "converged": which tolerance, absolute or relative, was met).
    Output times are the solver's accepted steps, the end point of a stop located inside a
    step, and, when n_samples is given, the n_samples uniform times of [0, t_max] reached before
    the flow stopped (from the solver's dense output). nfev counts every field evaluation of the
    flow, the one at W0 included (as solve_ivp's nfev does).
    max_loss_increase: max over consecutive samples of loss[k+1] − loss[k] (<= 0: monotone).
    """

    t: NDArray[np.float64]
    W: NDArray[np.float64]
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
    outputs: _Outputs | None = field(repr=False, compare=False, default=None)

    @property
    def loss(self) -> NDArray[np.float64]:
        """(n,) population loss (closed form) at every output time, evaluated on first access."""
        return self.outputs.get("loss")

    @property
    def gradient_norm(self) -> NDArray[np.float64]:
        """(n,) ‖F(W(t))‖_F at every output time (NaN where F does not exist); known at the
        solver's steps, evaluated at the other output times on first access."""
        return self.outputs.get("gradient_norm")

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
    from scipy.optimize import linear_sum_assignment  # scipy imported on use (start-up time)

    cost = ((W[:, None, :] - W_star[None, :, :]) ** 2).sum(axis=-1)
    rows, cols = linear_sum_assignment(cost)
    return float(math.sqrt(cost[rows, cols].sum()))


def matched_difference(W: ArrayLike, W_star: ArrayLike) -> NDArray[np.float64]:
    """W − W*_π for the permutation π minimising ‖W − W*_π‖_F (K = K*), shape (K, d)."""
    W = np.asarray(W, dtype=float)
    W_star = np.asarray(W_star, dtype=float)
    from scipy.optimize import linear_sum_assignment

    cost = ((W[:, None, :] - W_star[None, :, :]) ** 2).sum(axis=-1)
    rows, cols = linear_sum_assignment(cost)
    return W[rows] - W_star[cols]


#: sup |σ(t)/t|, sup |σ'| and sup |σ''| over the activations theory and numerics know (relu,
#: leaky relu, gelu, erf, sine, tanh): the largest is 2/√π ≈ 1.128 (erf; gelu' peaks at 1.129).
ACTIVATION_SLOPE_BOUND = 1.13


def loss_rounding_bound(W: ArrayLike, W_star: ArrayLike, loss: str = "l2", *,
                        sobolev_weight: float = 1.0, second_order_weight: float = 1.0,
                        input_covariance: ArrayLike | None = None) -> float:
    """A priori bound on the rounding error of the closed-form population loss at (W, W*).

    The loss is a signed sum over the n = (K + K*)² neuron pairs (a, b) of Gaussian pair terms
    E[σ(a·x)σ(b·x)] (l2), E[σ'(a·x)σ'(b·x)] a·b (Sobolev term, weight λ) and
    E[σ''(a·x)σ''(b·x)] (a·b)² (second-order term, weight μ). By Cauchy–Schwarz, with
    c = ACTIVATION_SLOPE_BOUND (c ≥ sup|σ(t)/t|, sup|σ'|, sup|σ''|) and s² the largest eigenvalue
    of the input covariance Σ (1 for x ~ N(0, I)), the terms' absolute values sum to at most

        S = c² s² (1 + λ) (Σ_i ‖a_i‖)² + μ c² s⁴ (Σ_i ‖a_i‖²)²

    over the rows a_i of W and W*. Summing n terms in floating point loses at most n·eps·S, and
    each term's own evaluation (arctan2, sqrt, erf) a few eps of its size; the bound returned is
    2(n + 10)·eps·S. A computed loss whose absolute value is below it is rounding noise: the
    population loss is >= 0, so such a value is reported as 0 "within the rounding bound".
    """
    W = np.atleast_2d(np.asarray(W, dtype=float))
    W_star = np.atleast_2d(np.asarray(W_star, dtype=float))
    rows = np.concatenate([W, W_star])
    norms = np.linalg.norm(rows, axis=1)
    spread = 1.0
    if input_covariance is not None:
        spread = float(np.max(np.linalg.eigvalsh(np.asarray(input_covariance, dtype=float))))
    c0, c1, c2_weight = loss_weights(loss, sobolev_weight, second_order_weight)
    c2 = ACTIVATION_SLOPE_BOUND ** 2
    total = c2 * spread * (c0 + c1) * float(norms.sum()) ** 2
    total += c2_weight * c2 * spread ** 2 * float((norms ** 2).sum()) ** 2
    n = rows.shape[0] ** 2
    return 2.0 * (n + 10) * EPS * total


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
    if inside.sum() < MIN_FIT_SAMPLES:
        return None, None, None, (
            f"too few samples ({int(inside.sum())} < {MIN_FIT_SAMPLES}) with {lower:.1e} <= q "
            f"<= {upper:.1e}; increase t_max or lower gradient_tol")
    from scipy.stats import linregress

    fit = linregress(t[inside], np.log(q[inside]))
    window_t = (float(t[inside][0]), float(t[inside][-1]))
    return (-float(fit.slope), float(fit.stderr), window_t,
            f"least-squares slope of log q over q in [{lower:.1e}, {upper:.1e}] "
            f"({int(inside.sum())} samples)")


def gradient_flow(W0: ArrayLike, W_star: ArrayLike, loss: str = "h1", *,
                  convention: str = "expected", sobolev_weight: float = 1.0,
                  t_max: float = 200.0, rtol: float = 1e-10, atol: float = 1e-13,
                  method: str = "DOP853", gradient_tol: float = 1e-10,
                  window: tuple[float, float] = (1e-3, 1e-8), n_samples: int | None = None,
                  max_evaluations: int = 200_000, gradient_rtol: float = 0.0,
                  stop_on_plateau: bool = True, activation: str = "relu",
                  second_order_weight: float = 1.0,
                  input_covariance: ArrayLike | None = None) -> FlowResult:
    """Integrate dW/dt = −F(W), F = theory.population_gradient(convention), from W0.

    Args:
        W0: initial student (K, d) (or (d,)); W_star: teacher (K*, d).
        loss, convention, sobolev_weight: as in theory.population_gradient.
        t_max: final time; rtol, atol: solve_ivp tolerances (rtol >= 100·eps).
        method: a solve_ivp method; implicit ones get the analytic Jacobian.
        gradient_tol, gradient_rtol: convergence event
            ‖F(W)‖_F <= max(gradient_tol, gradient_rtol·‖F(W0)‖_F) (absolute, or relative to
            the field's initial scale); the message says which one stopped the flow.
        stop_on_plateau: stop (status "plateau") when ‖F‖ has fallen below
            PLATEAU_BELOW·‖F(W0)‖ and then not halved for PLATEAU_PATIENCE times its recent
            halving time: the floor that rtol/atol and rounding put under ‖F‖, above a
            too-small gradient_tol (module docstring).
        window: (upper, lower) bounds of the rate-fit window, relative to the scale of q
            (see the module docstring).
        n_samples: None (default): output at the solver's own steps only. An integer n >= 2:
            add the n uniform times of [0, t_max] reached before the flow stops, interpolated
            by the solver's dense output — with DOP853 that costs 3 extra field evaluations per
            step holding one (RK45/RK23: none).
        max_evaluations: budget of field evaluations; exceeding it raises FlowError.
        activation: σ of student and teacher, any spec theory has closed forms for ("relu",
            "leaky_relu(0.1)", "gelu", "erf", "sine"). Smooth σ have no cone singularity, so
            the exact convention gets no "singular" stop event.
        second_order_weight: μ in h2 = L + λJ + μJ₂ (loss "h2" or "sobolev2"; needs a smooth
            activation), as in theory.population_gradient.
        input_covariance: Σ of x ~ N(0, Σ) ((d, d) symmetric positive definite; None = I),
            passed to every theory call (field, Jacobian, loss).
    Returns:
        FlowResult (see its docstring).
    Raises:
        ValueError for bad arguments; FlowError (a ValueError) when the solver fails, the
        trajectory diverges, or the evaluation budget is exhausted.
    """
    W0, W_star = as_student_teacher(W0, W_star)
    check_population_loss(loss)
    check_convention(convention)
    weight = check_sobolev_weight(sobolev_weight)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    t_max = _check_positive("t_max", t_max)
    rtol = _check_positive("rtol", rtol)
    atol = _check_positive("atol", atol)
    gradient_tol = _check_positive("gradient_tol", gradient_tol)
    if not (isinstance(gradient_rtol, (int, float)) and 0 <= gradient_rtol < 1):
        raise ValueError(f"gradient_rtol must be a number in [0, 1); got {gradient_rtol!r}")
    if rtol < 100 * np.finfo(float).eps or rtol >= 1:
        raise ValueError(f"rtol must lie in [100·eps ≈ 2.2e-14, 1); got {rtol!r}")
    if not (isinstance(window, (tuple, list)) and len(window) == 2
            and all(isinstance(x, (int, float)) for x in window) and 0 < window[1] < window[0]):
        raise ValueError(f"window must be (upper, lower) with 0 < lower < upper; got {window!r}")
    for name, value, least in (("n_samples", n_samples, 2),
                               ("max_evaluations", max_evaluations, 10)):
        if name == "n_samples" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(f"{name} must be an integer >= {least}" +
                             (" or None (the solver's steps only)" if name == "n_samples" else "")
                             + f"; got {value!r}")

    law = dict(sobolev_weight=weight,
               second_order_weight=check_second_order_weight(second_order_weight))
    if input_covariance is not None:
        law["input_covariance"] = input_covariance
    try:  # the losses along the path must fit in float64 (loss(cW0, cW*) = c²·loss(W0, W*))
        theory.population_loss(W0, W_star, loss, activation=activation, **law)
    except ValueError as exc:
        if "float64" not in str(exc):  # a bad loss/activation/Σ: theory's message names it
            raise
        from theory.activations import get_activation as closed_form

        if not closed_form(activation).homogeneous:  # the smooth range: theory's message
            raise ValueError(f"gradient_flow: {exc}") from None
        raise ValueError(f"gradient_flow: W0 and W_star are too large for float64: {exc}. The "
                         "flow is scale-equivariant (W(t) for cW0, cW* is c·W(t)): integrate "
                         "from W0/c, W_star/c and scale the trajectory back") from None

    K, d = W0.shape
    from scipy.integrate import BDF, DOP853, LSODA, RK23, RK45, Radau
    from scipy.optimize import approx_fprime, brentq

    solvers = {"RK45": RK45, "RK23": RK23, "DOP853": DOP853, "Radau": Radau, "BDF": BDF,
               "LSODA": LSODA}
    act = get_activation(activation)
    activation, kinked = act.name, not act.is_smooth
    options = dict(convention=convention, activation=activation, **law)
    scale = float(np.linalg.norm(W0) + np.linalg.norm(W_star))
    singular_flow = convention == "exact" and loss != "l2" and weight > 0 and kinked
    counters = {"nfev": 1, "njev": 0, "fallbacks": 0}  # nfev counts the field at W0
    # W* and the settings are validated once; each call checks only the state (theory.fast_field)
    field = theory.gradient_field(W_star, loss, **options)
    initial_field = field(W0)  # may raise
    initial_norm = float(np.linalg.norm(initial_field))
    threshold = max(gradient_tol, gradient_rtol * initial_norm)
    y0 = W0.ravel().astype(float)
    # Fields already computed are not computed again: the solver's first call is at W0, and the
    # convergence check at each step end reads the field of the state the step has just
    # evaluated. Explicit Runge-Kutta methods evaluate the step end last (FSAL), so one slot
    # (a copy of the last state and its field) serves them; the others keep the last 32 fields
    # by state (a bytes key per call costs the explicit methods ~3% of a K = 10 flow).
    last: dict[str, Any] = {"y": y0.copy(), "F": initial_field}
    cache: OrderedDict[bytes, NDArray[np.float64]] | None = (
        None if method in ("RK45", "RK23", "DOP853") else
        OrderedDict([(y0.tobytes(), initial_field)]))

    def known_field(y):
        """The field at state y if it was computed already (see above), else None."""
        if cache is None:
            return last["F"] if np.array_equal(y, last["y"]) else None
        return cache.get(y.tobytes())

    def remember(y, value) -> None:
        if cache is None:
            last["y"], last["F"] = y.copy(), value
            return
        cache[y.tobytes()] = value
        if len(cache) > 32:
            cache.popitem(last=False)

    def field_of(y, lookup: bool = True):
        if lookup:
            value = known_field(y)
            if value is not None:
                return value
        counters["nfev"] += 1
        if counters["nfev"] > max_evaluations:
            raise _Abort(
                f"the solver exceeded max_evaluations={max_evaluations} field evaluations; "
                f"rtol={rtol:g}/atol={atol:g} may be too tight for method {method!r}, or t_max "
                "too long: loosen the tolerances, shorten t_max or raise max_evaluations")
        try:  # theory validates the state (finite entries) on every call
            value = field(y.reshape(K, d))
        except theory.NonDifferentiableError as exc:
            raise _Abort(f"the field is undefined at a trial point of the solver: {exc}") from exc
        except ValueError as exc:
            if not np.all(np.isfinite(y)):
                raise _Abort("the state became non-finite (the trajectory diverged)") from None
            raise _Abort(f"the field could not be evaluated at a trial point: {exc}") from exc
        remember(y, value)
        return value

    first_call = [True]

    def rhs(_t, y):
        # an explicit method's stages are new states, except its first call (at W0)
        lookup = cache is not None or first_call[0]
        first_call[0] = False
        return -field_of(y, lookup).ravel()

    def jac(_t, y):
        counters["njev"] += 1
        try:
            return -theory.population_hessian(y.reshape(K, d), W_star, loss, **options)
        except theory.NonDifferentiableError:
            counters["fallbacks"] += 1
            return approx_fprime(y, lambda z: rhs(0.0, z), 1e-7 * max(1.0, scale))

    # Stop conditions, each g(t, y) with a stop where g falls from > 0 to <= 0 within a step
    # (solve_ivp's terminal events with direction −1), located on the step's dense output by
    # brentq as solve_ivp does. The geometric ones cost a few vector norms per step; the
    # convergence check reads the field at the step end (a cache hit).
    def converged_g(y):
        return math.log(max(float(np.linalg.norm(field_of(y))), 1e-300)) - math.log(threshold)

    def row_norms(y):
        rows = y.reshape(K, d)
        return np.sqrt(np.einsum("kd,kd->k", rows, rows))

    def collapsed_g(y):
        return float(row_norms(y).min()) - 1e-8 * scale

    def diverged_g(y):
        return 1e6 * scale - float(row_norms(y).max())

    def singular_g(y):
        return _min_pair_sin(y.reshape(K, d), W_star) - SINGULAR_SIN_TOL

    stops = {"collapsed": collapsed_g, "diverged": diverged_g, "converged": converged_g}
    if singular_flow:
        stops["singular"] = singular_g

    def geometric_hits(y) -> list[str]:
        """The geometric stops (row norms, pair angles) whose g fell to <= 0 in this step."""
        rows = row_norms(y)
        values = {"collapsed": float(rows.min()) - 1e-8 * scale,
                  "diverged": 1e6 * scale - float(rows.max())}
        if singular_flow:
            values["singular"] = singular_g(y)
        hits = [name for name, value in values.items() if previous[name] >= 0 >= value]
        previous.update(values)
        return hits

    previous = {name: stops[name](y0) for name in ("collapsed", "diverged", "singular")
                if name in stops}

    # Plateau monitor, updated once per accepted step.
    monitor = {"best": initial_norm, "halvings": [(0.0, initial_norm)]}

    def plateau_reached(t: float, norm: float) -> bool:
        monitor["best"] = min(monitor["best"], norm)
        halvings = monitor["halvings"]
        if norm <= 0.5 * halvings[-1][1]:
            halvings.append((t, norm))
            return False
        if (stop_on_plateau and len(halvings) >= 4
                and monitor["best"] <= PLATEAU_BELOW * initial_norm):
            times = [time for time, _ in halvings[-6:]]
            recent = [later - earlier for earlier, later in itertools.pairwise(times)]
            return t - halvings[-1][0] > PLATEAU_PATIENCE * statistics.median(recent)
        return False

    times: list[float] = [0.0]
    states: list[NDArray[np.float64]] = [y0]
    norms: list[float] = [initial_norm]
    uniform = (np.linspace(0.0, t_max, int(n_samples))[1:] if n_samples is not None
               else np.empty(0))
    next_uniform = 0
    extra_times: list[float] = []  # uniform output times and the point of a located stop
    extra_states: list[NDArray[np.float64]] = []
    converged_at_start = initial_norm <= threshold
    status = "converged" if converged_at_start else "t_max"
    t_end = 0.0
    try:
        if not converged_at_start:  # else W0 is a stationary point: record it only
            solver = solvers[method](rhs, 0.0, y0, t_max, rtol=rtol, atol=atol,
                                     **({"jac": jac} if method in IMPLICIT_METHODS else {}))
            while solver.status == "running":
                solver_message = solver.step()
                if solver.status == "failed":
                    raise FlowError(
                        f"gradient_flow ({loss}, {convention}, {method}): the solver failed at "
                        f"t = {solver.t:.6g}: {solver_message}. Try another method (e.g. "
                        "'LSODA' or 'Radau'), looser rtol/atol, or a smaller t_max.")
                t_old, t, y = solver.t_old, solver.t, solver.y
                norm = float(np.linalg.norm(field_of(y)))
                hits = []  # the stops whose condition was met inside this step
                if norm <= threshold:
                    hits.append("converged")
                hits += geometric_hits(y)
                interpolant = None
                if hits:
                    interpolant = solver.dense_output()
                    located = []
                    for name in hits:
                        located.append((brentq(lambda s, g=stops[name], sol=interpolant: g(sol(s)),
                                               t_old, t, xtol=4 * EPS, rtol=4 * EPS), name))
                    t_end, status = min(located)
                    t = t_end
                elif plateau_reached(t, norm):
                    status, t_end = "plateau", t
                if next_uniform < uniform.size and uniform[next_uniform] <= t:
                    upto = int(np.searchsorted(uniform, t, side="right"))
                    pending = uniform[next_uniform:upto]
                    pending = pending[pending != t]  # the step's (or the stop's) own point
                    next_uniform = upto
                    if pending.size:
                        if interpolant is None:
                            interpolant = solver.dense_output()
                        extra_times.extend(pending.tolist())
                        extra_states.extend(interpolant(pending).T)
                if hits:
                    extra_times.append(t_end)
                    extra_states.append(interpolant(t_end))
                    break
                times.append(t)
                states.append(np.array(y, dtype=float))
                norms.append(norm)
                if status == "plateau":
                    break
            else:
                t_end = float(solver.t)
    except _Abort as abort:
        raise FlowError(f"gradient_flow ({loss}, {convention}, {method}) stopped: "
                        f"{abort.message}") from None

    if converged_at_start:
        message = (f"converged at the start: ‖F(W0)‖_F = {initial_norm:.3g} <= gradient_tol = "
                   f"{gradient_tol:g} (W0 is a stationary point; nothing to integrate)")
    elif status == "converged":
        which = (f"gradient_tol = {gradient_tol:g}" if threshold == gradient_tol else
                 f"gradient_rtol·‖F(W0)‖ = {gradient_rtol:g}·{initial_norm:.3g}")
        message = f"converged: ‖F(W)‖_F <= {threshold:.3g} ({which}) at t = {t_end:.6g}"
    elif status == "plateau":
        message = (f"plateau: ‖F(W)‖_F stopped decreasing at {monitor['best']:.3g} "
                   f"(<= {PLATEAU_BELOW:g}·‖F(W0)‖, no halving for {PLATEAU_PATIENCE:g} recent "
                   f"halving times; the floor set by rtol/atol and rounding) at t = {t_end:.6g}, "
                   f"above the convergence threshold {threshold:.3g}")
    elif status == "collapsed":
        message = (f"a student neuron collapsed to |w| <= {1e-8 * scale:.1e} at t = "
                   f"{t_end:.6g} (the model is undefined at w = 0)")
    elif status == "singular":
        message = (f"the exact Sobolev flow reached the cone singularity (a pair with sin θ <= "
                   f"{SINGULAR_SIN_TOL:g}) in finite time t = {t_end:.6g}; beyond it the exact "
                   "flow slides along the cone (Filippov), which this integrator does not "
                   "follow — use convention='expected', or theory.reduced_flow for one neuron")
    elif status == "diverged":
        message = (f"a row norm exceeded 1e6·(‖W0‖+‖W*‖) at t = {t_end:.6g}: the flow "
                   "diverged")
    else:
        message = f"reached t_max = {t_max:g} before the convergence event"

    # Output: the solver's accepted steps (with their field norms), the uniform times asked for
    # (dense output) and the point of a located stop; solver points take precedence.
    points = {t: (y, math.nan) for t, y in zip(extra_times, extra_states, strict=True)}
    points.update((t, (y, norm)) for t, y, norm in zip(times, states, norms, strict=True))
    ordered = sorted(points)
    W = np.array([points[t][0] for t in ordered]).reshape(-1, K, d)
    known = np.array([points[t][1] for t in ordered])
    for k in np.flatnonzero(np.isnan(known)):  # a field the stop search already evaluated
        value = known_field(W[k].ravel())
        if value is not None:
            known[k] = float(np.linalg.norm(value))
    t_out = np.array(ordered)
    outputs = _Outputs(W, W_star, loss, options, known)
    distance = None
    if K == W_star.shape[0]:
        distance = np.array([matched_distance(w, W_star) for w in W])
        quantity, q, q_scale = "distance", distance, float(np.linalg.norm(W_star))
    else:
        quantity, q, q_scale = "gradient_norm", outputs.get("gradient_norm"), initial_norm
    finite = np.isfinite(q)
    rate, stderr, fit_window, note = _fit_rate(t_out[finite], q[finite], q_scale, window)
    result = FlowResult(t_out, W, distance, rate, stderr, fit_window, quantity, note, status,
                        message, loss, convention, weight, method, rtol, atol, counters["nfev"],
                        counters["njev"], counters["fallbacks"], W_star, outputs)
    if status == "diverged":
        raise FlowError(f"gradient_flow ({loss}, {convention}): {message}", result)
    return result
