"""Evidence and counterexamples as HTML people read: tables and short lists, rounded numbers.

report.json keeps every exact value; report.html shows the same structure abridged:

* a mapping is a two-column table (key, value), nested up to :data:`MAX_DEPTH` levels;
* a list of mappings (survey rows) is a table with one column per key, its first
  :data:`ROW_LIMIT` rows shown and the number left out stated;
* a numeric matrix (a list of equal-length numeric lists, e.g. weights W, W*) is never printed
  whole: its shape, Frobenius norm and row norms are shown;
* a list of scalars is shown inline, its first :data:`LIST_LIMIT` items and the count left out;
* floats are rounded to :data:`DIGITS` significant digits (as report.md rounds its text), text
  is rounded the same way (:func:`proofs_check.report.markdown.round_for_people`), `code`
  spans become ``<code>`` and multi-line text (pre-formatted tables) is kept in ``<pre>``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from html import escape
from typing import Any

from proofs_check.report.markdown import matrix_summary, round_for_people

#: Significant digits of numbers shown in the report.
DIGITS = 4
#: Rows of a table of records shown before the rest is left to report.json.
ROW_LIMIT = 12
#: Items of a list of scalars shown inline.
LIST_LIMIT = 12
#: Nesting shown as tables; deeper values are summarised.
MAX_DEPTH = 3
#: Nested mappings of at most this many scalars are written inline ("count 100, min 1").
INLINE_KEYS = 8

_CODE = re.compile(r"`([^`\n]+)`")


def text_html(text: str) -> str:
    """Prose for HTML: escaped, long decimals rounded, `code` spans as <code>, no literal
    backticks left."""
    rounded = escape(round_for_people(str(text)))
    return _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", rounded).replace("`", "")


def number_html(value: float | int) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:.{DIGITS}g}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_plain(value: Any) -> Any:
    """numpy arrays and scalars as Python lists and numbers; tuples as lists."""
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return value


def _records(value: Any) -> bool:
    return (isinstance(value, list) and len(value) > 0
            and all(isinstance(item, Mapping) for item in value))


def value_html(value: Any, depth: int = 0) -> str:
    """One value as HTML (see the module docstring for the rules)."""
    value = _as_plain(value)
    if value is None:
        return "<i>none</i>"
    if isinstance(value, str):
        if "\n" in value:
            return f"<pre>{escape(value)}</pre>"
        return text_html(value)
    if isinstance(value, bool) or _is_number(value):
        return number_html(value)
    if isinstance(value, Mapping):
        if not value:
            return "<i>empty</i>"
        if depth >= MAX_DEPTH:
            return escape(f"{len(value)} entries ({', '.join(map(str, list(value)[:6]))}"
                          f"{', …' if len(value) > 6 else ''}; in report.json)")
        if depth >= 1 and len(value) <= INLINE_KEYS and all(
                item is None or isinstance(item, str | int | float) for item in value.values()):
            return ", ".join(f"{text_html(str(key))} {value_html(item, depth + 1)}"
                             for key, item in value.items())
        return mapping_html(value, depth)
    if isinstance(value, list):
        if not value:
            return "<i>empty list</i>"
        summary = matrix_summary(value)
        if summary is not None:
            return escape(summary)
        if _records(value):
            if depth >= MAX_DEPTH:
                return escape(f"{len(value)} records (in report.json)")
            return records_html(value, depth)
        return list_html(value, depth)
    return text_html(str(value))


def mapping_html(value: Mapping, depth: int = 0) -> str:
    rows = [f"<tr><th>{text_html(str(key))}</th><td>{value_html(item, depth + 1)}</td></tr>"
            for key, item in value.items()]
    return '<table class="kv">' + "".join(rows) + "</table>"


def records_html(records: list, depth: int = 0) -> str:
    """A table with one column per key (in first-seen order) and one row per record."""
    columns: list[str] = []
    for record in records:
        columns += [str(key) for key in record if str(key) not in columns]
    shown = records[:ROW_LIMIT]
    head = "".join(f"<th>{text_html(column)}</th>" for column in columns)
    body = []
    for record in shown:
        by_name = {str(key): item for key, item in record.items()}
        cells = "".join(f"<td>{value_html(by_name[c], depth + 1) if c in by_name else ''}</td>"
                        for c in columns)
        body.append(f"<tr>{cells}</tr>")
    more = (f'<p class="more">… {len(records) - ROW_LIMIT} more rows in report.json</p>'
            if len(records) > ROW_LIMIT else "")
    return (f'<table class="records"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}'
            f"</tbody></table>{more}")


def list_html(items: list, depth: int = 0) -> str:
    """Scalars inline ([a, b, …]); anything else as a bulleted list. At most LIST_LIMIT
    items, then the count left out."""
    shown = items[:LIST_LIMIT]
    more = len(items) - len(shown)
    if all(item is None or isinstance(item, str | int | float) for item in shown) and all(
            not isinstance(item, str) or ("\n" not in item and len(item) < 80) for item in shown):
        inline = ", ".join(value_html(item, depth + 1) for item in shown)
        return f"[{inline}{f', … {more} more' if more else ''}]"
    entries = "".join(f"<li>{value_html(item, depth + 1)}</li>" for item in shown)
    tail = f"<li>… {more} more in report.json</li>" if more else ""
    return f"<ul>{entries}{tail}</ul>"


def evidence_html(evidence: Mapping[str, Any]) -> str:
    """A claim's evidence as tables and short lists; the pre-formatted "table" entry (shown
    above it in the report) is left out."""
    shown = {key: item for key, item in evidence.items() if key != "table"}
    return mapping_html(shown) if shown else "<p><i>no further evidence recorded</i></p>"
