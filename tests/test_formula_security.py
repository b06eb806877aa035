"""Formula strings are data: parsing them never runs Python (issue 14, security).

The references are SymPy's own parser (run here only on trusted, documented formulas) and the
file system (a payload that would create a file must leave no file behind).
"""

from __future__ import annotations

import time

import pytest
import sympy as sp

from proofs_check import check_formula
from proofs_check.analysis.formulas import parse_formula
from proofs_check.claims import published
from theory.symbolic import symbols as S

DOCUMENTED = [
    published.TIAN_GRADIENT,
    published.ALPHA_PAPER,
    published.ALPHA_SUMMARY,
    "r**2/4 + r_star**2/4 - r*r_star*(sin(theta) + (pi - theta)*cos(theta))/(2*pi)",
    "w/2 - (pi - theta)/(2*pi)*w_star",
    "I/2 - r_star/(2*pi*r*sin(theta))*(u*u.T - cos(theta)*v*u.T + sin(theta)**2*I)"
    "*(I - v*v.T)",
    "lam*sqrt(r**2 + r_star**2)/tan(theta) - cot(theta)**2 + 1.5e-3*r",
]


@pytest.mark.parametrize("text", DOCUMENTED)
def test_documented_formulas_parse_as_sympy_parses_them(text):
    reference = sp.parse_expr(text, local_dict=S.local_dict())  # trusted text only
    parsed = parse_formula(text)
    assert sp.simplify((parsed - reference).doit()) == 0 if not parsed.is_Matrix else \
        parsed == reference


def _payloads(marker):
    return [
        f"__import__('pathlib').Path({str(marker)!r}).touch()",
        f"open({str(marker)!r}, 'w')",
        f"r + __import__('os').system('touch {marker}')",
        f"(lambda: __import__('os').system('touch {marker}'))()",
        f"[__import__('os').system('touch {marker}') for _ in (1,)]",
        f"r.__class__.__mro__[-1].__subclasses__() and open({str(marker)!r}, 'w')",
        f"sin(__import__('os').system('touch {marker}'))",
        f"exec(\"open('{marker}', 'w')\")",
    ]


def test_check_formula_never_executes_the_candidate(tmp_path):
    marker = tmp_path / "INJECTED"
    for payload in _payloads(marker):
        with pytest.raises(ValueError, match="not allowed"):
            check_formula(payload, quantity="gradient", loss="l2", n_random=1, n_search=0)
        assert not marker.exists(), payload
    with pytest.raises(ValueError, match="not allowed"):
        check_formula("__import__('os').system('echo INJECTED')", quantity="gradient",
                      loss="l2")


@pytest.mark.parametrize(("text", "named"), [
    ("x + r", "the name 'x'"),
    ("r^2", "'^'"),
    ("sin(theta, foo=1)", "keyword"),
    ("r.real", "attribute 'real'"),
    ("u[0]", "Subscript"),
    ("'r'", "constant"),
    ("sin", "without a call"),
    ("eval('1')", "calling anything but"),
])
def test_refusals_name_what_is_not_allowed(text, named):
    with pytest.raises(ValueError, match="not allowed") as info:
        parse_formula(text)
    assert named in str(info.value)


def test_huge_powers_and_nesting_are_refused_quickly():
    start = time.perf_counter()
    for text in ("9**9**9", "2**(10**10)", "(" * 500 + "r" + ")" * 500):
        with pytest.raises(ValueError):
            parse_formula(text)
    assert time.perf_counter() - start < 5


def test_sympy_expression_candidates_still_work():
    expression = parse_formula(DOCUMENTED[3])
    verdict = check_formula(expression, quantity="loss", loss="l2", n_random=200, n_search=0)
    assert verdict.holds
    with pytest.raises(ValueError, match="callable, a string or a SymPy expression"):
        check_formula(object(), quantity="loss", loss="l2")
