"""Registry of claims the toolkit settles, each with a checker that returns a Verdict.

A claim lives in a topic module of this package (published formulas, conditioning, dynamics,
basins, autograd practice, certified inequalities, ...) and registers itself with
:func:`register`. A verdict is evidence only if the checker could have said otherwise, so every
claim is split in two: ``gather(quick) -> evidence`` measures (surveys, flows, certificates; cache
it with functools.cache when expensive) and the decorated ``decide(evidence) -> Verdict`` is a
PURE function of that evidence, documenting every verdict it can return in ``verdicts``::

    @register(id="kappa-h1-below-l2", statement="...", source="...", scope="...",
              expected="conditional",
              verdicts=("holds", "conditional", "fails", "inconclusive"), gather=survey)
    def decide(evidence: dict) -> Verdict:
        ...

``expected`` is what the evidence gives today (a finding, not a target: "holds", "fails",
"conditional", "proved"); the main job exits non-zero when a verdict differs from it. A claim
known to be false is registered with expected="fails" and its checker produces the
counterexample.

Rules for ``decide`` (helpers in :mod:`proofs_check.claims._evidence`):

* the status follows the one verdict rule of :mod:`proofs_check.claims._evidence`
  (``rule_status``): holds / conditional / fails / inconclusive (and proved for certificates);
* a conditional verdict's ``condition`` is the region where the claim holds strictly, computed
  from the evidence (``_evidence.find_region``, or a located threshold from
  ``_evidence.bisect_threshold``), never typed in and never a description of the failures;
* every verdict carries a ``headline`` (``_evidence.headline``: ≤ 80 characters, no reprs);
* strict inequalities use a stated relative tolerance and report ties separately; a tie is not a
  violation (``_evidence.compare_strict``);
* locations are measured quantities (``_evidence.location``: relative distance, per-row angles),
  never phrases like "near the teacher";
* evidence is JSON-ready and records its ``seeds`` (the report's provenance collects them).

Tests feed ``claim.decide`` controlled evidence and reach each documented verdict
(``tests/verdict_cases/<family>.py``); ``tests/test_verdict_branches.py`` fails if a registered
claim is not split or documents a verdict no case reaches. Registering without ``gather`` (a
monolithic ``check(quick)``) is still accepted by :func:`register` for old callers, but that test
rejects such a claim.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from proofs_check.claims._evidence import HEADLINE_WIDTH

Status = Literal["holds", "fails", "conditional", "proved", "inconclusive"]
STATUSES = ("holds", "fails", "conditional", "proved", "inconclusive")


@dataclass
class Verdict:
    """The outcome of checking a claim.

    status: "holds" (tested and held), "proved" (certified, e.g. interval arithmetic on a box),
        "fails" (a counterexample is attached), "conditional" (holds only under ``condition``),
        "inconclusive" (evidence insufficient either way).
    summary: one line for the verdict table.
    evidence: numbers with their provenance (method, convention, tolerance, error bars).
    counterexample: the configuration that breaks the claim, when status is "fails".
    condition: the region where it holds strictly, when status is "conditional".
    headline: a short clause (<= 80 characters, generated from the evidence, no Python reprs)
        for the terminal verdict table; None only for old callers.
    """

    status: Status
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    counterexample: dict[str, Any] | None = None
    condition: str | None = None
    headline: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}; got {self.status!r}")
        if self.status == "fails" and self.counterexample is None:
            raise ValueError("a 'fails' verdict must carry its counterexample")
        if self.status == "conditional" and not self.condition:
            raise ValueError("a 'conditional' verdict must state its condition")
        if self.headline is not None and len(self.headline) > HEADLINE_WIDTH:
            raise ValueError(f"headline must be at most {HEADLINE_WIDTH} characters; got "
                             f"{len(self.headline)}: {self.headline!r}")


@dataclass(frozen=True)
class Claim:
    """A registered claim.

    check: ``check(quick) -> Verdict``, the whole run (``decide(gather(quick))`` for split claims).
    verdicts: every status the checker documents it can return (``expected`` is one of them).
    gather, decide: the measurement and the pure decision rule, when the claim is split.
    """

    id: str
    statement: str
    source: str
    scope: str
    expected: Status
    check: Callable[[bool], Verdict]
    verdicts: tuple[Status, ...] = STATUSES
    gather: Callable[[bool], Any] | None = None
    decide: Callable[[Any], Verdict] | None = None
    #: evidence is a wall/CPU-time measurement: its numbers, and so its verdict, depend on the
    #: machine and its load. Any documented verdict then agrees (it is still reported), and the
    #: README table does not quote its numbers.
    machine_dependent: bool = False

    def run(self, quick: bool = True) -> Verdict:
        verdict = self.check(quick)
        if verdict.status not in self.verdicts:
            raise ValueError(f"claim {self.id!r} returned {verdict.status!r}, which is not among "
                             f"its documented verdicts {self.verdicts}")
        return verdict

    def agrees(self, verdict: Verdict) -> bool:
        """Whether a verdict matches what the claim is documented to do (for a machine-dependent
        claim: any of its documented verdicts)."""
        if self.machine_dependent:
            return verdict.status in self.verdicts
        return verdict.status == self.expected


_REGISTRY: dict[str, Claim] = {}


def register(*, id: str, statement: str, source: str, scope: str, expected: Status,
             verdicts: tuple[Status, ...] | None = None,
             gather: Callable[[bool], Any] | None = None, machine_dependent: bool = False):
    """Decorator registering a claim.

    Without ``gather`` the decorated function is ``check(quick: bool) -> Verdict``. With
    ``gather`` it is the pure rule ``decide(evidence) -> Verdict`` and the claim runs
    ``decide(gather(quick))``. ``verdicts`` lists every status the checker can return
    (default: all statuses); ``expected`` must be among them. ``machine_dependent`` marks a
    claim whose evidence is a timing (see :class:`Claim`).
    """
    documented = tuple(verdicts) if verdicts is not None else STATUSES
    unknown = [status for status in (*documented, expected) if status not in STATUSES]
    if unknown:
        raise ValueError(f"claim {id!r}: unknown status {unknown[0]!r}; use one of {STATUSES}")
    if expected not in documented:
        raise ValueError(f"claim {id!r}: expected={expected!r} is not among verdicts={documented}")

    def decorate(function: Callable[[Any], Verdict]) -> Callable[[Any], Verdict]:
        if id in _REGISTRY:
            raise ValueError(f"claim id {id!r} is registered twice")
        if gather is None:
            claim = Claim(id, statement, source, scope, expected, function, documented,
                          machine_dependent=machine_dependent)
        else:
            def check(quick: bool) -> Verdict:
                return function(gather(quick))

            claim = Claim(id, statement, source, scope, expected, check, documented,
                          gather=gather, decide=function, machine_dependent=machine_dependent)
        _REGISTRY[id] = claim
        return function

    return decorate


def _load_topics() -> None:
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


def all_claims() -> list[Claim]:
    """Every registered claim, ordered by id."""
    _load_topics()
    return [_REGISTRY[key] for key in sorted(_REGISTRY)]


def get_claim(claim_id: str) -> Claim:
    _load_topics()
    if claim_id not in _REGISTRY:
        raise ValueError(f"unknown claim {claim_id!r}; known: {sorted(_REGISTRY)}")
    return _REGISTRY[claim_id]
