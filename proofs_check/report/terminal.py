"""The verdict table `check` prints in a terminal: claim id, verdict and a short clause.

Each row fits ``width`` columns (default 100): the clause is the verdict's ``headline`` when the
checker gives one, otherwise the first part of its summary cut at a word boundary; a clause too
long for the row continues on indented lines (at most ``clause_lines``) and is then cut, marked
with " …". A verdict that differs from the documented one is marked ``≠ expected X``. With
``verbose`` every claim is followed by its whole summary and condition, wrapped to the same
width (report.md and report.html hold the same text, report.json the exact values).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

#: Terminal width the table is laid out for.
TABLE_WIDTH = 100
#: Lines a row's clause may take before it is cut.
CLAUSE_LINES = 2
_CUT = " …"


def clause(verdict: Any, limit: int) -> str:
    """The verdict's headline (``Verdict.headline``, when the checker sets one) or the first
    part of its summary (up to the first top-level "; "), rounded for people; cut at a word
    boundary to at most ``limit`` characters, ending in " …" when cut."""
    from proofs_check.report.markdown import sentences

    headline = getattr(verdict, "headline", None)
    text = headline if headline else (sentences(verdict.summary) or [""])[0]
    cut = not headline and "; " in verdict.summary
    return _cut(text, limit, force_mark=cut)


def _cut(text: str, limit: int, force_mark: bool = False) -> str:
    text = " ".join(text.split())
    if len(text) <= limit and not force_mark:
        return text
    if len(text) + len(_CUT) <= limit:
        return text + _CUT
    room = limit - len(_CUT)
    head = text[:room + 1].rsplit(" ", 1)[0] if " " in text[:room + 1] else text[:room]
    return head[:room].rstrip(",;:( ") + _CUT


def verdict_table(results: Sequence[Any], verbose: bool = False,
                  width: int = TABLE_WIDTH, clause_lines: int = CLAUSE_LINES) -> str:
    """The table as text; no line is longer than ``width`` (claim ids longer than the row are
    the only exception: they are never cut)."""
    id_width = max([len("claim"), *(len(r.claim.id) for r in results)])
    status_width = max([len("verdict"), *(len(_status(r)) for r in results)])
    indent = id_width + 2 + status_width + 2
    room = max(width - indent, 24)
    lines = [f"{'claim':<{id_width}}  {'verdict':<{status_width}}  summary",
             "-" * min(width, indent + room)]
    for r in results:
        parts = _wrap_clause(r.verdict, room, clause_lines)
        lines.append(f"{r.claim.id:<{id_width}}  {_status(r):<{status_width}}  {parts[0]}")
        lines += [" " * indent + part for part in parts[1:]]
        if verbose:
            lines += _details(r, width)
    return "\n".join(line.rstrip() for line in lines)


def _wrap_clause(verdict: Any, room: int, clause_lines: int) -> list[str]:
    """The clause wrapped to ``room`` columns on at most ``clause_lines`` lines."""
    text = clause(verdict, room * clause_lines)
    parts = textwrap.wrap(text, room, break_on_hyphens=False) or [""]
    if len(parts) > clause_lines:
        last = " ".join(parts[clause_lines - 1:]).removesuffix(_CUT)
        parts = [*parts[:clause_lines - 1], _cut(last, room, force_mark=True)]
    return parts


def _status(result: Any) -> str:
    status = result.verdict.status
    if result.error is not None:
        return f"{status} (checker error)"
    if not result.agrees:
        return f"{status} ≠ expected {result.claim.expected}"
    return status


def _details(result: Any, width: int) -> list[str]:
    """The whole summary (one wrapped bullet per part), the condition and the run time."""
    from proofs_check.report.markdown import round_for_people, sentences

    out = []
    wrap = textwrap.TextWrapper(width=width, initial_indent="    - ",
                                subsequent_indent="      ", break_on_hyphens=False)
    for part in sentences(result.verdict.summary):
        out += wrap.wrap(part)
    if result.verdict.condition:
        out += textwrap.wrap("condition: " + round_for_people(result.verdict.condition), width,
                             initial_indent="    ", subsequent_indent="      ",
                             break_on_hyphens=False)
    out.append(f"    expected {result.claim.expected}; {result.seconds:.1f} s")
    return out
