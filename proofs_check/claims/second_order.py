"""Claim: a second derivative in the loss conditions the landscape further, κ(h2) < κ(h1) < κ(l2).

The paper's official code trains with L2, H1 and H2 = MSE(u) + MSE(u_x) + MSE(u_xx) (unit
weights). Read at the population level for smooth activations (erf, sine, gelu, where J₂ is
finite and the Hessian exists at the teacher): at the global minimum W = W* and near it
(W* + r·Z/√d), is the chain κ(h2) < κ(h1) < κ(l2) of Hessian condition numbers true?

Evidence: theory's closed-form Hessians (λ = μ = 1, x ~ N(0, I)), teachers with N(0, 1/d)
entries (theory.configurations). A point counts only where all three Hessians are positive
definite (κ finite); points where some κ is infinite (a saddle near the teacher) are reported
separately. Inequalities are strict with relative tolerance ``RTOL``; ties are reported apart.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

import theory
from proofs_check.claims import Verdict, register
from proofs_check.claims._evidence import find_region, headline, region_terms, rule_status
from theory.configurations import make_configuration

ACTIVATIONS = ("erf", "sine", "gelu")
LOSSES = ("l2", "h1", "h2")
#: Relative tolerance of the strict inequalities; |κ_a − κ_b| <= RTOL·κ_b is a tie.
RTOL = 1e-9


def _grid(quick: bool):
    widths = (1, 2) if quick else (1, 2, 3)
    dims = (2, 3) if quick else (2, 3, 5)
    seeds = range(2) if quick else range(4)
    placements = (("teacher", None), ("perturbed", 0.1))
    for activation in ACTIVATIONS:
        for width in widths:
            for dim in dims:
                for at, radius in placements:
                    for seed in seeds:
                        yield activation, width, dim, at, radius, seed


@functools.cache
def gather(quick: bool) -> dict[str, Any]:
    """κ(l2), κ(h1), κ(h2) at every survey point (None where κ is infinite)."""
    points = []
    for activation, width, dim, at, radius, seed in _grid(quick):
        config = make_configuration(width, width, dim, seed, at=at, radius=radius)
        kappas = {}
        for loss in LOSSES:
            kappa = theory.condition_number(config.W, config.W_star, loss, activation=activation,
                                            sobolev_weight=1.0, second_order_weight=1.0)
            kappas[loss] = kappa if math.isfinite(kappa) else None
        points.append({"activation": activation, "K": width, "d": dim, "at": at,
                       "radius": radius, "seed": seed, "kappa": kappas})
    return {"points": points,
            "method": "closed-form Hessians (theory), λ = μ = 1, x ~ N(0, I), teacher entries "
                      "N(0, 1/d); perturbed = W* + 0.1·Z/√d",
            "rtol": RTOL}


def _compare(small: float, large: float, rtol: float) -> str:
    if abs(small - large) <= rtol * large:
        return "tie"
    return "holds" if small < large else "violated"


#: Features a region of the chain claim may be stated in (the claim's own terms).
_FEATURES = {"activation": lambda p: p["activation"], "K": lambda p: p["K"],
             "d": lambda p: p["d"], "placement": lambda p: p["at"]}


@register(
    id="kappa-h2-below-h1-below-l2",
    statement="Adding the second derivative to the loss improves conditioning further: "
              "κ(h2) < κ(h1) < κ(l2) at and near the global minimum, per smooth activation.",
    source="Oh, Lyu, Son (2025): the official code trains with L2, H1 and H2 "
           "(MSE(u) + MSE(u_x) + MSE(u_xx))",
    scope="erf, sine, gelu; K = K* in {1, 2, 3}, d in {2, 3, 5}, at W* and at W* + 0.1·Z/√d, "
          "λ = μ = 1, x ~ N(0, I); points with a non-positive-definite Hessian excluded",
    expected="conditional",
    verdicts=("holds", "conditional", "fails", "inconclusive"),
    gather=gather,
)
def decide(evidence: dict[str, Any]) -> Verdict:
    """The verdict rule (proofs_check.claims._evidence) on the chain: a point is satisfied when
    both links hold strictly, a tie when neither is violated but one ties, a violation when a
    link is violated; the region is searched in activation, K, d and placement."""
    rtol = evidence.get("rtol", RTOL)
    valid, excluded, links_of = [], 0, []
    for point in evidence["points"]:
        k = point["kappa"]
        if any(k[loss] is None for loss in LOSSES):
            excluded += 1
            continue
        valid.append(point)
        links_of.append({"h2<h1": _compare(k["h2"], k["h1"], rtol),
                         "h1<l2": _compare(k["h1"], k["l2"], rtol)})
    violated = np.array(["violated" in links.values() for links in links_of], dtype=bool)
    satisfied = np.array([all(v == "holds" for v in links.values()) for links in links_of],
                         dtype=bool)
    n_ties = int((~violated & ~satisfied).sum())
    by_link: dict[str, int] = {}
    for links in links_of:
        for name, value in links.items():
            if value == "violated":
                by_link[name] = by_link.get(name, 0) + 1
    summary_evidence = {
        "method": evidence.get("method"),
        "points_surveyed": len(evidence["points"]),
        "points_compared": len(valid),
        "points_excluded_infinite_kappa": excluded,
        "ties": n_ties,
        "violations": int(violated.sum()),
        "violations_by_link": by_link,
        "worst_ratios": _worst(valid),
    }
    if not valid:
        return Verdict("inconclusive", "no surveyed point has three positive definite Hessians",
                       summary_evidence,
                       headline=headline(f"no point with 3 PD Hessians ({excluded} excluded)"))
    region = (find_region(valid, satisfied, violated, features=_FEATURES,
                          noun="compared points") if violated.any() else None)
    status = rule_status(satisfied=int(satisfied.sum()), ties=n_ties,
                         violations=int(violated.sum()), region=region)
    if status == "inconclusive":
        return Verdict("inconclusive", f"all {len(valid)} compared points are ties",
                       summary_evidence, headline=headline(f"ties at all {len(valid)} points"))
    if status == "holds":
        return Verdict("holds", f"κ(h2) < κ(h1) < κ(l2) at all {int(satisfied.sum())} strict "
                       f"of {len(valid)} compared points ({n_ties} ties)", summary_evidence,
                       headline=headline(f"chain holds at {len(valid)} of {len(valid)} points"))
    bad = [p for p, v in zip(valid, violated, strict=True) if v]
    per_activation = []
    for activation in ACTIVATIONS:
        total = sum(p["activation"] == activation for p in valid)
        mine = [p for p in bad if p["activation"] == activation]
        if total:
            at_teacher = sum(p["at"] == "teacher" for p in mine)
            per_activation.append(f"{activation} {len(mine)}/{total} ({at_teacher} at W = W*)")
    widths = sorted({p["K"] for p in bad})
    dims = sorted({p["d"] for p in bad})
    example_index = max(range(len(valid)), key=lambda i: (
        violated[i], valid[i]["at"] == "teacher",
        max(valid[i]["kappa"]["h2"] / valid[i]["kappa"]["h1"],
            valid[i]["kappa"]["h1"] / valid[i]["kappa"]["l2"])))
    example = valid[example_index]
    counterexample = {key: example[key] for key in ("activation", "K", "d", "at", "radius",
                                                    "seed")}
    counterexample.update({"kappa": example["kappa"],
                           "violated": [n for n, v in links_of[example_index].items()
                                        if v == "violated"]})
    k = example["kappa"]
    text = (f"the chain breaks at {len(bad)} of {len(valid)} compared points "
            f"({', '.join(f'{n} × {name}' for name, n in sorted(by_link.items()))}); by "
            f"activation: {', '.join(per_activation)}; at K ∈ {{{', '.join(map(str, widths))}}}, "
            f"d ∈ {{{', '.join(map(str, dims))}}}; e.g. {example['activation']}, "
            f"K = {example['K']}, d = {example['d']}, {example['at']}: κ = {k['l2']:.4g} / "
            f"{k['h1']:.4g} / {k['h2']:.4g} for l2 / h1 / h2; strict at "
            f"{int(satisfied.sum())}, ties {n_ties}")
    short = f"breaks at {len(bad)} of {len(valid)} points, all {len(ACTIVATIONS)} activations" \
        if all(any(p["activation"] == a for p in bad) for a in ACTIVATIONS) else \
        f"breaks at {len(bad)} of {len(valid)} points"
    if status == "conditional":
        return Verdict("conditional", text, summary_evidence | {"region": region},
                       counterexample=counterexample, condition=region["text"],
                       headline=headline(f"holds only where {region_terms(region)}"
                                         if len(region_terms(region)) < 50 else
                                         short))
    return Verdict("fails", text + "; no region of K, d, activation or placement where it "
                   "holds strictly at every compared point", summary_evidence,
                   counterexample=counterexample, headline=headline(short))


def _worst(valid: list[dict[str, Any]]) -> dict[str, Any]:
    """Per activation, the largest κ(h2)/κ(h1) and κ(h1)/κ(l2) over compared points."""
    out: dict[str, Any] = {}
    for activation in ACTIVATIONS:
        pts = [p["kappa"] for p in valid if p["activation"] == activation]
        if pts:
            out[activation] = {
                "max kappa(h2)/kappa(h1)": max(k["h2"] / k["h1"] for k in pts),
                "max kappa(h1)/kappa(l2)": max(k["h1"] / k["l2"] for k in pts),
                "median kappa(l2)/kappa(h2)": sorted(k["l2"] / k["h2"] for k in pts)[
                    len(pts) // 2],
            }
    return out
