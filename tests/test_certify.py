"""Tests of proofs_check.analysis.certify (interval branch-and-bound) and the certified claims.

Independent evaluations: theory.spectrum / theory.condition_number (dense float64 assembly of
the Hessian, not the closed-form table) for the one-neuron formulas and counterexamples; plain
float (math) evaluation for the toy inequalities.
"""

from __future__ import annotations

import math

import flint
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mpmath import iv, libmp, mp

import theory
from proofs_check.analysis.certify import (
    interval,
    interval_max,
    interval_min,
    one_neuron_eigenvalues,
    one_neuron_extremes,
    prove,
)
from proofs_check.claims import get_claim


def _one_neuron(rho: float, theta: float, dim: int, rng: np.random.Generator):
    """w = v (unit), w* = ρ(cos θ v + sin θ e) in a random orthonormal frame of R^dim."""
    frame, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    v, e = frame[:, 0], frame[:, 1]
    scale = rng.uniform(0.3, 3.0)  # the spectrum depends on |w| only through ρ
    return scale * v[None], scale * rho * (math.cos(theta) * v + math.sin(theta) * e)[None]


def _expand(eigenvalues: dict) -> np.ndarray:
    return np.sort([float(value) for value, count in eigenvalues.values()
                    for _ in range(count)])


CASES = [("l2", "expected"), ("sobolev", "expected"), ("sobolev", "exact"),
         ("h1", "expected"), ("h1", "exact")]


@settings(max_examples=40, deadline=None)
@given(rho=st.floats(0.05, 20.0), theta=st.floats(0.02, math.pi - 0.02),
       dim=st.integers(2, 6), weight=st.floats(0.0, 5.0), seed=st.integers(0, 2**31))
def test_closed_form_spectrum_matches_theory_spectrum(rho, theta, dim, weight, seed):
    W, W_star = _one_neuron(rho, theta, dim, np.random.default_rng(seed))
    for loss, convention in CASES:
        dense = np.sort(np.real(theory.spectrum(W, W_star, loss, convention=convention,
                                                sobolev_weight=weight, method="dense")))
        closed = _expand(one_neuron_eigenvalues(rho, theta, loss, convention=convention,
                                                sobolev_weight=weight, dim=dim, ctx=mp))
        scale = max(1.0, np.abs(dense).max())
        np.testing.assert_allclose(closed, dense, rtol=0, atol=1e-12 * scale,
                                   err_msg=f"{loss}/{convention}, d={dim}")


@settings(max_examples=25, deadline=None)
@given(rho=st.floats(0.1, 10.0), theta=st.floats(0.01, math.pi - 0.2),
       width=st.floats(1e-3, 0.19), seed=st.integers(0, 2**31))
def test_interval_extremes_enclose_theory_at_interior_points(rho, theta, width, seed):
    rng = np.random.default_rng(seed)
    rho_box, theta_box = (rho, rho * (1 + width)), (theta, theta + width)
    for loss, convention in CASES:
        low, high = one_neuron_extremes(interval(*rho_box), interval(*theta_box), loss,
                                        convention=convention, dim=4)
        for _ in range(3):
            r, t = rng.uniform(*rho_box), rng.uniform(*theta_box)
            W, W_star = _one_neuron(r, t, 4, rng)
            values = np.real(theory.spectrum(W, W_star, loss, convention=convention,
                                             method="dense"))
            slack = 1e-12 * max(1.0, np.abs(values).max())
            assert float(low.a) - slack <= values.min() <= float(low.b) + slack
            assert float(high.a) - slack <= values.max() <= float(high.b) + slack


def test_interval_max_min_take_endpoints():
    a, b = interval(1.0, 3.0), interval(2.0, 2.5)
    assert interval_max(a, b, 0) == iv.mpf([2.0, 3.0])
    assert interval_min(a, b, interval(-1.0, 5.0)) == iv.mpf([-1.0, 2.5])
    with pytest.raises(ValueError, match="at least one"):
        interval_max()


# ---------------------------------------------------------------- prove() on toy inequalities

def test_proves_a_true_inequality():
    # sin x − x < 0 on [0.5, 3]: the gap (≈ −x³/6) shrinks to the left, forcing subdivision.
    result = prove(lambda b: iv.sin(b[0]) - b[0], [(0.5, 3.0)], names=["x"],
                   claim="sin x < x")
    assert result.status == "proved"
    assert result.statement.startswith("proved on box x ∈ [0.5, 3.0]")
    assert result.undecided == [] and result.undecided_area == 0
    assert result.proved_boxes > 1  # needed subdivision


def test_proves_with_region_including_straddling_boxes():
    # x + y > 0 wherever x > 0.5 on [0, 1]²: boxes cut by x = 0.5 are proved whole.
    result = prove(lambda b: b[0] + b[1], [(0.0, 1.0), (0.0, 1.0)], relation=">",
                   where=lambda b: b[0] - 0.5, names=["x", "y"])
    assert result.status == "proved"
    assert result.boundary_boxes >= 1


def test_finds_a_certified_counterexample():
    # sin x < 0.9 on [0, 3] is false around π/2.
    result = prove(lambda b: iv.sin(b[0]) - 0.9, [(0.0, 3.0)], names=["x"])
    assert result.status == "counterexample"
    x = result.counterexample["point"]["x"]
    assert math.sin(x) >= 0.9  # confirmed by plain float evaluation
    assert "proved" not in result.statement


def test_counterexample_respects_the_region():
    # x − y < 0 is false for x > y but holds wherever y − x > 0: no counterexample there, and
    # the boxes cut by the diagonal (where f is tight) stay undecided.
    where = lambda b: b[1] - b[0]  # noqa: E731
    result = prove(lambda b: b[0] - b[1], [(0.0, 1.0), (0.0, 1.0)], where=where,
                   min_width=1e-3, max_boxes=200)
    assert result.status == "undecided"  # the diagonal is tight: never called proved
    assert {entry["reason"] for entry in result.undecided} <= {"boundary", "budget"}
    unrestricted = prove(lambda b: b[0] - b[1], [(0.0, 1.0), (0.0, 1.0)])
    assert unrestricted.status == "counterexample"
    point = unrestricted.counterexample["point"]
    assert point["x0"] - point["x1"] >= 0


def test_tight_endpoint_is_undecided_not_proved():
    # x − 1 < 0 fails only at the endpoint x = 1: no midpoint is a counterexample.
    result = prove(lambda b: b[0] - 1, [(0.0, 1.0)], min_width=1e-3)
    assert result.status == "undecided"
    assert [entry["reason"] for entry in result.undecided] == ["min-width"]
    assert 0 < result.undecided_area <= 1e-3
    assert result.statement.startswith("undecided") and "not a proof" in result.statement


def test_boundary_and_budget_are_reported_as_undecided():
    box = [(-1.0, 1.0), (-1.0, 1.0)]
    quadrant = prove(lambda b: b[0] * b[1], box, relation=">", where=lambda b: (b[0], b[1]),
                     min_width=1 / 16)
    assert quadrant.status == "undecided"
    assert {entry["reason"] for entry in quadrant.undecided} == {"boundary"}
    assert 0 < quadrant.undecided_fraction < 0.25
    budget = prove(lambda b: iv.sin(b[0]) - b[0], [(0.01, 3.0)], max_boxes=3)
    assert budget.status == "undecided"
    assert {entry["reason"] for entry in budget.undecided} == {"budget"}
    assert budget.undecided_area > 0


def test_prove_is_deterministic():
    args = (lambda b: iv.sin(b[0]) * iv.cos(b[1]) - 1.01, [(0.0, 3.0), (-1.0, 1.0)])
    assert prove(*args).to_dict() == prove(*args).to_dict()


@pytest.mark.parametrize("box, match", [
    ([], "empty"),
    ([(1.0, 0.0)], "empty or inverted"),
    ([(0.5, 0.5)], "empty or inverted"),
    ([(float("nan"), 1.0)], "finite"),
    ([(0.0, float("inf"))], "finite"),
    ([(0.0, 1.0, 2.0)], "pair"),
    ([("a", 1.0)], "real numbers"),
])
def test_bad_boxes_raise(box, match):
    with pytest.raises(ValueError, match=match):
        prove(lambda b: b[0], box)


def test_bad_arguments_raise():
    box = [(0.0, 1.0)]
    with pytest.raises(ValueError, match="relation"):
        prove(lambda b: b[0], box, relation="!=")
    with pytest.raises(ValueError, match="min_width"):
        prove(lambda b: b[0], box, min_width=0)
    with pytest.raises(ValueError, match="max_boxes"):
        prove(lambda b: b[0], box, max_boxes=0)
    with pytest.raises(ValueError, match="names"):
        prove(lambda b: b[0], box, names=["x", "y"])
    with pytest.raises(ValueError, match="mpmath.iv interval"):
        prove(lambda b: 0.5, box)  # a float is not a certified enclosure
    nan = iv.make_mpf((libmp.fnan, libmp.fnan))
    with pytest.raises(ValueError, match="NaN"):
        prove(lambda b: nan, box)


def test_one_neuron_bad_input_raises():
    with pytest.raises(ValueError, match="theta"):
        one_neuron_eigenvalues(interval(1.0), interval(0.0, 0.1))  # touches θ = 0
    with pytest.raises(ValueError, match="rho"):
        one_neuron_eigenvalues(interval(-0.1, 1.0), interval(1.0))
    with pytest.raises(ValueError, match="dim"):
        one_neuron_eigenvalues(1.0, 1.0, dim=1)
    with pytest.raises(ValueError, match="convention"):
        one_neuron_eigenvalues(1.0, 1.0, convention="autograd")
    with pytest.raises(ValueError, match="loss"):
        one_neuron_eigenvalues(1.0, 1.0, "l1")


# ---------------------------------------------------------------- registered claims

def test_expected_convention_kappa_claim_is_proved():
    claim = get_claim("certified-kappa-h1-expected-below-l2")
    verdict = claim.run(quick=True)
    assert verdict.status == claim.expected == "proved"
    assert verdict.summary.startswith("proved on box ρ ∈ [0.5, 2.0], θ ∈ [0.01, ")
    assert f"Arb ball arithmetic (python-flint {flint.__version__})" in verdict.summary


def test_exact_convention_kappa_claim_fails_with_a_checked_counterexample():
    claim = get_claim("certified-kappa-h1-exact-below-l2")
    verdict = claim.run(quick=True)
    assert verdict.status == claim.expected == "fails"
    point = verdict.counterexample["point"]
    # independent check: dense float64 Hessians from theory at the counterexample, d = 3
    W, W_star = _one_neuron(point["ρ"], point["θ"], 3, np.random.default_rng(0))
    kappa_l2 = theory.condition_number(W, W_star, "l2", method="dense")
    kappa_h1 = theory.condition_number(W, W_star, "h1", convention="exact", method="dense")
    assert math.isfinite(kappa_l2) and math.isfinite(kappa_h1)  # both positive definite
    assert kappa_h1 > kappa_l2 * (1 + 1e-6)


def test_normalised_eigenvalue_claim_is_proved():
    claim = get_claim("certified-h1-normalised-raises-min-keeps-max")
    verdict = claim.run(quick=True)
    assert verdict.status == claim.expected == "proved"
    assert set(verdict.evidence) >= {"min_raised", "max_not_above", "max_not_below"}


def test_exact_convention_is_certified_worse_on_a_region():
    verdict = get_claim("certified-kappa-h1-exact-below-l2").run(quick=True)
    region = verdict.evidence["worse_on_region"]
    assert region["status"] == "proved"
    assert region["statement"].startswith("proved on box ρ ∈ [0.5, 1.5], θ ∈ [0.01, ")
    rng = np.random.default_rng(7)
    for _ in range(5):  # independent float check at random points of that box
        rho, theta = rng.uniform(0.5, 1.5), rng.uniform(0.01, math.pi / 4 - 0.05)
        W, W_star = _one_neuron(rho, theta, 3, rng)
        assert (theory.condition_number(W, W_star, "h1", convention="exact", method="dense")
                > theory.condition_number(W, W_star, "l2", method="dense"))


def test_one_neuron_extremes_reuse_only_the_same_balls():
    from proofs_check.analysis.certify import arb_ctx, extremes, one_neuron_spectra
    from proofs_check.claims.certified import _OneNeuron

    problem = _OneNeuron("exact", 3)
    boxes = [[interval(0.5, 0.6, "arb"), interval(0.3, 0.4, "arb")],
             [interval(2.0, 2.5, "arb"), interval(1.0, 1.5, "arb")]]
    for box in boxes + boxes[::-1] + [list(boxes[0])]:
        spectra = one_neuron_spectra(*box, convention="exact", dim=3, ctx=arb_ctx)
        fresh = (extremes(spectra["l2"]), extremes(spectra["h1"]))
        got = problem.extremes(box)
        assert [x.mid_rad_10exp() for pair in got for x in pair] == \
            [x.mid_rad_10exp() for pair in fresh for x in pair]
