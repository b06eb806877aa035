"""Evidence that claims share within a run is the number each would have computed itself."""

from __future__ import annotations

import numpy as np
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
