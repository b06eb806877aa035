r"""Published one-neuron formulas, checked against the SymPy derivation and theory's closed forms.

Each claim combines two kinds of evidence:

* symbolic: the formula, written in the exact algebra of (I, u, v) (theory.symbolic.algebra),
  minus the derived quantity reduces to zero; for the paper's Hessians α is *solved for*
  coefficient by coefficient (not assumed), and the solutions must agree;
* numeric: :func:`proofs_check.check_formula` against theory.population_* and the lambdified
  derivation, with near-degenerate angles, and for a false formula the worst configuration plus
  an explicit counterexample.

Notation: r = |w|, r* = |w*|, θ = angle(w, w*), u = w*/|w*|, v = w/|w|, K = K* = 1, x ~ N(0, I_d).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import sympy as sp

import theory
from proofs_check.analysis.formulas import _configuration, check_formula, parse_formula
from proofs_check.claims import Verdict, register
from proofs_check.claims._evidence import headline
from proofs_check.claims._text import as_text

TIAN_GRADIENT = "w/2 - w_star/2 + (theta*w_star - r_star*sin(theta)*v)/(2*pi)"
PAPER_HESSIAN_L2 = ("I/2 - {alpha}*(u*u.T - cos(theta)*v*u.T + sin(theta)**2*I)*(I - v*v.T)")
PAPER_HESSIAN_H = ("I - {alpha}*(2*u*u.T - cos(theta)*v*u.T + sin(theta)**2*I)*(I - v*v.T)")
ALPHA_PAPER = "r_star/(2*pi*r*sin(theta))"
ALPHA_SUMMARY = "r_star**2/(2*pi*r*sin(theta))"


def _sizes(quick: bool) -> dict[str, int]:
    return {"n_random": 130, "n_search": 50} if quick else {"n_random": 1000, "n_search": 400}


def _algebra():
    from theory.symbolic import algebra
    from theory.symbolic.algebra import Mat, Vec

    return algebra, Mat, Vec


def _bracket(uu_weight: int):
    """(k·uuᵀ − cos θ·vuᵀ + sin²θ·I)(I − vvᵀ) in the algebra (y = u, x = v)."""
    algebra, Mat, _ = _algebra()
    U, V = algebra.Y, algebra.X
    left = (Mat.outer(U, U).scale(uu_weight) - Mat.outer(V, U).scale(algebra.COS)
            + Mat.identity().scale(algebra.SIN**2))
    return left @ (Mat.identity() - Mat.outer(V, V))


def solve_alpha(name: str, convention: str, base: sp.Expr, uu_weight: int) -> dict[str, Any]:
    """Solve derived Hessian (at λ = 1) = base·I − α·bracket for α, one equation per coefficient.

    Returns the distinct solutions (as strings) and whether a single α satisfies every
    coefficient equation identically. The solve is symbolic and its inputs are exact, so it is
    done once per process (oh2025-hessian-l2 and summary-alpha-squared solve the same one);
    each call gets its own copy of the result.
    """
    solved = _solve_alpha(name, convention, base, uu_weight)
    return {**solved, "solutions": list(solved["solutions"])}


def _affine_roots(coefficient: sp.Expr, alpha: sp.Symbol) -> list[sp.Expr]:
    """Roots in α of coefficient = 0, where the coefficient is affine in α (the residual is
    derived − base·I + α·bracket): numerator p₀ + p₁α over a denominator free of α has the one
    root −p₀/p₁ (p₁ ≠ 0) or none (p₁ = 0, p₀ ≠ 0: the caller has already dropped coefficients
    that reduce to 0). Anything else goes to sympy.solve."""
    numerator, denominator = sp.fraction(sp.together(coefficient))
    if not denominator.has(alpha):
        polynomial = sp.Poly(numerator, alpha)
        if polynomial.degree() <= 0:
            return []
        if polynomial.degree() == 1:
            slope, intercept = polynomial.all_coeffs()
            return [-intercept / slope]
    return sp.solve(sp.Eq(coefficient, 0), alpha)


@functools.cache
def _solve_alpha(name: str, convention: str, base: sp.Expr, uu_weight: int) -> dict[str, Any]:
    from theory.symbolic import one_neuron
    from theory.symbolic import symbols as S

    algebra, Mat, _ = _algebra()
    alpha = sp.Symbol("alpha")
    derived = one_neuron.hessian(name, convention).map(lambda c: c.subs(S.lam, 1))
    residual = derived - Mat.identity().scale(base) + _bracket(uu_weight).scale(alpha)
    solutions, consistent = set(), True
    for coefficient in residual.coefficients():
        coefficient = algebra.simplify(coefficient)
        if coefficient == 0:
            continue
        roots = _affine_roots(coefficient, alpha)
        if not roots:
            consistent = False
            continue
        solutions.update(algebra.simplify(root) for root in roots)
    consistent = consistent and len(solutions) == 1
    return {"solutions": sorted(sp.sstr(s) for s in solutions), "unique_alpha": consistent,
            "derived": f"theory.symbolic.one_neuron.hessian({name!r}, {convention!r})"}


def _identity_holds(candidate: str, name: str, convention: str, quantity: str) -> bool:
    """candidate (string in the documented symbols) minus the derived quantity reduces to 0."""
    from theory.symbolic import one_neuron
    from theory.symbolic import symbols as S

    algebra, Mat, Vec = _algebra()
    expr = sp.expand(parse_formula(candidate).doit())
    derived = (one_neuron.gradient(name, convention) if quantity == "gradient"
               else one_neuron.hessian(name, convention))
    if quantity == "gradient":
        # expr is Σ c·u + c·v; collect the coefficients of the two matrix symbols
        terms = sp.Add.make_args(expr)
        cu = sum((t.as_coeff_mmul()[0] for t in terms if t.has(S.u)), sp.Integer(0))
        cv = sum((t.as_coeff_mmul()[0] for t in terms if t.has(S.v)), sp.Integer(0))
        return (Vec(cu, cv) - derived).map(algebra.simplify) == Vec(0, 0)
    raise NotImplementedError


def _hessian_identity(alpha: str, name: str, convention: str, base: sp.Expr,
                      uu_weight: int) -> bool:
    from theory.symbolic import one_neuron
    from theory.symbolic import symbols as S

    algebra, Mat, _ = _algebra()
    a = parse_formula(alpha)
    paper = Mat.identity().scale(base) - _bracket(uu_weight).scale(a)
    derived = one_neuron.hessian(name, convention).map(lambda c: c.subs(S.lam, 1))
    return (paper - derived).is_zero()


#: The symbols of the solved α, defined wherever a summary quotes it.
SYMBOLS = "r = |w|, r_star = |w*|, θ = angle(w, w*)"


def _bound(value: float) -> str:
    """'< 1e-09' for 3.2e-10: the next power of ten above a rounding-level error, so that the
    printed figure does not depend on the machine's last bits (the evidence keeps the value)."""
    if not math.isfinite(value):
        return str(value)
    if value <= 0:
        return "0"
    return f"< 1e{math.floor(math.log10(value)) + 1:+03d}".replace("+", "")


def _numeric(result) -> dict[str, Any]:
    """check_formula's outcome as JSON-ready evidence, with its status and a one-line summary in
    which errors below the tolerance are quoted as power-of-ten bounds."""
    evidence = result.evidence()
    if result.status == "holds":
        errors = (f"max relative error {_bound(result.max_relative_error)} (rtol "
                  f"{result.rtol:g})")
    else:
        errors = f"max relative error {result.max_relative_error:.3g} (rtol {result.rtol:g})"
    summary = (f"{result.status}: {result.quantity} of {result.loss} ({result.convention}, λ = "
               f"{result.sobolev_weight:g}); {errors} over {result.n_points} points; routes "
               f"theory/derived agree to {_bound(result.route_disagreement)}")
    return evidence | {"status": result.status, "summary": summary}


_FORMULA_VERDICTS = ("holds", "fails", "inconclusive")


def _numeric_headline(numeric: dict[str, Any]) -> str:
    return headline(f"max relative error {numeric['max_relative_error']:.3g} over "
                    f"{numeric['n_points']} points")


@functools.cache
def gather_tian(quick: bool) -> dict[str, Any]:
    evidence: dict[str, Any] = {"formula": TIAN_GRADIENT}
    for convention in ("expected", "exact"):
        evidence[f"symbolic identity ({convention})"] = _identity_holds(
            TIAN_GRADIENT, "l2", convention, "gradient")
    evidence["numeric"] = _numeric(check_formula(TIAN_GRADIENT, quantity="gradient", loss="l2",
                                                 convention="expected", **_sizes(quick)))
    evidence["seeds"] = "check_formula's seeded random points and hypothesis search (derandomized)"
    return evidence


def _symbolic_ok(evidence: dict[str, Any]) -> bool:
    return all(v for k, v in evidence.items() if k.startswith("symbolic identity"))


@register(
    id="tian2017-l2-gradient",
    statement="For one ReLU neuron and x ~ N(0, I_d), the population gradient of "
              "L = E ½(relu(w·x) − relu(w*·x))² is ½(w − w*) + (θ w* − |w*| sin θ · w/|w|)/(2π) "
              "(= ½w − [(π − θ) w* + |w*| sin θ v]/(2π)).",
    source="Y. Tian (2017), An analytical formula of population gradient for two-layered ReLU "
           "network, ICML (arXiv:1703.00560)",
    scope="K = K* = 1, any d >= 2, θ ∈ (0, π); both conventions (they coincide for L)",
    expected="holds", verdicts=_FORMULA_VERDICTS, gather=gather_tian,
)
def decide_tian(evidence: dict[str, Any]) -> Verdict:
    """holds: symbolic identity in both conventions and numeric agreement; fails: a numeric
    counterexample; inconclusive: otherwise (e.g. simplification did not reach 0)."""
    numeric = evidence["numeric"]
    if _symbolic_ok(evidence) and numeric["status"] == "holds":
        return Verdict("holds", f"Tian's gradient equals the derived L2 gradient (symbolic, both "
                                f"conventions); numerically {numeric['summary']}", evidence,
                       headline=headline(f"symbolic identity; numeric error "
                                         f"{_bound(numeric['max_relative_error'])}"))
    if numeric["status"] == "fails":
        return Verdict("fails", numeric["summary"], evidence, counterexample=numeric,
                       headline=_numeric_headline(numeric))
    return Verdict("inconclusive", "symbolic identities "
                   f"{'hold' if _symbolic_ok(evidence) else 'do not all hold'}; "
                   + numeric["summary"], evidence,
                   headline=headline("symbolic identity not reached; numeric check agrees"))


@functools.cache
def gather_paper_l2(quick: bool) -> dict[str, Any]:
    return {"alpha solved from the derived Hessian": solve_alpha("l2", "exact",
                                                                 sp.Rational(1, 2), 1),
            "symbolic identity with alpha = |w*|/(2π|w| sin θ)": _hessian_identity(
                ALPHA_PAPER, "l2", "exact", sp.Rational(1, 2), 1),
            "numeric": _numeric(check_formula(PAPER_HESSIAN_L2.format(alpha=ALPHA_PAPER),
                                              quantity="hessian", loss="l2", convention="exact",
                                              **_sizes(quick))),
            "seeds": "check_formula's seeded random points and hypothesis search"}


@register(
    id="oh2025-hessian-l2",
    statement="∇²L = ½I − α(uuᵀ − cos θ·vuᵀ + sin²θ·I)(I − vvᵀ) for one neuron, with "
              "α = |w*|/(2π|w| sin θ) (α solved for, not assumed).",
    source="Oh, Lyu, Son (2025), Sobolev acceleration for neural networks, arXiv:2509.19773",
    scope="K = K* = 1, any d >= 2, θ ∈ (0, π); L2 (both conventions coincide)",
    expected="holds", verdicts=_FORMULA_VERDICTS, gather=gather_paper_l2,
)
def decide_paper_l2(evidence: dict[str, Any]) -> Verdict:
    """holds: a unique α solves every coefficient, the identity reduces to 0 and the numeric
    check agrees; fails: numeric counterexample; inconclusive otherwise."""
    solved = evidence["alpha solved from the derived Hessian"]
    identity = evidence["symbolic identity with alpha = |w*|/(2π|w| sin θ)"]
    numeric = evidence["numeric"]
    if solved["unique_alpha"] and identity and numeric["status"] == "holds":
        return Verdict("holds", f"unique α = {solved['solutions'][0]} solves every coefficient "
                       f"({SYMBOLS}); " + numeric["summary"], evidence,
                       headline=headline(f"unique α = |w*|/(2π|w| sin θ); numeric error "
                                         f"{_bound(numeric['max_relative_error'])}"))
    if numeric["status"] == "fails":
        return Verdict("fails", numeric["summary"], evidence, counterexample=numeric,
                       headline=_numeric_headline(numeric))
    return Verdict("inconclusive", f"α solutions: {as_text(solved['solutions'])}; symbolic "
                   f"identity {'holds' if identity else 'does not hold'}; "
                   + numeric["summary"], evidence,
                   headline=headline(f"{len(solved['solutions'])} α solution(s); not decided"))


@functools.cache
def gather_paper_h1(quick: bool) -> dict[str, Any]:
    formula = PAPER_HESSIAN_H.format(alpha=ALPHA_PAPER)
    evidence: dict[str, Any] = {}
    for convention in ("expected", "exact"):
        solved = solve_alpha("h1", convention, sp.Integer(1), 2)
        solved["derived"] += " at lam = 1"
        evidence[f"alpha solved ({convention})"] = solved
        sizes = _sizes(quick) if convention == "expected" else {"n_random": 40, "n_search": 0}
        evidence[f"numeric ({convention})"] = _numeric(check_formula(
            formula, quantity="hessian", loss="h1", convention=convention, **sizes))
    evidence["symbolic identity, expected convention"] = _hessian_identity(
        ALPHA_PAPER, "h1", "expected", sp.Integer(1), 2)
    evidence["seeds"] = "check_formula's seeded random points and hypothesis search"
    return evidence


@register(
    id="oh2025-hessian-h1",
    statement="∇²H = I − α(2uuᵀ − cos θ·vuᵀ + sin²θ·I)(I − vvᵀ) for one neuron (H = L + J), "
              "with α = |w*|/(2π|w| sin θ).",
    source="Oh, Lyu, Son (2025), Sobolev acceleration for neural networks, arXiv:2509.19773",
    scope="K = K* = 1, any d >= 2, θ ∈ (0, π), λ = 1; checked in both conventions",
    expected="conditional", verdicts=("holds", "conditional", "fails", "inconclusive"),
    gather=gather_paper_h1,
)
def decide_paper_h1(evidence: dict[str, Any]) -> Verdict:
    """holds: the formula is both the expected Jacobian and the exact Hessian; conditional: it
    is one of them (the condition names which convention, with the other's error); fails:
    neither; inconclusive: a check was undecided."""
    results = {c: evidence[f"numeric ({c})"] for c in ("expected", "exact")}
    results["expected"] = results["expected"] | {
        "status": results["expected"]["status"]
        if evidence["symbolic identity, expected convention"] or
        results["expected"]["status"] == "fails" else "inconclusive"}
    status = {c: r["status"] for c, r in results.items()}
    if all(s == "holds" for s in status.values()):
        return Verdict("holds", "the formula is the expected Jacobian and the exact Hessian",
                       evidence, headline=headline("both conventions match"))
    if all(s == "fails" for s in status.values()):
        return Verdict("fails", f"matches neither convention: {results['expected']['summary']}",
                       evidence, counterexample=results["expected"],
                       headline=headline("matches neither convention"))
    if sorted(status.values()) == ["fails", "holds"]:
        good = next(c for c, s in status.items() if s == "holds")
        bad = next(c for c, s in status.items() if s == "fails")
        what = {"expected": "Jacobian of the EXPECTED gradient field of H_1 (non-symmetric)",
                "exact": "exact Hessian of H_1"}
        return Verdict(
            "conditional",
            f"equals the {what[good]}, not the {what[bad]}: {bad}-convention max relative error "
            f"{results[bad]['max_relative_error']:.2g} over {results[bad]['n_points']} points",
            evidence, counterexample=results[bad],
            condition=f"convention = {good} (max relative error "
                      f"{_bound(results[good]['max_relative_error'])} over "
                      f"{results[good]['n_points']} points), λ = 1, θ ∈ (0, π)",
            headline=headline(f"holds in the {good} convention only"))
    return Verdict("inconclusive", "conventions: " + ", ".join(f"{c} {s}"
                                                             for c, s in status.items()),
                   evidence, headline=headline("a convention's check was undecided"))


def _explicit_counterexample(r_star: float = 2.0) -> dict[str, Any]:
    """|w*| = r_star, |w| = 1, θ = π/3, d = 3: summary's and paper's α vs theory's Hessian."""
    w, w_star = _configuration(3, 1.0, r_star, math.pi / 3, 0)
    r, s = 1.0, math.sin(math.pi / 3)
    u, v = w_star / r_star, w / r
    bracket = (np.outer(u, u) - math.cos(math.pi / 3) * np.outer(v, u) + s**2 * np.eye(3)) @ (
        np.eye(3) - np.outer(v, v))
    values = {}
    for label, alpha in (("summary", r_star**2 / (2 * math.pi * r * s)),
                         ("paper", r_star / (2 * math.pi * r * s))):
        values[label] = 0.5 * np.eye(3) - alpha * bracket
    reference = theory.population_hessian(w, w_star, "l2")
    return {
        "w": w.tolist(), "w_star": w_star.tolist(), "r": r, "r_star": r_star, "theta": "π/3",
        "max |summary − theory|": float(np.abs(values["summary"] - reference).max()),
        "max |paper α − theory|": float(np.abs(values["paper"] - reference).max()),
        "reference": "theory.population_hessian(w, w_star, 'l2')",
    }


#: Entry error above which the explicit comparison counts as a disagreement.
ENTRY_TOLERANCE = 1e-6


@functools.cache
def gather_summary_alpha(quick: bool) -> dict[str, Any]:
    return {"alpha solved from the derived Hessian": solve_alpha("l2", "exact",
                                                                 sp.Rational(1, 2), 1),
            "numeric": _numeric(check_formula(PAPER_HESSIAN_L2.format(alpha=ALPHA_SUMMARY),
                                              quantity="hessian", loss="l2", convention="exact",
                                              n_random=40, n_search=0)),
            "explicit counterexample": _explicit_counterexample(2.0),
            "unit teacher": _explicit_counterexample(1.0),
            "entry_tolerance": ENTRY_TOLERANCE,
            "seeds": "check_formula seeded random points; explicit points rotation seed 0"}


@register(
    id="summary-alpha-squared",
    statement="In the paper's one-neuron Hessians, α = |w*|²/(2π|w| sin θ) (as a secondary "
              "summary of arXiv:2509.19773 quotes it).",
    source="secondary summary of Oh, Lyu, Son (2025), arXiv:2509.19773",
    scope="K = K* = 1, any d >= 2, θ ∈ (0, π); L2 Hessian",
    expected="fails", verdicts=_FORMULA_VERDICTS, gather=gather_summary_alpha,
)
def decide_summary_alpha(evidence: dict[str, Any]) -> Verdict:
    """holds: the summary's α matches the derived Hessian numerically; fails: it does not and the
    explicit |w*| = 2 point confirms it; inconclusive otherwise."""
    numeric, solved = evidence["numeric"], evidence["alpha solved from the derived Hessian"]
    explicit, unit = evidence["explicit counterexample"], evidence["unit teacher"]
    tolerance = evidence["entry_tolerance"]
    if numeric["status"] == "holds":
        return Verdict("holds", "the summary's α matches the derived Hessian: "
                       + numeric["summary"], evidence,
                       headline=headline("the squared α matches the derived Hessian"))
    if numeric["status"] == "fails" and explicit["max |summary − theory|"] > tolerance:
        return Verdict(
            "fails",
            f"α must be {' or '.join(solved['solutions'])} ({SYMBOLS}): the squared norm is "
            "off by "
            f"the factor |w*|; at |w*| = {explicit['r_star']:g}, |w| = 1, θ = π/3 the largest "
            f"entry error is {explicit['max |summary − theory|']:.2g} (paper's α: "
            f"{_bound(explicit['max |paper α − theory|'])}); at |w*| = 1 it is "
            f"{_bound(unit['max |summary − theory|'])}", evidence, counterexample=explicit,
            headline=headline(f"off by the factor |w*|: entry error "
                              f"{explicit['max |summary − theory|']:.2g} at |w*| = "
                              f"{explicit['r_star']:g}"))
    return Verdict("inconclusive", numeric["summary"], evidence,
                   headline=headline("numeric check undecided"))
