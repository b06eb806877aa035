"""theory's activations and input laws: closed-form pair kernels, the one chain-rule assembly,
input covariance Σ, second-order losses, structured spectra.

Independent evaluations: central finite differences of the loss and of the gradient field,
Gauss–Hermite quadrature of the pair expectations E[φ^(n)(u)φ^(n)(v)] (Price's theorem),
numerics.quadrature for whole losses/gradients/Hessians at Σ = I, a Monte-Carlo estimate with
x ~ N(0, Σ) written here from the pointwise formulas (value, autograd gradient), dense vs
structured spectra, and the relu-Σ path against the Σ = I path through the exact scaling
identity Σ = r²I.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import special

import theory
from numerics import activations as measured
from numerics.quadrature import quadrature
from tests.finite_differences import central_difference_gradient, central_difference_jacobian
from theory.activations import available, get_activation, parse_activation
from theory.spectra import gram_span_basis

SMOOTH = ("erf", "sine", "gelu")
TWO_SLOPE = ("relu", "leaky_relu(0.1)")
FIRST_ORDER = ("l2", "sobolev", "h1")
ALL = ("l2", "sobolev", "h1", "sobolev2", "h2")
WEIGHTS = dict(sobolev_weight=0.7, second_order_weight=0.6)


def _config(seed=1, K=2, K_star=2, d=3, scale=0.8):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(K, d)) * scale, rng.normal(size=(K_star, d)) * scale


def _spd(d, seed=5):
    A = np.random.default_rng(seed).normal(size=(d, d))
    return A @ A.T / d + 0.5 * np.eye(d)


def _spiked(d, rank=2, seed=6, strength=0.8):
    U = np.random.default_rng(seed).normal(size=(d, rank)) * strength
    return np.eye(d) + U @ U.T


def _losses(activation):
    return ALL if activation in SMOOTH else FIRST_ORDER


def _fd_gradient(f, W, h=1e-5):
    return central_difference_gradient(f, W, h)


def _fd_jacobian(field, W, h=1e-5):
    return central_difference_jacobian(field, W, h)


CASES = [(act, loss) for act in SMOOTH + TWO_SLOPE for loss in _losses(act)]


# --- finite differences ----------------------------------------------------------------------

@pytest.mark.parametrize("covariance", ("identity", "spd"))
@pytest.mark.parametrize("activation, loss", CASES)
def test_exact_gradient_and_hessians_match_finite_differences(activation, loss, covariance):
    W, W_star = _config()
    sigma = None if covariance == "identity" else _spd(3)
    kw = dict(activation=activation, input_covariance=sigma, **WEIGHTS)
    gradient = theory.population_gradient(W, W_star, loss, convention="exact", **kw)
    numeric = _fd_gradient(lambda V: theory.population_loss(V, W_star, loss, **kw), W)
    scale = np.abs(gradient).max()
    np.testing.assert_allclose(gradient, numeric, atol=1e-8 * max(scale, 1.0), rtol=0)
    for convention in ("exact", "expected"):
        hessian = theory.population_hessian(W, W_star, loss, convention=convention, **kw)
        numeric = _fd_jacobian(lambda V, c=convention: theory.population_gradient(
            V, W_star, loss, convention=c, **kw), W)
        scale = np.abs(hessian).max()
        np.testing.assert_allclose(hessian, numeric, atol=1e-7 * max(scale, 1.0), rtol=0)
        if convention == "exact" or activation in SMOOTH or loss == "l2":
            np.testing.assert_allclose(hessian, hessian.T, atol=1e-13 * scale, rtol=0)


@pytest.mark.parametrize("activation", SMOOTH)
def test_smooth_conventions_coincide_and_hessian_exists_at_the_teacher(activation):
    _, W_star = _config(seed=3, K_star=3, d=4)
    W = W_star + 0.05 * np.random.default_rng(4).normal(size=W_star.shape)
    for loss in ALL:
        kw = dict(activation=activation, **WEIGHTS)
        np.testing.assert_array_equal(
            theory.population_gradient(W, W_star, loss, convention="exact", **kw),
            theory.population_gradient(W, W_star, loss, convention="expected", **kw))
        at_teacher = theory.population_gradient(W_star, W_star, loss, **kw)
        assert np.abs(at_teacher).max() < 1e-14
        hessian = theory.population_hessian(W_star, W_star, loss, **kw)
        eigenvalues = np.linalg.eigvalsh(hessian)
        # Gauss-Newton at a zero-residual minimum: PSD (here definite: distinct teacher rows)
        assert eigenvalues.min() > -1e-12 * eigenvalues.max()
        assert math.isfinite(theory.condition_number(W_star, W_star, loss, **kw))


# --- kernels against independent quadrature (Price's theorem) -------------------------------

def _erf_derivatives():
    def first(t):
        return 2 / math.sqrt(math.pi) * np.exp(-t * t)
    return (special.erf, first, lambda t: -2 * t * first(t), lambda t: (4 * t * t - 2) * first(t))


def _phi(name, order):
    if name == "erf":
        return _erf_derivatives()[order]
    return measured.get_activation(name).derivative(order)


def _pair_expectation(f, g, sa, sb, c, nodes=100):
    """E[f(u) g(v)], (u, v) centred Gaussian with var s_a, s_b and cov c: tensor Gauss-Hermite."""
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / math.sqrt(2 * math.pi)
    z1, z2 = np.meshgrid(x, x, indexing="ij")
    u = math.sqrt(sa) * z1
    v = c / math.sqrt(sa) * z1 + math.sqrt(sb - c * c / sa) * z2
    return float((np.outer(w, w) * f(u) * g(v)).sum())


@pytest.mark.parametrize("activation", SMOOTH)
@pytest.mark.parametrize("sa, sb, c", [(0.7, 1.3, 0.4), (2.0, 0.5, -0.9), (0.3, 0.3, 0.29)])
def test_kernel_and_price_derivatives_match_gauss_hermite(activation, sa, sb, c):
    act = get_activation(activation)
    for n in (0, 1, 2):
        closed = act.partials(n, 0, np.array(sa), np.array(sb), np.array(c))[0]
        numeric = _pair_expectation(_phi(activation, n), _phi(activation, n), sa, sb, c)
        assert float(closed) == pytest.approx(numeric, abs=1e-12)


@pytest.mark.parametrize("activation", ("gelu", "sine", "relu", "leaky_relu(0.1)"))
def test_losses_gradients_hessians_match_numerics_quadrature(activation):
    W, W_star = _config(seed=7, K=2, K_star=3, d=3, scale=0.7)
    name, slope = parse_activation(activation)
    for loss in FIRST_ORDER:
        q = quadrature(W, W_star, loss, activation=name, slope=slope if name != "relu" else None,
                       sobolev_weight=0.7)
        kw = dict(activation=activation, sobolev_weight=0.7)
        assert theory.population_loss(W, W_star, loss, **kw) == pytest.approx(q.loss, abs=1e-10)
        np.testing.assert_allclose(theory.population_gradient(W, W_star, loss, **kw), q.gradient,
                                   atol=1e-10, rtol=0)
        np.testing.assert_allclose(theory.population_hessian(W, W_star, loss, **kw), q.hessian,
                                   atol=1e-9, rtol=0)


# --- Monte-Carlo with x ~ N(0, Σ) ------------------------------------------------------------

def _monte_carlo(W, W_star, activation, sigma, n, seed, l2, lam, mu):
    """Per-sample loss and expected (autograd, step' = 0) gradient; means and standard errors."""
    name, slope = parse_activation(activation)
    phi = _erf_derivatives() if name == "erf" else measured.get_activation(
        name, slope=slope if name == "leaky_relu" else None).numpy
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, W.shape[1])) @ np.linalg.cholesky(sigma).T
    S, T = X @ W.T, X @ W_star.T
    r0 = phi[0](S).sum(1) - phi[0](T).sum(1)
    r1 = phi[1](S) @ W - phi[1](T) @ W_star                       # ∇g − ∇g*, (n, d)
    R2 = (np.einsum("ni,ia,ib->nab", phi[2](S), W, W)
          - np.einsum("ni,ia,ib->nab", phi[2](T), W_star, W_star))
    value = 0.5 * l2 * r0 ** 2 + 0.5 * lam * (r1 ** 2).sum(1) + 0.5 * mu * (R2 ** 2).sum((1, 2))
    grad = (l2 * r0[:, None, None] * phi[1](S)[:, :, None] * X[:, None, :]
            + lam * (phi[1](S)[:, :, None] * r1[:, None, :]
                     + (phi[2](S) * (r1 @ W.T))[:, :, None] * X[:, None, :])
            + mu * (phi[3](S) * np.einsum("ia,nab,ib->ni", W, R2, W))[:, :, None] * X[:, None, :]
            + mu * 2 * phi[2](S)[:, :, None] * np.einsum("nab,ib->nia", R2, W))
    def mean_se(a):
        return a.mean(0), a.std(0, ddof=1) / math.sqrt(n)
    return mean_se(value), mean_se(grad)


@pytest.mark.parametrize("activation, loss", [("erf", "h2"), ("sine", "h2"), ("gelu", "h1"),
                                              ("relu", "h1"), ("leaky_relu(0.2)", "sobolev")])
def test_loss_and_expected_gradient_match_monte_carlo_with_covariance(activation, loss):
    W, W_star = _config(seed=11, K=2, K_star=2, d=3, scale=0.6)
    sigma = _spd(3, seed=12)
    weights = theory.assembly.loss_order_weights(loss, 0.7, 0.6)
    (value, value_se), (grad, grad_se) = _monte_carlo(
        W, W_star, activation, sigma, 200_000, seed=13, l2=weights.get(0, 0.0),
        lam=weights.get(1, 0.0), mu=weights.get(2, 0.0))
    kw = dict(activation=activation, input_covariance=sigma, **WEIGHTS)
    closed = theory.population_loss(W, W_star, loss, **kw)
    assert abs(closed - value) < 5.5 * value_se
    closed_grad = theory.population_gradient(W, W_star, loss, **kw)
    assert (np.abs(closed_grad - grad) / grad_se).max() < 5.5


# --- Σ: scaling identity, rotation covariance, structure -------------------------------------

@pytest.mark.parametrize("convention", ("expected", "exact"))
@pytest.mark.parametrize("activation", TWO_SLOPE)
def test_relu_general_covariance_path_matches_identity_path_at_scaled_identity(activation,
                                                                               convention):
    """Σ = r²I: a·x = r·(a·z), so L(W; r²I) = r²L(W; I) and J(W; r²I) = J(W; I) (relu family,
    positively homogeneous; the Sobolev factor a·b is Euclidean). The Σ = r²I call takes the
    whitened/general-Σ code, the Σ = I call the angle kernels of theory.kernels."""
    W, W_star = _config(seed=21, K=3, K_star=2, d=4)
    r2 = 2.25
    sigma = r2 * np.eye(4)
    for loss, factor in (("l2", r2), ("sobolev", 1.0)):
        kw = dict(activation=activation)
        assert theory.population_loss(W, W_star, loss, input_covariance=sigma, **kw) == \
            pytest.approx(factor * theory.population_loss(W, W_star, loss, **kw), rel=1e-13)
        for function in (theory.population_gradient, theory.population_hessian):
            np.testing.assert_allclose(
                function(W, W_star, loss, convention=convention, input_covariance=sigma, **kw),
                factor * function(W, W_star, loss, convention=convention, **kw),
                rtol=1e-12, atol=1e-13)


def _rotation(d, seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q


@given(seed=st.integers(0, 10_000), activation=st.sampled_from(SMOOTH + TWO_SLOPE),
       loss=st.sampled_from(ALL))
def test_rotation_covariance(seed, activation, loss):
    """loss(WQ, W*Q; QᵀΣQ) = loss(W, W*; Σ); gradient rotates by Q, Hessian by I ⊗ Q."""
    if activation in TWO_SLOPE and loss in ("sobolev2", "h2"):
        loss = "h1"
    W, W_star = _config(seed=seed, K=2, K_star=2, d=3)
    sigma, Q = _spd(3, seed=seed + 1), _rotation(3, seed + 2)
    kw = dict(activation=activation, **WEIGHTS)
    rotated = dict(input_covariance=Q.T @ sigma @ Q, **kw)
    base = dict(input_covariance=sigma, **kw)
    assert theory.population_loss(W @ Q, W_star @ Q, loss, **rotated) == pytest.approx(
        theory.population_loss(W, W_star, loss, **base), rel=1e-11, abs=1e-13)
    np.testing.assert_allclose(theory.population_gradient(W @ Q, W_star @ Q, loss, **rotated),
                               theory.population_gradient(W, W_star, loss, **base) @ Q,
                               rtol=1e-10, atol=1e-12)
    H = theory.population_hessian(W, W_star, loss, **base)
    big = np.kron(np.eye(2), Q)
    np.testing.assert_allclose(theory.population_hessian(W @ Q, W_star @ Q, loss, **rotated),
                               big.T @ H @ big, rtol=1e-10, atol=1e-10 * np.abs(H).max())


@pytest.mark.parametrize("covariance", ("identity", "spiked"))
@pytest.mark.parametrize("activation, loss", [("erf", "h1"), ("erf", "h2"), ("sine", "h2"),
                                              ("gelu", "sobolev2"), ("relu", "h1"),
                                              ("leaky_relu(0.1)", "h1")])
def test_structured_spectrum_matches_dense(activation, loss, covariance):
    W, W_star = _config(seed=31, K=3, K_star=2, d=11, scale=0.5)
    sigma = None if covariance == "identity" else _spiked(11)
    for convention in ("expected", "exact"):
        kw = dict(activation=activation, convention=convention, input_covariance=sigma, **WEIGHTS)
        dense = theory.spectrum(W, W_star, loss, method="dense", **kw)
        structured = theory.spectrum(W, W_star, loss, method="structured", **kw)
        np.testing.assert_allclose(structured, dense, atol=1e-12 * np.abs(dense).max(), rtol=0)


def test_general_covariance_is_dense_and_structured_refuses_it():
    W, W_star = _config(seed=32, K=2, K_star=2, d=5)
    sigma = _spd(5)
    auto = theory.spectrum(W, W_star, "h1", activation="erf", input_covariance=sigma)
    dense = theory.spectrum(W, W_star, "h1", activation="erf", input_covariance=sigma,
                            method="dense")
    np.testing.assert_array_equal(auto, dense)
    with pytest.raises(ValueError, match="input_covariance = I \\+ low rank"):
        theory.spectrum(W, W_star, "h1", activation="erf", input_covariance=sigma,
                        method="structured")


def test_gram_span_basis_matches_svd_rank_and_span():
    rng = np.random.default_rng(41)
    for d in (20, 3000):
        R = rng.normal(size=(8, d))
        R[4:] = R[:4] + 1e-9 * rng.normal(size=(4, d))   # directions at 1e-9 relative
        R[3] = 2 * R[0]                                   # an exact dependency
        Q = gram_span_basis(R)
        singular = np.linalg.svd(R, compute_uv=False)
        rank = int((singular > singular.max() * max(R.shape) * np.finfo(float).eps).sum())
        assert Q.shape == (d, rank) == (d, 7)
        np.testing.assert_allclose(Q.T @ Q, np.eye(7), atol=1e-14)
        assert np.abs(R - (R @ Q) @ Q.T).max() < 1e-13 * np.abs(R).max()


# --- homogeneity ----------------------------------------------------------------------------

def test_two_slope_family_is_homogeneous_and_smooth_activations_are_not():
    W, W_star = _config(seed=51)
    sigma, r = _spd(3), 1.7
    for activation in TWO_SLOPE:
        for loss in FIRST_ORDER:
            kw = dict(activation=activation, input_covariance=sigma)
            assert theory.population_loss(r * W, r * W_star, loss, **kw) == pytest.approx(
                r ** 2 * theory.population_loss(W, W_star, loss, **kw), rel=1e-12)
    W, W_star = 0.3 * W, 0.3 * W_star  # gelu(t) ≈ relu(t) for |t| >> 1: compare at small scale
    for activation in SMOOTH:
        scaled = theory.population_loss(r * W, r * W_star, "l2", activation=activation)
        ratio = scaled / (r ** 2 * theory.population_loss(W, W_star, "l2", activation=activation))
        assert abs(ratio - 1) > 0.03  # erf, sine: 20-50%; gelu ~5% at this scale


# --- arguments -----------------------------------------------------------------------------

def test_parse_activation_and_available():
    assert parse_activation("relu") == ("relu", None)
    assert parse_activation("leaky_relu") == ("leaky_relu", 0.01)
    assert parse_activation(" leaky_relu( 0.1 ) ") == ("leaky_relu", 0.1)
    assert get_activation("leaky_relu(0)").name == "relu"
    assert get_activation("leaky_relu").name == "leaky_relu(0.01)"
    assert set(available()) >= {"relu", "leaky_relu", "erf", "sine", "gelu"}
    for bad in ("leaky_relu(1)", "leaky_relu(-0.1)", "leaky_relu(x)", "relu(0.1)", "erf(",
                "leaky_relu(nan)"):
        with pytest.raises(ValueError, match="activation"):
            parse_activation(bad)


@pytest.mark.parametrize("activation, pattern", [
    ("tanh", "no closed form.*erf.*Available"),
    ("softplus", "unknown activation.*available"),
    (3, "activation must be a string"),
])
def test_bad_activation_lists_what_is_available(activation, pattern):
    W, W_star = _config()
    for function in (theory.population_loss, theory.population_gradient,
                     theory.population_hessian, theory.condition_number):
        with pytest.raises(ValueError, match=pattern):
            function(W, W_star, activation=activation)


@pytest.mark.parametrize("activation", TWO_SLOPE)
@pytest.mark.parametrize("loss", ("sobolev2", "h2"))
def test_second_order_loss_is_infinite_for_the_two_slope_family(activation, loss):
    W, W_star = _config()
    with pytest.raises(ValueError, match="infinite.*Dirac"):
        theory.population_loss(W, W_star, loss, activation=activation)


@pytest.mark.parametrize("sigma, pattern", [
    (np.eye(2), "input_covariance must have shape"),
    (np.array([[1.0, 0.5, 0], [0.4, 1, 0], [0, 0, 1]]), "input_covariance is not symmetric"),
    (np.diag([1.0, -1.0, 1.0]), "input_covariance is not positive definite"),
    (np.diag([1.0, np.nan, 1.0]), "input_covariance has non-finite"),
    ("identity", "input_covariance must be a numeric"),
])
def test_bad_input_covariance_is_named(sigma, pattern):
    W, W_star = _config()
    for function in (theory.population_loss, theory.population_gradient, theory.spectrum):
        with pytest.raises(ValueError, match=pattern):
            function(W, W_star, activation="erf", input_covariance=sigma)


def test_bad_weights_and_losses_are_named():
    W, W_star = _config()
    with pytest.raises(ValueError, match="second_order_weight"):
        theory.population_loss(W, W_star, "h2", activation="erf", second_order_weight=-1)
    with pytest.raises(ValueError, match="loss must be one of"):
        theory.population_loss(W, W_star, "h3", activation="erf")


def test_identity_covariance_and_defaults_reproduce_the_relu_path_exactly():
    W, W_star = _config(seed=61, K=3, K_star=2, d=4)
    for loss in FIRST_ORDER:
        base = theory.population_loss(W, W_star, loss)
        assert theory.population_loss(W, W_star, loss, input_covariance=np.eye(4)) == base
        assert theory.population_loss(W, W_star, loss, activation="leaky_relu(0)") == base
        np.testing.assert_array_equal(
            theory.population_hessian(W, W_star, loss, input_covariance=np.eye(4)),
            theory.population_hessian(W, W_star, loss))


@pytest.mark.parametrize("activation", ("erf", "gelu", "sine"))
def test_auxiliary_symbol_forms_equal_the_plain_kernels(activation):
    """KERNEL_AUX with its auxiliaries substituted is KERNEL, and each auxiliary's stated
    partials are the derivatives of its definition (checked at rational points, exactly)."""
    import sympy as sp

    from theory.activations import erf, gelu, sine
    from theory.activations._partials import FIRST_ORDER, c, s_a, s_b
    module = {"erf": erf, "gelu": gelu, "sine": sine}[activation]
    substitution = {symbol: definition for symbol, definition, _ in module.AUXILIARY}
    for point in ({s_a: sp.Rational(7, 10), s_b: sp.Rational(13, 10), c: sp.Rational(2, 5)},
                  {s_a: 2, s_b: sp.Rational(1, 2), c: sp.Rational(-9, 10)}):
        plain = module.KERNEL.subs(point)
        aux = module.KERNEL_AUX.subs(substitution).subs(point)
        assert abs(sp.N(plain - aux, 50)) < 1e-45
        for _symbol, definition, partials in module.AUXILIARY:
            for variable, stated in zip(FIRST_ORDER, partials, strict=True):
                exact = sp.diff(definition, variable).subs(point)
                value = stated.subs(substitution).subs(point)
                assert abs(sp.N(exact - value, 50)) < 1e-45


@pytest.mark.parametrize("activation", ("relu", "leaky_relu(0.25)", "erf", "sine", "gelu"))
def test_kernel_expression_evaluates_the_pair_expectation(activation):
    """theory.activations.kernel_expression against the assembled one-pair loss:
    L(w; w*) = ½k(w, w) − k(w, w*) + ½k(w*, w*) at Σ = I."""
    import sympy as sp

    from theory.activations import KERNEL_SYMBOLS, kernel_expression
    w, w_star = np.array([[0.6, -0.3, 0.2]]), np.array([[0.1, 0.9, -0.4]])
    k = sp.lambdify(KERNEL_SYMBOLS, kernel_expression(activation))
    def pair(a, b):
        return float(k(a @ a, b @ b, a @ b))
    a, b = w[0], w_star[0]
    expected = 0.5 * pair(a, a) - pair(a, b) + 0.5 * pair(b, b)
    assert theory.population_loss(w, w_star, "l2", activation=activation) == pytest.approx(
        expected, rel=1e-12)


@pytest.mark.parametrize("activation", ("erf", "gelu", "relu", "leaky_relu(0.1)"))
def test_spiked_covariance_factor_equals_its_dense_matrix(activation):
    rng = np.random.default_rng(71)
    W, W_star = _config(seed=72, K=3, K_star=2, d=9, scale=0.5)
    U = 0.7 * rng.normal(size=(9, 2))
    spiked, dense = theory.SpikedCovariance(U), np.eye(9) + U @ U.T
    loss = "h2" if activation in SMOOTH else "h1"
    for convention in ("expected", "exact"):
        kw = dict(activation=activation, convention=convention, **WEIGHTS)
        np.testing.assert_allclose(
            theory.population_gradient(W, W_star, loss, input_covariance=spiked, **kw),
            theory.population_gradient(W, W_star, loss, input_covariance=dense, **kw),
            rtol=1e-12, atol=1e-14)
        H = theory.population_hessian(W, W_star, loss, input_covariance=dense, **kw)
        np.testing.assert_allclose(
            theory.population_hessian(W, W_star, loss, input_covariance=spiked, **kw), H,
            rtol=0, atol=1e-12 * np.abs(H).max())
        reference = theory.spectrum(W, W_star, loss, input_covariance=dense, method="dense", **kw)
        structured = theory.spectrum(W, W_star, loss, input_covariance=spiked,
                                     method="structured", **kw)
        np.testing.assert_allclose(structured, reference, rtol=0,
                                   atol=1e-12 * np.abs(reference).max())
    assert theory.population_loss(W, W_star, loss, activation=activation,
                                  input_covariance=spiked) == pytest.approx(
        theory.population_loss(W, W_star, loss, activation=activation, input_covariance=dense),
        rel=1e-13)


def test_spiked_covariance_structured_spectrum_at_large_d_and_bad_factor():
    """Rows and spike in the first 5 coordinates of R^20000: the structured κ (Gram span basis,
    no d×d matrix) equals the dense κ of the same problem in R^7 (complement of dimension 2)."""
    rng = np.random.default_rng(81)
    small = rng.normal(size=(5, 5)) / math.sqrt(5)
    W_star = small[:2]
    W = W_star + 0.05 * small[2:4]
    U = 0.8 * small[4:5].T
    def embed(A, d):
        out = np.zeros((A.shape[0], d)) if A.shape[1] == 5 else np.zeros((d, A.shape[1]))
        if A.shape[1] == 5:
            out[:, :5] = A
        else:
            out[:5] = A
        return out
    d = 20_000
    kappa = theory.condition_number(embed(W, d), embed(W_star, d), "h1", activation="erf",
                                    input_covariance=theory.SpikedCovariance(embed(U, d)),
                                    method="structured")
    U7 = embed(U, 7)
    reference = theory.condition_number(embed(W, 7), embed(W_star, 7), "h1", activation="erf",
                                        input_covariance=np.eye(7) + U7 @ U7.T, method="dense")
    assert math.isfinite(reference)
    assert kappa == pytest.approx(reference, rel=1e-10)
    W, W_star = embed(W, d), embed(W_star, d)
    with pytest.raises(ValueError, match="input_covariance.factor must have shape"):
        theory.population_loss(W, W_star, activation="erf",
                               input_covariance=theory.SpikedCovariance(np.ones((3, 1))))
    with pytest.raises(ValueError, match="input_covariance.factor has non-finite"):
        theory.population_loss(W, W_star, activation="erf",
                               input_covariance=theory.SpikedCovariance(np.full((d, 1), np.inf)))


def test_sine_kernels_stay_finite_for_large_weights():
    """e^{−(s_a+s_b)/2}·sinh c overflowed to inf·0 = NaN once c > 710 (|w| ≈ 27 here, where the
    gradient used to be NaN). The loss and field at |w| ≈ 30 (c = |w|² ≈ 895 > 710 for the
    pair (w, w), inside theory.activations.SMOOTH_SQUARED_NORM_RANGE) against 50-digit mpmath of
    ½P(w,w) − P(w,w*) + ½P(w*,w*) with P = k + (a·b)·∂k/∂c, k = e^{−(s_a+s_b)/2} sinh c."""
    import mpmath

    mpmath.mp.dps = 50
    w = np.array([-5.0, -29.5])
    w_star = np.array([3.0, -8.4])

    def loss(u):
        def pair(a, b):
            sa = sum(x * x for x in a)
            sb = sum(x * x for x in b)
            cc = sum(x * y for x, y in zip(a, b, strict=True))
            scale = mpmath.exp(-(sa + sb) / 2)
            return scale * mpmath.sinh(cc) + cc * scale * mpmath.cosh(cc)
        t = [mpmath.mpf(x) for x in w_star]
        return pair(u, u) / 2 - pair(u, t) + pair(t, t) / 2

    point = [mpmath.mpf(x) for x in w]
    expected_loss = float(loss(point))
    expected_gradient = [float(mpmath.diff(lambda x, i=i: loss(
        [x if j == i else point[j] for j in range(2)]), point[i])) for i in range(2)]
    with np.errstate(over="raise", invalid="raise"):  # no overflow, no inf·0 on the way
        value = theory.population_loss(w[None], w_star[None], "h1", activation="sine")
        gradient = theory.population_gradient(w[None], w_star[None], "h1", activation="sine")
        hessian = theory.population_hessian(w[None], w_star[None], "h1", activation="sine")
    assert value == pytest.approx(expected_loss, rel=1e-13)
    np.testing.assert_allclose(gradient[0], expected_gradient, rtol=1e-12)
    assert np.all(np.isfinite(hessian))
