"""Every claim's decision rule can come out each way it documents (a verdict is evidence only if
the checker could have said otherwise)."""

from __future__ import annotations

import copy

import pytest

from proofs_check.claims import all_claims, get_claim
from proofs_check.claims._evidence import HEADLINE_WIDTH, condition_describes_failures
from tests.verdict_cases import all_cases

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_decision_rule_reaches_documented_verdict(case):
    claim = get_claim(case.claim_id)
    assert claim.decide is not None, f"{case.claim_id} has no pure decide(evidence) rule"
    assert case.status in claim.verdicts, f"{case.status} is not documented for {case.claim_id}"
    evidence = case.evidence()
    before = copy.deepcopy(evidence)
    verdict = claim.decide(evidence)
    assert verdict.status == case.status, verdict.summary
    assert evidence == before, "decide(evidence) must not modify its evidence"
    assert verdict.status in claim.verdicts
    if verdict.status == "conditional":
        assert verdict.condition  # computed from the evidence (see the per-family modules)
        # the condition states where the claim holds, never where it fails
        assert not condition_describes_failures(verdict.condition), verdict.condition
    assert verdict.headline, "every verdict carries a headline for the terminal table"
    assert len(verdict.headline) <= HEADLINE_WIDTH, verdict.headline
    assert not any(char in verdict.headline for char in '[]"'), verdict.headline
    assert verdict.headline.count("'") <= 1, verdict.headline  # no quoted Python strings


def test_every_claim_is_split_into_gather_and_decide():
    unsplit = [claim.id for claim in all_claims() if claim.decide is None or claim.gather is None]
    assert not unsplit, f"claims without a pure decide(evidence) rule: {unsplit}"


def test_every_documented_verdict_of_every_claim_is_reached_by_a_case():
    reached: dict[str, set[str]] = {}
    for case in CASES:
        reached.setdefault(case.claim_id, set()).add(case.status)
    missing = {claim.id: sorted(set(claim.verdicts) - reached.get(claim.id, set()))
               for claim in all_claims()}
    missing = {key: value for key, value in missing.items() if value}
    assert not missing, f"documented verdicts no test case reaches: {missing}"


def test_cases_name_registered_claims():
    registered = {claim.id for claim in all_claims()}
    assert {case.claim_id for case in CASES} <= registered


def test_condition_guard_recognises_failure_descriptions():
    assert condition_describes_failures("fails at 3 of 9 points: K = 3")
    assert condition_describes_failures("the gain is lost at 7 points")
    assert not condition_describes_failures("K ≤ 2 (holds strictly at all 6 points there; grid "
                                            "values, next surveyed K = 3: 2 violations)")
