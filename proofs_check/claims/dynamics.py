r"""Claims about training dynamics: gradient flow on h1 vs l2, and predicted vs measured rates.

Flows integrate dW/dt = −F(W) with F = theory.population_gradient (expected convention: the
field SGD follows) by numerics.gradient_flow (solve_ivp, DOP853, rtol 1e-8, atol 1e-12) up to
t = 400. Distances are matched over permutations; D(t) = ‖W(t) − W*_π‖/‖W(0) − W*_π‖.

Measured, per flow:

* time to ε: the first t with D(t) <= ε = RELATIVE_EPSILON (inf when not reached by t = 400);
* local rate as a function of distance: ln 10 / (t(10^-(k+1)) − t(10^-k)), the rate over each
  decade k = 0 … DECADES − 1 of D (the rate is not one number: for one neuron the h1 Jacobian at
  the teacher has a Jordan block, and the local rate keeps rising as D shrinks);
* the fitted rate (numerics.gradient_flow's log-linear fit, window D ∈ [1e-5, 1e-2]) ± its SE.

Predicted (proofs_check.analysis.rates): μ = min Re λ(J), J the Jacobian at W* (l2) or the
directional limit J_D along the flow's own approach direction (h1, expected: not differentiable
at W*), and the like-for-like window rate of the linear model δ' = −J δ fitted over the same window.

The paper's statement is about H = L + λJ as written (unnormalised). Because H is larger than L
by roughly the factor 1 + λ, the normalised reading (time × (1 + λ), i.e. the flow of
H/(1 + λ)) is a separate claim, decided on asymptotic rates μ_h1/(1 + λ) vs μ_l2.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from numerics.flow import FlowError, gradient_flow
from proofs_check.claims import Verdict, register
from proofs_check.claims._evidence import (
    RTOL,
    compare_strict,
    describe_location,
    failure_condition,
    headline,
    headline_or,
    location,
    region_terms,
    rule_status,
)
from theory.configurations import make_configuration

FLOW_CASES_QUICK = ((1, 3, "random", 1.0, 0), (2, 3, "random", 1.0, 1),
                    (3, 4, "perturbed", 0.3, 2))
FLOW_CASES_FULL = FLOW_CASES_QUICK + ((2, 3, "perturbed", 0.3, 0), (3, 5, "random", 1.0, 3),
                                      (4, 4, "perturbed", 0.3, 4))
RELATIVE_EPSILON = 1e-4
SOBOLEV_WEIGHT = 1.0
T_MAX = 400.0
#: Decades of D over which local rates are reported (D from 1 down to 1e-6).
DECADES = 6
#: Relative agreement required between a fitted rate and the predicted window rate.
RATE_RTOL = 0.01
#: Tie tolerance for predicted asymptotic rates: the h1 prediction is a one-sided limit taken at
#: offset 1e-7·‖W*‖, which moves μ by O(1e-7) (proofs_check.analysis.rates.predicted_rate).
RATE_TIE = 1e-6


def _local_rates(flow) -> list[dict[str, Any]]:
    d0 = float(flow.distance[0])
    times = [flow.time_to(d0 * 10.0**-k, "distance") for k in range(DECADES + 1)]
    rows = []
    for k in range(DECADES):
        rate = (math.log(10) / (times[k + 1] - times[k])
                if math.isfinite(times[k + 1]) and times[k + 1] > times[k] else math.inf)
        rows.append({"D_from": 10.0**-k, "D_to": 10.0**-(k + 1),
                     "rate": rate if math.isfinite(times[k + 1]) else None})
    return rows


def _run(config, loss: str) -> dict[str, Any]:
    from proofs_check.analysis.rates import compare_flow_rate

    try:
        flow = gradient_flow(config.W, config.W_star, loss, convention="expected",
                             sobolev_weight=SOBOLEV_WEIGHT, t_max=T_MAX, rtol=1e-8, atol=1e-12,
                             window=(1e-2, 1e-5))
    except FlowError as exc:
        return {"status": "error", "message": str(exc), "time": math.inf}
    rates = compare_flow_rate(config.W, config.W_star, loss, sobolev_weight=SOBOLEV_WEIGHT,
                              flow=flow)
    return {"status": flow.status, "time": flow.time_to(RELATIVE_EPSILON * flow.distance[0],
                                                        "distance"),
            "final_relative_distance": float(flow.distance[-1] / flow.distance[0]),
            "local_rates": _local_rates(flow),
            "fitted_rate": rates.measured, "fitted_rate_stderr": rates.measured_stderr,
            "fit_window": rates.fit_window, "predicted_asymptotic_rate": rates.predicted,
            "predicted_window_rate": rates.predicted_window, "prediction": rates.how}


@functools.cache
def flow_runs(quick: bool) -> tuple[dict[str, Any], ...]:
    """l2 and h1 flows from the same starts, with times, local rates and predicted rates."""
    rows = []
    for width, dim, at, radius, seed in (FLOW_CASES_QUICK if quick else FLOW_CASES_FULL):
        config = make_configuration(width, width, dim, seed, at=at, radius=radius)
        row: dict[str, Any] = {"K": width, "K*": width, "d": dim, "at": at, "radius": radius,
                               "seed": seed, **location(config.W, config.W_star)}
        for loss in ("l2", "h1"):
            row[loss] = _run(config, loss)
        rows.append(row)
    return tuple(rows)


def gather_flows(quick: bool) -> dict[str, Any]:
    return {"method": "numerics.gradient_flow (solve_ivp DOP853, rtol 1e-8, atol 1e-12, "
                      f"t_max {T_MAX:g}) on theory's expected field; distances matched over "
                      "permutations; predictions from proofs_check.analysis.rates",
            "epsilon": RELATIVE_EPSILON, "sobolev_weight": SOBOLEV_WEIGHT, "rtol": RTOL,
            "rate_tie": RATE_TIE, "rate_rtol": RATE_RTOL,
            "runs": [dict(r) for r in flow_runs(quick)],
            "seeds": "theory.configurations seeds of each start (the 'seed' of each run)"}


_FLOW_FEATURES = {"K": lambda r: r["K"], "d": lambda r: r["d"],
                  "relative distance of the start": lambda r: r["relative_distance"],
                  "largest start row angle (°)": lambda r: max(r["row_angles_deg"])}
_VERDICTS = ("holds", "conditional", "fails", "inconclusive")


def _strict_verdict(runs, comparison, what: str, evidence: dict[str, Any],
                    details: str, short: str) -> Verdict:
    """The verdict rule (proofs_check.claims._evidence): holds without a violation (ties are
    reported, not violations); conditional with a region of starts where it holds strictly;
    fails otherwise; inconclusive when every start ties. ``short`` names the claim in the
    headline ("h1 first", ...)."""
    counts = comparison.counts()
    evidence = evidence | {"comparison": counts}  # a new dict: decide stays pure
    ties = (f"; {counts['ties']} tie(s) (equal within rtol, not a violation)"
            if counts["ties"] else "")
    where = (failure_condition(runs, comparison.violations, comparison.satisfied,
                               features=_FLOW_FEATURES, min_support=1, noun="starts")
             if comparison.violations.any() else None)
    status = rule_status(satisfied=counts["satisfied"], ties=counts["ties"],
                         violations=counts["violations"],
                         region=where["regions"][0] if where and where["regions"] else None)
    tie_note = f", {counts['ties']} tie(s)" if counts["ties"] else ""
    if status == "inconclusive":
        return Verdict("inconclusive", f"ties at every start; {details}", evidence,
                       headline=headline(f"ties at all {len(runs)} starts"))
    if status == "holds":
        return Verdict("holds", f"{what} at {counts['satisfied']} of {len(runs)} starts{ties}; "
                       + details, evidence,
                       headline=headline(f"{short} at {counts['satisfied']} of {len(runs)} "
                                         f"starts{tie_note}"))
    evidence["failures"] = where
    first = runs[int(np.argmax(comparison.violations))]
    counterexample = {k: first[k] for k in ("K", "d", "at", "radius", "seed")} | {
        "start": describe_location(first), "l2": first["l2"], "h1": first["h1"]}
    text = f"{where['failures']}{ties}; {details}"
    fallback = f"{short} fails at {counts['violations']} of {len(runs)} starts"
    if status == "conditional":
        return Verdict("conditional", text, evidence, counterexample=counterexample,
                       condition=where["condition"],
                       headline=headline_or(f"{short} where {region_terms(where['condition'])}",
                                            f"{short} in a stated region of starts"))
    return Verdict("fails", text, evidence, counterexample=counterexample,
                   headline=headline(fallback))


@register(
    id="flow-h1-faster-than-l2",
    statement="Gradient flow on the H1 (Sobolev) loss H = L + λJ reaches the teacher faster than "
              "on the L2 loss from the same initialisation (expected convention, λ = 1).",
    source="Oh, Lyu, Son (2025), arXiv:2509.19773",
    scope="K = K* in {1, 2, 3(, 4)}, d in {3, 4(, 5)}; starts W* + 0.3·Z/√d and random; time "
          "to shrink ‖W − W*‖ by 1e-4 (t <= 400), raw time (H not normalised)",
    expected="holds", verdicts=_VERDICTS, gather=gather_flows,
)
def check_flow_speed(evidence: dict[str, Any]) -> Verdict:
    """Strictly smaller time to ε for h1 than for l2 (relative tolerance rtol) at every start."""
    runs = evidence["runs"]
    h1 = np.array([r["h1"]["time"] for r in runs])
    l2 = np.array([r["l2"]["time"] for r in runs])
    comparison = compare_strict(h1, l2, "<", rtol=evidence["rtol"])
    ratio = ", ".join("∞" if not math.isfinite(b) else f"{a / b:.2f}"
                      for a, b in zip(h1, l2, strict=True))
    return _strict_verdict(runs, comparison, "h1 reaches ε first", evidence,
                           f"time ratios t_h1/t_l2 to ε = {evidence['epsilon']:g}: {ratio} "
                           "(∞: l2 did not reach ε by t = 400)", "h1 reaches ε first")


@register(
    id="flow-h1-normalised-faster-than-l2",
    statement="Gradient flow on H/(1 + λ) = (L + λJ)/(1 + λ) converges to the teacher faster "
              "than on L: asymptotic rate μ_h1/(1 + λ) > μ_l2 (expected convention, λ = 1).",
    source="the flow claim with the trivial factor 1 + λ removed (time × (1 + λ))",
    scope="the starts of flow-h1-faster-than-l2; μ = min Re λ of the Jacobian at the teacher "
          "(h1: one-sided limit along the flow's approach direction); local rates per decade "
          "of distance and normalised times to 1e-4 reported beside",
    expected="holds", verdicts=_VERDICTS, gather=gather_flows,
)
def check_flow_normalised(evidence: dict[str, Any]) -> Verdict:
    """Predicted asymptotic rates compared strictly with tolerance rate_tie (ties: equal rates)."""
    runs, weight = evidence["runs"], evidence["sobolev_weight"]
    h1 = np.array([r["h1"]["predicted_asymptotic_rate"] for r in runs]) / (1 + weight)
    l2 = np.array([r["l2"]["predicted_asymptotic_rate"] for r in runs])
    comparison = compare_strict(h1, l2, ">", rtol=evidence["rate_tie"])
    times = [(1 + weight) * r["h1"]["time"] < r["l2"]["time"] for r in runs]
    deepest = []
    for r in runs:
        pairs = [(a["rate"], b["rate"]) for a, b in zip(r["h1"]["local_rates"],
                                                         r["l2"]["local_rates"], strict=True)
                 if a["rate"] is not None and b["rate"] is not None]
        deepest.append(f"{pairs[-1][0] / (1 + weight):.3g}/{pairs[-1][1]:.3g}" if pairs
                       else "n/a")
    details = ("predicted μ_h1/(1 + λ) vs μ_l2: "
               + ", ".join(f"{a:.3g}/{b:.3g}" for a, b in zip(h1, l2, strict=True))
               + "; measured local rates in the deepest decade both reached: "
               + ", ".join(deepest)
               + f"; normalised time to ε smaller at {sum(times)} of {len(runs)} starts")
    return _strict_verdict(runs, comparison, "μ_h1/(1 + λ) > μ_l2", evidence, details,
                           "μ_h1/(1 + λ) > μ_l2")


@register(
    id="flow-rate-matches-spectrum",
    statement="The measured exponential rate of gradient flow near the teacher is the rate "
              "predicted from the spectrum of the Jacobian at the teacher (l2 and h1, expected "
              "convention, λ = 1).",
    source="Oh, Lyu, Son (2025), arXiv:2509.19773 (convergence rate governed by the smallest "
           "eigenvalue); predicted vs measured, not only measured",
    scope="the flows of flow-h1-faster-than-l2 that reach the fit window D ∈ [1e-5, 1e-2]; "
          "prediction: linear model δ' = −J δ over the same window (agreement within 1 %), "
          "asymptotic μ reported beside",
    expected="holds", verdicts=("holds", "fails", "inconclusive"), gather=gather_flows,
)
def check_rate_prediction(evidence: dict[str, Any]) -> Verdict:
    """holds: every fitted rate within rate_rtol of its predicted window rate; fails: one is not;
    inconclusive: no flow reached its fit window."""
    rows = []
    for run in evidence["runs"]:
        for loss in ("l2", "h1"):
            flow = run[loss]
            if flow.get("fitted_rate") is None or flow.get("predicted_window_rate") is None:
                continue
            predicted, measured = flow["predicted_window_rate"], flow["fitted_rate"]
            rows.append({"K": run["K"], "d": run["d"], "seed": run["seed"], "loss": loss,
                         "measured": measured, "stderr": flow["fitted_rate_stderr"],
                         "predicted_window": predicted,
                         "predicted_asymptotic": flow["predicted_asymptotic_rate"],
                         "relative_error": abs(measured - predicted) / abs(predicted)})
    evidence = evidence | {"rate_rows": rows}
    if not rows:
        return Verdict("inconclusive", "no flow reached its fit window", evidence,
                       headline=headline("no flow reached its fit window"))
    worst = max(rows, key=lambda row: row["relative_error"])
    off = [row for row in rows if row["relative_error"] > evidence["rate_rtol"]]
    asymptotic = max(abs(r["measured"] / r["predicted_asymptotic"] - 1) for r in rows)
    text = (f"{len(rows) - len(off)} of {len(rows)} fitted rates within "
            f"{evidence['rate_rtol']:.0%} of the predicted window rate (worst "
            f"{worst['relative_error']:.1e}: {worst['loss']}, K = {worst['K']}, measured "
            f"{worst['measured']:.4g} ± {worst['stderr']:.1g}, predicted "
            f"{worst['predicted_window']:.4g}); against the asymptotic μ the largest relative "
            f"gap is {asymptotic:.2g}")
    short = (f"{len(rows) - len(off)} of {len(rows)} fitted rates within "
             f"{evidence['rate_rtol']:.0%} of prediction")
    if off:
        return Verdict("fails", text, evidence, counterexample=off[0], headline=headline(short))
    return Verdict("holds", text, evidence, headline=headline(short))
