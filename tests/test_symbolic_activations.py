"""Derivations and proofs of the closed-form pair kernels (theory.symbolic.activations).

Independent checks: SymPy simplifies each proof residual to 0, and each closed form, its Price
forms ∂_c k = E[φ'φ'] and ∂²_c k = E[φ''φ''] are compared with 50-digit mpmath quadrature of the
Gaussian expectation itself (tensor Gauss–Hermite in Cholesky coordinates for the smooth
activations; mpmath.quad split at the kinks for leaky relu).
"""

from functools import cache

import mpmath as mp
import pytest
import sympy as sp

from theory.symbolic import activations as A

POINTS = [("0.7", "1.3", "0.4"), ("1.1", "0.3", "-0.35"), ("0.2", "0.2", "0.19")]
SMOOTH = {
    # name: (φ, φ', φ'') in mpmath
    "erf": (mp.erf, lambda t: 2 / mp.sqrt(mp.pi) * mp.exp(-t * t),
            lambda t: -4 * t / mp.sqrt(mp.pi) * mp.exp(-t * t)),
    "sine": (mp.sin, mp.cos, lambda t: -mp.sin(t)),
    "gelu": (lambda t: t * mp.ncdf(t), lambda t: mp.ncdf(t) + t * mp.npdf(t),
             lambda t: mp.npdf(t) * (2 - t * t)),
}


@pytest.mark.parametrize("name", ["erf", "sine", "gelu", "leaky_relu", "relu"])
def test_every_proof_step_simplifies_to_zero(name):
    residuals = A.proof(name)
    assert residuals, "a proof must have at least one step"
    for step, residual in residuals.items():
        assert sp.simplify(residual) == 0, f"{name}: step {step!r} leaves {residual}"


def test_generating_function_is_derived_not_assumed():
    """The derived G(p, q) agrees with det(I + 2DΣ)^{-1/2} at a numeric point (no simplify)."""
    subs = {A.s_a: sp.Rational(7, 10), A.s_b: sp.Rational(13, 10), A.c: sp.Rational(2, 5),
            A.p: sp.Rational(1, 3), A.q: sp.Rational(3, 2)}
    derived = sp.N(A.generating_function().subs(subs), 40)
    stated = sp.N(A.generating_function_stated().subs(subs), 40)
    assert abs(derived - stated) < 1e-35


@cache
def _hermite(n: int = 100):
    with mp.workdps(50):
        return mp.gauss_quadrature(n, "hermite")  # weight e^{-x²}


def _gaussian_pair_expectation(f, g, s_a, s_b, c):
    """E[f(U) g(V)] at 50 digits: U = √s_a z₁, V = m z₁ + β z₂, Gauss–Hermite in z₁, z₂."""
    nodes, weights = _hermite()
    with mp.workdps(50):
        s_a, s_b, c = mp.mpf(s_a), mp.mpf(s_b), mp.mpf(c)
        m, beta, root2 = c / mp.sqrt(s_a), mp.sqrt(s_b - c * c / s_a), mp.sqrt(2)
        total = mp.mpf(0)
        for x1, w1 in zip(nodes, weights, strict=True):
            z1 = root2 * x1
            inner = mp.fsum(w2 * g(m * z1 + beta * root2 * x2)
                            for x2, w2 in zip(nodes, weights, strict=True))
            total += w1 * f(mp.sqrt(s_a) * z1) * inner
        return total / mp.pi


def _evaluate(expr, s_a, s_b, c, alpha=None):
    subs = {A.s_a: sp.Rational(s_a), A.s_b: sp.Rational(s_b), A.c: sp.Rational(c)}
    if alpha is not None:
        subs[A.alpha] = sp.Rational(alpha)
    return mp.mpf(str(sp.N(expr.subs(subs), 50)))


@pytest.mark.parametrize("name", sorted(SMOOTH))
@pytest.mark.parametrize("point", POINTS[:2])
def test_smooth_kernel_and_price_forms_match_50_digit_quadrature(name, point):
    phi, d1, d2 = SMOOTH[name]
    k, dk, d2k = A.price_kernels(name)
    with mp.workdps(50):
        for expr, f in ((k, phi), (dk, d1), (d2k, d2)):
            exact = _evaluate(expr, *point)
            measured = _gaussian_pair_expectation(f, f, *point)
            assert abs(exact - measured) <= mp.mpf("1e-24") * max(1, abs(exact)), (name, expr)


def test_sine_price_form_fails_for_a_wrong_kernel():
    """The 50-digit reference does discriminate: cosh instead of sinh is rejected."""
    wrong = sp.exp(-(A.s_a + A.s_b) / 2) * sp.cosh(A.c)
    with mp.workdps(50):
        measured = _gaussian_pair_expectation(mp.sin, mp.sin, *POINTS[0])
        assert abs(_evaluate(wrong, *POINTS[0]) - measured) > 0.1


def _kinked_pair_expectation(f, g, s_a, s_b, c, degree):
    """E[f(U) g(V)] for f, g positively homogeneous (total degree ``degree``) at 50 digits.

    In polar coordinates z = ρ(cos φ, sin φ) the integrand is ρ^degree F(φ), so
    E = R/(2π) ∫₀^{2π} F(φ) dφ with R = ∫₀^∞ ρ^{degree+1} e^{−ρ²/2} dρ (mpmath.quad, split at
    the kinks U = 0 and V = 0).
    """
    with mp.workdps(50):
        s_a, s_b, c = mp.mpf(s_a), mp.mpf(s_b), mp.mpf(c)
        m, beta = c / mp.sqrt(s_a), mp.sqrt(s_b - c * c / s_a)
        zero_v = mp.atan2(-m, beta) % mp.pi
        cuts = sorted({mp.mpf(0), mp.pi / 2, 3 * mp.pi / 2, zero_v, zero_v + mp.pi, 2 * mp.pi})

        def angular(t):
            z1, z2 = mp.cos(t), mp.sin(t)
            return f(mp.sqrt(s_a) * z1) * g(m * z1 + beta * z2)

        radial = mp.quad(lambda r: r ** (degree + 1) * mp.exp(-r * r / 2), [0, mp.inf])
        return radial / (2 * mp.pi) * mp.quad(angular, cuts)


@pytest.mark.parametrize("slope", ["0", "0.1"])
def test_leaky_relu_kernel_and_first_price_form_match_mpmath(slope):
    with mp.workdps(50):
        a = mp.mpf(slope)  # at 50 digits (0.1 is not a binary fraction)

    def leaky(t):
        return t if t > 0 else a * t

    def leaky_prime(t):
        return mp.mpf(1) if t > 0 else a

    point = POINTS[0]
    k, dk, _ = A.price_kernels("leaky_relu")
    with mp.workdps(50):
        for expr, f, degree in ((k, leaky, 2), (dk, leaky_prime, 0)):
            exact = _evaluate(expr, *point, alpha=slope)
            measured = _kinked_pair_expectation(f, f, *point, degree)
            assert abs(exact - measured) <= mp.mpf("1e-40"), (slope, expr)


def test_tanh_has_no_closed_form_and_says_so():
    with pytest.raises(ValueError, match="no closed-form"):
        A.closed_form("tanh")
    with pytest.raises(ValueError, match="activation must be one of"):
        A.closed_form("swish")


@pytest.mark.parametrize("name", ["erf", "sine", "gelu"])
def test_closed_forms_are_those_theory_evaluates(name):
    """theory.activations (the numpy route theory assembles) evaluates the kernels proved here,
    and its ∂_c k, ∂²_c k the Price forms."""
    import numpy as np

    from theory.activations import get_activation

    act = get_activation(name)
    for s_a, s_b, c in POINTS:
        args = [np.array([float(v)]) for v in (s_a, s_b, c)]
        for n, expr in enumerate(A.price_kernels(name)):
            expected = float(_evaluate(expr, s_a, s_b, c))
            got = act.partials(n, 0, *args)[0]
            assert np.allclose(got, expected, rtol=1e-13, atol=1e-15), (name, n)
