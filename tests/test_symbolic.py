"""theory.symbolic: the derivation against independent evaluations.

Independent routes used here: scipy 2-D quadrature of the Gaussian integrals (kernels), explicit
coordinate differentiation in d = 2, 3 (symbolic simplification to zero), theory's numpy closed
forms at random points (lambdified path), and finite differences for the flow.
"""

import json
import math

import numpy as np
import pytest
import sympy as sp
from scipy import integrate

import theory
from proofs_check.cli import main
from theory.symbolic import assembly, flow, kernels, numeric, one_neuron
from theory.symbolic import symbols as S
from theory.symbolic.algebra import simplify

LOSSES = ("l2", "sobolev", "h1")
CONVENTIONS = ("expected", "exact")


def _gaussian_wedge(f, angle):
    """∫∫ f(x1, x2) φ(x1) φ(x2) over {x1 > 0, x2 > −x1 cot θ} (Cartesian scipy dblquad).

    The wedge is where a·x > 0 and b·x > 0 for a = (1, 0), b = (cos θ, sin θ); the integrand is
    smooth there, so quadrature converges fast. Tails beyond 12 are below 1e-30.
    """
    density = lambda x2, x1: f(x1, x2) * math.exp(-(x1 * x1 + x2 * x2) / 2) / (2 * math.pi)  # noqa: E731,E501
    cot = math.cos(angle) / math.sin(angle)
    value, _ = integrate.dblquad(density, 0, 12, lambda x1: -x1 * cot, 12,
                                 epsabs=1e-12, epsrel=1e-11)
    return value


@pytest.mark.parametrize("angle", [0.7, 2.5])
def test_pair_kernels_match_quadrature(angle):
    ra, rb = 1.3, 0.8
    c, s = math.cos(angle), math.sin(angle)
    k_quad = _gaussian_wedge(lambda x1, x2: ra * x1 * rb * (c * x1 + s * x2), angle)
    p_quad = _gaussian_wedge(lambda x1, x2: 1.0, angle)
    field_quad = [_gaussian_wedge(lambda x1, x2: rb * (c * x1 + s * x2) * x1, angle),
                  _gaussian_wedge(lambda x1, x2: rb * (c * x1 + s * x2) * x2, angle)]
    values = {S.r: ra, S.r_star: rb, S.theta: angle}
    k = float(kernels.relu_kernel().subs(values))
    p = float(kernels.both_positive_probability().subs(values))
    field = [float(x.subs(values)) for x in kernels.relu_pair_field_frame()]
    assert k == pytest.approx(k_quad, rel=1e-9)
    assert p == pytest.approx(p_quad, rel=1e-9)
    np.testing.assert_allclose(field, field_quad, rtol=1e-9)


def test_l2_conventions_agree_and_sobolev_boundary_term():
    # Two independent derivations of the L2 gradient (polar vector integral vs chain rule).
    assert one_neuron.conventions_agree("l2")
    assert not one_neuron.conventions_agree("sobolev")
    # exact − expected for J is the boundary term −|w*| cos θ e/(2π).
    difference = (one_neuron.gradient("sobolev", "exact")
                  - one_neuron.gradient("sobolev", "expected"))
    from theory.symbolic.algebra import vec_to_frame

    along_v, along_e = vec_to_frame(difference)
    assert along_v == 0
    assert simplify(along_e + S.r_star * sp.cos(S.theta) / (2 * sp.pi)) == 0


def test_exact_hessians_are_symmetric_and_expected_sobolev_is_not():
    for name in LOSSES:
        H = one_neuron.hessian(name, "exact")
        assert (H - H.T).is_zero()
    H = one_neuron.hessian("sobolev", "expected")
    assert not (H - H.T).is_zero()


def _coordinate_check(name, convention, dim):
    """Differentiate in explicit coordinates (w* = r*·e1) and compare with the matrix form."""
    w = (sp.Symbol("w1", real=True), *sp.symbols(f"w2:{dim + 1}", positive=True))
    radius = sp.sqrt(sum(c**2 for c in w))
    angle = sp.atan2(sp.sqrt(sum(c**2 for c in w[1:])), w[0])
    sub = {S.r: radius, S.theta: angle}
    u = sp.Matrix([1] + [0] * (dim - 1))
    v = sp.Matrix(w) / radius
    if convention == "exact":
        direct = sp.hessian(one_neuron.loss(name).subs(sub), w)
    else:
        g = one_neuron.gradient(name, convention)
        direct = (g.cy * u + g.cx * v).subs(sub).jacobian(w)
    M = one_neuron.hessian(name, convention)
    basis = sp.Matrix.hstack(u, v)
    matrix_form = (M.iso * sp.eye(dim) + basis * M.M * basis.T).subs(sub)
    return [sp.simplify(entry) for entry in direct - matrix_form]


@pytest.mark.parametrize("name,convention,dim", [
    ("l2", "exact", 2), ("sobolev", "expected", 2), ("sobolev", "exact", 3),
    ("sobolev", "expected", 3)])
def test_matrix_form_simplifies_to_coordinate_derivatives(name, convention, dim):
    assert all(entry == 0 for entry in _coordinate_check(name, convention, dim))


def _point(rng, d):
    return rng.normal(size=d) * rng.uniform(0.3, 3), rng.normal(size=d) * rng.uniform(0.3, 3)


@pytest.mark.parametrize("d", [2, 3, 6, 12])
def test_lambdified_route_equals_theory(d):
    rng = np.random.default_rng(d)
    for _ in range(4):
        w, w_star = _point(rng, d)
        lam = float(rng.uniform(0.1, 3))
        for name in LOSSES:
            assert numeric.loss(w, w_star, name, sobolev_weight=lam) == pytest.approx(
                theory.population_loss(w, w_star, name, sobolev_weight=lam), rel=1e-12)
            for convention in CONVENTIONS:
                kw = dict(convention=convention, sobolev_weight=lam)
                np.testing.assert_allclose(
                    numeric.gradient(w, w_star, name, **kw),
                    theory.population_gradient(w, w_star, name, **kw)[0], rtol=1e-11, atol=1e-13)
                np.testing.assert_allclose(
                    numeric.hessian(w, w_star, name, **kw),
                    theory.population_hessian(w, w_star, name, **kw), rtol=1e-10, atol=1e-12)


def test_general_width_assembly_equals_theory():
    rng = np.random.default_rng(5)
    W, W_star = rng.normal(size=(3, 4)), rng.normal(size=(2, 4))
    for name in LOSSES:
        assert assembly.loss(W, W_star, name) == pytest.approx(
            theory.population_loss(W, W_star, name), rel=1e-12)
        for convention in CONVENTIONS:
            np.testing.assert_allclose(
                assembly.gradient(W, W_star, name, convention=convention),
                theory.population_gradient(W, W_star, name, convention=convention),
                rtol=1e-11, atol=1e-13)


def test_pair_expansion_coefficients():
    terms = assembly.pair_expansion(2, 1)
    table = {(sa, i, sb, j): c for c, sa, i, sb, j in terms}
    assert table[("s", 0, "s", 0)] == sp.Rational(1, 2)
    assert table[("s", 0, "s", 1)] == 1
    assert table[("s", 1, "t", 0)] == -1
    assert len(terms) == 6


@pytest.mark.parametrize("name,convention", [("l2", "exact"), ("h1", "expected"),
                                             ("h1", "exact")])
def test_flow_matches_finite_differences_of_theory_field(name, convention):
    rng = np.random.default_rng(11)
    w, w_star = _point(rng, 4)
    h = 1e-6

    def radius_angle(x):
        v, u = x / np.linalg.norm(x), w_star / np.linalg.norm(w_star)
        return np.linalg.norm(x), 2 * math.atan2(np.linalg.norm(v - u), np.linalg.norm(v + u))

    field = theory.population_gradient(w, w_star, name, convention=convention)[0]
    ahead, behind = radius_angle(w - h * field), radius_angle(w + h * field)
    fd = [(a - b) / (2 * h) for a, b in zip(ahead, behind, strict=True)]
    derived = numeric.flow(w, w_star, name, convention=convention)
    np.testing.assert_allclose(derived, fd, rtol=1e-6, atol=1e-9)
    assert len(flow.flow(name, convention)) == 2


def test_derived_route_rejects_parallel_input():
    with pytest.raises(ValueError, match="parallel"):
        numeric.hessian([1.0, 0.0], [2.0, 0.0], "l2")
    with pytest.raises(ValueError, match="one student"):
        numeric.loss(np.ones((2, 3)), np.ones(3))


def test_derive_cli_formats(capsys):
    assert main(["derive", "--quantity", "hessian", "--loss", "h1", "--convention",
                 "expected", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    formulas = payload[0]["formulas"]
    assert any("matrix form" in key for key in formulas)
    gamma = next(v for k, v in formulas.items() if "gamma" in k)
    parsed = sp.parse_expr(gamma["sympy"], local_dict=S.local_dict())
    assert simplify(parsed - one_neuron.hessian_frame("h1", "expected").gamma) == 0
    assert main(["derive", "--quantity", "flow", "--loss", "l2", "--latex"]) == 0
    assert "\\frac" in capsys.readouterr().out
    assert main(["derive", "--quantity", "loss", "--loss", "sobolev"]) == 0
    out = capsys.readouterr().out
    assert "r_*" in out and "Symbols:" in out
