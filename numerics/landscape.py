r"""Landscape census: where gradient descent on the exact population field ends, from many starts.

Setting (Safran & Shamir, ICML 2018): relu student g(x; W) = Σ_i relu(w_i·x), W ∈ R^{K×d}, teacher
W* with orthonormal rows (default W* = I_k, K = K* = d = k), x ~ N(0, I_d). Other closed-form
activations (leaky_relu(α), erf, sine, gelu; ``activation``) replace relu in teacher and student.

Descent. From each start W₀ the census iterates W ← W − η F(W), where F is the population field
of the loss in the **expected** convention (E_x of the pointwise gradient; for "l2" it is the
exact gradient, for "h1" = L + λJ it is what SGD follows and is not the gradient of anything).
The field is evaluated for all starts at once by theory.batched_field (Gram form, equal per start
to theory.population_gradient to ~1e-14; the descent's right-hand side is theory's field, as in
the flow integrator). Two protocols (``protocol``):

* "census": η = step_scale / ((K + 2)(1 + λ_eff)), λ_eff = λ for h1 and 0 for l2 (the largest
  Hessian eigenvalue near the teacher grows like 0.27 K + 0.4 for l2 and about twice that for
  h1, so step_scale = 4 stays below 2/λ_max); a start stops when ‖F‖_F <= ``descent_tol``; a
  start whose ‖F‖_F exceeds 1e3 restarts with half its step.
* "safran-shamir" (CensusSettings.for_protocol): their published code (GD_code/findBadMinima.m,
  findMinimum.m): η = 0.1 for every loss (for h1 the expected field, not rescaled), stop when
  max_i 2π‖F_i‖ <= neuron_tol = 1e-9 (their gradient array is 2π·F), restart with half the step
  when that norm exceeds 1e4; at most ``max_steps`` (20 000) steps, and a start that hits the
  cap is reported (Endpoint.capped) and classified by its l2 loss without Newton polishing.
  "Bad" = l2 loss >= bad_loss (1e-3) at the endpoint, for either loss.

Both: checked every ``check_every`` steps, a start also stops when the permutation-matched
distance to W* is <= 1e-6·‖W*‖_F (K = K*) or the L2 part of the loss is <= loss_tol (K ≠ K*: the
zero-loss minima are not isolated) — shortcuts that only end descents whose class is decided;
or after ``max_steps``.

Refinement and classification of each endpoint (classes: global, spurious_minimum, saddle,
not_converged):

* global: K = K*: min over row permutations of ‖W − W*_π‖_F <= global_tol·‖W*‖_F; K ≠ K*: the
  student computes the teacher's function, E ½(g − g*)² <= loss_tol (zero-loss minima are not
  isolated there; the L2 part is the criterion for both losses because h1's Sobolev part
  vanishes only linearly in the distance at its cone, ~1e-5 when the L2 part is ~1e-11).
* otherwise, when ‖F‖_F <= refine_below, Newton's method on F (theory.population_hessian, the
  Jacobian of the same field) refines the point to ‖F‖_F <= critical_tol. Then the spectrum
  certifies the type:
  - l2: the Hessian is symmetric; spurious_minimum when λ_min > eig_tol·max|λ| (strict local
    minimum), saddle otherwise (λ_min <= eig_tol·max|λ|: negative or degenerate curvature, not
    certified a minimum).
  - h1 (expected field, not a gradient field): spurious_minimum means a linearly **stable
    equilibrium of the flow** dW/dt = −F(W): every eigenvalue of the Jacobian has real part
    > eig_tol·max|λ|; otherwise saddle. The exact-convention h1 Hessian (the Hessian of the loss
    L + λJ, symmetric) and the exact gradient norm are reported at the same point where they
    exist: the expected field's equilibria need not be critical points of the loss itself.
* not_converged: the field stayed above refine_below after max_steps, Newton failed to reach
  critical_tol, or the Jacobian does not exist at the critical point (a row (anti)parallel to a
  teacher row or to another row; the note says which).

Fractions come with Wilson 95 % intervals (scipy.stats.binomtest(...).proportion_ci). Distinct
spurious minima are clusters of endpoints within cluster_tol·‖W*‖_F of each other up to a
permutation of the student rows (scipy.optimize.linear_sum_assignment); their "levels" are the
distinct loss values (relative tolerance 1e-7), which for W* = I also merge the copies related by
permuting coordinates and teacher rows together.

Initialisation. "gaussian" (default): i.i.d. N(0, 1/d) entries (standard deviation 1/√d),
exactly what Safran & Shamir's published code draws (``W = randn(d,k)/sqrt(d); % Xavier
initialization`` in github.com/ItaySafran/OneLayerGDconvergence, GD_code/findBadMinima.m).
"uniform": U(−1/√d, 1/√d) entries (U(−1, 1)/√k at d = k; standard deviation 1/√(3d)).
"xavier_uniform": U(−√(6/(d+1)), √(6/(d+1))) entries (Glorot & Bengio's uniform rule for fan-in
d, fan-out 1; standard deviation √(2/(d+1)), 0.47 at d = 8).
Start i of seed s is drawn from numpy's default_rng([s, i]), so any subset of starts is
reproducible on its own (chunks, resumed runs, other processes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linear_sum_assignment
from scipy.stats import binomtest

import theory
from theory.activations import parse_activation
from theory.batched_field import batched_field, batched_loss, field_plan
from theory.validation import check_sobolev_weight

CLASSES = ("global", "spurious_minimum", "saddle", "not_converged")
INITIALISATIONS = ("gaussian", "xavier_uniform", "uniform")
CENSUS_LOSSES = ("l2", "h1")
#: "census": step step_scale/((K + 2)(1 + λ)), stop at ‖F‖_F <= descent_tol; "safran-shamir":
#: their published code (module docstring).
PROTOCOLS = ("census", "safran-shamir")
#: Activations the census runs (teacher and student share it); tanh has no closed form.
CENSUS_ACTIVATIONS = ("relu", "leaky_relu", "erf", "sine", "gelu")
#: Working memory per chunk of starts (the chunk size is this over theory.batched_field's
#: per-start bytes).
CHUNK_MEMORY_BYTES = 32 * 2**20


# ------------------------------------------------------------------------------ inputs

def orthonormal_teacher(teacher_width: int, dim: int) -> NDArray[np.float64]:
    """W* = the first K* rows of I_d (orthonormal rows), shape (K*, d); needs 1 <= K* <= d."""
    for name, value in (("teacher_width", teacher_width), ("dim", dim)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    if teacher_width > dim:
        raise ValueError(f"an orthonormal teacher needs teacher_width K* <= dim d; got K* = "
                         f"{teacher_width}, d = {dim}: raise --dim to at least {teacher_width}")
    return np.eye(dim)[:teacher_width].copy()


def initial_weights(indices: ArrayLike, width: int, dim: int, seed: int,
                    init: str = "gaussian") -> NDArray[np.float64]:
    """Starts number ``indices`` of ``seed``: array (len(indices), K, d) (module docstring)."""
    if init not in INITIALISATIONS:
        raise ValueError(f"init must be one of {INITIALISATIONS}; got {init!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    starts = []
    for index in np.atleast_1d(np.asarray(indices, dtype=np.int64)):
        rng = np.random.default_rng([int(seed), int(index)])
        if init == "gaussian":
            starts.append(rng.standard_normal((width, dim)) / math.sqrt(dim))
        elif init == "uniform":
            starts.append(rng.uniform(-1.0, 1.0, size=(width, dim)) / math.sqrt(dim))
        else:
            bound = math.sqrt(6.0 / (dim + 1))
            starts.append(rng.uniform(-bound, bound, size=(width, dim)))
    return np.array(starts).reshape(-1, width, dim)


def _loss_weights(loss: str, sobolev_weight: float) -> tuple[float, float]:
    if loss not in CENSUS_LOSSES:
        raise ValueError(f"loss must be one of {CENSUS_LOSSES}; got {loss!r}")
    weight = check_sobolev_weight(sobolev_weight)
    return (1.0, 0.0) if loss == "l2" else (1.0, weight)


def expected_field(Ws: NDArray[np.float64], W_star: NDArray[np.float64], loss: str = "l2",
                   sobolev_weight: float = 1.0, activation: str = "relu") -> NDArray[np.float64]:
    """The expected-convention population field F for a stack of students, shape (S, K, d):
    theory.batched_field.batched_field, equal to theory.population_gradient(W, W*, loss,
    convention="expected") for each W of the stack."""
    _loss_weights(loss, sobolev_weight)
    return batched_field(Ws, W_star, loss, activation=activation, sobolev_weight=sobolev_weight)


def matched_distance(W: NDArray[np.float64], W_star: NDArray[np.float64]) -> float:
    """min over permutations π of the student rows of ‖W_π − W*‖_F (K = K*)."""
    cost = ((W[:, None, :] - W_star[None, :, :]) ** 2).sum(axis=-1)
    rows, cols = linear_sum_assignment(cost)
    return float(math.sqrt(cost[rows, cols].sum()))


def wilson_interval(successes: int, trials: int) -> tuple[float, float] | None:
    """Wilson score 95 % interval for a binomial proportion (None when trials = 0)."""
    if trials == 0:
        return None
    ci = binomtest(int(successes), int(trials)).proportion_ci(0.95, method="wilson")
    return float(ci.low), float(ci.high)


# ------------------------------------------------------------------------------ settings

@dataclass(frozen=True)
class CensusSettings:
    """Tolerances and budgets of the census (see the module docstring for their roles).

    protocol: "census" or "safran-shamir" (use :meth:`for_protocol` for the latter's values);
    step_size: a fixed step η for every loss (None: the census rule from step_scale);
    activation: shared by teacher and student; neuron_tol: the safran-shamir stop rule
    max_i 2π‖F_i‖ <= neuron_tol; bad_loss: an endpoint is "bad" when its l2 loss is >= this.
    """

    sobolev_weight: float = 1.0
    init: str = "gaussian"
    step_scale: float = 4.0
    max_steps: int = 30_000
    check_every: int = 50
    descent_tol: float = 1e-7
    refine_below: float = 1e-4
    critical_tol: float = 1e-10
    newton_steps: int = 30
    global_tol: float = 1e-4
    loss_tol: float = 1e-9
    eig_tol: float = 1e-6
    cluster_tol: float = 1e-5
    protocol: str = "census"
    step_size: float | None = None
    activation: str = "relu"
    neuron_tol: float = 1e-9
    bad_loss: float = 1e-3

    def __post_init__(self) -> None:
        check_sobolev_weight(self.sobolev_weight)
        if self.init not in INITIALISATIONS:
            raise ValueError(f"init must be one of {INITIALISATIONS}; got {self.init!r}")
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}; got {self.protocol!r}")
        name = parse_activation(self.activation)[0] if isinstance(self.activation, str) \
            else None
        if name not in CENSUS_ACTIVATIONS:
            raise ValueError(f"activation must be one of {CENSUS_ACTIVATIONS} (leaky_relu(α) "
                             f"with a slope); got {self.activation!r}"
                             + (" (tanh has no closed-form kernel)" if name == "tanh" else ""))
        field_plan("h1", self.activation, self.sobolev_weight)  # validates the slope
        for name in ("step_scale", "descent_tol", "refine_below", "critical_tol", "global_tol",
                     "loss_tol", "eig_tol", "cluster_tol", "neuron_tol", "bad_loss"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0; got {value!r}")
        if self.step_size is not None and not (
                isinstance(self.step_size, (int, float)) and math.isfinite(self.step_size)
                and 0 < self.step_size <= 10):
            raise ValueError(f"step_size must be a number in (0, 10]; got {self.step_size!r}")
        for name in ("max_steps", "check_every", "newton_steps"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")

    @classmethod
    def for_protocol(cls, protocol: str, **overrides: Any) -> CensusSettings:
        """Settings of a named protocol; "safran-shamir": step 0.1 for every loss, N(0, 1/d)
        starts, stop at max_i 2π‖F_i‖ <= 1e-9, a cap of 20 000 steps; overrides replace any."""
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}; got {protocol!r}")
        values: dict[str, Any] = {"protocol": protocol}
        if protocol == "safran-shamir":
            values.update(step_size=0.1, init="gaussian", max_steps=20_000)
        values.update(overrides)
        return cls(**values)

    def step(self, loss: str, width: int) -> float:
        """η = step_size if set, else step_scale / ((K + 2)(1 + λ_eff))."""
        if self.step_size is not None:
            return float(self.step_size)
        lam = 0.0 if loss == "l2" else self.sobolev_weight
        return self.step_scale / ((width + 2) * (1.0 + lam))

    def as_dict(self) -> dict[str, Any]:
        """Every setting; those added after the first census files (protocol, step_size,
        activation, neuron_tol, bad_loss) only where they differ from their defaults, so that
        the resume keys of earlier files stay valid."""
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        for name in _LATER_FIELDS:
            if values[name] == self.__dataclass_fields__[name].default:
                del values[name]
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> CensusSettings:
        """Inverse of as_dict (ValueError naming an unknown or invalid setting)."""
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown census settings {sorted(unknown)}")
        return cls(**values)


_LATER_FIELDS = ("protocol", "step_size", "activation", "neuron_tol", "bad_loss")


# ------------------------------------------------------------------------------ endpoints

@dataclass(frozen=True)
class Endpoint:
    """Where one start ended and what it is.

    start: index of the start; loss: "l2" or "h1"; cls: one of CLASSES; objective: the minimised
    population loss there; l2_loss: its L2 part; field_norm: ‖F‖_F (expected convention);
    distance: permutation-matched ‖W − W*‖_F (K = K*, else None); min_re_eig / max_abs_eig: of
    the field's Jacobian at a refined critical point (None elsewhere); exact_h1_min_eig and
    exact_h1_gradient_norm: the exact-convention h1 Hessian's λ_min and ‖∇(L + λJ)‖ at an h1
    critical point (None where they do not exist, the note says why); steps: gradient steps;
    newton_steps: Newton iterations; note: how the class was decided; W: the endpoint (K, d).
    """

    start: int
    loss: str
    cls: str
    objective: float
    l2_loss: float
    field_norm: float
    distance: float | None
    min_re_eig: float | None
    max_abs_eig: float | None
    exact_h1_min_eig: float | None
    exact_h1_gradient_norm: float | None
    steps: int
    newton_steps: int
    note: str
    W: NDArray[np.float64] = field(repr=False)
    capped: bool = False

    def to_json(self) -> dict[str, Any]:
        record = {name: getattr(self, name) for name in self.__dataclass_fields__}
        record["W"] = self.W.tolist()
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> Endpoint:
        values = {name: record[name] for name in cls.__dataclass_fields__ if name != "capped"}
        values["capped"] = bool(record.get("capped", False))
        values["W"] = np.asarray(values["W"], dtype=float)
        return cls(**values)


def _matched_close(W: NDArray[np.float64], W_star: NDArray[np.float64], target: float
                   ) -> NDArray[np.bool_]:
    """matched_distance(W_s, W*) <= target for each student of the stack (the assignment is
    solved only where the row-wise lower bound allows it)."""
    cost = ((W[:, :, None, :] - W_star[None, None, :, :]) ** 2).sum(axis=-1)
    lower = cost.min(axis=2).sum(axis=1)
    close = np.zeros(len(W), dtype=bool)
    for s in np.flatnonzero(lower <= target * target):
        rows, cols = linear_sum_assignment(cost[s])
        close[s] = math.sqrt(cost[s][rows, cols].sum()) <= target
    return close


def descend(starts: NDArray[np.float64], W_star: NDArray[np.float64], loss: str,
            settings: CensusSettings) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """Gradient descent for all starts at once: (final W (S, K, d), steps (S,), ‖F‖_F (S,),
    capped (S,): max_steps reached before the stop rule or a shortcut).

    The field is theory.batched_field's (expected convention). Stop rule: "census" ‖F‖_F <=
    descent_tol; "safran-shamir" max_i 2π‖F_i‖ <= neuron_tol. Shortcuts, checked every
    check_every steps (they only end descents whose class is already decided): the matched
    distance to W* <= 1e-6·‖W*‖ (K = K*), or the L2 part of the loss <= loss_tol (K ≠ K*).
    Divergence (census ‖F‖_F > 1e3, safran-shamir max_i 2π‖F_i‖ > 1e4, or not finite):
    restart from the start with half the step.
    """
    W = np.array(starts, dtype=float)
    S, K, _ = W.shape
    plan = field_plan(loss, settings.activation, settings.sobolev_weight)
    l2_plan = field_plan("l2", settings.activation, settings.sobolev_weight)
    safran = settings.protocol == "safran-shamir"
    step = np.full(S, settings.step(loss, K))
    steps = np.zeros(S, dtype=np.int64)
    norms = np.full(S, np.inf)
    active = np.ones(S, dtype=bool)
    capped = np.zeros(S, dtype=bool)
    matched = K == W_star.shape[0]
    target = 1e-6 * float(np.linalg.norm(W_star))
    for iteration in range(1, settings.max_steps + 2):
        index = np.flatnonzero(active)
        if index.size == 0:
            break
        F = batched_field(W[index], W_star, plan=plan)
        norm = np.sqrt(np.einsum("skd,skd->s", F, F))
        norms[index] = norm
        if safran:
            rule = 2 * math.pi * np.sqrt(np.einsum("skd,skd->sk", F, F).max(axis=1))
            blown = ~np.isfinite(rule) | (rule > 1e4)
            done = rule <= settings.neuron_tol
        else:
            blown = ~np.isfinite(norm) | (norm > 1e3)
            done = norm <= settings.descent_tol
        if blown.any():  # restart with half the step (Safran & Shamir's rule)
            bad = index[blown]
            W[bad] = starts[bad]
            step[bad] /= 2
            steps[bad] = 0
        if iteration > settings.max_steps:  # the field at the last iterate is measured
            capped[index[~done]] = True
            break
        moving = ~done & ~blown
        W[index[moving]] -= step[index[moving], None, None] * F[moving]
        steps[index[moving]] += 1
        if iteration % settings.check_every == 0:
            if matched:
                close = _matched_close(W[index], W_star, target)
            else:  # zero-loss minima are not isolated: stop on the loss
                close = batched_loss(W[index], W_star, plan=l2_plan) <= settings.loss_tol
            done |= close
        active[index[done]] = False
    return W, steps, norms, capped


def _spectrum(W, W_star, loss, weight, activation="relu") -> tuple[float, float]:
    J = theory.population_hessian(W, W_star, loss, convention="expected", sobolev_weight=weight,
                                  activation=activation)
    values = np.linalg.eigvalsh(J) if loss == "l2" else np.linalg.eigvals(J)
    return float(np.min(values.real)), float(np.max(np.abs(values)))


def _newton(W, W_star, loss, settings) -> tuple[NDArray, float, int, str]:
    """Newton's method on F from W: (W, ‖F‖, iterations, note)."""
    weight = settings.sobolev_weight
    act = settings.activation
    start = W.copy()
    for iteration in range(settings.newton_steps + 1):
        F = theory.population_gradient(W, W_star, loss, convention="expected",
                                       sobolev_weight=weight, activation=act)
        norm = float(np.linalg.norm(F))
        if norm <= settings.critical_tol:
            return W, norm, iteration, ""
        if iteration == settings.newton_steps:
            break
        try:
            J = theory.population_hessian(W, W_star, loss, convention="expected",
                                          sobolev_weight=weight, activation=act)
        except theory.NonDifferentiableError as exc:
            return W, norm, iteration, f"Newton stopped: {exc}"
        try:
            delta = np.linalg.solve(J, F.ravel()).reshape(W.shape)
        except np.linalg.LinAlgError:
            return W, norm, iteration, "Newton stopped: singular Jacobian"
        W = W - delta
        if np.linalg.norm(W - start) > 1e-2 * max(1.0, float(np.linalg.norm(start))):
            return start, float(np.linalg.norm(theory.population_gradient(
                start, W_star, loss, sobolev_weight=weight, activation=act))), iteration, \
                "Newton left the neighbourhood of the descent endpoint"
    return W, norm, settings.newton_steps, f"Newton did not reach {settings.critical_tol:g}"


def classify(start: int, W: NDArray[np.float64], W_star: NDArray[np.float64], loss: str,
             steps: int, settings: CensusSettings, capped: bool = False) -> Endpoint:
    """Refine and classify one descent endpoint (module docstring). ``capped``: the descent hit
    max_steps; under the safran-shamir protocol such an endpoint is not polished by Newton."""
    weight = settings.sobolev_weight
    act = settings.activation
    lam = 0.0 if loss == "l2" else weight
    K = W.shape[0]
    matched = K == W_star.shape[0]
    scale = float(np.linalg.norm(W_star))

    def endpoint(cls, W, norm, newton=0, note="", spectrum=(None, None), exact=(None, None)):
        l2 = theory.population_loss(W, W_star, "l2", activation=act)
        objective = theory.population_loss(W, W_star, "h1", sobolev_weight=lam,
                                           activation=act) if lam else l2
        distance = matched_distance(W, W_star) if matched else None
        return Endpoint(int(start), loss, cls, float(objective), float(l2), float(norm), distance,
                        spectrum[0], spectrum[1], exact[0], exact[1], int(steps), int(newton),
                        note, np.array(W), bool(capped))

    norm = float(np.linalg.norm(theory.population_gradient(W, W_star, loss,
                                                           sobolev_weight=weight, activation=act)))
    if matched and matched_distance(W, W_star) <= settings.global_tol * scale:
        return endpoint("global", W, norm, note=f"matched distance <= {settings.global_tol:g}"
                        "·‖W*‖")
    if not matched and theory.population_loss(W, W_star, "l2", activation=act) \
            <= settings.loss_tol:
        return endpoint("global", W, norm, note=f"L2 part <= {settings.loss_tol:g}")
    if capped and settings.protocol == "safran-shamir":
        return endpoint("not_converged", W, norm,
                        note=f"step cap: max_i 2π‖F_i‖ above {settings.neuron_tol:g} after "
                             f"{steps} steps (not polished)")
    if norm > settings.refine_below:
        return endpoint("not_converged", W, norm,
                        note=f"‖F‖ = {norm:.2e} > {settings.refine_below:g} after {steps} steps")
    W_refined, norm, newton, note = _newton(W, W_star, loss, settings)
    if norm > settings.critical_tol:
        return endpoint("not_converged", W_refined, norm, newton, note or "not critical")
    if matched and matched_distance(W_refined, W_star) <= settings.global_tol * scale:
        return endpoint("global", W_refined, norm, newton, "refined onto W*")
    try:
        min_re, max_abs = _spectrum(W_refined, W_star, loss, weight, act)
    except theory.NonDifferentiableError as exc:
        return endpoint("not_converged", W_refined, norm, newton,
                        f"critical point where the Jacobian does not exist: {exc}")
    exact = (None, None)
    if loss == "h1":
        exact = _exact_h1(W_refined, W_star, weight, act)
    cls = "spurious_minimum" if min_re > settings.eig_tol * max_abs else "saddle"
    how = ("Hessian λ_min" if loss == "l2" else "min Re λ of the expected Jacobian")
    return endpoint(cls, W_refined, norm, newton,
                    f"{how} = {min_re:.3e} (max |λ| = {max_abs:.3e})", (min_re, max_abs), exact)


def _exact_h1(W, W_star, weight, activation="relu") -> tuple[float | None, float | None]:
    try:
        H = theory.population_hessian(W, W_star, "h1", convention="exact", sobolev_weight=weight,
                                      activation=activation)
        gradient = theory.population_gradient(W, W_star, "h1", convention="exact",
                                              sobolev_weight=weight, activation=activation)
    except theory.NonDifferentiableError:
        return None, None
    return float(np.linalg.eigvalsh(H)[0]), float(np.linalg.norm(gradient))


def run_starts(indices: ArrayLike, starts: NDArray[np.float64], W_star: NDArray[np.float64],
               loss: str, settings: CensusSettings) -> list[Endpoint]:
    """Descend from ``starts`` (S, K, d) and classify each endpoint; indices label the starts."""
    indices = np.atleast_1d(np.asarray(indices, dtype=np.int64))
    if len(indices) != len(starts):
        raise ValueError(f"got {len(indices)} indices for {len(starts)} starts")
    if len(starts) == 0:
        return []
    final, steps, _, capped = descend(starts, W_star, loss, settings)
    return [classify(int(i), final[n], W_star, loss, int(steps[n]), settings,
                     capped=bool(capped[n]))
            for n, i in enumerate(indices)]


# ------------------------------------------------------------------------------ results

@dataclass(frozen=True)
class MinimumFamily:
    """Spurious endpoints that coincide up to a permutation of the student rows."""

    representative: Endpoint
    count: int
    starts: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        rep = self.representative
        return {"loss_value": rep.objective, "l2_loss": rep.l2_loss, "count": self.count,
                "starts": list(self.starts), "min_re_eig": rep.min_re_eig,
                "distance_to_teacher": rep.distance,
                "exact_h1_min_eig": rep.exact_h1_min_eig,
                "exact_h1_gradient_norm": rep.exact_h1_gradient_norm,
                "W": rep.W.tolist()}


def group_minima(endpoints: list[Endpoint], scale: float, tol: float) -> list[MinimumFamily]:
    """Cluster endpoints within tol·scale of a representative up to row permutation."""
    families: list[list[Endpoint]] = []
    for point in sorted(endpoints, key=lambda e: (e.objective, e.start)):
        for family in families:
            if matched_distance(point.W, family[0].W) <= tol * scale:
                family.append(point)
                break
        else:
            families.append([point])
    return [MinimumFamily(f[0], len(f), tuple(sorted(e.start for e in f))) for f in families]


def loss_levels(values: list[float], rtol: float = 1e-7) -> list[tuple[float, int]]:
    """Distinct values (relative tolerance rtol) with their multiplicities, ascending."""
    levels: list[list[float]] = []
    for value in sorted(values):
        if levels and abs(value - levels[-1][0]) <= rtol * max(abs(value), 1e-300):
            levels[-1].append(value)
        else:
            levels.append([value])
    return [(level[0], len(level)) for level in levels]


@dataclass(frozen=True)
class CensusResult:
    """All endpoints of one loss from one set of starts, with the census provenance."""

    loss: str
    width: int
    teacher_width: int
    dim: int
    seed: int
    settings: CensusSettings
    endpoints: tuple[Endpoint, ...]

    @property
    def n_starts(self) -> int:
        return len(self.endpoints)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(CLASSES, 0)
        for point in self.endpoints:
            counts[point.cls] += 1
        return counts

    def fractions(self) -> dict[str, dict[str, Any]]:
        n = self.n_starts
        return {cls: {"count": c, "fraction": c / n if n else None,
                      "wilson95": wilson_interval(c, n)} for cls, c in self.counts().items()}

    def of_class(self, cls: str) -> list[Endpoint]:
        return [point for point in self.endpoints if point.cls == cls]

    def spurious_families(self) -> list[MinimumFamily]:
        scale = float(math.sqrt(self.teacher_width))  # ‖W*‖_F of an orthonormal teacher
        return group_minima(self.of_class("spurious_minimum"), scale, self.settings.cluster_tol)

    def provenance(self) -> str:
        s = self.settings
        lam = "" if self.loss == "l2" else f", λ = {s.sobolev_weight:g}"
        act = "" if s.activation == "relu" else f", activation {s.activation}"
        if s.protocol == "safran-shamir":
            stop = (f"stop at max_i 2π‖F_i‖ <= {s.neuron_tol:g} (Safran & Shamir's rule) or "
                    f"after {s.max_steps} steps (capped starts not polished)")
        else:
            stop = f"stop at ‖F‖ <= {s.descent_tol:g} or {s.max_steps} steps"
        return (f"protocol {s.protocol}: gradient descent on the exact population field "
                f"({self.loss}, expected convention{lam}{act}), K = {self.width}, "
                f"K* = {self.teacher_width}, d = {self.dim}, orthonormal teacher, "
                f"{self.n_starts} starts ({s.init} init, seed {self.seed}), "
                f"step {s.step(self.loss, self.width):.4g}, {stop}, Newton to ‖F‖ <= "
                f"{s.critical_tol:g}, global if matched distance <= {s.global_tol:g}·‖W*‖ "
                f"(K = K*) or L2 part <= {s.loss_tol:g}, minimum if min Re λ > "
                f"{s.eig_tol:g}·max|λ|, bad if l2 loss >= {s.bad_loss:g}; Wilson 95 % intervals")

    def as_dict(self) -> dict[str, Any]:
        families = self.spurious_families()
        return {
            "loss": self.loss, "counts": self.counts(), "fractions": self.fractions(),
            "n_starts": self.n_starts,
            "spurious_minima": [family.as_dict() for family in families],
            "spurious_loss_levels": [{"loss_value": v, "count": c} for v, c in
                                     loss_levels([e.objective for e in
                                                  self.of_class("spurious_minimum")])],
            "provenance": self.provenance(),
        }


def census(width: int, n_starts: int, loss: str = "l2", *, teacher_width: int | None = None,
           dim: int | None = None, seed: int = 0, settings: CensusSettings | None = None,
           indices: ArrayLike | None = None) -> CensusResult:
    """Run the census of one loss from starts 0..n_starts−1 (or ``indices``) of ``seed``.

    Args:
        width: student width K; teacher_width: K* (default K); dim: d (default K*).
        n_starts: number of starts; loss: "l2" or "h1"; seed: seed of the starts.
        settings: tolerances, step and λ (CensusSettings).
    Returns:
        CensusResult (counts, Wilson intervals, distinct spurious minima, provenance).
    """
    settings = settings or CensusSettings()
    teacher_width = width if teacher_width is None else teacher_width
    dim = teacher_width if dim is None else dim
    W_star = orthonormal_teacher(teacher_width, dim)
    if not isinstance(width, (int, np.integer)) or width < 1:
        raise ValueError(f"width must be a positive integer; got {width!r}")
    _loss_weights(loss, settings.sobolev_weight)
    if indices is None:
        if not isinstance(n_starts, (int, np.integer)) or n_starts < 1:
            raise ValueError(f"n_starts must be a positive integer; got {n_starts!r}")
        indices = np.arange(n_starts)
    indices = np.asarray(indices, dtype=np.int64)
    starts = initial_weights(indices, width, dim, seed, settings.init)
    endpoints = run_starts(indices, starts, W_star, loss, settings)
    return CensusResult(loss, width, teacher_width, dim, seed, settings, tuple(endpoints))


# ------------------------------------------------------------------ l2 minima under h1

@dataclass(frozen=True)
class MinimumUnderH1:
    """A spurious l2 minimum examined under h1 (expected convention).

    h1_field_norm: ‖F_h1‖_F there (0 would make it an h1 equilibrium; compare with the l2 field
    there, <= critical_tol); exact_h1_gradient_norm: ‖∇(L + λJ)‖_F there (None where it does
    not exist); after: the endpoint of h1 descent started there, classified like the census;
    moved: ‖W_after − W‖_F up to a permutation of the rows.
    """

    l2_minimum: Endpoint
    h1_field_norm: float
    exact_h1_gradient_norm: float | None
    after: Endpoint
    moved: float

    def as_dict(self) -> dict[str, Any]:
        return {"start": self.l2_minimum.start, "l2_loss_value": self.l2_minimum.objective,
                "h1_field_norm": self.h1_field_norm,
                "exact_h1_gradient_norm": self.exact_h1_gradient_norm,
                "h1_descent_class": self.after.cls, "h1_endpoint_loss": self.after.objective,
                "h1_endpoint_l2_loss": self.after.l2_loss, "moved": self.moved,
                "h1_endpoint_min_re_eig": self.after.min_re_eig}


def l2_minima_under_h1(minima: list[Endpoint], W_star: NDArray[np.float64],
                       settings: CensusSettings | None = None) -> list[MinimumUnderH1]:
    """For each spurious l2 minimum: is it an h1 equilibrium, and where does h1 descent go?"""
    settings = settings or CensusSettings()
    if not minima:
        return []
    weight = settings.sobolev_weight
    starts = np.array([m.W for m in minima])
    after = run_starts([m.start for m in minima], starts, W_star, "h1", settings)
    out = []
    for minimum, end in zip(minima, after, strict=True):
        norm = float(np.linalg.norm(theory.population_gradient(
            minimum.W, W_star, "h1", sobolev_weight=weight, activation=settings.activation)))
        try:
            exact = float(np.linalg.norm(theory.population_gradient(
                minimum.W, W_star, "h1", convention="exact", sobolev_weight=weight,
                activation=settings.activation)))
        except theory.NonDifferentiableError:
            exact = None
        out.append(MinimumUnderH1(minimum, norm, exact, end, matched_distance(end.W, minimum.W)))
    return out
