r"""SGD on the empirical risk, l2 vs h1, per activation (numerics.train, numpy only).

Setting: teacher W* = first K* rows of I_d (orthonormal), student of width K = K*, the same
activation σ in both, data x ~ N(0, I_d) with y = Σ_j σ(w*_j·x) and ∇_x y (numerics.training).
For every seed s the l2 and h1 runs share the start W₀ (i.i.d. N(0, 1/d) entries, drawn from
default_rng([s, 7])), the training and test samples, and the minibatch order (train(seed=s)).

Yardstick: the test L2 loss mean ½(g − y)² on n_test fresh samples, whatever loss is trained,
evaluated after every step (numerics.train(test_l2_every_step=True)). ε = eps_rel × the test
L2 loss at the start (the same for l2 and h1 of a seed). "steps to ε" is the exact first step
with test L2 loss <= ε (None if never within ``steps``); no recording grid rounds it, so two
runs tie only when they reach ε at the same step.

Paired comparison over seeds (:meth:`ActivationStudy.paired`): the sign test on which run of a
seed reaches ε in fewer steps (ties dropped), and the effect size — the median over seeds of
the step ratio steps_h1/steps_l2 (a run that never reaches ε counts as ∞ steps; both never: a
tie, ratio 1) with a 95 % bootstrap interval (scipy.stats.bootstrap, percentile method, 9999
resamples, seeded).

Step sizes: each loss at its own best constant step from ``lr_grid``, chosen on separate tuning
seeds (several: a step is not tuned on a single seed) by the smallest median steps to ε
(ties: the smaller median final test loss; a diverging
step counts as never reaching ε). The normalised h1, (L + λJ)/(1 + λ), at l2's best step is
trained as h1 with step lr_l2/(1 + λ) (the same update).

Endpoint class of a run: "global" when the final test L2 loss <= ε and the student is within
0.05·‖W*‖_F of W* up to a permutation of its rows; "low_loss_elsewhere" when the loss is <= ε
but the weights are not near W*; "stuck" when the final test loss is above ε; "diverged".

Cost: one epoch = n_train / batch_size minibatch updates through
numerics.training.batch_loss_and_gradient (the code train runs), timed in CPU seconds of this
process (time.process_time: other processes' load on a shared machine does not count) for l2 and
h1 alternately; the ratio h1/l2 is that of the best times over the repeats, with
the quartiles of the per-repeat ratios.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import binom, binomtest, bootstrap

from numerics.landscape import orthonormal_teacher, wilson_interval
from numerics.training import batch_loss_and_gradient, sample_teacher_data, train

ACTIVATION_NAMES = ("relu", "leaky_relu", "gelu", "tanh", "sine")
VARIANTS = ("l2", "h1", "h1_normalised")
ENDPOINT_CLASSES = ("global", "low_loss_elsewhere", "stuck", "diverged")


@dataclass(frozen=True)
class SGDSettings:
    """Sizes and grids of the SGD study (module docstring)."""

    width: int = 4
    dim: int = 8
    n_train: int = 4096
    n_test: int = 2048
    batch_size: int = 32
    steps: int = 1500
    record_every: int = 25
    eps_rel: float = 1e-3
    lr_grid: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)
    tuning_seeds: tuple[int, ...] = (1000, 1001, 1002)
    seeds: tuple[int, ...] = tuple(range(20))
    sobolev_weight: float = 1.0
    #: end each run at the step it reaches ε (its endpoint is then that step's): the steps to ε
    #: are unchanged and a run costs about steps-to-ε updates instead of ``steps``.
    stop_at_eps: bool = False

    def __post_init__(self) -> None:
        if len(self.seeds) < 1 or len(self.tuning_seeds) < 1 or len(self.lr_grid) < 1:
            raise ValueError("seeds, tuning_seeds and lr_grid must be non-empty")
        if set(self.seeds) & set(self.tuning_seeds):
            raise ValueError("tuning_seeds must differ from the evaluation seeds")
        if not (0 < self.eps_rel < 1):
            raise ValueError(f"eps_rel must lie in (0, 1); got {self.eps_rel!r}")
        orthonormal_teacher(self.width, self.dim)

    def as_dict(self) -> dict[str, Any]:
        return {name: (list(value) if isinstance(value, tuple) else value)
                for name, value in ((n, getattr(self, n)) for n in self.__dataclass_fields__)}


@dataclass(frozen=True)
class RunOutcome:
    """One SGD run: steps to ε (None if never), final and initial test L2 loss, class."""

    seed: int
    variant: str
    lr: float
    steps_to_eps: int | None
    initial_test_l2: float
    final_test_l2: float | None
    distance: float | None
    cls: str


def _start(seed: int, settings: SGDSettings) -> np.ndarray:
    rng = np.random.default_rng([seed, 7])
    return rng.standard_normal((settings.width, settings.dim)) / math.sqrt(settings.dim)


def run_once(activation: str, variant: str, lr: float, seed: int,
             settings: SGDSettings) -> RunOutcome:
    """Train one variant ("l2", "h1", "h1_normalised" = h1 with step lr/(1 + λ)) from seed."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}; got {variant!r}")
    W_star = orthonormal_teacher(settings.width, settings.dim)
    loss = "l2" if variant == "l2" else "h1"
    step = lr / (1 + settings.sobolev_weight) if variant == "h1_normalised" else lr
    W0 = _start(seed, settings)
    try:
        result = train(W0, W_star, loss, optimizer="sgd", lr=step, steps=settings.steps,
                       batch_size=settings.batch_size, n_train=settings.n_train,
                       n_test=settings.n_test, seed=seed, activation=activation,
                       sobolev_weight=settings.sobolev_weight,
                       record_every=settings.record_every, test_l2_every_step=True,
                       stop_at_test_l2_fraction=settings.eps_rel if settings.stop_at_eps
                       else None)
    except ValueError as exc:
        if "diverged" not in str(exc):
            raise
        return RunOutcome(seed, variant, lr, None, math.nan, None, None, "diverged")
    curve = result.test_l2_loss
    epsilon = settings.eps_rel * curve[0]
    hit = np.flatnonzero(result.test_l2_each_step <= epsilon)  # index = step
    steps_to = int(hit[0]) if hit.size else None
    cost = ((result.W[:, None, :] - W_star[None, :, :]) ** 2).sum(axis=-1)
    rows, cols = linear_sum_assignment(cost)
    distance = float(math.sqrt(cost[rows, cols].sum()))
    final = float(curve[-1])
    if final > epsilon:
        cls = "stuck"
    elif distance <= 0.05 * float(np.linalg.norm(W_star)):
        cls = "global"
    else:
        cls = "low_loss_elsewhere"
    return RunOutcome(seed, variant, lr, steps_to, float(curve[0]), final, distance, cls)


def _score(outcomes: list[RunOutcome]) -> tuple[float, float]:
    steps = [o.steps_to_eps if o.steps_to_eps is not None else math.inf for o in outcomes]
    finals = [o.final_test_l2 if o.final_test_l2 is not None else math.inf for o in outcomes]
    return float(np.median(steps)), float(np.median(finals))


def best_step(activation: str, loss: str, settings: SGDSettings) -> tuple[float, list]:
    """The grid step with the smallest median steps to ε over the tuning seeds, and the table."""
    table = []
    for lr in settings.lr_grid:
        outcomes = [run_once(activation, loss, lr, seed, settings)
                    for seed in settings.tuning_seeds]
        table.append((lr, *_score(outcomes)))
    best = min(table, key=lambda row: (row[1], row[2], row[0]))
    return best[0], [{"lr": lr, "median_steps": None if math.isinf(s) else s,
                      "median_final": None if math.isinf(f) else f} for lr, s, f in table]


def median_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """Distribution-free interval for the median: order statistics (x_(j), x_(n+1−j)) with
    P(j <= Binomial(n, ½) <= n − j) >= confidence (None when n is too small)."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    j = int(binom.ppf((1 - confidence) / 2, n, 0.5))  # number below the lower bound
    while j > 0 and binom.cdf(n - j, n, 0.5) - binom.cdf(j - 1, n, 0.5) < confidence:
        j -= 1
    if j < 1:
        return None
    return float(x[j - 1]), float(x[n - j])


def step_ratio_effect(ratios: list[float], confidence: float = 0.95,
                      seed: int = 0) -> dict[str, Any]:
    """Median of the per-seed step ratios and its bootstrap interval (percentile method, 9999
    resamples, numpy default_rng(seed)); null bounds with a reason when fewer than 3 ratios or
    an end is not finite."""
    values = np.asarray(ratios, dtype=float)
    out: dict[str, Any] = {
        "median_step_ratio": _finite(float(np.median(values))) if values.size else None,
        "step_ratio_ci95": None,
        "step_ratio_how": f"median over {values.size} seeds of the per-seed step ratio; "
                          f"{confidence:.0%} bootstrap interval, percentile method, 9999 "
                          f"resamples, default_rng({seed})"}
    if values.size < 3:
        out["step_ratio_ci95_reason"] = "fewer than 3 seeds"
        return out
    with np.errstate(invalid="ignore"):  # infinite ratios: the percentile ends stay exact
        result = bootstrap((values,), np.median, confidence_level=confidence,
                           n_resamples=9999, method="percentile",
                           rng=np.random.default_rng(seed), vectorized=True, axis=-1)
    low, high = (float(result.confidence_interval.low), float(result.confidence_interval.high))
    out["step_ratio_ci95"] = [_finite(low), _finite(high)]
    if not (math.isfinite(low) and math.isfinite(high)):
        out["step_ratio_ci95_reason"] = "an end is infinite: runs that never reached ε"
    return out


def _finite(value: float) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@dataclass(frozen=True)
class ActivationStudy:
    """The l2 / h1 / normalised-h1 runs of one activation, paired by seed."""

    activation: str
    lr: dict[str, float]
    tuning: dict[str, list]
    runs: dict[str, tuple[RunOutcome, ...]]
    settings: SGDSettings = field(repr=False)

    def summary(self, variant: str) -> dict[str, Any]:
        runs = self.runs[variant]
        n = len(runs)
        reached = [r.steps_to_eps for r in runs if r.steps_to_eps is not None]
        steps = [r.steps_to_eps if r.steps_to_eps is not None else math.inf for r in runs]
        finals = [r.final_test_l2 if r.final_test_l2 is not None else math.inf for r in runs]
        interval = median_interval(steps)
        classes = dict.fromkeys(ENDPOINT_CLASSES, 0)
        for r in runs:
            classes[r.cls] += 1
        return {
            "lr": self.lr[variant], "n_seeds": n, "reached": len(reached),
            "reached_wilson95": wilson_interval(len(reached), n),
            "median_steps_to_eps": _finite(float(np.median(steps))),
            "median_steps_ci95": None if interval is None else
            [_finite(interval[0]), _finite(interval[1])],
            "median_final_test_l2": _finite(float(np.median(finals))),
            "final_test_l2_ci95": (None if median_interval(finals) is None else
                                   [_finite(v) for v in median_interval(finals)]),
            "endpoint_classes": classes,
            "global_wilson95": wilson_interval(classes["global"], n),
        }

    def paired(self, variant: str, against: str = "l2") -> dict[str, Any]:
        """Sign test over seeds (does ``variant`` reach ε in fewer steps than ``against``?) and
        the effect size: median step ratio variant/against with its bootstrap interval."""
        wins = losses = ties = 0
        ratios = []
        for a, b in zip(self.runs[variant], self.runs[against], strict=True):
            sa = a.steps_to_eps if a.steps_to_eps is not None else math.inf
            sb = b.steps_to_eps if b.steps_to_eps is not None else math.inf
            if sa < sb:
                wins += 1
            elif sa > sb:
                losses += 1
            else:
                ties += 1
            ratios.append(1.0 if sa == sb else sa / sb)
        p = binomtest(wins, wins + losses).pvalue if wins + losses else 1.0
        return {"fewer_steps": wins, "more_steps": losses, "ties": ties,
                "sign_test_p": float(p), **step_ratio_effect(ratios)}

    def as_dict(self) -> dict[str, Any]:
        return {"activation": self.activation, "tuning": self.tuning,
                "variants": {v: self.summary(v) for v in VARIANTS},
                "h1_vs_l2": self.paired("h1"),
                "h1_normalised_vs_l2": self.paired("h1_normalised")}


def study_activation(activation: str, settings: SGDSettings | None = None) -> ActivationStudy:
    """Tune each loss's step on the tuning seeds, then run all variants on the seeds."""
    settings = settings or SGDSettings()
    if activation not in ACTIVATION_NAMES:
        raise ValueError(f"activation must be one of {ACTIVATION_NAMES}; got {activation!r}")
    lr_l2, table_l2 = best_step(activation, "l2", settings)
    lr_h1, table_h1 = best_step(activation, "h1", settings)
    lr = {"l2": lr_l2, "h1": lr_h1, "h1_normalised": lr_l2}
    # h1 at lr_h1 and the normalised h1 at lr_l2 are the same run when lr_h1 = lr_l2/(1 + λ).
    done: dict[tuple[str, float, int], RunOutcome] = {}
    runs = {}
    for variant in VARIANTS:
        outcomes = []
        for seed in settings.seeds:
            effective = (lr[variant] / (1 + settings.sobolev_weight)
                         if variant == "h1_normalised" else lr[variant])
            key = ("l2" if variant == "l2" else "h1", effective, seed)
            if key not in done:
                done[key] = run_once(activation, variant, lr[variant], seed, settings)
            outcomes.append(replace(done[key], variant=variant, lr=lr[variant]))
        runs[variant] = tuple(outcomes)
    return ActivationStudy(activation, lr, {"l2": table_l2, "h1": table_h1}, runs, settings)


# ------------------------------------------------------------------------------ cost

@dataclass(frozen=True)
class EpochCost:
    """Seconds per epoch of l2 and h1 (best of the repeats, as timeit reports: other load on the
    machine only adds time) and their ratio; ratio_quartiles are the quartiles of the paired
    per-repeat ratios (the spread the load causes)."""

    activation: str
    l2_seconds: float
    h1_seconds: float
    ratio: float
    ratio_quartiles: tuple[float, float]
    repeats: int
    how: str

    def as_dict(self) -> dict[str, Any]:
        return {"activation": self.activation, "l2_seconds": self.l2_seconds,
                "h1_seconds": self.h1_seconds, "ratio": self.ratio,
                "ratio_quartiles": list(self.ratio_quartiles), "repeats": self.repeats,
                "how": self.how}


def epoch_cost(activation: str = "relu", settings: SGDSettings | None = None, *,
               repeats: int = 15) -> EpochCost:
    """Time one epoch of minibatch updates for l2 and for h1, alternately, ``repeats`` times."""
    settings = settings or SGDSettings()
    W_star = orthonormal_teacher(settings.width, settings.dim)
    rng = np.random.default_rng(0)
    X, y, dy = sample_teacher_data(W_star, settings.n_train, rng, activation)
    batches = [slice(i, i + settings.batch_size)
               for i in range(0, settings.n_train - settings.batch_size + 1, settings.batch_size)]
    W0 = _start(0, settings)

    def epoch(loss: str) -> float:
        W = W0.copy()
        start = time.process_time()
        for batch in batches:
            _, gradient = batch_loss_and_gradient(W, X[batch], y[batch], dy[batch], loss,
                                                  settings.sobolev_weight, activation)
            W = W - 1e-3 * gradient
        return time.process_time() - start

    epoch("l2"), epoch("h1")  # warm-up
    l2_times, h1_times = [], []
    for _ in range(repeats):
        l2_times.append(epoch("l2"))
        h1_times.append(epoch("h1"))
    ratios = np.array(h1_times) / np.array(l2_times)
    quartiles = tuple(float(q) for q in np.quantile(ratios, [0.25, 0.75]))
    return EpochCost(activation, float(min(l2_times)), float(min(h1_times)),
                     float(min(h1_times) / min(l2_times)), quartiles, repeats,
                     f"one epoch = {len(batches)} minibatch updates of {settings.batch_size} "
                     f"(K = {settings.width}, d = {settings.dim}) through numerics.training."
                     f"batch_loss_and_gradient, CPU time (time.process_time), l2 and h1 "
                     f"alternated, best of {repeats} repeats after a warm-up")


def quick_settings() -> SGDSettings:
    """Reduced sizes for `check --quick` (still 20 evaluation seeds)."""
    return replace(SGDSettings(), n_train=2048, n_test=1024, steps=400, record_every=20,
                   lr_grid=(0.4, 0.8, 1.6), tuning_seeds=(1000, 1001, 1002))


def main(argv: list[str] | None = None) -> int:
    """``python3 -m numerics.sgd_study [--activations ...] [--quick] [--json]``: the full study."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description="SGD on the empirical risk, l2 vs h1")
    parser.add_argument("--activations", nargs="+", choices=ACTIVATION_NAMES,
                        default=list(ACTIVATION_NAMES))
    parser.add_argument("--quick", action="store_true", help="reduced sizes (quick_settings)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    settings = quick_settings() if args.quick else SGDSettings()
    report = {"settings": settings.as_dict(), "activations": []}
    for activation in args.activations:
        study = study_activation(activation, settings).as_dict()
        study["epoch_cost"] = epoch_cost(activation, settings).as_dict()
        report["activations"].append(study)
        if not args.json:
            print(f"\n[{activation}] best steps: l2 {study['variants']['l2']['lr']}, h1 "
                  f"{study['variants']['h1']['lr']}; epoch cost h1/l2 = "
                  f"{study['epoch_cost']['ratio']:.2f}")
            for variant, row in study["variants"].items():
                ci = row["median_steps_ci95"]
                ci_text = "—" if ci is None else f"[{ci[0]}, {ci[1]}]"
                print(f"  {variant:14s} lr {row['lr']:<5g} reached ε {row['reached']}/"
                      f"{row['n_seeds']}  median steps {row['median_steps_to_eps']} {ci_text}"
                      f"  median final test L2 {row['median_final_test_l2']:.3g}  classes "
                      f"{row['endpoint_classes']}")
            for name in ("h1_vs_l2", "h1_normalised_vs_l2"):
                pair = study[name]
                ci = pair["step_ratio_ci95"]
                ratio = pair["median_step_ratio"]
                effect = ("" if ratio is None else f", median step ratio {ratio:.3g}"
                          + ("" if ci is None or None in ci else
                             f" (95 % bootstrap {ci[0]:.3g} to {ci[1]:.3g})"))
                print(f"  {name}: fewer steps {pair['fewer_steps']}, more {pair['more_steps']}, "
                      f"ties {pair['ties']}, sign test p = {pair['sign_test_p']:.3g}{effect}")
    if args.json:
        print(json.dumps(report, indent=1, allow_nan=False))
    else:
        print(f"\n(ε = {settings.eps_rel:g} × initial test L2 loss; K = K* = {settings.width}, "
              f"d = {settings.dim}, batch {settings.batch_size}, {settings.steps} steps, "
              f"{len(settings.seeds)} seeds; step grid {list(settings.lr_grid)} tuned on seeds "
              f"{list(settings.tuning_seeds)})")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
