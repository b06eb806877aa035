"""Controlled evidence for the certified landscape claims (proofs_check/claims/
landscape_certified.py)."""

from __future__ import annotations

from tests.verdict_cases import VerdictCase

L2 = "landscape-spurious-l2-minimum-certified"
H1 = "landscape-h1-spurious-stable-equilibrium-certified"
TRAP = "landscape-h1-trap-not-h1-critical-point"


def _cert(status, loss=(0.0250805, 0.0250806)):
    return {"status": status, "statement": f"{status} on a synthetic box", "radius": 1e-10,
            "l2_loss": list(loss), "margin": 0.0047, "real_part_bound": 0.0018,
            "seconds": 0.1, "reason": "" if status == "proved" else "synthetic reason"}


def _exclusion(excluded):
    return {"excluded": excluded, "norm_lower": 0.23 if excluded else 0.0,
            "reason": "" if excluded else "every component's enclosure contains 0"}


def _k(k=6, l2="proved", h1="proved", exact=True, at_l2=True, exact_zero=None, h1_zero=None):
    return {"k": k, "l2": _cert(l2), "h1": _cert(h1),
            "exact_h1_gradient_at_h1_equilibrium": None if exact is None else _exclusion(exact),
            "h1_field_at_l2_minimum": None if at_l2 is None else _exclusion(at_l2),
            "exact_zero_at_h1_equilibrium": exact_zero, "h1_zero_at_l2_minimum": h1_zero,
            "seconds": 0.3}


def _evidence(*items, missing=()):
    return {"per_k": list(items), "missing_widths": list(missing), "threshold": 1e-3,
            "arithmetic": "controlled", "points_file": "controlled", "seeds": "none"}


_ZERO = {"proved": True, "radius": 1e-10, "reason": "", "field": "h1 (exact)"}
_NO_ZERO = {"proved": False, "radius": 1e-10, "reason": "not inside", "field": "h1 (exact)"}

CASES = [
    VerdictCase(L2, "proved", lambda: _evidence(_k(6), _k(7))),
    VerdictCase(L2, "fails", lambda: _evidence(_k(6), _k(7, l2="fails")), "certified saddle"),
    VerdictCase(L2, "inconclusive", lambda: _evidence(_k(6, l2="inconclusive"))),
    VerdictCase(L2, "inconclusive", lambda: _evidence(_k(6), missing=(7,)), "no stored point"),
    VerdictCase(L2, "inconclusive", lambda: _evidence(), "nothing certified"),
    VerdictCase(H1, "proved", lambda: _evidence(_k(6), _k(8))),
    VerdictCase(H1, "fails", lambda: _evidence(_k(6, h1="fails")), "loss below threshold"),
    VerdictCase(H1, "inconclusive", lambda: _evidence(_k(6), _k(8, h1="inconclusive"))),
    VerdictCase(TRAP, "proved", lambda: _evidence(_k(6), _k(7))),
    VerdictCase(TRAP, "fails",
                lambda: _evidence(_k(6, exact=False, exact_zero=_ZERO)), "exact zero proved"),
    VerdictCase(TRAP, "fails",
                lambda: _evidence(_k(6, at_l2=False, h1_zero=_ZERO)), "h1 zero at l2 minimum"),
    VerdictCase(TRAP, "inconclusive",
                lambda: _evidence(_k(6, exact=False, exact_zero=_NO_ZERO)), "neither"),
    VerdictCase(TRAP, "inconclusive", lambda: _evidence(_k(6, exact=None)), "no h1 box"),
]
