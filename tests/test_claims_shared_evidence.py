"""Evidence that claims share within a run is the number each would have computed itself."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import theory
from proofs_check.claims import conditioning, published
from theory.configurations import make_configuration


def test_gain_at_unit_weight_is_the_spectrum_of_that_point():
    """lambda-min-gain-significant takes λ = 1 from the conditioning survey: at every such row
    the value is the smallest real part of a fresh theory.spectrum of the same configuration."""
    rows = [r for r in conditioning.gather_gain(True)["rows"] if r["λ"] == 1.0]
    assert rows
    for row in rows[::7]:
        config = make_configuration(row["K"], row["K*"], row["d"], row["seed"], at=row["at"],
                                    radius=row["radius"])
        fresh = np.real(theory.spectrum(config.W, config.W_star, "h1", convention="expected",
                                        sobolev_weight=1.0)).min()
        assert row["lambda_min_h1"] == fresh
        assert row["gain"] == fresh / (2.0 * row["lambda_min_l2"])


def test_solve_alpha_gives_each_caller_its_own_result():
    first = published.solve_alpha("l2", "exact", sp.Rational(1, 2), 1)
    first["solutions"].append("changed")
    first["derived"] += " (changed)"
    second = published.solve_alpha("l2", "exact", sp.Rational(1, 2), 1)
    assert second["solutions"] == ["r_star/(2*pi*r*sin(theta))"]
    assert "changed" not in second["derived"]
    assert second["unique_alpha"] is True


def test_every_solved_alpha_solves_its_coefficient_equation():
    """The α of each coefficient equation is a root of it (substituted and reduced to 0 by the
    algebra's normal form), and for the exact h1 Hessian, where no single α fits, the reported
    roots are distinct functions (they differ at a sample point)."""
    import math

    from theory.symbolic import algebra
    from theory.symbolic import symbols as S

    alpha = sp.Symbol("alpha")
    from theory.symbolic import one_neuron

    for name, convention, base, weight in (("l2", "exact", sp.Rational(1, 2), 1),
                                           ("h1", "expected", sp.Integer(1), 2),
                                           ("h1", "exact", sp.Integer(1), 2)):
        derived = one_neuron.hessian(name, convention).map(lambda c: c.subs(S.lam, 1))
        residual = (derived - algebra.Mat.identity().scale(base)
                    + published._bracket(weight).scale(alpha))
        coefficients = [algebra.simplify(c) for c in residual.coefficients()]
        solved = published.solve_alpha(name, convention, base, weight)
        roots = [published.parse_formula(text) for text in solved["solutions"]]
        for coefficient in coefficients:
            if coefficient == 0:
                continue
            assert any(algebra.simplify(coefficient.subs(alpha, root)) == 0 for root in roots)
        point = {S.r: 1.3, S.r_star: 0.7, S.theta: 0.9}
        values = [float(root.subs(point)) for root in roots]
        assert len({round(v, 12) for v in values}) == len(values)
        if name == "h1" and convention == "exact":
            assert not solved["unique_alpha"] and len(values) == 4
        else:
            assert solved["unique_alpha"]
            assert values[0] == pytest.approx(0.7 / (2 * math.pi * 1.3 * math.sin(0.9)),
                                              rel=1e-14)
