"""Benchmark `field`: One theory.population_gradient call (lean route of theory.fast_field) vs the
general route it falls back to (theory.assembly.general_population_gradient), interleaved, best
of several runs of many calls; relu h1 (λ = 1), both conventions, random W, W* (no nearly
parallel pairs), plus the prepared field theory.gradient_field, one point near convergence (W =
W* + 1e-6·Z: every matched pair on the extended-precision path) and population_loss. Targets
>= 5x at K <= 4; no slower at K = 64, d = 1000 (there the lean route is BLAS
products, whose threads make it noisy on a loaded machine).

Run: python benchmarks/run.py --only field [--quick]. Prints its ratio against the baseline
measured in the same run.
"""

from __future__ import annotations

import numpy as np
from common import Row, interleaved, met, seconds, timed  # noqa: F401

import theory

NAME = 'field'


def run(quick: bool) -> list[Row]:
    """One theory.population_gradient call (lean route of theory.fast_field) vs the general
    route it falls back to (theory.assembly.general_population_gradient), interleaved, best of
    several runs of many calls; relu h1 (λ = 1), both conventions, random W, W* (no nearly
    parallel pairs), plus the prepared field theory.gradient_field, one point near convergence
    (W = W* + 1e-6·Z: every matched pair on the extended-precision path) and population_loss.
    Targets >= 5x at K <= 4; no slower at K = 64, d = 1000 (there the lean
    route is BLAS products, whose threads make it noisy on a loaded machine)."""
    from theory.assembly import general_population_gradient, general_population_loss

    rng = np.random.default_rng(16)
    gradient, loss = theory.population_gradient, theory.population_loss
    calls = 200 if quick else 1000
    five = (">= 5x", lambda r: r >= 5.0)
    cases = []  # (figure, lean, general, (W, W*), options, calls, (target, ok), note)
    for K, d in ((2, 3), (4, 10)):
        pair = rng.standard_normal((K, d)), rng.standard_normal((K, d))
        for convention in ("expected", "exact"):
            cases.append((f"population_gradient relu h1 {convention}, K=K*={K}, d={d}",
                          gradient, general_population_gradient, pair,
                          dict(convention=convention), calls, five,
                          "lean Gram route vs the general pair-geometry route"))
    W, W_star = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    field = theory.gradient_field(W_star, "h1")
    cases.append(("gradient_field(W*, 'h1')(W), K=K*=2, d=3",
                  lambda W, W_star: field(W), general_population_gradient, (W, W_star), {},
                  calls, five, "prepared field: W* and settings validated once"))
    W_star = rng.standard_normal((2, 3))
    cases.append(("population_gradient relu h1 expected, near convergence, K=K*=2, d=3",
                  gradient, general_population_gradient,
                  (W_star + 1e-6 * rng.standard_normal((2, 3)), W_star), {}, calls,
                  ("(report)", lambda r: True),
                  "W = W* + 1e-6·Z: matched pairs take the extended-precision geometry on "
                  "both routes"))
    cases.append(("population_loss relu h1, K=K*=4, d=4", loss, general_population_loss,
                  (rng.standard_normal((4, 4)), rng.standard_normal((4, 4))), {}, calls, five,
                  "lean vs general"))
    K, d = (16, 200) if quick else (64, 1000)
    pair = rng.standard_normal((K, d)), rng.standard_normal((K, d))
    for convention in ("expected", "exact"):
        cases.append((f"population_gradient relu h1 {convention}, K=K*={K}, d={d}", gradient,
                      general_population_gradient, pair, dict(convention=convention), 1,
                      (">= 1x (no slower)", lambda r: r >= 1.0),
                      "lean: (K, K+K*)·(K+K*, d) products; general: (K, K+K*, d) pair arrays"))

    rows = []
    for figure, lean, general, arguments, options, number, (target, ok), note in cases:
        def repeated(function, arguments=arguments, options=options, number=number):
            def run():
                for _ in range(number):
                    function(*arguments, **options)
            return run
        t_general, _, t_lean, _ = interleaved(repeated(general), repeated(lean),
                                              repeat=5 if quick else 9)
        t_general, t_lean = t_general / number, t_lean / number
        ratio = t_general / t_lean
        rows.append(Row(figure, f"{t_lean * 1e6:.3g} µs", f"{t_general * 1e6:.3g} µs (general)",
                        f"{ratio:.3g}x", target, met(ok(ratio)),
                        f"{note}; best of {5 if quick else 9} interleaved runs of {number}"))
    return rows
