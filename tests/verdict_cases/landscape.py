"""Controlled evidence for the landscape and SGD claims (proofs_check/claims/landscape.py)."""

from __future__ import annotations

from tests.verdict_cases import VerdictCase


def _k(k, n, l2_global, h1_global, only_l2, only_h1):
    return {"k": k, "n": n, "l2_global": l2_global, "h1_global": h1_global,
            "only_l2": only_l2, "only_h1": only_h1}


def _census(*rows):
    return {"method": "controlled", "alpha": 0.05, "per_k": list(rows),
            "l2_minima_under_h1": []}


def _minimum(field_norm, descent_class, moved=0.05, k=8):
    return {"k": k, "start": 0, "l2_loss_value": 0.0215, "h1_field_norm": field_norm,
            "critical_tol": 1e-10, "h1_descent_class": descent_class, "moved": moved,
            "h1_endpoint_loss": 0.33, "h1_endpoint_l2_loss": 0.04}


def _minima(*items):
    return {"method": "controlled", "alpha": 0.05, "per_k": [],
            "l2_minima_under_h1": list(items)}


def _sgd(*rows):
    return {"method": "controlled", "alpha": 0.05, "settings": {},
            "per_activation": [{"activation": a, "fewer_steps": w, "more_steps": m, "ties": t,
                                "sign_test_p": p, "reached_l2": r, "reached_h1": r}
                               for a, w, m, t, p, r in rows]}


def _cost(*ratios):
    return {"method": "controlled", "threshold": 1.3,
            "measurements": [{"activation": "relu", "size": f"size {i}", "ratio": r}
                             for i, r in enumerate(ratios)]}


GLOBAL = "landscape-h1-global-at-least-as-often"
NOT_MINIMA = "landscape-spurious-l2-minima-not-h1-minima"
ESCAPE = "landscape-h1-descent-escapes-spurious-l2-minima"
SGD = "sgd-h1-reaches-epsilon-in-fewer-steps"
COST = "sgd-h1-epoch-cost-at-most-1.3x-l2"

CASES = [
    # 20 discordant starts all favouring l2: exact McNemar p = 2·0.5^20 < 0.05.
    VerdictCase(GLOBAL, "holds", lambda: _census(_k(8, 60, 53, 55, 1, 3)), "h1 more often"),
    VerdictCase(GLOBAL, "holds", lambda: _census(_k(8, 60, 53, 50, 4, 1)), "not significant"),
    VerdictCase(GLOBAL, "fails", lambda: _census(_k(8, 60, 55, 35, 20, 0))),
    VerdictCase(GLOBAL, "conditional",
                lambda: _census(_k(6, 60, 60, 60, 0, 0), _k(8, 60, 55, 35, 20, 0))),
    VerdictCase(GLOBAL, "inconclusive", lambda: _census(_k(4, 30, 30, 30, 0, 0))),
    VerdictCase(NOT_MINIMA, "holds",
                lambda: _minima(_minimum(0.108, "spurious_minimum"), _minimum(0.1, "global"))),
    VerdictCase(NOT_MINIMA, "fails",
                lambda: _minima(_minimum(1e-12, "spurious_minimum", moved=0.0))),
    VerdictCase(NOT_MINIMA, "conditional",
                lambda: _minima(_minimum(1e-12, "spurious_minimum", moved=0.0, k=6),
                                _minimum(0.1, "global"), _minimum(0.12, "global"))),
    VerdictCase(NOT_MINIMA, "inconclusive", lambda: _minima()),
    VerdictCase(ESCAPE, "holds", lambda: _minima(_minimum(0.1, "global"))),
    VerdictCase(ESCAPE, "fails", lambda: _minima(_minimum(0.1, "spurious_minimum"))),
    VerdictCase(ESCAPE, "conditional",
                lambda: _minima(_minimum(0.1, "global"), _minimum(0.1, "global"),
                                _minimum(0.1, "saddle", k=10))),
    VerdictCase(ESCAPE, "fails",
                lambda: _minima(_minimum(0.1, "global"), _minimum(0.1, "saddle", k=10)),
                "one escape is not a region"),
    VerdictCase(ESCAPE, "inconclusive", lambda: _minima()),
    VerdictCase(SGD, "holds", lambda: _sgd(("relu", 16, 2, 2, 0.001, 20))),
    VerdictCase(SGD, "conditional",
                lambda: _sgd(("relu", 16, 2, 2, 0.001, 20), ("sine", 8, 8, 4, 1.0, 20))),
    VerdictCase(SGD, "fails", lambda: _sgd(("relu", 2, 16, 2, 0.001, 20))),
    VerdictCase(SGD, "inconclusive", lambda: _sgd(("relu", 10, 4, 6, 0.18, 20))),
    VerdictCase(SGD, "inconclusive", lambda: _sgd(("relu", 0, 0, 20, 1.0, 0)), "never reached"),
    VerdictCase(COST, "holds", lambda: _cost(1.19, 1.25)),
    VerdictCase(COST, "conditional", lambda: _cost(1.19, 1.25, 1.37)),
    VerdictCase(COST, "fails", lambda: _cost(1.5, 1.37)),
    VerdictCase(COST, "inconclusive", lambda: _cost()),
]
