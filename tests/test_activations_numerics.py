"""numerics.activations: erf's derivatives against SymPy, and the "leaky_relu(α)" spec strings."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy

from numerics.activations import ACTIVATIONS, get_activation


def test_erf_derivatives_match_sympy_in_numpy_and_mpmath():
    t = sympy.symbols("t", real=True)
    act = get_activation("erf")
    points = [-2.3, -0.7, 0.0, 0.4, 1.9]
    for order in range(4):
        expr = sympy.diff(sympy.erf(t), t, order)
        expected = np.array([float(expr.subs(t, p).evalf(30)) for p in points])
        np.testing.assert_allclose(act.derivative(order)(np.array(points)), expected,
                                   rtol=1e-13, atol=1e-15)
        with mpmath.workdps(40):
            for p, value in zip(points, expected, strict=True):
                exact = expr.subs(t, sympy.Rational(p)).evalf(45)  # the binary float, exactly
                assert abs(act.mp_derivative(order)(mpmath.mpf(p)) - mpmath.mpf(str(exact))) \
                    <= mpmath.mpf(10) ** -35 * (1 + abs(value))
    assert act.is_smooth and not act.homogeneous and act.jump == 0.0


@pytest.mark.parametrize("spec, slope", [("leaky_relu(0.1)", 0.1), ("leaky_relu( 0.25 )", 0.25),
                                         ("leaky_relu(0)", 0.0)])
def test_leaky_relu_spec_strings(spec, slope):
    act = get_activation(spec)
    reference = get_activation("leaky_relu", slope=slope) if slope else get_activation("relu")
    assert act.name == reference.name
    t = np.linspace(-3, 3, 13)
    np.testing.assert_array_equal(act(t), np.where(t > 0, t, slope * t))
    assert get_activation(act.name).name == act.name  # a name is a spec that round-trips


@pytest.mark.parametrize("spec, match", [
    ("leaky_relu(1.5)", "slope"), ("leaky_relu(-0.1)", "slope"), ("leaky_relu(x)", "slope"),
    ("leaky_relu(nan)", "slope"), ("swish", "activation"), ("leaky_relu(0.1", "activation"),
])
def test_bad_specs_raise_value_error(spec, match):
    with pytest.raises(ValueError, match=match):
        get_activation(spec)


def test_spec_with_slope_keyword_is_ambiguous():
    with pytest.raises(ValueError, match="slope"):
        get_activation("leaky_relu(0.1)", slope=0.2)


def test_registry_names():
    assert set(ACTIVATIONS) == {"relu", "leaky_relu", "gelu", "tanh", "sine", "erf"}


@pytest.mark.parametrize("name", ["relu", "leaky_relu(0.1)", "gelu", "tanh", "sine", "erf"])
def test_jet_matches_derivatives_and_mpmath(name):
    """jet(t, order) gives σ, …, σ⁽ᵒʳᵈᵉʳ⁾ bit for bit as the separate functions, and the shared
    evaluation agrees with the mpmath derivatives at 40 digits (an independent route)."""
    act = get_activation(name)
    t = np.concatenate([np.random.default_rng(3).standard_normal(200) * 3, [-0.5, 0.5, 7.0]])
    for order in range(4):
        jet = act.jet(t, order)
        assert len(jet) == order + 1
        for k, values in enumerate(jet):
            np.testing.assert_array_equal(values, act.numpy[k](t))
    with mpmath.workdps(40):
        for point, *values in zip(t[:20], *act.jet(t[:20], 3), strict=True):
            for k, value in enumerate(values):
                exact = act.mp_derivative(k)(mpmath.mpf(float(point)))
                assert abs(value - exact) <= 1e-13 * (1 + abs(exact))


def test_jet_rejects_bad_order():
    with pytest.raises(ValueError, match="order"):
        get_activation("erf").jet(np.zeros(3), 4)
