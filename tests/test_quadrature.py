"""Quadrature against theory's relu closed forms, identities, finite differences and Monte-Carlo."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

import theory
from numerics.activations import ACTIVATIONS, get_activation
from numerics.montecarlo import monte_carlo
from numerics.quadrature import quadrature, quadrature_losses
from theory.configurations import make_configuration

LOSSES = ("l2", "sobolev", "h1")


def _min_sin(W, W_star):
    rows = np.vstack([W, W_star])
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    cos = np.clip(unit @ unit.T, -1, 1)
    sin = np.sqrt(1 - cos ** 2)
    np.fill_diagonal(sin, 1.0)
    return sin[: W.shape[0]].min()


@pytest.mark.parametrize("width, teacher_width, dim, at", [
    (2, 2, 3, None), (3, 2, 4, "random"), (1, 3, 2, "random"), (2, 2, 5, "perturbed"),
])
@pytest.mark.parametrize("loss", LOSSES)
def test_relu_matches_closed_forms(width, teacher_width, dim, at, loss):
    c = make_configuration(width, teacher_width, dim, seed=3, at=at)
    q = quadrature(c.W, c.W_star, loss, sobolev_weight=0.7)
    assert q.loss == pytest.approx(theory.population_loss(c.W, c.W_star, loss, sobolev_weight=0.7),
                                   abs=1e-10)
    np.testing.assert_allclose(
        q.gradient, theory.population_gradient(c.W, c.W_star, loss, sobolev_weight=0.7), atol=1e-10)
    np.testing.assert_allclose(
        q.hessian, theory.population_hessian(c.W, c.W_star, loss, sobolev_weight=0.7), atol=1e-10)
    assert q.error_estimate < 1e-12


weights = hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.just(3)),
                     elements=st.floats(-2, 2, allow_nan=False, allow_subnormal=False))


@settings(max_examples=25, deadline=None)
@given(W=weights, W_star=weights, loss=st.sampled_from(LOSSES))
def test_relu_matches_closed_forms_property(W, W_star, loss):
    assume(np.linalg.norm(W, axis=1).min() > 0.1 and np.linalg.norm(W_star, axis=1).min() > 0.1)
    assume(_min_sin(W, W_star) > 1e-3)
    q = quadrature(W, W_star, loss)
    scale = 1 + np.abs(np.vstack([W, W_star])).max() ** 2
    assert abs(q.loss - theory.population_loss(W, W_star, loss)) < 1e-10 * scale
    assert np.abs(q.gradient - theory.population_gradient(W, W_star, loss)).max() < 1e-10 * scale
    assert np.abs(q.hessian - theory.population_hessian(W, W_star, loss)).max() < 1e-10 * scale


def test_relu_at_teacher_l2_hessian_exists_and_sobolev_raises():
    c = make_configuration(2, 2, 3, seed=1, at="teacher")
    q = quadrature(c.W, c.W_star, "l2")
    np.testing.assert_allclose(q.hessian, theory.population_hessian(c.W, c.W_star, "l2"),
                               atol=1e-10)
    assert abs(q.loss) < 1e-14 and np.abs(q.gradient).max() < 1e-14
    with pytest.raises(theory.NonDifferentiableError):
        quadrature(c.W, c.W_star, "h1")
    # loss and expected gradient exist everywhere
    q = quadrature(c.W, c.W_star, "h1", hessian=False)
    assert abs(q.loss) < 1e-14 and q.hessian is None


def test_mpmath_precision_matches_closed_forms():
    c = make_configuration(1, 2, 2, seed=4, at="random")
    q = quadrature(c.W, c.W_star, "h1", precision="mp", dps=25)
    assert q.loss == pytest.approx(theory.population_loss(c.W, c.W_star), abs=1e-14)
    np.testing.assert_allclose(q.gradient, theory.population_gradient(c.W, c.W_star), atol=1e-14)
    np.testing.assert_allclose(q.hessian, theory.population_hessian(c.W, c.W_star), atol=1e-14)


@pytest.mark.parametrize("slope", [0.01, 0.3])
def test_leaky_relu_identity(slope):
    """leaky(t) = (1 − α) relu(t) + α t and E[relu(w·x) x] = w/2 give, with Δ = Σw_i − Σw*_j,
    L_leaky = (1 − α)² L_relu + α |Δ|²/2 (l2), an identity independent of the quadrature."""
    c = make_configuration(3, 2, 4, seed=2, at="random")
    delta = c.W.sum(axis=0) - c.W_star.sum(axis=0)
    q = quadrature(c.W, c.W_star, "l2", activation="leaky_relu", slope=slope)
    factor = (1 - slope) ** 2
    assert q.loss == pytest.approx(
        factor * theory.population_loss(c.W, c.W_star, "l2") + slope * delta @ delta / 2,
        abs=1e-12)
    np.testing.assert_allclose(
        q.gradient, factor * theory.population_gradient(c.W, c.W_star, "l2") + slope * delta,
        atol=1e-12)
    K, d = c.W.shape
    np.testing.assert_allclose(
        q.hessian, factor * theory.population_hessian(c.W, c.W_star, "l2")
        + slope * np.kron(np.ones((K, K)), np.eye(d)), atol=1e-12)


@pytest.mark.parametrize("activation", ["leaky_relu", "gelu", "tanh", "sine"])
def test_hessian_is_the_jacobian_of_the_quadrature_gradient(activation):
    """Central differences (h = 1e-5, O(h²) ≈ 1e-10) of the quadrature gradient."""
    c = make_configuration(2, 2, 3, seed=0)
    nodes = 24 if activation == "leaky_relu" else 80
    q = quadrature(c.W, c.W_star, "h1", activation=activation, sobolev_weight=0.5, nodes=nodes)
    K, d = c.W.shape
    h = 1e-5
    fd = np.zeros((K * d, K * d))
    for k in range(K):
        for b in range(d):
            moved = []
            for sign in (1, -1):
                W = c.W.copy()
                W[k, b] += sign * h
                moved.append(quadrature(W, c.W_star, "h1", activation=activation,
                                        sobolev_weight=0.5, hessian=False,
                                        nodes=nodes).gradient)
            fd[:, k * d + b] = (moved[0] - moved[1]).ravel() / (2 * h)
    np.testing.assert_allclose(q.hessian, fd, atol=1e-7)
    assert q.error_estimate < 1e-11


@pytest.mark.parametrize("activation", ["leaky_relu", "gelu", "tanh", "sine"])
def test_quadrature_agrees_with_monte_carlo(activation):
    c = make_configuration(2, 2, 3, seed=0)
    z = float(stats.norm.ppf(1 - 1e-3 / (2 * 7)))  # Bonferroni over 7 numbers, familywise 1e-3
    for loss in ("l2", "h1"):
        q = quadrature(c.W, c.W_star, loss, activation=activation, hessian=False)
        est = monte_carlo(c.W, c.W_star, loss, activation=activation, n_samples=400_000, seed=9)
        assert abs(q.loss - est.value) <= z * est.value_stderr
        assert np.all(np.abs(q.gradient - est.gradient) <= z * est.gradient_stderr)


@pytest.mark.parametrize("name", ["gelu", "tanh", "sine", "leaky_relu"])
def test_activation_derivatives_match_sympy(name):
    t = sympy.symbols("t", real=True)
    exprs = {
        "gelu": t * (1 + sympy.erf(t / sympy.sqrt(2))) / 2,
        "tanh": sympy.tanh(t), "sine": sympy.sin(t),
        "leaky_relu": sympy.Piecewise((t, t > 0), (sympy.Rational(1, 5) * t, True)),
    }
    act = get_activation(name, slope=0.2) if name == "leaky_relu" else get_activation(name)
    points = np.array([-2.3, -0.7, 0.4, 1.9])
    expr = exprs[name]
    for order in range(4):
        f = sympy.lambdify(t, sympy.diff(expr, t, order), "numpy")
        expected = np.array([float(f(p)) for p in points])
        np.testing.assert_allclose(act.derivative(order)(points), expected, rtol=1e-12,
                                   atol=1e-14)
    if name == "leaky_relu":
        assert act.jump == pytest.approx(0.8) and act.homogeneous


def test_registry_and_bad_input():
    assert set(ACTIVATIONS) == {"relu", "leaky_relu", "gelu", "tanh", "sine", "erf"}
    c = make_configuration(2, 2, 3)
    for kwargs, match in [
        ({"activation": "swish"}, "activation"),
        ({"activation": "relu", "slope": 0.1}, "slope"),
        ({"activation": "leaky_relu", "slope": 1.5}, "slope"),
        ({"precision": "quad"}, "precision"),
        ({"nodes": 3}, "nodes"),
        ({"precision": "mp", "dps": 5}, "dps"),
    ]:
        with pytest.raises(ValueError, match=match):
            quadrature(c.W, c.W_star, **kwargs)
    with pytest.raises(ValueError, match="W_star"):
        quadrature(c.W, np.zeros((1, 3)))


# ------------------------------------------------------------- shared pair integrals, one rule
@pytest.mark.parametrize("activation", ["tanh", "gelu", "leaky_relu"])
def test_quadrature_losses_equal_one_loss_at_a_time(activation):
    """Each loss of quadrature_losses is what quadrature returns for that loss alone."""
    c = make_configuration(3, 2, 4, seed=5, at="random")
    losses = ("l2", "sobolev", "h1")
    together = quadrature_losses(c.W, c.W_star, losses, activation=activation,
                                 sobolev_weight=0.6, nodes=40)
    assert tuple(together) == losses
    for loss in losses:
        alone = quadrature(c.W, c.W_star, loss, activation=activation, sobolev_weight=0.6,
                           nodes=40)
        assert together[loss].loss == alone.loss
        np.testing.assert_array_equal(together[loss].gradient, alone.gradient)
        np.testing.assert_array_equal(together[loss].hessian, alone.hessian)
        assert together[loss].error_estimate == alone.error_estimate
        assert together[loss].method == alone.method
    # h1 = l2 + λ·sobolev, term by term (linearity of the population loss in its parts)
    np.testing.assert_allclose(together["h1"].hessian,
                               together["l2"].hessian + 0.6 * together["sobolev"].hessian,
                               rtol=0, atol=1e-12)


def test_quadrature_losses_rejects_a_bare_name_or_nothing():
    W = np.eye(2)
    with pytest.raises(ValueError, match="losses"):
        quadrature_losses(W, W, "h1")
    with pytest.raises(ValueError, match="losses"):
        quadrature_losses(W, W, ())


def _tensor_rule_expectation(act, norm_a, norm_b, theta, i, j, k, l, nodes):  # noqa: E741
    """E[σ⁽ⁱ⁾(u)σ⁽ʲ⁾(v) z₁ᵏ z₂ˡ] as the plain 2-D tensor Gauss–Hermite sum over all N² nodes."""
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / np.sqrt(2 * np.pi)
    z1, z2 = np.meshgrid(x, x, indexing="ij")
    u = norm_a * z1
    v = norm_b * (np.cos(theta) * z1 + np.sin(theta) * z2)
    f = act.numpy[i](u) * act.numpy[j](v) * z1 ** k * z2 ** l
    return float(np.sum(np.outer(w, w) * f))


@pytest.mark.parametrize("i, j, k, l", [(0, 0, 0, 0), (1, 0, 1, 0), (2, 1, 0, 1), (1, 1, 2, 0),
                                        (3, 1, 1, 1), (1, 2, 0, 2), (2, 2, 3, 0), (1, 3, 0, 3)])
def test_factorised_smooth_rule_is_the_tensor_rule(i, j, k, l):  # noqa: E741
    """The smooth rule sums over z₂ first (σ⁽ⁱ⁾(u) on the z₁ nodes only): the same sum as the
    2-D tensor rule over all N² nodes, for the moments the assembly uses and higher ones."""
    from numerics.quadrature import _DoubleRule, _geometry

    act = get_activation("tanh")
    a = np.array([[0.8, -0.3, 0.2], [1.5, 0.4, -0.7]])
    b = np.array([[0.1, 0.9, 0.5], [-1.2, 0.3, 0.6]])
    g = _geometry(a, b)
    got = _DoubleRule(g, act, 48).expect(i, j, k, l)
    for p in range(2):
        want = _tensor_rule_expectation(act, g.norm_a[p], g.norm_b[p], g.theta[p], i, j, k, l,
                                        48)
        assert got[p] == pytest.approx(want, rel=1e-12, abs=1e-14)


def test_repeated_pairs_are_integrated_once_with_the_same_result():
    """At W = W* the student–student, student–teacher and teacher–teacher pairs coincide; the
    Jacobian there is the limit of the Jacobians at W* + t·V (the field is smooth for tanh)."""
    c = make_configuration(2, 2, 3, seed=1, at="teacher")
    at_teacher = quadrature(c.W_star, c.W_star, "h1", activation="tanh", nodes=40)
    V = np.random.default_rng(0).normal(size=c.W_star.shape)
    near = [quadrature(c.W_star + t * V, c.W_star, "h1", activation="tanh", nodes=40).hessian
            for t in (1e-4, -1e-4)]
    # central average: O(t²) away from the Jacobian at W*
    np.testing.assert_allclose(at_teacher.hessian, 0.5 * (near[0] + near[1]), atol=1e-7)
    assert abs(at_teacher.loss) < 1e-14
    np.testing.assert_allclose(at_teacher.gradient, 0.0, atol=1e-14)
