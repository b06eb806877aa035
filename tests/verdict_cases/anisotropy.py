"""Controlled evidence for sobolev-acceleration-survives-anisotropy."""

from tests.verdict_cases import VerdictCase

ANISO = "sobolev-acceleration-survives-anisotropy"


def _aniso_point(cond, l2, h1, activation="erf", family="spiked"):
    return {"activation": activation, "K": 2, "d": 3, "seed": 0, "family": family,
            "cond_sigma": cond, "kappa": {"l2": l2, "h1": h1}}


def _aniso(points):
    return {"points": points, "method": "controlled", "rtol": 1e-9}


CASES = [
    VerdictCase(ANISO, "holds", lambda: _aniso([_aniso_point(1, 4, 2), _aniso_point(10, 8, 2),
                                                _aniso_point(100, 2, 2 * (1 + 1e-12))])),
    VerdictCase(ANISO, "conditional", lambda: _aniso([_aniso_point(1, 4, 2),
                                                      _aniso_point(10, 8, 2),
                                                      _aniso_point(30, 8, 3),
                                                      _aniso_point(100, 6, 2),
                                                      _aniso_point(100, 2, 5, "sine")]),
                "region: activation = erf (3 strict configurations)"),
    VerdictCase(ANISO, "fails", lambda: _aniso([_aniso_point(1, 4, 2), _aniso_point(10, 8, 2),
                                                _aniso_point(100, 2, 5, "sine")]),
                "mixed, but one strict configuration is not a region"),
    VerdictCase(ANISO, "fails", lambda: _aniso([_aniso_point(1, 4, 2), _aniso_point(10, 2, 8),
                                                _aniso_point(100, 2, 5)])),
    VerdictCase(ANISO, "inconclusive", lambda: _aniso([_aniso_point(1, 4, 2),
                                                       _aniso_point(10, None, 2)])),
]
