"""Formula bombs: nested powers, deep unary chains, long flat sums — a one-line ValueError (or
the expression) within a second, never a hang, MemoryError or RecursionError."""

from __future__ import annotations

import time

import pytest

from proofs_check.analysis.formulas import MAX_FORMULA_DEPTH, parse_formula


@pytest.mark.parametrize("text", [
    "(((9**64)**64)**64)**64",           # each exponent <= 64, the number ~ 9**(64**4)
    "((((9*r)**64)**64)**64)**64",       # the coefficient grows the same way
    "((9**64)**64)**2",
    "9" * 5000 + "**2",                  # a 5000-digit literal squared
    "r" + "**r" * 3300,                  # 3300 nested powers
    "sin(" * 150 + "r" + ")" * 150,      # 150 nested calls
    "(" * 150 + "r" + ")" * 150 + "**2" * 101,
])
def test_bombs_are_refused_quickly(text):
    started = time.perf_counter()
    with pytest.raises(ValueError) as info:
        parse_formula(text)
    assert time.perf_counter() - started < 5.0
    message = str(info.value)
    assert "\n" not in message and len(message) < 1000


@pytest.mark.parametrize("text", [
    "-" * 9990 + "r",                    # a run of signs is one level (even count: r)
    "r" + "+r" * 4999,                   # a flat sum of 5000 terms: one level, not 5000
    "r" + "*r" * 101,
    "+".join(["r"] * 101),               # was refused as nested deeper than 100 levels
])
def test_long_flat_formulas_are_parsed(text):
    """Depth is nesting, not length: long chains of one operator and runs of signs parse (the
    parser's own recursion limit is not reached by them)."""
    import sympy as sp

    from theory.symbolic import symbols as S

    started = time.perf_counter()
    try:
        expression = parse_formula(text)
    except ValueError as exc:  # only Python's own parser limit may refuse these
        assert "too deep for Python's parser" in str(exc)
        assert len(text) > 1000
        return
    assert time.perf_counter() - started < 10.0
    r = S.r
    expected = {"-" * 9990 + "r": r, "r" + "+r" * 4999: 5000 * r,
                "r" + "*r" * 101: r**102, "+".join(["r"] * 101): 101 * r}[text]
    assert sp.simplify(expression - expected) == 0


def test_nesting_beyond_the_limit_is_refused():
    text = "(" * 0 + "sin(" * (MAX_FORMULA_DEPTH + 1) + "r" + ")" * (MAX_FORMULA_DEPTH + 1)
    with pytest.raises(ValueError, match="nested deeper"):
        parse_formula(text)


def test_moderate_powers_still_parse():
    import sympy as sp

    assert parse_formula("(2**10)**3") == sp.Integer(2) ** 30
    assert parse_formula("r**64") is not None
