"""Run the claims and write report.md (figures are drawn by proofs_check.figures)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from proofs_check.claims import Claim, Verdict, all_claims
from proofs_check.figures import draw_figures  # noqa: F401  (re-exported for callers)


@dataclass
class ClaimResult:
    claim: Claim
    verdict: Verdict
    seconds: float
    error: str | None = None

    @property
    def agrees(self) -> bool:
        return self.error is None and self.claim.agrees(self.verdict)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.claim.id, "statement": self.claim.statement,
                "source": self.claim.source, "scope": self.claim.scope,
                "expected": self.claim.expected, "status": self.verdict.status,
                "agrees_with_expected": self.agrees, "summary": self.verdict.summary,
                "condition": self.verdict.condition,
                "counterexample": self.verdict.counterexample,
                "evidence": self.verdict.evidence, "seconds": round(self.seconds, 2),
                "error": self.error}


@dataclass
class Report:
    results: list[ClaimResult]
    figures: list[Path] = field(default_factory=list)
    figure_note: str | None = None

    @property
    def ok(self) -> bool:
        return all(result.agrees for result in self.results)


def run_claims(quick: bool, only: Sequence[str] | None = None,
               progress=None) -> list[ClaimResult]:
    """Run every registered claim (or those in ``only``); an exception becomes a failed row."""
    results = []
    claims = all_claims()
    if only:
        unknown = sorted(set(only) - {claim.id for claim in claims})
        if unknown:
            raise ValueError(f"unknown claim id(s) {unknown}; known: "
                             f"{[claim.id for claim in claims]}")
        claims = [claim for claim in claims if claim.id in only]
    for claim in claims:
        if progress:
            progress(claim)
        start = time.perf_counter()
        try:
            verdict = claim.run(quick)
            error = None
        except Exception as exc:  # a broken checker is reported, not hidden
            verdict = Verdict("inconclusive", f"checker raised {type(exc).__name__}: {exc}")
            error = f"{type(exc).__name__}: {exc}"
        results.append(ClaimResult(claim, verdict, time.perf_counter() - start, error))
    return results


def verdict_table(results: Sequence[ClaimResult]) -> str:
    """Fixed-width verdict table: id, expected, status, agreement and the one-line summary."""
    width = max(len(r.claim.id) for r in results)
    lines = [f"{'claim':<{width}}  {'expected':<11} {'verdict':<12} ok   summary"]
    for r in results:
        mark = "yes" if r.agrees else "NO"
        lines.append(f"{r.claim.id:<{width}}  {r.claim.expected:<11} {r.verdict.status:<12} "
                     f"{mark:<4} {r.verdict.summary}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ report

def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def to_json(report: Report) -> str:
    return json.dumps({"ok": report.ok, "claims": [r.as_dict() for r in report.results],
                       "figures": [str(p) for p in report.figures]},
                      indent=2, default=_json_default)


def write_markdown(report: Report, out_dir: Path, quick: bool) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = ["# sobolev-verify report", "",
             f"Mode: {'quick' if quick else 'default'}. Overall: "
             f"{'every verdict matches what is documented' if report.ok else 'MISMATCH'}.", "",
             "| claim | expected | verdict | matches | summary |", "|---|---|---|---|---|"]
    for r in report.results:
        lines.append(f"| `{r.claim.id}` | {r.claim.expected} | **{r.verdict.status}** | "
                     f"{'yes' if r.agrees else 'NO'} | {r.verdict.summary} |")
    lines.append("")
    for r in report.results:
        lines += [f"## `{r.claim.id}`", "", f"**Statement.** {r.claim.statement}", "",
                  f"**Source.** {r.claim.source}. **Scope.** {r.claim.scope}.", "",
                  f"**Verdict: {r.verdict.status}** — {r.verdict.summary} "
                  f"({r.seconds:.1f} s)."]
        if r.verdict.condition:
            lines += ["", f"**Condition.** {r.verdict.condition}"]
        if "table" in r.verdict.evidence:
            lines += ["", "```", r.verdict.evidence["table"], "```"]
        if r.verdict.counterexample:
            lines += ["", "**Counterexample.**", "", "```json",
                      json.dumps(r.verdict.counterexample, indent=1, default=_json_default),
                      "```"]
        lines += ["", "<details><summary>Evidence</summary>", "", "```json",
                  json.dumps(r.verdict.evidence, indent=1, default=_json_default), "```",
                  "", "</details>", ""]
    if report.figures:
        lines += ["## Figures", ""]
        lines += [f"![{p.stem}]({p.name})" for p in report.figures]
    if report.figure_note:
        lines += ["", f"Figures: {report.figure_note}"]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
