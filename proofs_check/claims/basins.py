"""Claims about the basin of convergence of gradient flow (one neuron).

Measured with numerics.gradient_flow on the full d = 3 flow from w₀ = r₀(cos θ₀ u + sin θ₀ e),
teacher u (|w*| = 1). The prediction for the exact convention is the basin edge θ_c of the
reduced (|w|, θ) flow (theory.reduced_flow.critical_angle): above it dθ/dt > 0 and the neuron
turns antiparallel. An exact Sobolev flow stops where the angle reaches the singular set (sin θ
= 1e-7), so "reaches the teacher's ray" is read off the final angle.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from numerics.flow import FlowError, gradient_flow
from proofs_check.claims import Verdict, register
from proofs_check.claims._evidence import (
    failure_condition,
    headline,
    headline_or,
    region_terms,
    rule_status,
)
from theory.reduced_flow import critical_angle

TEACHER = np.array([1.0, 0.0, 0.0])
ORTHOGONAL = np.array([0.0, 1.0, 0.0])
CONVERGED_DISTANCE = 1e-6
ON_RAY_ANGLE = 1e-6


def _start(radius: float, angle: float) -> np.ndarray:
    return radius * (math.cos(angle) * TEACHER + math.sin(angle) * ORTHOGONAL)


def _final(loss: str, convention: str, radius: float, angle: float) -> dict[str, Any]:
    try:
        flow = gradient_flow(_start(radius, angle), TEACHER, loss, convention=convention,
                             t_max=200.0)
    except FlowError as exc:
        return {"r0": radius, "theta0": angle, "status": "error", "message": str(exc)}
    w = flow.W[-1][0]
    final_angle = math.atan2(float(np.linalg.norm(np.cross(w, TEACHER))), float(w @ TEACHER))
    return {"r0": radius, "theta0": angle, "status": flow.status,
            "final_distance": float(flow.distance[-1]), "final_angle": final_angle}


@functools.cache
def _expected_runs(quick: bool) -> tuple[dict[str, Any], ...]:
    angles = (0.5, 1.5, 2.5, math.pi - 0.05) if quick else \
        (0.25, 1.0, 1.75, 2.5, 3.0, math.pi - 0.01)
    radii = (0.5, 2.0)
    return tuple({"loss": loss, **_final(loss, "expected", r, a)}
                 for loss in ("l2", "h1") for a in angles for r in radii)


_FEATURES = {"θ₀": lambda run: run["theta0"], "|w₀|": lambda run: run["r0"]}


def _basin_verdict(runs: list[dict[str, Any]], reached: list[bool], what: str, missed_text: str,
                   evidence: dict[str, Any], extra: str = "") -> Verdict:
    """The verdict rule (proofs_check.claims._evidence): holds when every start reached;
    conditional when the starts that reached form a region of θ₀ / |w₀| (grid values labelled)
    with every miss outside it; fails otherwise; inconclusive without runs."""
    evidence = dict(evidence)  # decide stays pure: never modify the caller's evidence
    missed = np.array([not ok for ok in reached])
    if not runs:
        return Verdict("inconclusive", "no flow was run", evidence,
                       headline=headline("no flow was run"))
    where = (failure_condition(runs, missed, ~missed, features=_FEATURES, min_support=1,
                               noun="starts") if missed.any() else None)
    status = rule_status(satisfied=int((~missed).sum()), ties=0, violations=int(missed.sum()),
                         region=where["regions"][0] if where and where["regions"] else None)
    if status == "holds":
        return Verdict("holds", f"all {len(runs)} flows {what}{extra}", evidence,
                       headline=headline(f"all {len(runs)} flows {what}"))
    evidence["failures"] = where
    first = runs[int(np.argmax(missed))]
    text = where["failures"].replace("fails at", f"{missed_text} at") + extra
    short = f"{missed_text} at {int(missed.sum())} of {len(runs)} starts"
    if status == "conditional":
        return Verdict("conditional", text, evidence, counterexample=first,
                       condition=where["condition"],
                       headline=headline_or(f"{what} where {region_terms(where['condition'])}",
                                            f"{what} in a stated region of starts"))
    return Verdict("fails", text, evidence, counterexample=first, headline=headline(short))


def gather_expected_basin(quick: bool) -> dict[str, Any]:
    return {"method": "numerics.gradient_flow (DOP853, rtol 1e-10) on theory's expected field, "
                      "d = 3", "converged_distance": CONVERGED_DISTANCE,
            "runs": list(_expected_runs(quick)), "seeds": "none (deterministic starts)"}


@register(
    id="basin-one-neuron-expected",
    statement="For one neuron, gradient flow on l2 and on h1 (expected convention, the field "
              "training follows, λ = 1) converges to the teacher from every start with θ₀ < π.",
    source="Tian (2017) for l2; Oh, Lyu, Son (2025) for the Sobolev loss",
    scope="K = K* = 1, d = 3, |w*| = 1, |w₀| in {0.5, 2}, θ₀ on a grid up to π − 0.05 "
          "(π − 0.01 in the full run); converged means ‖w − w*‖ <= 1e-6 by t = 200",
    expected="holds", verdicts=("holds", "conditional", "fails", "inconclusive"),
    gather=gather_expected_basin,
)
def check_expected_basin(evidence: dict[str, Any]) -> Verdict:
    runs = evidence["runs"]
    reached = [run.get("final_distance", math.inf) <= evidence["converged_distance"]
               for run in runs]
    largest = max((run.get("final_distance", math.inf) for run in runs), default=math.nan)
    return _basin_verdict(runs, reached, "converged", "did not converge", evidence,
                          f" (largest final distance {largest:.1e}, threshold "
                          f"{evidence['converged_distance']:g})")


@functools.cache
def _exact_runs(quick: bool) -> tuple[float, tuple[dict[str, Any], ...]]:
    edge = critical_angle("h1", convention="exact", sobolev_weight=1.0)
    offsets = (-0.1, 0.1) if quick else (-0.3, -0.1, -0.02, 0.02, 0.1, 0.3)
    angles = (1.0, *(edge + o for o in offsets), math.pi - 0.05)
    return edge, tuple(_final("h1", "exact", r, a) for a in angles for r in (0.5, 2.0))


def gather_exact_basin(quick: bool) -> dict[str, Any]:
    edge, runs = _exact_runs(quick)
    return {"method": "numerics.gradient_flow on theory's exact field, d = 3; prediction "
                      "theory.reduced_flow.critical_angle", "on_ray_angle": ON_RAY_ANGLE,
            "predicted_edge_theta_c": edge, "runs": [dict(run) for run in runs],
            "seeds": "none (deterministic starts)"}


@register(
    id="basin-one-neuron-exact-h1",
    statement="The exact gradient flow of the h1 population loss (λ = 1) also reaches the "
              "teacher's direction from every one-neuron start with θ₀ < π.",
    source="the basin claim read with the exact gradient instead of the expected one",
    scope="K = K* = 1, d = 3, |w*| = 1, |w₀| in {0.5, 2}, θ₀ around the predicted edge θ_c",
    expected="conditional", verdicts=("holds", "conditional", "fails", "inconclusive"),
    gather=gather_exact_basin,
)
def check_exact_basin(evidence: dict[str, Any]) -> Verdict:
    """As the expected basin; the summary also says whether the measured edge brackets the
    predicted θ_c (every start below it reached the ray, every start above it did not)."""
    edge = evidence["predicted_edge_theta_c"]
    runs = [run | {"reached_teacher_ray": run.get("final_angle", math.pi)
                   <= evidence["on_ray_angle"], "predicted_to_reach": run["theta0"] < edge}
            for run in evidence["runs"]]
    reached = [run["reached_teacher_ray"] for run in runs]
    evidence = evidence | {"runs": runs}
    agree = sum(run["reached_teacher_ray"] == run["predicted_to_reach"] for run in runs)
    return _basin_verdict(runs, reached, "reached the teacher's ray",
                          "did not reach the teacher's ray", evidence,
                          f"; the reduced flow's edge θ_c = {edge:.4f} predicts {agree} of "
                          f"{len(runs)} outcomes")
