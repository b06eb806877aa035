r"""Closed-form Gaussian pair kernels of the smooth and two-slope activations, with their proofs.

For a centred Gaussian pair (U, V) with Var U = s_a, Var V = s_b, Cov(U, V) = c (for neurons
a, b and x ~ N(0, Σ): s_a = aᵀΣa, s_b = bᵀΣb, c = aᵀΣb) the L2 pair kernel is

    k_φ(s_a, s_b, c) = E[φ(U) φ(V)].

Price's theorem (Price 1958; for a Gaussian pair ∂/∂c E[f(U)g(V)] = E[f'(U)g'(V)] when f, g and
their derivatives grow at most polynomially) gives the Sobolev kernels from the same function:

    E[φ'(U)φ'(V)]   = ∂_c k_φ,          E[φ''(U)φ''(V)] = ∂²_c k_φ,

so the H1 pair kernel is (a·b)·∂_c k and the H2 pair kernel (a·b)²·∂²_c k (the Euclidean input
gradient and Hessian, whatever Σ is). This module states each closed form as a SymPy expression
in (s_a, s_b, c) and derives or proves it:

    activation      k_φ(s_a, s_b, c)                                          how it is settled
    erf             (2/π) asin(2c/√((1+2s_a)(1+2s_b)))                        proof by Price's ODE
    sine            e^{−(s_a+s_b)/2} sinh c                                   derived
    gelu = tΦ(t)    c/4 + [(c² + s_a s_b Δ²)/((1+s_a)(1+s_b)Δ) + c·atan(c/Δ)]/(2π),
                    Δ = √((1+s_a)(1+s_b) − c²)  (Tsuchida et al. 2020, arXiv:2002.08517;
                    neural-tangents stax.Gelu)                                proof by Price's ODE
    leaky_relu(α)   α c + (1−α)² k_relu,  k_relu = √(s_a s_b)(sin θ + (π−θ)cos θ)/(2π),
                    cos θ = c/√(s_a s_b)                                       derived

* **Derived** means SymPy integrates the Gaussian expectation itself (sine: U ± V are Gaussian
  with variances s_a + s_b ± 2c and E[cos(ωZ)] = e^{−ω²/2}; leaky relu: linearity
  φ = αt + (1−α)relu(t) and the polar integrals of theory.symbolic.kernels).
* **Proof by Price's ODE** (erf, gelu, where SymPy does not integrate E[φ(U)φ(V)] directly): the
  derivative in c that Price's theorem names is a Gaussian integral of exp(quadratic) times a
  polynomial, which SymPy does evaluate — via the generating function
  G(p, q) = E[exp(−pU² − qV²)] = ((1+2ps_a)(1+2qs_b) − 4pqc²)^{−1/2}, itself derived by two
  one-dimensional Gaussian integrals in Cholesky coordinates, and polynomial factors by
  differentiating G under the integral (E[U² e^{−pU²}…] = −∂_p G). The stated form has the same
  c-derivative (first for erf, second for gelu) and the same initial values at c = 0, where U and
  V are independent and E[φ(U)φ(V)] = E[φ(U)]E[φ(V)] (and likewise for φ'): the ODE in c then
  has one solution on the whole interval |c| < √(s_a s_b), so the stated form is the kernel.

tanh has **no closed form**: E[tanh(U) tanh(V)] is not an elementary (or standard special)
function of (s_a, s_b, c); it stays a measured activation (numerics.quadrature, Monte-Carlo),
and erf is the closed-form sigmoid. :func:`closed_form` raises a ValueError saying so.

Every function returns SymPy expressions; ``proof(name)`` returns the residuals whose
simplification to 0 constitutes the derivation or proof (tests/test_symbolic_activations.py
simplifies them and checks each closed form against 50-digit mpmath quadrature). Cached: each
proof runs once per process (a few seconds).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from theory.symbolic.kernels import both_positive_probability, relu_kernel
from theory.symbolic.symbols import phi, r, r_star, rho, theta

#: Variances and covariance of the Gaussian pair (U, V).
s_a, s_b = sp.symbols("s_a s_b", positive=True)
c = sp.Symbol("c", real=True)
#: Leaky relu's negative-side slope.
alpha = sp.Symbol("alpha", nonnegative=True)
#: Arguments of the generating function G(p, q) = E[exp(−pU² − qV²)].
p, q = sp.symbols("p q", positive=True)

CLOSED_FORMS = ("erf", "sine", "gelu", "leaky_relu", "relu")
NO_CLOSED_FORM = {
    "tanh": "tanh has no closed-form Gaussian pair kernel: E[tanh(U)tanh(V)] is not an "
            "elementary function of (s_a, s_b, c); use numerics.quadrature or Monte-Carlo, or "
            "erf (the closed-form sigmoid)",
}

_z = sp.Symbol("z", real=True)
_A = sp.Symbol("A", positive=True)
_B = sp.Symbol("B", real=True)


@cache
def gaussian_line_integral() -> sp.Expr:
    """∫ exp(−A z² + B z) dz over ℝ (A > 0), integrated by SymPy: √(π/A)·e^{B²/(4A)}."""
    return sp.simplify(sp.integrate(sp.exp(-_A * _z**2 + _B * _z), (_z, -sp.oo, sp.oo)))


@cache
def _line_integral_parts() -> tuple[sp.Expr, sp.Expr]:
    """(prefactor, exponent) of the SymPy line integral: value = prefactor·exp(exponent)."""
    value = gaussian_line_integral()
    prefactor = sp.simplify(value.subs(_B, 0))
    exponent = sp.simplify(sp.expand_log(sp.log(sp.simplify(value / prefactor)), force=True))
    return prefactor, exponent


def _integrate_gaussian(exponent: sp.Expr, var: sp.Symbol) -> tuple[sp.Expr, sp.Expr]:
    """∫ exp(exponent) d(var) = prefactor·exp(new exponent), exponent quadratic in var."""
    poly = sp.Poly(sp.expand(exponent), var)
    if poly.degree() != 2:
        raise ValueError("exponent must be quadratic in the integration variable")
    a2, a1, a0 = (poly.coeff_monomial(var**k) for k in (2, 1, 0))
    prefactor, shift = _line_integral_parts()
    subs = {_A: -a2, _B: a1}
    return prefactor.subs(subs, simultaneous=True), sp.expand(shift.subs(subs, simultaneous=True)
                                                              + a0)


@cache
def generating_function() -> sp.Expr:
    """G(p, q) = E[exp(−pU² − qV²)] in (s_a, s_b, c), derived in Cholesky coordinates.

    U = √s_a z₁, V = m z₁ + β z₂ with m = c/√s_a, β = √(s_b − c²/s_a) and z₁, z₂ iid N(0, 1):
    two one-dimensional Gaussian integrals (leading coefficients are Schur complements of a
    positive definite matrix, hence positive).
    """
    z1, z2 = sp.symbols("z1 z2", real=True)
    m = sp.Symbol("m", real=True)
    beta = sp.Symbol("beta", positive=True)
    U = sp.sqrt(s_a) * z1
    V = m * z1 + beta * z2
    exponent = -p * U**2 - q * V**2 - (z1**2 + z2**2) / 2
    inner_factor, inner_exponent = _integrate_gaussian(exponent, z2)
    outer_factor, rest = _integrate_gaussian(sp.together(inner_exponent), z1)
    total = inner_factor * outer_factor * sp.exp(rest) / (2 * sp.pi)
    total = total.subs({m: c / sp.sqrt(s_a), beta: sp.sqrt(s_b - c**2 / s_a)})
    return sp.simplify(sp.powsimp(total, force=True))


def generating_function_stated() -> sp.Expr:
    """det(I + 2 diag(p, q) Σ)^{−1/2} = ((1+2ps_a)(1+2qs_b) − 4pqc²)^{−1/2}."""
    return 1 / sp.sqrt((1 + 2 * p * s_a) * (1 + 2 * q * s_b) - 4 * p * q * c**2)


# --------------------------------------------------------------------------- closed forms
def erf_kernel() -> sp.Expr:
    """k_erf = (2/π) asin(2c/√((1+2s_a)(1+2s_b)))  (Williams 1997)."""
    return 2 / sp.pi * sp.asin(2 * c / sp.sqrt((1 + 2 * s_a) * (1 + 2 * s_b)))


def sine_kernel() -> sp.Expr:
    """k_sin = e^{−(s_a+s_b)/2} sinh c."""
    return sp.exp(-(s_a + s_b) / 2) * sp.sinh(c)


def gelu_kernel() -> sp.Expr:
    """k_gelu for φ(t) = tΦ(t) (exact GELU), Tsuchida et al. 2020 / neural-tangents stax.Gelu."""
    prod1 = (1 + s_a) * (1 + s_b)
    delta = sp.sqrt(prod1 - c**2)
    return (c / 4 + ((c**2 + s_a * s_b * delta**2) / (prod1 * delta)
                     + c * sp.atan(c / delta)) / (2 * sp.pi))


def relu_gram_kernel() -> sp.Expr:
    """k_relu in Gram form: √(s_a s_b)(sin θ + (π − θ)cos θ)/(2π), cos θ = c/√(s_a s_b)."""
    norm = sp.sqrt(s_a * s_b)
    ang = sp.acos(c / norm)
    return norm * (sp.sqrt(1 - c**2 / (s_a * s_b)) + (sp.pi - ang) * c / norm) / (2 * sp.pi)


def leaky_relu_kernel() -> sp.Expr:
    """k_leaky = α c + (1 − α)² k_relu for φ(t) = max(t, 0) + α min(t, 0)."""
    return alpha * c + (1 - alpha) ** 2 * relu_gram_kernel()


def activation_function(name: str):
    """φ as a SymPy lambda of one symbol (erf, sine, gelu, leaky_relu, relu)."""
    if name == "erf":
        return sp.erf
    if name == "sine":
        return sp.sin
    if name == "gelu":
        return lambda t: t * (1 + sp.erf(t / sp.sqrt(2))) / 2
    if name == "relu":
        return lambda t: sp.Max(t, 0)
    if name == "leaky_relu":
        return lambda t: sp.Max(t, 0) + alpha * sp.Min(t, 0)
    raise ValueError(_unknown(name))


def _unknown(name: str) -> str:
    if name in NO_CLOSED_FORM:
        return NO_CLOSED_FORM[name]
    return f"activation must be one of {CLOSED_FORMS}; got {name!r}"


def closed_form(name: str) -> sp.Expr:
    """The stated k_φ(s_a, s_b, c) for ``name`` (tanh and unknown names: ValueError)."""
    forms = {"erf": erf_kernel, "sine": sine_kernel, "gelu": gelu_kernel,
             "leaky_relu": leaky_relu_kernel, "relu": relu_gram_kernel}
    if name not in forms:
        raise ValueError(_unknown(name))
    return forms[name]()


def price_kernels(name: str) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """(k, ∂_c k, ∂²_c k): the L2 kernel and the Price forms of E[φ'φ'] and E[φ''φ''].

    For relu and leaky relu ∂²_c k is the regular part only (φ'' is a Dirac mass at 0, and the
    H2 kernel is infinite); it is returned for completeness but is not E[φ''φ''].
    """
    k = closed_form(name)
    return k, sp.diff(k, c), sp.diff(k, c, 2)


# --------------------------------------------------------------------------- proofs
def _zero(expr: sp.Expr) -> sp.Expr:
    return sp.simplify(sp.radsimp(sp.simplify(expr)))


@cache
def proof(name: str) -> dict[str, sp.Expr]:
    """Residuals that SymPy simplifies to 0, one per step of the derivation/proof of ``name``.

    erf  : "G" (G_derived² − G_stated², both positive),
           "dk/dc = E[phi'phi']" with E[φ'φ'] = (4/π) G(1, 1)  (φ' = (2/√π) e^{−t²}),
           "k(c=0)" = k(c=0) − E[erf(U)]·E[erf(V)]  (SymPy integrates E[erf(√s Z)] = 0).
    sine : "k" = k − ½(E cos(U−V) − E cos(U+V)) with E[cos(σZ)] integrated by SymPy,
           "dk/dc = E[phi'phi']" = ∂_c k − ½(E cos(U−V) + E cos(U+V)).
    gelu : "G", "d2k/dc2 = E[phi''phi'']" with φ''(t) = (2 − t²) e^{−t²/2}/√(2π), i.e.
           E[φ''φ''] = (2 + ∂_p)(2 + ∂_q) G / (2π) at p = q = ½,
           "k(c=0)" = k(0) − E[UΦ(U)]E[VΦ(V)], "dk/dc(c=0)" = ∂_c k(0) − E[φ'(U)]E[φ'(V)]
           (the one-dimensional expectations integrated by SymPy).
    leaky_relu : "k" = k − (α² c + 2α(1−α)·E[U relu(V)] + (1−α)² k_relu) with E[U relu(V)] and
           k_relu integrated in polar coordinates (theory.symbolic.kernels),
           "dk/dc = E[phi'phi']" = ∂_c k − (α² + α(1−α) + (1−α)² P(U>0, V>0)).
    """
    if name == "erf":
        return _proof_erf()
    if name == "sine":
        return _proof_sine()
    if name == "gelu":
        return _proof_gelu()
    if name in ("leaky_relu", "relu"):
        res = _proof_leaky()
        if name == "relu":
            return {key: _zero(val.subs(alpha, 0)) for key, val in res.items()}
        return res
    raise ValueError(_unknown(name))


def _gaussian_mean(f, variance: sp.Expr) -> sp.Expr:
    """E[f(Z)] for Z ~ N(0, variance), integrated by SymPy."""
    density = sp.exp(-_z**2 / 2) / sp.sqrt(2 * sp.pi)
    return sp.simplify(sp.integrate(f(sp.sqrt(variance) * _z) * density,
                                    (_z, -sp.oo, sp.oo), conds="none"))


def _generating_function_residual() -> sp.Expr:
    """G_derived² − G_stated² (both sides are positive, so this vanishing proves G = stated)."""
    derived = sp.powsimp(sp.expand(generating_function() ** 2), force=True)
    return _zero(sp.cancel(derived - generating_function_stated() ** 2))


def _proof_erf() -> dict[str, sp.Expr]:
    G = generating_function_stated()   # = the derived G (residual "G")
    k = erf_kernel()
    e_prime = 4 / sp.pi * G.subs({p: 1, q: 1})
    mean = _gaussian_mean(sp.erf, s_a)
    return {
        "G": _generating_function_residual(),
        "dk/dc = E[phi'phi']": _zero(sp.diff(k, c) - e_prime),
        "k(c=0)": _zero(k.subs(c, 0) - mean * mean.subs(s_a, s_b)),
    }


def _proof_sine() -> dict[str, sp.Expr]:
    minus = _gaussian_mean(sp.cos, s_a + s_b - 2 * c)   # U − V ~ N(0, s_a + s_b − 2c)
    plus = _gaussian_mean(sp.cos, s_a + s_b + 2 * c)    # U + V ~ N(0, s_a + s_b + 2c)
    k = sine_kernel()
    return {
        "k": _zero((k - (minus - plus) / 2).rewrite(sp.exp)),
        "dk/dc = E[phi'phi']": _zero((sp.diff(k, c) - (minus + plus) / 2).rewrite(sp.exp)),
    }


def _in_delta(expr: sp.Expr) -> sp.Expr:
    """Rewrite in Δ = √((1+s_a)(1+s_b) − c²) > 0 (s_b = (Δ² + c²)/(1+s_a) − 1), square roots
    of perfect squares taken positive, so SymPy can decide a residual that mixes √ factors."""
    delta = sp.Symbol("Delta", positive=True)
    out = expr.subs(s_b, (delta**2 + c**2) / (1 + s_a) - 1)
    return out.replace(lambda e: e.is_Pow and e.exp.is_Rational and e.exp.q == 2,
                       lambda e: sp.Pow(sp.factor(sp.cancel(e.base)), e.exp))


def _proof_gelu() -> dict[str, sp.Expr]:
    G = generating_function_stated()   # = the derived G (residual "G")
    k = gelu_kernel()
    # φ''(t) = (2 − t²) e^{−t²/2}/√(2π): E[φ''(U)φ''(V)] = (2 + ∂_p)(2 + ∂_q) G / (2π) at ½, ½
    with_p = 2 * G + sp.diff(G, p)
    second = ((2 * with_p + sp.diff(with_p, q)) / (2 * sp.pi)).subs({p: sp.S.Half,
                                                                     q: sp.S.Half})
    gelu = activation_function("gelu")
    gelu_prime = sp.Lambda(_z, sp.diff(gelu(_z), _z))
    mean = _gaussian_mean(gelu, s_a)
    mean_prime = _gaussian_mean(gelu_prime, s_a)
    return {
        "G": _generating_function_residual(),
        "d2k/dc2 = E[phi''phi'']": _zero(_in_delta(sp.diff(k, c, 2) - second)),
        "k(c=0)": _zero(k.subs(c, 0) - mean * mean.subs(s_a, s_b)),
        "dk/dc(c=0)": _zero(sp.diff(k, c).subs(c, 0) - mean_prime * mean_prime.subs(s_a, s_b)),
    }


@cache
def _cross_moment() -> sp.Expr:
    """E[(a·x) relu(b·x)] in polar coordinates (a = r(1, 0), b = r_star(cos θ, sin θ))."""
    a_x = r * rho * sp.cos(phi)
    b_x = r_star * rho * sp.cos(phi - theta)
    density = sp.exp(-rho**2 / 2) * rho / (2 * sp.pi)
    radial = sp.integrate(a_x * b_x * density, (rho, 0, sp.oo))
    return sp.simplify(sp.integrate(radial, (phi, theta - sp.pi / 2, theta + sp.pi / 2)))


def _to_gram(expr: sp.Expr) -> sp.Expr:
    """(r, r_star, θ) → (s_a, s_b, c): r = √s_a, r_star = √s_b, θ = acos(c/√(s_a s_b))."""
    return expr.subs({theta: sp.acos(c / sp.sqrt(s_a * s_b)), r: sp.sqrt(s_a),
                      r_star: sp.sqrt(s_b)}, simultaneous=True)


def _proof_leaky() -> dict[str, sp.Expr]:
    # the plane integrals hold for θ ∈ (0, π); plane_expectation gives the both-positive arc.
    relu_k = _to_gram(relu_kernel())
    cross = _to_gram(_cross_moment())
    both = _to_gram(both_positive_probability())
    k = leaky_relu_kernel()
    derived = alpha**2 * c + 2 * alpha * (1 - alpha) * cross + (1 - alpha) ** 2 * relu_k
    e_prime = alpha**2 + alpha * (1 - alpha) + (1 - alpha) ** 2 * both
    return {
        "k": _zero(k - derived),
        "dk/dc = E[phi'phi']": _zero(sp.diff(k, c) - e_prime),
    }
