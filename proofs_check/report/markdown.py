"""Run the claims and write report.md (figures are drawn by proofs_check.report.figures)."""

from __future__ import annotations

import json
import math
import platform
import re
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from proofs_check.claims import Claim, Verdict, all_claims
from proofs_check.report.figures import draw_figures  # noqa: F401  (re-exported for callers)
from proofs_check.report.folder import (  # noqa: F401  (re-exported for callers)
    MANIFEST,
    check_report_target,
    report_folder,
)

#: The paper whose claims the report checks (with the work it builds on).
PAPER = ("Oh, Lyu, Son, \u201cSobolev acceleration for neural networks\u201d, arXiv:2509.19773 "
         "(2025)")


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
                "machine_dependent": self.claim.machine_dependent,
                "agrees_with_expected": self.agrees, "headline": self.verdict.headline,
                "summary": self.verdict.summary, "condition": self.verdict.condition,
                "counterexample": self.verdict.counterexample,
                "evidence": self.verdict.evidence, "seconds": round(self.seconds, 2),
                "error": self.error}


@dataclass
class Report:
    results: list[ClaimResult]
    figures: list[Path] = field(default_factory=list)
    figure_note: str | None = None
    provenance: dict[str, Any] | None = None

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


# ------------------------------------------------------------------------------------ report

def _git_commit() -> dict[str, Any]:
    """The source tree's git commit and whether it has uncommitted changes (None when the
    package does not run from a git checkout or git is missing — not an error)."""
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=10,
                               check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None, "git_commit_reason": "not a git checkout (or git missing)"}
    return {"git_commit": commit, "git_dirty": bool(dirty)}


def _source_version() -> str | None:
    import tomllib

    try:
        text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
        return tomllib.loads(text)["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return None


def provenance(quick: bool, results: Sequence[ClaimResult] = (),
               complete: bool = True) -> dict[str, Any]:
    """Where the numbers of a report come from: package and library versions, git commit when
    available, UTC date, mode (quick/default), whether every registered claim ran, and each
    claim's seeds (its evidence's "seeds" entry)."""
    from importlib import metadata

    import mpmath
    import scipy
    import sympy

    try:
        version, where = metadata.version("sobolev-verify"), "installed"
    except metadata.PackageNotFoundError:
        version, where = _source_version(), "source tree (pyproject.toml; not installed)"
    info: dict[str, Any] = {
        "package": "sobolev-verify", "package_version": version, "package_version_from": where,
        **_git_commit(),
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(), "numpy": np.__version__,
        "scipy": scipy.__version__, "sympy": sympy.__version__, "mpmath": mpmath.__version__,
        "platform": platform.platform(),
        "mode": "quick" if quick else "default", "all_claims": complete,
        "seeds": {r.claim.id: r.verdict.evidence.get("seeds", "none recorded")
                  for r in results},
    }
    return info


def _reason(value: float) -> str:
    if math.isnan(value):
        return "NaN (not a number: undefined)"
    return "+inf (unbounded or never reached)" if value > 0 else "-inf (unbounded below)"


def json_ready(value: Any, path: str = "$", reasons: dict[str, str] | None = None) -> Any:
    """A copy of ``value`` that strict JSON can hold: arrays and tuples become lists, numpy
    scalars Python numbers, unknown objects their str(), and a non-finite float ``None`` with
    its reason recorded in ``reasons[path]`` (paths like ``$.claims[3].evidence.rows[0].time``).
    """
    if reasons is None:
        reasons = {}
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, dict):
        return {str(k): json_ready(v, f"{path}.{k}", reasons) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v, f"{path}[{i}]", reasons) for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        reasons[path] = _reason(value)
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def dumps(value: Any, indent: int | None = 2) -> str:
    """Strict JSON (no NaN/Infinity; Unicode kept): non-finite floats become null, and the
    reasons are added as "null_reasons" {path: reason} when ``value`` is a dict."""
    reasons: dict[str, str] = {}
    ready = json_ready(value, reasons=reasons)
    if reasons and isinstance(ready, dict):
        ready["null_reasons"] = reasons
    return json.dumps(ready, indent=indent, ensure_ascii=False, allow_nan=False)


def payload(report: Report) -> dict[str, Any]:
    """The report as one JSON-ready dict (before null handling)."""
    return {"ok": report.ok, "provenance": report.provenance,
            "claims": [r.as_dict() for r in report.results],
            "figures": [str(p) for p in report.figures]}


def to_json(report: Report) -> str:
    return dumps(payload(report))


def cell(text: Any) -> str:
    """Text safe inside one markdown table cell: `|` escaped, newlines as spaces."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


#: Lists longer than this are abridged in report.md (the JSON output keeps them whole).
MARKDOWN_LIST_LIMIT = 12


def _abridge(value: Any) -> Any:
    """value for people: every list longer than MARKDOWN_LIST_LIMIT cut to its first entries
    plus a note (survey rows run to hundreds), floats rounded to 4 significant digits, and a
    numeric matrix (a list of equal-length numeric lists with more than one row, e.g. weights)
    replaced by its shape and norms. report.json keeps everything exact."""
    if isinstance(value, np.ndarray | np.generic):
        value = value.tolist()
    if isinstance(value, dict):
        return {k: _abridge(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        summary = matrix_summary(value)
        if summary is not None:
            return summary
        items = [_abridge(v) for v in value[:MARKDOWN_LIST_LIMIT]]
        if len(value) > MARKDOWN_LIST_LIMIT:
            items.append(f"… {len(value) - MARKDOWN_LIST_LIMIT} more (all in `check --json`)")
        return items
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.4g}")
    return value


def matrix_summary(value: Any) -> str | None:
    """"R×C matrix, Frobenius norm …, row norms […]" for a numeric matrix with at least two
    rows (or one row longer than MARKDOWN_LIST_LIMIT); None for anything else."""
    if not value or not all(isinstance(row, list | tuple) and row for row in value):
        return None
    width = len(value[0])
    if any(len(row) != width or not all(isinstance(x, int | float) and not isinstance(x, bool)
                                        for x in row) for row in value):
        return None
    if len(value) < 2 and width <= MARKDOWN_LIST_LIMIT:
        return None
    norms = [math.sqrt(sum(float(x) ** 2 for x in row)) for row in value]
    shown = ", ".join(f"{n:.4g}" for n in norms[:8]) + (", …" if len(norms) > 8 else "")
    return (f"{len(value)}×{width} matrix, Frobenius norm "
            f"{math.sqrt(sum(n * n for n in norms)):.4g}, row norms [{shown}] (entries in "
            "report.json)")


def _provenance_lines(info: dict[str, Any] | None) -> list[str]:
    if not info:
        return []
    commit = info.get("git_commit") or f"none ({info.get('git_commit_reason')})"
    if info.get("git_dirty"):
        commit += " (with uncommitted changes)"
    return ["## Provenance", "",
            f"sobolev-verify {info.get('package_version') or 'from source'}, commit {commit}, "
            f"{info['date_utc']}; Python {info['python']}, numpy {info['numpy']}, scipy "
            f"{info['scipy']}, sympy {info['sympy']}, mpmath {info['mpmath']}; "
            f"{info['platform']}; mode {info['mode']}"
            + ("" if info.get("all_claims", True) else " (a subset of the claims)") + ".", "",
            "Seeds per claim:", ""]  + [f"* `{k}`: {cell(v)}" for k, v in info["seeds"].items()]


# ------------------------------------------------------------------------------ for people

_LONG_NUMBER = re.compile(r"(?<![\w.])(-?\d+\.\d{5,})(e[+-]?\d+)?(?![\w.])")


def round_for_people(text: str, digits: int = 4) -> str:
    """Numbers written with 5+ decimals rounded to ``digits`` significant digits
    (3.1405926535897932 → 3.141); report.json keeps the exact values."""
    def shorten(match: re.Match) -> str:
        value = float(match.group(0))
        return f"{value:.{digits}g}"
    return _LONG_NUMBER.sub(shorten, text)


def sentences(summary: str) -> list[str]:
    """A verdict summary split into its parts at top-level "; " ("a; b (c; d)" → "a",
    "b (c; d)"), rounded for people."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(summary):
        depth += (char in "([{") - (char in ")]}")
        if depth <= 0 and summary.startswith("; ", i):
            parts.append(summary[start:i])
            start = i + 2
    parts.append(summary[start:])
    return [round_for_people(part.strip()) for part in parts if part.strip()]


def short_summary(summary: str, limit: int = 160) -> str:
    """The first part of a summary, cut at a word boundary to about ``limit`` characters."""
    first = sentences(summary)[0] if summary.strip() else ""
    if len(first) <= limit and "; " not in summary:
        return first
    cut = first[:limit].rsplit(" ", 1)[0] if len(first) > limit else first
    return cut.rstrip(",;:") + " …"


def anchor(claim_id: str) -> str:
    """The HTML/Markdown anchor of a claim's section: ``claim-<id>`` with the id exactly as
    registered (an HTML id may hold any character but white space; claim ids have none)."""
    if not claim_id or any(char.isspace() for char in claim_id):
        raise ValueError(f"claim id {claim_id!r} cannot be an anchor (empty or with spaces)")
    return "claim-" + claim_id


@dataclass
class FigurePlacement:
    """Where each figure goes: ``by_claim[claim_id]`` lists (number, path, caption, first) with
    ``first`` True where it is embedded (elsewhere the text refers to it); ``unplaced`` lists
    figures no claim of this run refers to."""

    by_claim: dict[str, list[tuple[int, Path, str, bool]]]
    unplaced: list[tuple[int, Path, str]]


def place_figures(report: Report) -> FigurePlacement:
    """Each figure goes with the first claim (in report order) it supports; figures are
    numbered in order of appearance."""
    from proofs_check.report.figures import spec_for

    specs = {path: spec_for(path) for path in report.figures}
    numbers: dict[Path, int] = {}
    by_claim: dict[str, list] = {r.claim.id: [] for r in report.results}
    for r in report.results:
        for path in report.figures:
            spec = specs[path]
            if spec and r.claim.id in spec.claims:
                first = path not in numbers
                numbers.setdefault(path, len(numbers) + 1)
                by_claim[r.claim.id].append((numbers[path], path, spec.caption, first))
    unplaced = []
    for path in report.figures:
        if path not in numbers:
            numbers[path] = len(numbers) + 1
            spec = specs[path]
            caption = spec.caption if spec else path.stem.replace("_", " ")
            unplaced.append((numbers[path], path, caption))
    return FigurePlacement(by_claim, unplaced)


def write_markdown(report: Report, out_dir: Path, quick: bool) -> Path:
    """report.md: verdict table (short summaries), then one section per claim with its full
    summary as a list, condition, figures with captions, counterexample and evidence."""
    out_dir.mkdir(parents=True, exist_ok=True)
    placement = place_figures(report)
    lines = ["# sobolev-verify report", "",
             f"Checks the claims of {PAPER} and of the work it builds on.", "",
             f"Mode: {'quick' if quick else 'default'}. Overall: "
             f"{'every verdict matches what is documented' if report.ok else 'MISMATCH'}. "
             "Numbers are rounded for reading; report.json has the exact values.", "",
             "| claim | expected | verdict | matches | summary |", "|---|---|---|---|---|"]
    for r in report.results:
        summary = cell(getattr(r.verdict, "headline", None) or short_summary(r.verdict.summary))
        lines.append(f"| [`{r.claim.id}`](#{anchor(r.claim.id)}) | {r.claim.expected} | "
                     f"**{r.verdict.status}** | {'yes' if r.agrees else 'NO'} | "
                     f"{summary} |")
    lines.append("")
    for r in report.results:
        lines += [f'<a id="{anchor(r.claim.id)}"></a>', "", f"## `{r.claim.id}`", "",
                  f"**Statement.** {r.claim.statement}", "",
                  f"**Source.** {r.claim.source}. **Scope.** {r.claim.scope}.", "",
                  f"**Verdict: {r.verdict.status}** ({r.seconds:.1f} s)", ""]
        lines += [f"- {part}" for part in sentences(r.verdict.summary)]
        if r.verdict.condition:
            lines += ["", f"**Condition.** {round_for_people(r.verdict.condition)}"]
        for number, path, caption, first in placement.by_claim[r.claim.id]:
            if first:
                lines += ["", f"![Figure {number}: {path.stem}]({path.name})", "",
                          f"*Figure {number}.* {caption}"]
            else:
                lines += ["", f"See Figure {number} ([{path.name}]({path.name})) above."]
        if "table" in r.verdict.evidence:
            lines += ["", "```", r.verdict.evidence["table"], "```"]
        if r.verdict.counterexample:
            lines += ["", "**Counterexample.**", "", "```json",
                      dumps(_abridge(r.verdict.counterexample), indent=1), "```"]
        lines += ["", "<details><summary>Evidence</summary>", "", "```json",
                  dumps(_abridge(r.verdict.evidence), indent=1), "```", "", "</details>", ""]
    if placement.unplaced:
        lines += ["## Further figures", ""]
        for number, path, caption in placement.unplaced:
            lines += [f"![Figure {number}: {path.stem}]({path.name})", "",
                      f"*Figure {number}.* {caption}", ""]
    lines += _provenance_lines(report.provenance)
    if report.figure_note:
        lines += ["", f"Figures: {report.figure_note}"]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
