r"""Certified claims: one-neuron inequalities proved (or refuted) by ball branch-and-bound.

For one neuron (K = K* = 1) the Hessian spectrum is a closed form of ρ = ‖w*‖/‖w‖ and
θ = angle(w, w*) (proofs_check.analysis.certify.one_neuron_eigenvalues; λ = sobolev weight; d
enters only through d = 2 versus d >= 3). With t = ρ sin θ/(2π), s = ρ cos²θ/(2π sin θ), λ = 1:

* l2:          {1/2, 1/2 − 2t, 1/2 − t},  κ = 1/(1 − 4t), positive definite iff t < 1/4;
* h1 expected: {1, 1 − 3t, 1 − t},        κ = 1/(1 − 3t): below κ(l2) iff t > 0;
* h1 exact:    {1, 1 − 4t, 1 − t + s},     κ = max(1, 1 − t + s)/(1 − 4t) >= κ(l2), with equality
  iff s <= t, i.e. θ ∈ [π/4, 3π/4] (d >= 3; in d = 2 the two are equal everywhere).

κ(h1) < κ(l2) is checked in the cross-multiplied form λmax(h1)·λmin(l2) − λmax(l2)·λmin(h1) < 0,
equivalent wherever both λmin > 0 and defined on the whole box, so sub-boxes straddling the
positive-definite boundary can still be certified. The inequality tends to an equality as t → 0
(θ → 0 or π, or ρ → 0): the box keeps away from those edges, and sub-boxes near them must be
narrow (relative width of t below about 1/7), which is what the sub-box counts reflect.

Every certificate runs proofs_check.analysis.certify.prove on python-flint's Arb balls
(``arithmetic="arb"``, 53 bits unless flint.ctx.prec is changed); the statements name it.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from proofs_check.analysis.certify import (
    CertificationResult,
    arb_ctx,
    describe_arithmetic,
    extremes,
    one_neuron_spectra,
    prove,
)
from proofs_check.claims import Verdict, register
from proofs_check.claims._evidence import headline, headline_or

#: The box of the claims: ρ = ‖w*‖/‖w‖ ∈ [0.1, 10], θ ∈ [1e-3, π − 1e-3].
FULL_BOX = ((0.1, 10.0), (1e-3, math.pi - 1e-3))
#: The smaller box used with quick=True.
QUICK_BOX = ((0.5, 2.0), (0.01, math.pi - 0.01))
NAMES = ("ρ", "θ")
#: A box where the exact h1 Hessian is certified worse conditioned than l2 (θ < π/4; both
#: positive definite throughout since t <= 1.5/(2π) < 1/4), and its quick counterpart.
WORSE_BOX = ((0.1, 1.5), (1e-3, math.pi / 4 - 0.05))
QUICK_WORSE_BOX = ((0.5, 1.5), (0.01, math.pi / 4 - 0.05))
#: Budgets (examined sub-boxes). The full-box κ proof examines about 9e3 sub-boxes (d >= 3), the
#: quick box about 2e3; a result that runs out is reported "undecided", never "proved".
FULL_BUDGET = 30_000
QUICK_BUDGET = 5_000
MIN_WIDTH = 1e-7
#: The arithmetic of every certificate here (proofs_check.analysis.certify.prove).
CERTIFICATE_ARITHMETIC = "arb"


class _OneNeuron:
    """Ball extremes (λmin, λmax) of l2 and h1 on a (ρ, θ) sub-box (python-flint Arb balls).

    prove evaluates ``where`` and then f on the same list of balls: the extremes of the last
    list are kept and reused when the next call passes the very same ball objects (balls are
    immutable, so identical objects are identical enclosures)."""

    def __init__(self, convention: str, dim: int, sobolev_weight: float = 1.0) -> None:
        self.convention, self.dim, self.weight = convention, dim, sobolev_weight
        self._last: tuple[tuple, tuple] | None = None

    def extremes(self, box: list) -> tuple:
        rho, theta = box
        if self._last is not None:
            (last_rho, last_theta), value = self._last
            if rho is last_rho and theta is last_theta:
                return value
        spectra = one_neuron_spectra(rho, theta, convention=self.convention,
                                     sobolev_weight=self.weight, dim=self.dim, ctx=arb_ctx)
        value = (extremes(spectra["l2"]), extremes(spectra["h1"]))
        self._last = ((rho, theta), value)
        return value

    def kappa_cross(self, box: list):
        """λmax(h1)·λmin(l2) − λmax(l2)·λmin(h1): < 0 ⇔ κ(h1) < κ(l2) where both are PD."""
        (l2_min, l2_max), (h1_min, h1_max) = self.extremes(box)
        return arb_ctx.fmul(h1_max, l2_min) - arb_ctx.fmul(l2_max, h1_min)

    def both_positive_definite(self, box: list) -> tuple:
        """(λmin(l2), λmin(h1)): the region is where both are > 0."""
        (l2_min, _), (h1_min, _) = self.extremes(box)
        return l2_min, h1_min

    def min_gain(self, box: list):
        """λmin(l2) − λmin(h1)/(1 + λ): < 0 ⇔ normalised h1 raises the smallest eigenvalue."""
        (l2_min, _), (h1_min, _) = self.extremes(box)
        return l2_min - h1_min / (1 + self.weight)

    def max_change(self, box: list):
        """λmax(h1)/(1 + λ) − λmax(l2): = 0 ⇔ normalised h1 keeps the largest eigenvalue."""
        (_, l2_max), (_, h1_max) = self.extremes(box)
        return h1_max / (1 + self.weight) - l2_max


KAPPA_F = "λmax(h1)·λmin(l2) − λmax(l2)·λmin(h1) (< 0 ⇔ κ(h1) < κ(l2) where both are PD)"
MIN_GAIN_F = "λmin(l2) − λmin(h1)/(1 + λ)"
MAX_CHANGE_F = "λmax(h1)/(1 + λ) − λmax(l2)"


def _kappa_proof(convention: str, dim: int, quick: bool) -> CertificationResult:
    problem = _OneNeuron(convention, dim)
    return prove(
        problem.kappa_cross, QUICK_BOX if quick else FULL_BOX, relation="<",
        where=problem.both_positive_definite, names=NAMES,
        claim=f"κ(h1, {convention}, λ=1) < κ(l2) (one neuron, d {'= 2' if dim == 2 else '>= 3'})",
        condition=("both Hessians are positive definite (all eigenvalues > 0; the expected "
                   "Jacobian is not symmetric)"),
        min_width=MIN_WIDTH, max_boxes=QUICK_BUDGET if quick else FULL_BUDGET, f_label=KAPPA_F,
        arithmetic=CERTIFICATE_ARITHMETIC)


def _theory_cross_check(rho: float, theta: float, convention: str) -> dict:
    """κ(l2), κ(h1) at (ρ, θ) in d = 3 from theory.condition_number (dense assembly)."""
    from theory import condition_number

    W = np.array([[1.0, 0.0, 0.0]])
    W_star = rho * np.array([[math.cos(theta), math.sin(theta), 0.0]])
    return {
        "W": W.tolist(), "W_star": W_star.tolist(),
        "kappa_l2": condition_number(W, W_star, "l2", method="dense"),
        "kappa_h1": condition_number(W, W_star, "h1", convention=convention, method="dense"),
        "method": f"theory.condition_number (dense eigenvalues, float64), convention "
                  f"{convention!r}, λ = 1",
    }


def _evidence(results: dict[str, CertificationResult], convention: str) -> dict[str, Any]:
    """Certificates as JSON-ready dicts keyed by name (``evidence["proofs"]`` lists the names),
    with a dense float64 cross-check of any counterexample."""
    proofs = {name: result.to_dict() for name, result in results.items()}
    for proof in proofs.values():
        if proof["status"] == "counterexample":
            point = proof["counterexample"]["point"]
            proof["counterexample"]["theory_check_d3"] = _theory_cross_check(
                point["ρ"], point["θ"], convention)
    return {**proofs, "proofs": list(proofs), "convention": convention,
            "seeds": "none (deterministic ball bisection)"}


#: Appended to every summary so that its symbols are defined.
SYMBOLS = "; here ρ = ‖w*‖/‖w‖, θ = angle(w, w*), λ = Sobolev weight"


def decide_certificates(evidence: dict[str, Any]) -> Verdict:
    """fails: some certificate found a certified counterexample; proved: every certificate
    proved its box; inconclusive: some certificate is undecided (budget or minimum width)."""
    verdict = _decide_certificates(evidence)
    verdict.summary += SYMBOLS
    return verdict


def _decide_certificates(evidence: dict[str, Any]) -> Verdict:
    proofs = {name: evidence[name] for name in evidence["proofs"]}
    failed = [(name, p) for name, p in proofs.items() if p["status"] == "counterexample"]
    if failed:
        name, proof = failed[0]
        point = proof["counterexample"].get("point", {})
        where = ", ".join(f"{key} = {value:.3g}" for key, value in point.items()
                          if isinstance(value, (int, float)))
        return Verdict("fails", proof["statement"], evidence=evidence,
                       counterexample={**proof["counterexample"], "proof": name},
                       headline=headline_or(f"certified counterexample at {where}",
                                            "certified counterexample (interval arithmetic)"))
    if all(p["status"] == "proved" for p in proofs.values()):
        boxes = sum(int(p.get("proved_boxes") or 0) for p in proofs.values())
        return Verdict("proved", "; ".join(p["statement"] for p in proofs.values()),
                       evidence=evidence,
                       headline=headline(f"proved on {len(proofs)} box(es), {boxes} sub-boxes "
                                         "certified"))
    undecided = [p["statement"] for p in proofs.values() if p["status"] == "undecided"]
    return Verdict("inconclusive", "; ".join(undecided), evidence=evidence,
                   headline=headline(f"{len(undecided)} of {len(proofs)} certificates "
                                     "undecided"))


_SCOPE = ("K = K* = 1, λ = 1, box ρ = ‖w*‖/‖w‖ ∈ [0.1, 10], θ ∈ [1e-3, π − 1e-3] "
          "(quick: ρ ∈ [0.5, 2], θ ∈ [0.01, π − 0.01]); the spectrum depends on d only through "
          "d = 2 versus d >= 3")
_CERTIFIED = ("proved", "fails", "inconclusive")


@functools.cache
def gather_expected(quick: bool) -> dict[str, Any]:
    results = {"d>=3": _kappa_proof("expected", 3, quick)}
    if not quick:
        results["d=2 (quick box)"] = _kappa_proof("expected", 2, quick=True)
    evidence = _evidence(results, "expected")
    evidence["note"] = (
        "κ(l2) − κ(h1) = t/((1 − 4t)(1 − 3t)) → 0 as t = ρ sin θ/(2π) → 0: the inequality is "
        "tight at θ = 0, π and ρ = 0, so the certificate holds on the stated box only; "
        f"{describe_arithmetic(CERTIFICATE_ARITHMETIC)}")
    return evidence


@register(
    id="certified-kappa-h1-expected-below-l2",
    statement=("For one neuron, κ of the h1 Jacobian (expected convention, λ = 1) is below κ of "
               "the l2 Hessian wherever both are positive definite."),
    source="Oh, Lyu, Son (2025) 'Sobolev training improves "
           "the conditioning'",
    scope=_SCOPE + "; d >= 3 (and, with quick=False, also d = 2 on the quick box)",
    expected="proved", verdicts=_CERTIFIED, gather=gather_expected,
)
def check_expected(evidence: dict[str, Any]) -> Verdict:
    return decide_certificates(evidence)


@functools.cache
def gather_exact(quick: bool) -> dict[str, Any]:
    evidence = _evidence({"d>=3": _kappa_proof("exact", 3, quick)}, "exact")
    problem = _OneNeuron("exact", 3)
    region = prove(
        problem.kappa_cross, QUICK_WORSE_BOX if quick else WORSE_BOX, relation=">",
        where=problem.both_positive_definite, names=NAMES,
        claim="κ(h1, exact, λ=1) > κ(l2) (one neuron, d >= 3)",
        condition="both Hessians are positive definite",
        min_width=MIN_WIDTH, max_boxes=QUICK_BUDGET if quick else FULL_BUDGET, f_label=KAPPA_F,
        arithmetic=CERTIFICATE_ARITHMETIC)
    evidence["worse_on_region"] = region.to_dict()
    evidence["note"] = (
        "exact h1 spectrum {1, 1 − 4t, 1 − t + s}, t = ρ sin θ/(2π), s = ρ cos²θ/(2π sin θ): the "
        "complement eigenvalue exceeds 1 for |cos θ| > sin θ, so κ(h1, exact) > κ(l2) for "
        "θ < π/4 or θ > 3π/4 and κ(h1, exact) = κ(l2) on [π/4, 3π/4] (d >= 3)")
    return evidence


@register(
    id="certified-kappa-h1-exact-below-l2",
    statement=("For one neuron, κ of the exact h1 Hessian (λ = 1) is below κ of the l2 Hessian "
               "wherever both are positive definite."),
    source="this toolkit (the exact-convention counterpart of the paper's conditioning "
           "claim)",
    scope=_SCOPE + "; d >= 3",
    expected="fails", verdicts=_CERTIFIED, gather=gather_exact,
)
def check_exact(evidence: dict[str, Any]) -> Verdict:
    verdict = _decide_certificates(evidence)
    region = evidence["worse_on_region"]
    if verdict.status == "fails" and region["status"] == "proved":
        verdict.summary += f"; moreover {region['statement']}"
    verdict.summary += SYMBOLS
    return verdict


@functools.cache
def gather_normalised(quick: bool) -> dict[str, Any]:
    problem = _OneNeuron("expected", 3)
    box = QUICK_BOX if quick else FULL_BOX
    budget = QUICK_BUDGET if quick else FULL_BUDGET
    common = {"names": NAMES, "min_width": MIN_WIDTH, "max_boxes": budget,
              "arithmetic": CERTIFICATE_ARITHMETIC}
    results = {
        "min_raised": prove(problem.min_gain, box, relation="<", f_label=MIN_GAIN_F,
                            claim="λmin(h1)/(1 + λ) > λmin(l2)", **common),
        "max_not_above": prove(problem.max_change, box, relation="<=", f_label=MAX_CHANGE_F,
                               claim="λmax(h1)/(1 + λ) <= λmax(l2)", **common),
        "max_not_below": prove(problem.max_change, box, relation=">=", f_label=MAX_CHANGE_F,
                               claim="λmax(h1)/(1 + λ) >= λmax(l2)", **common),
    }
    evidence = _evidence(results, "expected")
    evidence["note"] = (
        "λmax = (1 + λ)/2 in the direction v for both (normalised); λmin(l2) = 1/2 − 2t, "
        "λmin(h1)/(1 + λ) = 1/2 − (2 + λ)t/(1 + λ), t = ρ sin θ/(2π). Without the "
        "normalisation λmax doubles (λ = 1).")
    return evidence


@register(
    id="certified-h1-normalised-raises-min-keeps-max",
    statement=("For one neuron, the normalised h1 Jacobian (h1/(1 + λ), expected convention, "
               "λ = 1) has a larger smallest eigenvalue than the l2 Hessian and the same "
               "largest eigenvalue."),
    source="Oh, Lyu, Son (2025) as summarised ('raises the smallest eigenvalue while barely "
           "changing the largest', under the normalisation h1/(1 + λ))",
    scope=_SCOPE + "; d >= 3; no positive-definiteness needed",
    expected="proved", verdicts=_CERTIFIED, gather=gather_normalised,
)
def check_normalised(evidence: dict[str, Any]) -> Verdict:
    return decide_certificates(evidence)
