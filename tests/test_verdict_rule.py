"""The one verdict rule (proofs_check.claims._evidence): statuses from counts, regions that are
strict at every surveyed point, grid edges labelled, thresholds located by bisection, and the
claims that use them (h2 chain, anisotropy, activation κ)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from proofs_check.claims import Verdict, get_claim
from proofs_check.claims._evidence import (
    HEADLINE_WIDTH,
    bisect_threshold,
    condition_describes_failures,
    find_region,
    headline,
    rule_status,
)


def test_rule_status_covers_the_four_outcomes():
    region = {"text": "K = 1 (holds strictly at all 3 points there)", "strict": 3}
    assert rule_status(satisfied=5, ties=2, violations=0) == "holds"  # ties are not violations
    assert rule_status(satisfied=0, ties=2, violations=0) == "inconclusive"
    assert rule_status(satisfied=0, ties=0, violations=0) == "inconclusive"
    assert rule_status(satisfied=3, ties=0, violations=2, region=region) == "conditional"
    assert rule_status(satisfied=3, ties=0, violations=2) == "fails"
    assert rule_status(satisfied=3, ties=0, violations=2,
                       region={"text": "x", "strict": 0}) == "fails"
    with pytest.raises(ValueError, match="counts"):
        rule_status(satisfied=-1, ties=0, violations=0)


def _records(grid):
    return [{"K": K, "d": d} for K, d in grid]


def test_region_excludes_ties_and_labels_the_next_grid_value():
    """K = 1 ties, K = 2 holds strictly, K = 3 violates: the region is the interval K = 2
    (a tie is no violation, but the claim does not hold strictly there)."""
    grid = [(K, d) for K in (1, 2, 3) for d in (2, 3, 5)]
    records = _records(grid)
    satisfied = np.array([K == 2 for K, _ in grid])
    violations = np.array([K == 3 for K, _ in grid])
    region = find_region(records, satisfied, violations, min_support=3)
    assert region["text"].startswith("K = 2 (holds strictly at all 3 surveyed points there")
    assert "next surveyed K = 3: 3 violations" in region["text"]
    assert "next surveyed K = 1: 3 ties" in region["text"]
    inside = np.array([K == 2 for K, _ in grid])
    assert satisfied[inside].all() and region["strict"] == inside.sum()


def test_region_is_none_when_failures_are_interleaved():
    grid = [(K, d) for K in (1, 2, 3) for d in (2, 3)]
    records = _records(grid)
    violations = np.array([(K + d) % 2 == 0 for K, d in grid])  # a checkerboard
    assert find_region(records, ~violations, violations, min_support=2) is None


def test_region_needs_two_points_at_least():
    records = _records([(1, 2), (2, 2)])
    violations = np.array([False, True])
    assert find_region(records, ~violations, violations, min_support=1) is None


def test_categorical_region_and_conjunction():
    records = [{"activation": a, "K": K} for a in ("erf", "sine") for K in (1, 2, 3)]
    violations = np.array([a == "sine" and K >= 2 for a, K in
                           ((r["activation"], r["K"]) for r in records)])
    features = {"activation": lambda r: r["activation"], "K": lambda r: r["K"]}
    region = find_region(records, ~violations, violations, features=features, min_support=3)
    # erf (3 points) and K = 1 (2 points): the best single region is activation = erf; the
    # conjunction cannot add the sine K = 1 point, so the larger region wins
    assert region["text"].startswith("activation = erf (holds strictly at all 3")


def test_bisect_threshold_brackets_a_known_boundary():
    found = bisect_threshold(lambda s: s < math.sqrt(2), 1.0, 3.0, rtol=1e-6)
    assert found["last_holding"] < math.sqrt(2) <= found["first_failing"]
    assert found["first_failing"] - found["last_holding"] <= 1e-6 * 3.0
    with pytest.raises(ValueError, match="holds"):
        bisect_threshold(lambda s: s < math.sqrt(2), 2.0, 3.0)


def test_headline_rules():
    assert headline("a", "", "b") == "a; b"
    assert headline("x" * HEADLINE_WIDTH) == "x" * HEADLINE_WIDTH
    with pytest.raises(ValueError, match=str(HEADLINE_WIDTH)):
        headline("x" * (HEADLINE_WIDTH + 1))
    with pytest.raises(ValueError, match="repr"):
        headline("fewer steps for ['sine']")
    with pytest.raises(ValueError, match=str(HEADLINE_WIDTH)):
        Verdict("holds", "summary", headline="y" * (HEADLINE_WIDTH + 1))


def test_a_conditional_verdict_never_states_where_the_claim_fails():
    assert condition_describes_failures("fails for the l2 minima at loss [0.02]")
    assert condition_describes_failures("escapes from 3/8 minima; trapped at k = [8]")
    assert not condition_describes_failures("activation ∈ {erf, gelu} (holds strictly at all 288"
                                            " anisotropic configurations there)")


# ------------------------------------------------------------------ claims using the rule

def _chain_point(activation, K, at, kappas):
    return {"activation": activation, "K": K, "d": 3, "at": at, "radius": None, "seed": 0,
            "kappa": dict(zip(("l2", "h1", "h2"), kappas, strict=True))}


def test_h2_chain_fails_with_counterexamples_when_every_cell_breaks():
    """Violations at K = 1, 2 for every activation, at the teacher: no region, so 'fails'."""
    decide = get_claim("kappa-h2-below-h1-below-l2").decide
    points = []
    for activation in ("erf", "sine", "gelu"):
        for K in (1, 2):
            points.append(_chain_point(activation, K, "teacher", (10.0, 5.0, 2.0)))
            points.append(_chain_point(activation, K, "teacher", (10.0, 5.0, 7.0)))
    verdict = decide({"points": points, "method": "controlled", "rtol": 1e-9})
    assert verdict.status == "fails" and verdict.condition is None
    assert verdict.counterexample["violated"] == ["h2<h1"]
    k = verdict.counterexample["kappa"]
    assert k["h2"] > k["h1"]  # the counterexample really breaks the chain


def _aniso_point(activation, K, seed, family, cond, l2, h1):
    return {"activation": activation, "K": K, "d": 6, "seed": seed, "family": family,
            "cond_sigma": cond, "kappa": {"l2": l2, "h1": h1}}


def test_anisotropy_counts_the_identity_once_and_names_its_activation():
    """Σ = I belongs to both families: one configuration, counted once, named from the
    evidence (here a gelu teacher)."""
    decide = get_claim("sobolev-acceleration-survives-anisotropy").decide
    points = []
    for family in ("spiked", "power_law"):
        points.append(_aniso_point("gelu", 1, 2, family, 1.0, 0.99851, 1.0))
        points.append(_aniso_point("erf", 1, 0, family, 1.0, 3.0, 1.0))
        for cond in (3.0, 10.0):
            points.append(_aniso_point("gelu", 1, 2, family, cond, 2.0, 1.0))
            points.append(_aniso_point("erf", 1, 0, family, cond, 3.0, 1.0))
    points.append(_aniso_point("sine", 2, 2, "spiked", 10.0, 0.7, 1.0))
    verdict = decide({"points": points, "rtol": 1e-9, "method": "controlled", "crossings": []})
    assert verdict.evidence["isotropic_configurations"] == 2
    lost = verdict.evidence["gain_already_lost_at_identity"]
    assert [(x["activation"], x["K"], x["seed"]) for x in lost] == [("gelu", 1, 2)]
    assert "gelu, K = 1, d = 6, seed 2" in verdict.summary and "1 of 2 isotropic" in \
        verdict.summary
    assert verdict.evidence["gain_lost_at"] == 1


def test_activation_region_uses_the_located_row_norm():
    """The located crossing (bisection) replaces the grid value 1 as the region's edge."""
    decide = get_claim("activation-kappa-at-minimum-sine").decide

    def point(K, scale, ratio):
        return {"K": K, "K*": K, "d": 3, "seed": 0, "scale": scale, "directions": 1,
                "ratio_min": ratio, "ratio_median": ratio, "ratio_max": ratio,
                "fraction_of_directions_violating": float(ratio > 1),
                "kappa_l2_median": 10.0, "kappa_h1_median": 10.0 * ratio, "defined": True}

    points = [point(K, s, 0.5 if s < 3 else 1.2) for K in (2, 3) for s in (0.3, 1.0, 3.0)]
    crossing = {"K": 2, "d": 3, "seed": 0, "surveyed_holding": 1.0, "surveyed_failing": 3.0,
                "last_holding": 2.1, "first_failing": 2.11, "evaluations": 9, "rtol": 1e-2,
                "how": "bisection", "note": None}
    verdict = decide({"activation": "sine", "how": "controlled", "survey": {},
                      "points": points, "crossings": [crossing]})
    assert verdict.status == "conditional"
    assert verdict.condition.startswith("teacher row norm s ≤ 2.1 (holds strictly at all 4")
    assert "s ∈ [2.1, 2.11] by bisection between the surveyed 1 and 3" in verdict.condition


def test_located_crossing_of_a_real_one_neuron_curve_is_where_the_ratio_crosses_one():
    """gelu, one neuron: the located bracket contains the row norm where κ(h1)/κ(l2) reaches the
    tie band 1 − TIE_RTOL, found here independently by brentq on the same ratio (one neuron:
    no direction, no d)."""
    from scipy.optimize import brentq

    from proofs_check.analysis import activation_gains as gains
    from proofs_check.claims.activations import TIE_RTOL, locate_row_norm

    def ratio(scale):
        spectrum = gains.spectrum_at_minimum(gains.scaled_teacher(1, 3, 0, scale), "gelu")
        return float(np.max(spectrum.kappa_ratios()))

    points = [{"K": 1, "d": 3, "seed": 0, "scale": s, "ratio_max": ratio(s), "defined": True}
              for s in (1.0, 3.0)]
    assert points[0]["ratio_max"] < 1 - TIE_RTOL and points[1]["ratio_max"] > 1 + TIE_RTOL
    (found,) = locate_row_norm("gelu", points)
    root = brentq(lambda s: ratio(s) - (1.0 - TIE_RTOL), 1.0, 3.0, xtol=1e-10)
    assert found["last_holding"] <= root <= found["first_failing"]
    assert found["first_failing"] / found["last_holding"] - 1 <= 1e-2
