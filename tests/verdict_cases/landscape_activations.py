"""Controlled evidence for the per-activation census claim (proofs_check/claims/landscape.py)."""

from __future__ import annotations

from tests.verdict_cases import VerdictCase

CLAIM = "landscape-h1-no-more-spurious-endpoints-per-activation"


def _row(activation, bad_l2, bad_h1, only_l2, only_h1, decided=24):
    return {"activation": activation, "k": 8, "n": 24, "decided": decided, "capped_l2": 0,
            "capped_h1": 0, "bad_l2": bad_l2, "bad_h1": bad_h1, "only_l2": only_l2,
            "only_h1": only_h1, "l2_levels": [], "h1_l2_levels": []}


def _evidence(*rows):
    return {"method": "controlled", "alpha": 0.05, "per_activation": list(rows)}


CASES = [
    VerdictCase(CLAIM, "holds", lambda: _evidence(_row("relu", 4, 2, 3, 1),
                                                  _row("erf", 0, 0, 0, 0)), "fewer under h1"),
    # 8 discordant starts, all bad only under h1: exact McNemar p = 2·0.5^8 < 0.05
    VerdictCase(CLAIM, "fails", lambda: _evidence(_row("relu", 0, 8, 0, 8),
                                                  _row("sine", 0, 0, 0, 0))),
    VerdictCase(CLAIM, "conditional", lambda: _evidence(_row("relu", 3, 3, 1, 1),
                                                        _row("gelu", 1, 9, 0, 8))),
    VerdictCase(CLAIM, "inconclusive", lambda: _evidence(_row("relu", 0, 0, 0, 0),
                                                         _row("erf", 5, 5, 0, 0, decided=0))),
]
