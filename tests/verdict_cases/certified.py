"""Controlled evidence for the certified (interval arithmetic) claims."""

from __future__ import annotations

from tests.verdict_cases import VerdictCase

CLAIMS = ("certified-kappa-h1-expected-below-l2", "certified-kappa-h1-exact-below-l2",
          "certified-h1-normalised-raises-min-keeps-max")


def _proof(status):
    proof = {"status": status, "statement": f"{status} on a synthetic box"}
    if status == "counterexample":
        proof["counterexample"] = {"point": {"ρ": 1.25, "θ": 0.4}, "f_enclosure": "[0.1, 0.1]"}
    return proof


def evidence(*statuses):
    proofs = {f"p{k}": _proof(s) for k, s in enumerate(statuses)}
    return {**proofs, "proofs": list(proofs), "worse_on_region": _proof("proved")}


CASES = [case for claim in CLAIMS for case in (
    VerdictCase(claim, "proved", lambda: evidence("proved", "proved")),
    VerdictCase(claim, "fails", lambda: evidence("proved", "counterexample")),
    VerdictCase(claim, "inconclusive", lambda: evidence("proved", "undecided")),
)]
