"""Claims about the global landscape and about practical training.

The paper says Sobolev training "accelerates convergence and leads to better local minima when
using SGD for empirical risk minimization", at negligible extra cost. Settled here on

* the exact population landscape of the relu student-teacher model with an orthonormal teacher
  (Safran & Shamir 2018's hard case, K = K* = d = k): a census of gradient-descent endpoints
  from the same random starts for l2 and h1 (expected convention, λ = 1) —
  numerics.landscape;
* SGD on sampled data, l2 vs h1 at each loss's own best step — numerics.sgd_study.

Each claim is split into gather (measure; cached, shared) and a pure decide(evidence).
``check --quick`` runs the census at k = 8 only (30 starts) and shorter SGD runs.
"""

from __future__ import annotations

import functools
import math
from dataclasses import replace
from typing import Any

import numpy as np
from scipy.stats import binomtest

from numerics import sgd_study
from numerics.landscape import CensusSettings, census, l2_minima_under_h1, orthonormal_teacher
from proofs_check.claims import Verdict, register
from proofs_check.claims._evidence import (
    find_region,
    headline,
    headline_or,
    region_terms,
    rule_status,
)

ALPHA = 0.05
COST_THRESHOLD = 1.3


# ------------------------------------------------------------------------ the census

def census_plan(quick: bool) -> dict[str, Any]:
    return {"ks": (8,) if quick else (6, 8), "starts": 30 if quick else 60, "seed": 0}


@functools.cache
def landscape_evidence(quick: bool) -> dict[str, Any]:
    """Census of l2 and h1 from the same starts per k, and every spurious l2 minimum under h1."""
    plan = census_plan(quick)
    per_k, minima = [], []
    provenance = None
    for k in plan["ks"]:
        l2 = census(k, plan["starts"], "l2", seed=plan["seed"])
        h1 = census(k, plan["starts"], "h1", seed=plan["seed"])
        provenance = l2.provenance() + "; h1 the same with λ = 1"
        l2_global = {e.start for e in l2.of_class("global")}
        h1_global = {e.start for e in h1.of_class("global")}
        per_k.append({"k": k, "n": l2.n_starts, "l2_counts": l2.counts(),
                      "h1_counts": h1.counts(), "l2_global": len(l2_global),
                      "h1_global": len(h1_global), "only_l2": len(l2_global - h1_global),
                      "only_h1": len(h1_global - l2_global),
                      "l2_global_wilson95": l2.fractions()["global"]["wilson95"],
                      "h1_global_wilson95": h1.fractions()["global"]["wilson95"]})
        spurious = l2.of_class("spurious_minimum")
        for item in l2_minima_under_h1(spurious, orthonormal_teacher(k, k), l2.settings):
            minima.append({"k": k, **item.as_dict(),
                           "critical_tol": l2.settings.critical_tol})
    return {"method": provenance, "per_k": per_k, "l2_minima_under_h1": minima,
            "alpha": ALPHA}


def _paired_p(only_l2: int, only_h1: int) -> float:
    """Exact McNemar test: two-sided binomial test on the discordant starts."""
    n = only_l2 + only_h1
    return 1.0 if n == 0 else float(binomtest(only_h1, n, 0.5).pvalue)


@register(
    id="landscape-h1-global-at-least-as-often",
    statement="Gradient descent on the H1 population field reaches the global minimum at least "
              "as often as on L2 from the same random starts (per width k).",
    source="Oh, Lyu, Son (2025): Sobolev training 'leads to better local minima'; landscape of "
           "Safran & Shamir (2018)",
    scope="relu, orthonormal teacher W* = I_k, K = K* = d = k in {6, 8} (k = 8 in quick), "
          "60 (30) N(0, 1/d) starts, expected convention, λ = 1; a k counts against the claim "
          "when H1 is global less often with exact McNemar p < 0.05",
    expected="holds",
    verdicts=("holds", "conditional", "fails", "inconclusive"),
    gather=landscape_evidence,
)
def decide_global_fraction(evidence: dict[str, Any]) -> Verdict:
    rows = []
    for row in evidence["per_k"]:
        p = _paired_p(row["only_l2"], row["only_h1"])
        worse = row["only_l2"] > row["only_h1"] and p < evidence["alpha"]
        rows.append({**row, "mcnemar_p": p, "h1_significantly_worse": worse})
    table = "\n".join(f"k={r['k']}: global l2 {r['l2_global']}/{r['n']}, h1 {r['h1_global']}/"
                      f"{r['n']} (only l2 {r['only_l2']}, only h1 {r['only_h1']}, p = "
                      f"{r['mcnemar_p']:.3g})" for r in rows)
    evidence = {**evidence, "per_k": rows, "table": table}
    if all(r["only_l2"] + r["only_h1"] == 0 and r["l2_global"] == r["n"] for r in rows):
        return Verdict("inconclusive", "every start reached the global minimum under both "
                       "losses: nothing distinguishes them at these k", evidence,
                       headline=headline("every start global under both losses"))
    worse = [r for r in rows if r["h1_significantly_worse"]]
    held = [r for r in rows if not r["h1_significantly_worse"]]
    counts = "; ".join(f"k={r['k']}: h1 {r['h1_global']}/{r['n']} vs l2 {r['l2_global']}/"
                       f"{r['n']} global" for r in rows)
    short = ", ".join(f"k={r['k']} h1 {r['h1_global']} vs l2 {r['l2_global']}" for r in rows)
    region = ({"text": f"k ∈ {{{', '.join(str(r['k']) for r in held)}}} (holds at all "
                       f"{len(held)} of the surveyed k there)", "strict": len(held)}
              if held else None)
    status = rule_status(satisfied=len(held), ties=0, violations=len(worse), region=region)
    if status == "holds":
        return Verdict("holds", counts, evidence,
                       headline=headline_or(f"global: {short}", "h1 global at least as often"))
    if status == "fails":
        return Verdict("fails", "h1 reaches the global minimum significantly less often at "
                       "every k tested; " + counts, evidence, counterexample=worse[0],
                       headline=headline("h1 significantly less often global at every k"))
    return Verdict("conditional", f"h1 significantly less often global at k = "
                   f"{', '.join(str(r['k']) for r in worse)}; {counts}", evidence,
                   counterexample=worse[0], condition=region["text"],
                   headline=headline_or(f"holds where {region_terms(region)}",
                                        "holds at some k only"))


#: Features a region of the spurious-minima claims is stated in: the width k and the minimum's
#: l2 loss (rounded to 8 digits: minima of one orbit share it).
_MINIMA_FEATURES = {"k": lambda m: m["k"],
                    "l2 loss": lambda m: f"{round(m['l2_loss_value'], 8):.6g}"}


def _is_h1_equilibrium(item: dict[str, Any]) -> bool:
    return item["h1_field_norm"] <= item["critical_tol"]


@register(
    id="landscape-spurious-l2-minima-not-h1-minima",
    statement="The spurious local minima of the L2 population loss are not minima (not even "
              "equilibria) of the H1 field.",
    source="Oh, Lyu, Son (2025), 'better local minima', read on the exact landscape",
    scope="every spurious l2 minimum found by the census (k in {6, 8}; k = 8 in quick), h1 in "
          "the expected convention with λ = 1; equilibrium means ‖F_h1‖_F <= 1e-10",
    expected="holds",
    verdicts=("holds", "conditional", "fails", "inconclusive"),
    gather=landscape_evidence,
)
def decide_not_h1_minima(evidence: dict[str, Any]) -> Verdict:
    minima = evidence["l2_minima_under_h1"]
    if not minima:
        return Verdict("inconclusive", "the census found no spurious l2 minimum to test",
                       evidence, headline=headline("no spurious l2 minimum found to test"))
    equilibria = [m for m in minima if _is_h1_equilibrium(m)]
    norms = [m["h1_field_norm"] for m in minima]
    bad = np.array([_is_h1_equilibrium(m) for m in minima], dtype=bool)
    region = (find_region(minima, ~bad, bad, features=_MINIMA_FEATURES, min_support=2,
                          noun="spurious l2 minima") if bad.any() else None)
    status = rule_status(satisfied=int((~bad).sum()), ties=0, violations=int(bad.sum()),
                         region=region)
    if status == "holds":
        return Verdict("holds", f"none of the {len(minima)} spurious l2 minima is an h1 "
                       f"equilibrium: ‖F_h1‖ there is {min(norms):.3g} to {max(norms):.3g}",
                       evidence, headline=headline(f"none of {len(minima)} is an h1 equilibrium; "
                                                   f"‖F_h1‖ ≥ {min(norms):.3g}"))
    losses = ", ".join(f"{v:.6g}" for v in sorted({round(m["l2_loss_value"], 8)
                                                    for m in equilibria}))
    text = (f"{len(equilibria)}/{len(minima)} spurious l2 minima are h1 equilibria (l2 loss "
            f"{losses})")
    short = f"{len(equilibria)} of {len(minima)} spurious l2 minima are h1 equilibria"
    if status == "conditional":
        return Verdict("conditional", text, evidence, counterexample=equilibria[0],
                       condition=region["text"],
                       headline=headline_or(f"holds where {region_terms(region)}", short))
    return Verdict("fails", text, evidence, counterexample=equilibria[0],
                   headline=headline(short))


@register(
    id="landscape-h1-descent-escapes-spurious-l2-minima",
    statement="Started at a spurious L2 minimum, gradient descent on the H1 field reaches the "
              "global minimum (the Sobolev term removes the trap).",
    source="Oh, Lyu, Son (2025), 'better local minima', read on the exact landscape",
    scope="every spurious l2 minimum found by the census (k in {6, 8}; k = 8 in quick), h1 "
          "expected convention, λ = 1, classified like the census",
    expected="fails",
    verdicts=("holds", "conditional", "fails", "inconclusive"),
    gather=landscape_evidence,
)
def decide_escape(evidence: dict[str, Any]) -> Verdict:
    minima = evidence["l2_minima_under_h1"]
    if not minima:
        return Verdict("inconclusive", "the census found no spurious l2 minimum to start from",
                       evidence, headline=headline("no spurious l2 minimum found to start from"))
    escaped = [m for m in minima if m["h1_descent_class"] == "global"]
    trapped = [m for m in minima if m["h1_descent_class"] != "global"]
    if not trapped:
        return Verdict("holds", f"h1 descent reaches W* from all {len(minima)} spurious l2 "
                       "minima", evidence,
                       headline=headline(f"h1 descent reaches W* from all {len(minima)}"))
    moved = [m["moved"] for m in trapped]
    classes = sorted({m["h1_descent_class"] for m in trapped})
    summary = (f"h1 descent from {len(trapped)}/{len(minima)} spurious l2 minima ends at "
               f"{', '.join(classes)} (moved {min(moved):.3g} to {max(moved):.3g}, h1 loss "
               f"{min(m['h1_endpoint_loss'] for m in trapped):.4g} to "
               f"{max(m['h1_endpoint_loss'] for m in trapped):.4g})")
    bad = np.array([m["h1_descent_class"] != "global" for m in minima], dtype=bool)
    region = find_region(minima, ~bad, bad, features=_MINIMA_FEATURES, min_support=2,
                         noun="spurious l2 minima")
    short = f"h1 descent stays away from W* from {len(trapped)} of {len(minima)}"
    if rule_status(satisfied=len(escaped), ties=0, violations=len(trapped),
                   region=region) == "fails":
        return Verdict("fails", summary, evidence, counterexample=trapped[0],
                       headline=headline(short))
    return Verdict("conditional", summary, evidence, counterexample=trapped[0],
                   condition=region["text"],
                   headline=headline_or(f"escapes where {region_terms(region)}", short))


# ------------------------------------------------------- spurious endpoints per activation

#: Activations of the per-activation census (teacher and student share one).
CENSUS_ACTIVATIONS = ("relu", "leaky_relu(0.1)", "erf", "sine", "gelu")


def activation_census_plan(quick: bool) -> dict[str, Any]:
    return {"k": 8, "starts": 12 if quick else 24, "max_steps": 20_000,
            "seed": 0, "activations": CENSUS_ACTIVATIONS}


@functools.cache
def activation_census_evidence(quick: bool) -> dict[str, Any]:
    """Safran & Shamir's protocol (numerics.landscape, protocol "safran-shamir") under l2 and
    h1 from the same starts, per activation: which starts end bad (l2 loss >= 1e-3 at an
    endpoint that met the stop rule); capped starts are left out of the paired comparison."""
    plan = activation_census_plan(quick)
    k, rows, provenance = plan["k"], [], None
    for activation in plan["activations"]:
        bad, capped, levels = {}, {}, {}
        for loss in ("l2", "h1"):
            settings = CensusSettings.for_protocol("safran-shamir", activation=activation,
                                                   max_steps=plan["max_steps"])
            result = census(k, plan["starts"], loss, seed=plan["seed"], settings=settings)
            provenance = result.provenance()
            capped[loss] = {e.start for e in result.endpoints if e.capped}
            bad[loss] = {e.start for e in result.endpoints
                         if not e.capped and e.l2_loss >= settings.bad_loss}
            levels[loss] = sorted({float(f"{e.l2_loss:.4g}") for e in result.endpoints
                                   if e.start in bad[loss]})
        decided = set(range(plan["starts"])) - capped["l2"] - capped["h1"]
        rows.append({"activation": activation, "k": k, "n": plan["starts"],
                     "decided": len(decided),
                     "capped_l2": len(capped["l2"]), "capped_h1": len(capped["h1"]),
                     "bad_l2": len(bad["l2"] & decided), "bad_h1": len(bad["h1"] & decided),
                     "only_l2": len((bad["l2"] - bad["h1"]) & decided),
                     "only_h1": len((bad["h1"] - bad["l2"]) & decided),
                     "l2_levels": levels["l2"], "h1_l2_levels": levels["h1"]})
    return {"method": f"{provenance}; per activation, l2 and h1 from the same starts, "
                      "McNemar exact test on the starts decided under both",
            "per_activation": rows, "alpha": ALPHA}


@register(
    id="landscape-h1-no-more-spurious-endpoints-per-activation",
    statement="From the same random starts, gradient descent on the H1 field ends at a spurious "
              "point (L2 loss >= 1e-3) no more often than on L2, for each closed-form "
              "activation (relu, leaky relu, erf, sine, gelu; teacher and student share it).",
    source="Oh, Lyu, Son (2025): Sobolev training 'leads to better local minima' across the "
           "activations it trains; Safran & Shamir's (2018) census protocol",
    scope="orthonormal teacher W* = I_k, K = K* = d = k = 8, 24 (12 in quick) N(0, 1/d) "
          "starts, Safran & Shamir's protocol (step 0.1, stop at max_i 2π‖F_i‖ <= 1e-9, cap "
          "20000 steps; capped starts left out), h1 expected convention λ = 1; an activation "
          "counts against the claim when h1 ends bad more often with exact McNemar p < 0.05",
    expected="holds",
    verdicts=("holds", "conditional", "fails", "inconclusive"),
    gather=activation_census_evidence,
)
def decide_activation_census(evidence: dict[str, Any]) -> Verdict:
    rows, outcome = [], {}
    for row in evidence["per_activation"]:
        p = _paired_p(row["only_l2"], row["only_h1"])
        if row["decided"] == 0 or row["bad_l2"] + row["bad_h1"] == 0:
            result = "no spurious endpoint"
        elif p < evidence["alpha"]:
            result = "h1 more often bad" if row["only_h1"] > row["only_l2"] else \
                "h1 less often bad"
        else:
            result = "no significant difference"
        outcome[row["activation"]] = result
        rows.append({**row, "mcnemar_p": p, "outcome": result})
    evidence = {**evidence, "per_activation": rows, "outcome": outcome}
    detail = "; ".join(f"{r['activation']}: bad l2 {r['bad_l2']} vs h1 {r['bad_h1']} of "
                       f"{r['decided']} (p = {r['mcnemar_p']:.3g})" for r in rows)
    worse = [r for r in rows if r["outcome"] == "h1 more often bad"]
    informative = [r for r in rows if r["outcome"] != "no spurious endpoint"]
    held = [r for r in informative if r not in worse]
    region = ({"text": f"activation ∈ {{{', '.join(r['activation'] for r in held)}}} (holds "
                       f"strictly at all {len(held)} surveyed activations there)",
               "strict": len(held)} if held else None)
    status = rule_status(satisfied=len(held), ties=len(rows) - len(informative),
                         violations=len(worse), region=region)
    short = ", ".join(f"{r['activation']} {r['bad_l2']} vs {r['bad_h1']}" for r in informative)
    if status == "inconclusive":
        return Verdict("inconclusive", "no start ended at a spurious point under either loss "
                       "for any activation: " + detail, evidence,
                       headline=headline("no spurious endpoint for any activation"))
    if status == "holds":
        return Verdict("holds", detail, evidence,
                       headline=headline_or(f"h1 not significantly worse; bad l2 vs h1: {short}",
                                            "h1 not significantly more often bad for any "
                                            "activation"))
    if status == "fails":
        return Verdict("fails", detail, evidence, counterexample=worse[0],
                       headline=headline("h1 significantly more often bad wherever any is"))
    return Verdict("conditional", detail, evidence, counterexample=worse[0],
                   condition=region["text"],
                   headline=headline_or(f"holds where {region_terms(region)}",
                                        "holds for some activations only"))


# ------------------------------------------------------------------------ SGD

#: Evaluation seeds of the SGD claim: enough that two disjoint sets give the same verdict
#: (tests/test_sgd_study.py runs seeds 0..99 against 100..199).
SGD_SEEDS = tuple(range(100))


def sgd_plan(quick: bool, seeds: tuple[int, ...] = SGD_SEEDS) -> dict[str, Any]:
    """Settings of the SGD claim: quick_settings (3 tuning seeds), runs stopped at ε (the steps
    to ε are exact and unchanged), 100 evaluation seeds."""
    settings = replace(sgd_study.quick_settings(), seeds=tuple(seeds), stop_at_eps=True)
    if not quick:
        settings = replace(settings, steps=600, lr_grid=(0.2, 0.4, 0.8, 1.6))
    return {"activations": ("relu", "sine"), "settings": settings}


def sgd_evidence_for(quick: bool, seeds: tuple[int, ...]) -> dict[str, Any]:
    """Evidence of the SGD claim on the given evaluation seeds (tuning seeds stay separate)."""
    plan = sgd_plan(quick, seeds)
    settings = plan["settings"]
    rows = []
    for activation in plan["activations"]:
        study = sgd_study.study_activation(activation, settings)
        summary = study.as_dict()
        rows.append({"activation": activation, **study.paired("h1"),
                     "normalised": study.paired("h1_normalised"),
                     "reached_l2": summary["variants"]["l2"]["reached"],
                     "reached_h1": summary["variants"]["h1"]["reached"],
                     "variants": summary["variants"], "tuning": summary["tuning"]})
    return {"method": f"numerics.sgd_study: SGD on sampled data (numerics.train), orthonormal "
                      f"teacher K = K* = {settings.width}, d = {settings.dim}, "
                      f"{len(settings.seeds)} seeds, each loss at its own best step from "
                      f"{list(settings.lr_grid)} tuned on seeds {list(settings.tuning_seeds)}, "
                      f"ε = {settings.eps_rel:g} × initial test L2 loss, the exact step at which "
                      "the test L2 loss first reaches ε; sign test over seeds and the median "
                      "step ratio h1/l2 with a 95 % bootstrap interval",
            "settings": settings.as_dict(), "per_activation": rows, "alpha": ALPHA,
            "seeds": f"evaluation seeds {settings.seeds[0]}..{settings.seeds[-1]}, tuning seeds "
                     f"{list(settings.tuning_seeds)}"}


@functools.cache
def sgd_evidence(quick: bool) -> dict[str, Any]:
    return sgd_evidence_for(quick, SGD_SEEDS)


def _sgd_row_text(row: dict[str, Any]) -> str:
    ratio, interval = row.get("median_step_ratio"), row.get("step_ratio_ci95")
    effect = ""
    if ratio is not None:
        effect = f"; median step ratio h1/l2 {ratio:.3g}"
        if interval and None not in interval:
            effect += f" (95 % bootstrap interval {interval[0]:.3g} to {interval[1]:.3g})"
    n = row["fewer_steps"] + row["more_steps"] + row["ties"]
    return (f"{row['activation']}: h1 needs fewer steps to ε at {row['fewer_steps']} of {n} "
            f"seeds, more at {row['more_steps']}, the same step at {row['ties']} (sign test "
            f"p = {row['sign_test_p']:.2g}){effect}")


@register(
    id="sgd-h1-reaches-epsilon-in-fewer-steps",
    statement="SGD on the empirical H1 risk reaches a test loss ε in fewer steps than SGD on "
              "the empirical L2 risk (each at its own best constant step).",
    source="Oh, Lyu, Son (2025): Sobolev training accelerates SGD across activations",
    scope="K = K* = 4, d = 8, orthonormal teacher, batch 32, 100 seeds (steps tuned on 3 "
          "others), relu and sine, at most 600 steps (400 in quick); the exact step at which "
          "the test L2 loss reaches ε; per activation a sign test over seeds at level 0.05 "
          "with the median step ratio as effect size; the full five-activation study is "
          "`python3 -m numerics.sgd_study`",
    expected="holds",
    verdicts=("holds", "conditional", "fails", "inconclusive"),
    gather=sgd_evidence,
)
def decide_sgd_steps(evidence: dict[str, Any]) -> Verdict:
    """Per activation the sign test decides: significantly fewer steps (satisfied), significantly
    more (violation), or neither (undecided); the verdict rule for statistical claims
    (proofs_check.claims._evidence): holds when every activation with data is decided in h1's
    favour; conditional when some are (region: those activations); fails when none is and some
    is decided against; inconclusive otherwise."""
    outcome = {}
    for row in evidence["per_activation"]:
        p = row["sign_test_p"]
        if row["reached_l2"] + row["reached_h1"] == 0:
            outcome[row["activation"]] = "no_data"
        elif p < evidence["alpha"]:
            outcome[row["activation"]] = ("faster" if row["fewer_steps"] > row["more_steps"]
                                          else "slower")
        else:
            outcome[row["activation"]] = "no_difference"
    evidence = {**evidence, "outcome": outcome}
    detail = "; ".join(_sgd_row_text(r) for r in evidence["per_activation"])
    faster = [a for a, o in outcome.items() if o == "faster"]
    slower = [a for a, o in outcome.items() if o == "slower"]
    decided = [a for a, o in outcome.items() if o != "no_data"]
    ratios = {r["activation"]: r.get("median_step_ratio") for r in evidence["per_activation"]}
    effect = ", ".join(f"{a} ×{ratios[a]:.2f}" for a in decided if ratios.get(a) is not None)
    if decided and len(faster) == len(decided):
        return Verdict("holds", detail, evidence,
                       headline=headline_or(f"fewer steps to ε; median ratio {effect}",
                                            f"fewer steps for {', '.join(faster)}"))
    if faster:
        return Verdict("conditional", detail, evidence,
                       counterexample={"activations": [a for a in decided if a not in faster],
                                       "outcome": outcome},
                       condition=f"activation ∈ {{{', '.join(faster)}}} (fewer steps with sign "
                                 f"test p < {evidence['alpha']:g})",
                       headline=headline_or(f"fewer steps for {', '.join(faster)}; {effect}",
                                            f"fewer steps for {', '.join(faster)} only"))
    if slower:
        return Verdict("fails", detail, evidence,
                       counterexample={"activations": slower, "outcome": outcome},
                       headline=headline(f"h1 needs more steps for {', '.join(slower)}"))
    return Verdict("inconclusive", detail or "no activation decided", evidence,
                   headline=headline("no activation decided either way"))


def cost_plan(quick: bool) -> dict[str, Any]:
    small = sgd_study.SGDSettings()
    large = replace(small, width=16, dim=64, batch_size=128)
    return {"activations": ("relu", "sine"),
            "sizes": {"K=4, d=8, batch 32": small, "K=16, d=64, batch 128": large}}


@functools.cache
def cost_evidence(quick: bool) -> dict[str, Any]:
    plan = cost_plan(quick)
    rows = []
    for activation in plan["activations"]:
        for size, settings in plan["sizes"].items():
            cost = sgd_study.epoch_cost(activation, settings)
            rows.append({"size": size, **cost.as_dict()})
    return {"method": "numerics.sgd_study.epoch_cost: " + rows[0]["how"].split("(K =")[0]
            + "CPU time, best of 15 repeats", "threshold": COST_THRESHOLD, "measurements": rows}


@register(
    id="sgd-h1-epoch-cost-at-most-1.3x-l2",
    statement="One epoch of H1 SGD costs at most 1.3 times one epoch of L2 SGD ('negligible "
              "extra cost').",
    source="Oh, Lyu, Son (2025)",
    scope="numpy SGD (numerics.training), relu and sine, two sizes: K = 4, "
          "d = 8, batch 32 and K = 16, d = 64, batch 128; CPU time, best of 15 repeats",
    expected="conditional",
    verdicts=("holds", "conditional", "fails", "inconclusive"),
    gather=cost_evidence,
    machine_dependent=True,
)
def decide_cost(evidence: dict[str, Any]) -> Verdict:
    """Each (activation, size) holds when its ratio is <= threshold; the verdict rule with the
    region searched in activation and size."""
    rows = evidence["measurements"]
    if not rows:
        return Verdict("inconclusive", "no timing was measured", evidence,
                       headline=headline("no timing was measured"))
    threshold = evidence["threshold"]
    over = np.array([not (r["ratio"] <= threshold and math.isfinite(r["ratio"])) for r in rows],
                    dtype=bool)
    detail = "; ".join(f"{r['activation']} {r['size']}: ×{r['ratio']:.2f}" for r in rows)
    worst = max(r["ratio"] for r in rows)
    region = (find_region(rows, ~over, over, features={"activation": lambda r: r["activation"],
                                                       "size": lambda r: r["size"]},
                          min_support=2, noun="measurements") if over.any() else None)
    status = rule_status(satisfied=int((~over).sum()), ties=0, violations=int(over.sum()),
                         region=region)
    if status == "holds":
        return Verdict("holds", detail, evidence,
                       headline=headline(f"h1/l2 epoch cost at most ×{worst:.2f}"))
    first = rows[int(np.argmax(over))]
    short = f"over ×{threshold:g} at {int(over.sum())} of {len(rows)}; worst ×{worst:.2f}"
    if status == "fails":
        return Verdict("fails", detail, evidence, counterexample=first,
                       headline=headline(short))
    return Verdict("conditional", detail, evidence, counterexample=first,
                   condition=region["text"],
                   headline=headline_or(f"within ×{threshold:g} where {region_terms(region)}",
                                        short))
