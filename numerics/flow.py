r"""Gradient flow dW/dt = −F(W) of the population loss, integrated with scipy's solve_ivp.

F is theory.population_gradient (convention "expected" — E_x of the pointwise gradient, what
training follows — or "exact" — the gradient of the population loss); implicit methods (Radau,
BDF, LSODA) receive the analytic Jacobian theory.population_hessian of the same convention.
Where that Jacobian does not exist (a student row (anti)parallel to another row: the Sobolev
cone) the call falls back to forward differences of F (scipy.optimize.approx_fprime) and the
fallback is counted in the result.

Stopping (events of solve_ivp): convergence when ‖F(W)‖_F <= max(gradient_tol,
gradient_rtol·‖F(W0)‖_F); a plateau (status "plateau"): ‖F‖ has fallen below 1e-6·‖F(W0)‖ and
has not halved for 5 times the median of its last halving times — the floor that the solver's
tolerances and rounding put under ‖F‖ (about λ_max·rtol·‖W‖), so a smaller gradient_tol would
only integrate on in place; a row norm below
1e-8·scale (a neuron collapsed to 0, the model is undefined there); a row norm above 1e6·scale
(divergence, raises FlowError); for the exact Sobolev convention of a kinked activation (relu,
leaky relu), a pair reaching sin θ <= 1e-7:
the exact flow reaches the cone singularity in finite time (theory.reduced_flow), beyond which
it is a Filippov sliding motion that this integrator does not follow (status "singular").

Cost: the convergence event reads the field the step has just computed (a cache keyed by the
state), so events add no field evaluations; the field at the uniform output times and the loss
at every output time are the only evaluations beyond the solver's.

Measured rate: the slope −d log q/dt fitted by least squares (scipy.stats.linregress, with its
standard error) over the window where q is between window[1]·scale and window[0]·scale, with q
the distance to the teacher minimised over neuron permutations (scipy.optimize.
linear_sum_assignment) when K = K*, scale = ‖W*‖_F; otherwise q = ‖F(W)‖_F, scale = ‖F(W0)‖_F.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field

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
)

METHODS = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")
IMPLICIT_METHODS = ("Radau", "BDF", "LSODA")
#: sin θ at which the exact Sobolev flow is stopped as having reached the cone.
SINGULAR_SIN_TOL = 1e-7
#: Plateau rule: ‖F‖ below PLATEAU_BELOW·‖F(W0)‖ that has not halved for PLATEAU_PATIENCE times
#: the median of its last halving times.
PLATEAU_BELOW = 1e-6
PLATEAU_PATIENCE = 5.0


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
    Output times are the solver's accepted steps plus the n_samples uniform times of
    [0, t_max] reached before the flow stopped (solve_ivp's t_eval: its dense output is computed
    only for the steps containing one), and the end point of a terminal event.
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
                  window: tuple[float, float] = (1e-3, 1e-8), n_samples: int = 200,
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
        n_samples: uniform output times on [0, t_max] added to the solver's own steps (those
            before the flow stops).
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
    for name, value, least in (("n_samples", n_samples, 2), ("max_evaluations", max_evaluations,
                                                             10)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(f"{name} must be an integer >= {least}; got {value!r}")
    if int(max_evaluations) < 10:
        raise ValueError(f"max_evaluations must be >= 10; got {max_evaluations!r}")

    law = dict(sobolev_weight=weight,
               second_order_weight=check_second_order_weight(second_order_weight))
    if input_covariance is not None:
        law["input_covariance"] = input_covariance
    try:  # the losses along the path must fit in float64 (loss(cW0, cW*) = c²·loss(W0, W*))
        theory.population_loss(W0, W_star, loss, activation=activation, **law)
    except ValueError as exc:
        if "float64" not in str(exc):  # a bad loss/activation/Σ: theory's message names it
            raise
        raise ValueError(f"gradient_flow: W0 and W_star are too large for float64: {exc}. The "
                         "flow is scale-equivariant (W(t) for cW0, cW* is c·W(t)): integrate "
                         "from W0/c, W_star/c and scale the trajectory back") from None

    K, d = W0.shape
    from scipy.integrate import solve_ivp  # scipy imported on use (start-up time)
    from scipy.optimize import approx_fprime

    act = get_activation(activation)
    activation, kinked = act.name, not act.is_smooth
    options = dict(convention=convention, activation=activation, **law)
    scale = float(np.linalg.norm(W0) + np.linalg.norm(W_star))
    singular_flow = convention == "exact" and loss != "l2" and weight > 0 and kinked
    counters = {"nfev": 0, "njev": 0, "fallbacks": 0}
    initial_field = theory.population_gradient(W0, W_star, loss, **options)  # may raise
    initial_norm = float(np.linalg.norm(initial_field))
    threshold = max(gradient_tol, gradient_rtol * initial_norm)
    cache: OrderedDict[bytes, NDArray[np.float64]] = OrderedDict()  # last fields, by state

    def field_of(y):
        key = y.tobytes()
        if key in cache:
            return cache[key]
        counters["nfev"] += 1
        if counters["nfev"] > max_evaluations:
            raise _Abort(
                f"the solver exceeded max_evaluations={max_evaluations} field evaluations; "
                f"rtol={rtol:g}/atol={atol:g} may be too tight for method {method!r}, or t_max "
                "too long: loosen the tolerances, shorten t_max or raise max_evaluations")
        if not np.all(np.isfinite(y)):
            raise _Abort("the state became non-finite (the trajectory diverged)")
        try:
            value = theory.population_gradient(y.reshape(K, d), W_star, loss, **options)
        except theory.NonDifferentiableError as exc:
            raise _Abort(f"the field is undefined at a trial point of the solver: {exc}") from exc
        except ValueError as exc:
            raise _Abort(f"the field could not be evaluated at a trial point: {exc}") from exc
        cache[key] = value
        if len(cache) > 32:
            cache.popitem(last=False)
        return value

    def rhs(_t, y):
        return -field_of(y).ravel()

    def jac(_t, y):
        counters["njev"] += 1
        try:
            return -theory.population_hessian(y.reshape(K, d), W_star, loss, **options)
        except theory.NonDifferentiableError:
            counters["fallbacks"] += 1
            return approx_fprime(y, lambda z: rhs(0.0, z), 1e-7 * max(1.0, scale))

    # Plateau monitor, updated once per accepted step (the converged event is evaluated there,
    # on the field the step has just computed: a cache hit, no extra evaluation).
    monitor = {"t": 0.0, "best": initial_norm, "halvings": [(0.0, initial_norm)],
               "plateau_at": math.inf}
    steps: list[tuple[float, NDArray[np.float64], float]] = [(0.0, W0.ravel(), initial_norm)]

    def _observe(t: float, y, norm: float) -> None:
        if t <= monitor["t"]:
            return  # root-finding calls inside the last step
        monitor["t"] = t
        steps.append((t, np.array(y, dtype=float), norm))
        monitor["best"] = min(monitor["best"], norm)
        halvings = monitor["halvings"]
        if norm <= 0.5 * halvings[-1][1]:
            halvings.append((t, norm))
        elif (stop_on_plateau and len(halvings) >= 4 and math.isinf(monitor["plateau_at"])
              and monitor["best"] <= PLATEAU_BELOW * initial_norm):
            recent = np.diff([time for time, _ in halvings[-6:]])
            if t - halvings[-1][0] > PLATEAU_PATIENCE * float(np.median(recent)):
                monitor["plateau_at"] = t

    def converged(t, y):
        norm = float(np.linalg.norm(field_of(y)))
        _observe(t, y, norm)
        return math.log(max(norm, 1e-300)) - math.log(threshold)

    def plateau(t, _y):
        return -1.0 if t >= monitor["plateau_at"] else 1.0

    def collapsed(_t, y):
        return float(np.linalg.norm(y.reshape(K, d), axis=1).min()) - 1e-8 * scale

    def diverged(_t, y):
        return 1e6 * scale - float(np.linalg.norm(y.reshape(K, d), axis=1).max())

    def singular(_t, y):
        return _min_pair_sin(y.reshape(K, d), W_star) - SINGULAR_SIN_TOL

    events = [converged, plateau, collapsed, diverged] + ([singular] if singular_flow else [])
    for event in events:
        event.terminal = True
        event.direction = -1
    converged_at_start = bool(initial_norm <= threshold)
    if converged_at_start:
        t_max = 1e-12 * t_max  # already converged: record the initial point only
    extra = {"jac": jac} if method in IMPLICIT_METHODS else {}
    try:
        solution = solve_ivp(rhs, (0.0, t_max), W0.ravel(), method=method, rtol=rtol, atol=atol,
                             events=events, t_eval=np.linspace(0.0, t_max, int(n_samples)),
                             **extra)
    except _Abort as abort:
        raise FlowError(f"gradient_flow ({loss}, {convention}, {method}) stopped: "
                        f"{abort.message}") from None
    if solution.status == -1:
        raise FlowError(f"gradient_flow ({loss}, {convention}, {method}): the solver failed at "
                        f"t = {solution.t[-1]:.6g}: {solution.message}. Try another method "
                        "(e.g. 'LSODA' or 'Radau'), looser rtol/atol, or a smaller t_max.")
    t_end = t_max
    final = None
    if solution.status == 1:
        index = [i for i, times in enumerate(solution.t_events) if len(times)][0]
        t_end, final = float(solution.t_events[index][0]), solution.y_events[index][0]
    status, message = "t_max", f"reached t_max = {t_max:g} before the convergence event"
    if converged_at_start:
        status, message = "converged", (
            f"converged at the start: ‖F(W0)‖_F = {np.linalg.norm(initial_field):.3g} <= "
            f"gradient_tol = {gradient_tol:g} (W0 is a stationary point; nothing to integrate)")
    elif solution.status == 1:
        hit = events[[i for i, times in enumerate(solution.t_events) if len(times)][0]]
        if hit is converged:
            which = (f"gradient_tol = {gradient_tol:g}" if threshold == gradient_tol else
                     f"gradient_rtol·‖F(W0)‖ = {gradient_rtol:g}·{initial_norm:.3g}")
            status, message = "converged", (
                f"converged: ‖F(W)‖_F <= {threshold:.3g} ({which}) at t = {t_end:.6g}")
        elif hit is plateau:
            status, message = "plateau", (
                f"plateau: ‖F(W)‖_F stopped decreasing at {monitor['best']:.3g} "
                f"(<= {PLATEAU_BELOW:g}·‖F(W0)‖, no halving for {PLATEAU_PATIENCE:g} recent "
                f"halving times; the floor set by rtol/atol and rounding) at t = {t_end:.6g}, "
                f"above the convergence threshold {threshold:.3g}")
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

    # Output: the solver's accepted steps (recorded by the convergence event, with their field
    # norms), the uniform times of t_eval (solve_ivp's dense output, computed only for the steps
    # that contain one) and the end point of a terminal event.
    records = [(t, y, norm) for t, y, norm in steps if t <= t_end]
    uniform = [(float(t), y, None) for t, y in zip(solution.t, solution.y.T, strict=True)]
    points = {t: (y, norm) for t, y, norm in records + uniform}
    if final is not None:
        points[t_end] = (final, None)
    for t, y, _norm in records:  # solver points take precedence over interpolated ones
        points[t] = (y, _norm)
    times = np.array(sorted(points))
    W = np.array([points[t][0] for t in times]).reshape(-1, K, d)
    known = np.array([np.nan if points[t][1] is None else points[t][1] for t in times])
    outputs = _Outputs(W, W_star, loss, options, known)
    distance = None
    if K == W_star.shape[0]:
        distance = np.array([matched_distance(w, W_star) for w in W])
        quantity, q, q_scale = "distance", distance, float(np.linalg.norm(W_star))
    else:
        quantity, q, q_scale = "gradient_norm", outputs.get("gradient_norm"), initial_norm
    finite = np.isfinite(q)
    rate, stderr, fit_window, note = _fit_rate(times[finite], q[finite], q_scale, window)
    result = FlowResult(times, W, distance, rate, stderr, fit_window, quantity, note, status,
                        message, loss, convention, weight, method, rtol, atol, counters["nfev"],
                        counters["njev"], counters["fallbacks"], W_star, outputs)
    if status == "diverged":
        raise FlowError(f"gradient_flow ({loss}, {convention}): {message}", result)
    return result
