"""Controlled evidence for the published-formula claims (Tian 2017, the paper's Hessians, the
summary's α)."""

from __future__ import annotations

from tests.verdict_cases import VerdictCase


def _numeric(status, error=1e-10, points=300):
    return {"status": status, "summary": f"{status}: synthetic", "max_relative_error": error,
            "n_points": points, "worst": {"theta": 1.0}}


def tian(symbolic=True, status="holds"):
    return {"symbolic identity (expected)": symbolic, "symbolic identity (exact)": True,
            "numeric": _numeric(status)}


def paper_l2(unique=True, identity=True, status="holds"):
    return {"alpha solved from the derived Hessian": {"solutions": ["a"], "unique_alpha": unique},
            "symbolic identity with alpha = |w*|/(2π|w| sin θ)": identity,
            "numeric": _numeric(status)}


def paper_h1(expected="holds", exact="fails", identity=True):
    return {"numeric (expected)": _numeric(expected),
            "numeric (exact)": _numeric(exact, error=1.0, points=70),
            "symbolic identity, expected convention": identity}


def summary(status="fails", error=0.48):
    return {"alpha solved from the derived Hessian": {"solutions": ["a"], "unique_alpha": True},
            "numeric": _numeric(status, error=2.0),
            "explicit counterexample": {"r_star": 2.0, "max |summary − theory|": error,
                                        "max |paper α − theory|": 1e-16},
            "unit teacher": {"r_star": 1.0, "max |summary − theory|": 1e-17},
            "entry_tolerance": 1e-6}


CASES = [
    VerdictCase("tian2017-l2-gradient", "holds", tian),
    VerdictCase("tian2017-l2-gradient", "fails", lambda: tian(status="fails")),
    VerdictCase("tian2017-l2-gradient", "inconclusive", lambda: tian(symbolic=False)),
    VerdictCase("oh2025-hessian-l2", "holds", paper_l2),
    VerdictCase("oh2025-hessian-l2", "fails", lambda: paper_l2(status="fails")),
    VerdictCase("oh2025-hessian-l2", "inconclusive", lambda: paper_l2(unique=False)),
    VerdictCase("oh2025-hessian-h1", "holds", lambda: paper_h1(exact="holds")),
    VerdictCase("oh2025-hessian-h1", "conditional", paper_h1),
    VerdictCase("oh2025-hessian-h1", "fails", lambda: paper_h1(expected="fails")),
    VerdictCase("oh2025-hessian-h1", "inconclusive", lambda: paper_h1(identity=False)),
    VerdictCase("summary-alpha-squared", "holds", lambda: summary(status="holds")),
    VerdictCase("summary-alpha-squared", "fails", summary),
    VerdictCase("summary-alpha-squared", "inconclusive", lambda: summary(error=1e-9)),
]
