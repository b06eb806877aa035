"""Controlled evidence for the activation claims (proofs_check.claims.activations)."""

from __future__ import annotations

from proofs_check.analysis.activation_gains import CLOSED_FORM
from tests.verdict_cases import VerdictCase


def _point(K, ratios, *, scale=1.0, d=3, defined=True):
    ratios = sorted(ratios)
    return {"K": K, "K*": K, "d": d, "seed": 0, "scale": scale, "directions": len(ratios),
            "ratio_min": ratios[0], "ratio_median": ratios[len(ratios) // 2],
            "ratio_max": ratios[-1], "fraction_of_directions_violating": 0.0,
            "kappa_l2_median": 10.0, "kappa_h1_median": 10.0 * ratios[len(ratios) // 2],
            "defined": defined}


def _minimum(activation, points, crossings=()):
    return lambda: {"activation": activation, "how": "controlled", "survey": {},
                    "points": points, "crossings": list(crossings)}


def _crossing(K, low, high):
    return {"K": K, "d": 3, "seed": 0, "surveyed_holding": 1.0, "surveyed_failing": 3.0,
            "last_holding": low, "first_failing": high, "evaluations": 9, "rtol": 1e-2,
            "how": "bisection", "note": None}


def _minimum_cases(activation):
    cid = f"activation-kappa-at-minimum-{activation}"
    return [
        VerdictCase(cid, "holds", _minimum(activation, [
            _point(1, [0.5]), _point(2, [0.7, 0.9]), _point(3, [1.0 + 1e-7])]),
            "all strict or tied"),
        VerdictCase(cid, "conditional", _minimum(activation, [
            _point(1, [0.5]), _point(1, [0.8]), _point(1, [0.7], d=5), _point(2, [0.9, 1.2]),
            _point(3, [1.5])]), "violations only at K >= 2: region K = 1 (grid value)"),
        VerdictCase(cid, "conditional", _minimum(activation, [
            _point(2, [0.5], scale=0.3), _point(2, [0.6], scale=1.0), _point(1, [0.5], scale=0.3),
            _point(1, [0.7], scale=1.0), _point(2, [1.3], scale=3.0), _point(1, [1.1], scale=3)],
            [_crossing(2, 1.7, 1.71), _crossing(1, 2.2, 2.21)]),
            "violations only at large row norm: located region s ≤ 1.7"),
        VerdictCase(cid, "fails", _minimum(activation, [
            _point(1, [1.2], d=2), _point(1, [0.7], d=3), _point(2, [0.6], d=2),
            _point(2, [1.4], d=3)]), "no threshold separates them"),
        VerdictCase(cid, "inconclusive", _minimum(activation, [
            _point(1, [1.0]), _point(2, [0.5], defined=False)]), "only ties"),
    ]


def _teacher(scale, kappa, rate=None, K=2):
    return {"K": K, "d": 3, "seed": 0, "scale": scale, "kappa_gain": kappa,
            "rate_gain": dict(kappa) if rate is None else rate}


def _ranking(teachers):
    return lambda: {"activations": ["relu", "erf", "sine"], "measured_only": [],
                    "survey": {}, "teachers": teachers, "how": "controlled"}


RANK = "activation-gain-largest-for-sine"
CERT = "certified-one-neuron-kappa-at-minimum"


def _certificates(*statuses):
    results = {}
    for name, status in zip(("erf", "sine"), statuses, strict=True):
        results[name] = {"status": status, "statement": f"{status} for {name}",
                         "counterexample": {"point": {"r": 1.0}} if status == "counterexample"
                         else None}
    return lambda: {"results": results, "why_not": {"gelu": "no closed form here"},
                    "formulas": "controlled"}


CASES = [case for name in CLOSED_FORM for case in _minimum_cases(name)] + [
    VerdictCase(RANK, "holds", _ranking([
        _teacher(0.3, {"relu": 1.5, "erf": 1.2, "sine": 2.0}),
        _teacher(3.0, {"relu": 1.5, "erf": 2.5, "sine": 3.0})])),
    VerdictCase(RANK, "conditional", _ranking([
        _teacher(0.3, {"relu": 1.5, "erf": 1.2, "sine": 2.0}),
        _teacher(3.0, {"relu": 1.5, "erf": 3.5, "sine": 3.0})]), "first at small row norm"),
    VerdictCase(RANK, "conditional", _ranking([
        _teacher(1.0, {"relu": 1.5, "sine": 2.0}, rate={"relu": 3.0, "sine": 2.0}),
        _teacher(3.0, {"relu": 1.5, "sine": 3.0}, rate={"relu": 3.0, "sine": 2.0})]),
        "first by κ-gain only"),
    VerdictCase(RANK, "fails", _ranking([
        _teacher(0.3, {"relu": 2.5, "erf": 1.2, "sine": 2.0}),
        _teacher(0.3, {"relu": 1.5, "erf": 1.2, "sine": 2.0}),
        _teacher(3.0, {"relu": 1.5, "erf": 3.5, "sine": 3.0})]), "never first at a whole scale"),
    VerdictCase(RANK, "fails", _ranking([
        _teacher(1.0, {"relu": 2.0, "sine": 2.0})]), "tied is not first"),
    VerdictCase(RANK, "inconclusive", _ranking([_teacher(1.0, {"relu": 2.0})])),
    VerdictCase(CERT, "proved", _certificates("proved", "proved")),
    VerdictCase(CERT, "conditional", _certificates("proved", "counterexample")),
    VerdictCase(CERT, "fails", _certificates("counterexample", "counterexample")),
    VerdictCase(CERT, "inconclusive", _certificates("proved", "undecided")),
]
