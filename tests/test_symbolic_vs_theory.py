"""theory's numeric closed forms equal the SymPy-derived ones, symbolically.

theory.kernels.frame_blocks is plain arithmetic in (ρ, sin θ, cos θ, θ, π). Evaluating that very
code on SymPy objects (with PI bound to sympy.pi) gives theory's one-neuron Hessian frame
(γ on the complement, 2×2 C in the basis (v, e)) exactly; it must simplify to the frame that
theory.symbolic derives from the Gaussian integrals, for every loss and both conventions.
"""

import numpy as np
import pytest
import sympy as sp

from theory import kernels
from theory.assembly import loss_terms
from theory.symbolic import one_neuron
from theory.symbolic.algebra import simplify
from theory.symbolic.symbols import lam, r, r_star, theta

WEIGHT = sp.Rational(3, 2)  # exactly representable, so loss_terms' float is exact too


def _scalar(value):
    array = np.empty((), dtype=object)
    array[()] = value
    return array


@pytest.fixture
def exact_pi(monkeypatch):
    monkeypatch.setattr(kernels, "PI", sp.pi)


def theory_frame(loss, convention):
    """½I − Σ weight·A(w, w*) of one neuron, from theory's own frame_blocks."""
    geometry = kernels.PairGeometry(
        _scalar(r), _scalar(r_star), _scalar(theta), _scalar(sp.sin(theta)),
        _scalar(sp.cos(theta)), None, None, np.array(False))
    gamma, C = sp.Integer(0), sp.zeros(2, 2)
    for weight, kind in loss_terms(loss, convention, float(WEIGHT)):
        blocks = kernels.frame_blocks(kind, geometry)
        weight = sp.nsimplify(weight)
        gamma += weight * (sp.Rational(1, 2) - np.asarray(blocks.gamma_A, dtype=object)[()])
        C_A = np.asarray(blocks.C_A, dtype=object)
        C += weight * (sp.eye(2) / 2 - sp.Matrix(C_A.tolist()))
    return gamma, C


@pytest.mark.parametrize("convention", ["exact", "expected"])
@pytest.mark.parametrize("loss", ["l2", "sobolev", "h1"])
def test_theory_hessian_frame_equals_derived_symbolically(exact_pi, loss, convention):
    gamma, C = theory_frame(loss, convention)
    assert not (gamma.has(sp.Float) or C.has(sp.Float)), "theory's code left a float constant"
    derived = one_neuron.hessian_frame(loss, convention)
    assert simplify(gamma - derived.gamma.subs(lam, WEIGHT)) == 0
    for i in range(2):
        for j in range(2):
            assert simplify(C[i, j] - derived.C[i, j].subs(lam, WEIGHT)) == 0


def test_a_wrong_coefficient_is_detected(exact_pi):
    """The comparison is not vacuous: perturbing one coefficient breaks it."""
    gamma, C = theory_frame("l2", "exact")
    derived = one_neuron.hessian_frame("l2", "exact")
    assert simplify(C[1, 1] * (1 + r_star / 100) - derived.C[1, 1]) != 0


@pytest.mark.parametrize("convention", ["exact", "expected"])
@pytest.mark.parametrize("loss", ["l2", "sobolev", "h1"])
def test_theory_gradient_equals_derived_symbolically(exact_pi, loss, convention):
    """One neuron in the frame (v, e): F = w/2 − Σ weight·g(w, w*), with w* = r*(cos θ v +
    sin θ e), evaluated by theory.kernels.pair_gradient on SymPy objects."""
    def one(value):  # a length-1 object array: one pair
        return np.array([value], dtype=object)

    def frame(x, y):  # one vector, components along (v, e)
        return np.array([[x, y]], dtype=object)

    geometry = kernels.PairGeometry(
        one(r), one(r_star), one(theta), one(sp.sin(theta)), one(sp.cos(theta)),
        frame(1, 0), frame(0, 1), np.array([False]))
    teacher = frame(r_star * sp.cos(theta), r_star * sp.sin(theta))
    gradient = np.zeros((1, 2), dtype=object)
    for weight, kind in loss_terms(loss, convention, float(WEIGHT)):
        pair = kernels.pair_gradient(kind, teacher, geometry)
        gradient = gradient + sp.nsimplify(weight) * (frame(r / 2, 0) - pair)
    derived = one_neuron.gradient_frame(loss, convention)
    for component, expected in zip(gradient[0], derived, strict=True):
        assert simplify(component - expected.subs(lam, WEIGHT)) == 0
