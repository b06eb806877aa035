"""Controlled evidence for every claim's decision rule, one module per family of claims.

Each module defines ``CASES``: a list of ``VerdictCase(claim_id, status, evidence)`` where
``evidence`` is a zero-argument callable building evidence for which ``claim.decide`` must
return ``status``. ``tests/test_verdict_branches.py`` runs every case and fails when a
registered claim documents a verdict that no case reaches.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class VerdictCase:
    claim_id: str
    status: str
    evidence: Callable[[], Any]
    note: str = ""

    def __str__(self) -> str:
        return f"{self.claim_id}->{self.status}" + (f"({self.note})" if self.note else "")


def all_cases() -> list[VerdictCase]:
    cases: list[VerdictCase] = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        cases.extend(getattr(module, "CASES", []))
    return cases
