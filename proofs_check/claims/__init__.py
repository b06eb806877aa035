"""Registry of claims the toolkit settles, each with a checker that returns a Verdict.

A claim lives in a topic module of this package (published formulas, conditioning, rates,
autograd practice, ...) and registers itself with :func:`register`::

    @register(
        id="tian2017-l2-gradient",
        statement="The L2 population gradient of one ReLU neuron is ...",
        source="Tian (2017), ICML",
        scope="K = K* = 1, any d >= 2",
        expected="holds",
    )
    def _check(quick: bool) -> Verdict:
        ...

``expected`` is what the toolkit's authors found and documented ("holds", "fails",
"conditional", "proved"); the main job exits non-zero when a claim expected to hold (or to be
proved) does not. A claim known to be false is registered with expected="fails": its checker
must then produce the counterexample.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

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
    condition: the condition under which it holds, when status is "conditional".
    """

    status: Status
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    counterexample: dict[str, Any] | None = None
    condition: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}; got {self.status!r}")
        if self.status == "fails" and self.counterexample is None:
            raise ValueError("a 'fails' verdict must carry its counterexample")
        if self.status == "conditional" and not self.condition:
            raise ValueError("a 'conditional' verdict must state its condition")


@dataclass(frozen=True)
class Claim:
    id: str
    statement: str
    source: str
    scope: str
    expected: Status
    check: Callable[[bool], Verdict]

    def run(self, quick: bool = True) -> Verdict:
        return self.check(quick)

    def agrees(self, verdict: Verdict) -> bool:
        """Whether a verdict matches what the claim is documented to do."""
        return verdict.status == self.expected


_REGISTRY: dict[str, Claim] = {}


def register(*, id: str, statement: str, source: str, scope: str, expected: Status):
    """Decorator registering ``check(quick: bool) -> Verdict`` as the checker of a claim."""

    def decorate(check: Callable[[bool], Verdict]) -> Callable[[bool], Verdict]:
        if id in _REGISTRY:
            raise ValueError(f"claim id {id!r} is registered twice")
        _REGISTRY[id] = Claim(id, statement, source, scope, expected, check)
        return check

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
