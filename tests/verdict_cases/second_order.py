"""Controlled evidence for kappa-h2-below-h1-below-l2."""

from tests.verdict_cases import VerdictCase

CHAIN = "kappa-h2-below-h1-below-l2"


def _chain_point(l2, h1, h2, activation="erf", K=2):
    return {"activation": activation, "K": K, "d": 3, "at": "teacher", "radius": None,
            "seed": 0, "kappa": {"l2": l2, "h1": h1, "h2": h2}}


def _chain(points):
    return {"points": points, "method": "controlled", "rtol": 1e-9}


CASES = [
    VerdictCase(CHAIN, "holds", lambda: _chain([_chain_point(10, 5, 2),
                                                _chain_point(8, 4, 4 * (1 - 1e-12))]),
                "strict chain plus a tie"),
    VerdictCase(CHAIN, "conditional", lambda: _chain([_chain_point(10, 5, 2),
                                                      _chain_point(9, 5, 2),
                                                      _chain_point(12, 6, 3),
                                                      _chain_point(10, 5, 7, "gelu")]),
                "h2 worse than h1 for gelu only: region activation = erf"),
    VerdictCase(CHAIN, "fails", lambda: _chain([_chain_point(10, 5, 2, K=1),
                                                _chain_point(10, 5, 7, K=1),
                                                _chain_point(10, 12, 2, "gelu"),
                                                _chain_point(9, 5, 2, "gelu")]),
                "mixed at every K and activation: no region of validity"),
    VerdictCase(CHAIN, "fails", lambda: _chain([_chain_point(10, 12, 2),
                                                _chain_point(10, 5, 7)])),
    VerdictCase(CHAIN, "inconclusive", lambda: _chain([_chain_point(None, 5, 2)]),
                "every point has an infinite κ"),
]
