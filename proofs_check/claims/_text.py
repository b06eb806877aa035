"""Structured values as plain text for verdict summaries (never Python reprs).

A summary is read by people in a terminal, report.md and report.html; ``{'0.3': {'gelu': 8}}``
or ``['sine']`` there is an implementation detail leaking. :func:`as_text` writes the same
content as words and punctuation people read: ``0.3: gelu 8; 1: sine 6`` and ``sine``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def number_text(value: float | int, digits: int = 4) -> str:
    """A number for people: integers as they are, floats to ``digits`` significant digits,
    ∞ and NaN spelled out."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:.{digits}g}"


def as_text(value: Any, digits: int = 4) -> str:
    """``value`` as text: a mapping as ``key: value`` pairs (``, `` between flat pairs, ``; ``
    between pairs whose values are themselves mappings or lists), a list as its items joined by
    ``, ``, numbers to ``digits`` significant digits, booleans as yes/no, None as "none".

    >>> as_text({"0.3": {"gelu": 8, "relu": 4}, "1": {"sine": 6}})
    '0.3: gelu 8, relu 4; 1: sine 6'
    >>> as_text(["sine"])
    'sine'
    """
    if value is None:
        return "none"
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return number_text(value, digits)
    if isinstance(value, Mapping):
        nested = any(isinstance(v, Mapping | list | tuple) for v in value.values())
        if nested:
            return "; ".join(f"{key}: {as_text(item, digits)}" for key, item in value.items())
        return ", ".join(f"{key} {as_text(item, digits)}" for key, item in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return ", ".join(as_text(item, digits) for item in items)
    try:  # numpy scalars and arrays
        return as_text(value.tolist(), digits)
    except AttributeError:
        return str(value)
