"""theory's closed forms for every activation against independent measurements.

* numerics.quadrature (Gaussian pair quadrature, no closed form) to 1e-10 for loss, expected
  gradient and expected Hessian, at several K, K*, d, including at the teacher;
* numerics.monte_carlo / monte_carlo_hessian within Bonferroni-corrected error bars;
* properties that hold for every activation (student/teacher symmetry of the loss, rotation
  invariance, symmetric PSD Hessian at the teacher for smooth σ), and positive homogeneity,
  which holds for the two-slope family only.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.stats import special_ortho_group

import theory
from numerics.activations import get_activation
from numerics.montecarlo import monte_carlo, monte_carlo_hessian
from numerics.quadrature import quadrature
from theory.configurations import make_configuration

CLOSED = ("leaky_relu(0.1)", "leaky_relu(0.3)", "gelu", "erf", "sine")
SMOOTH = ("gelu", "erf", "sine")
LOSSES = ("l2", "sobolev", "h1")
#: (K, K*, d, placement)
CONFIGS = ((1, 1, 2, "perturbed"), (2, 3, 3, "random"), (3, 2, 4, "random"),
           (2, 2, 3, "perturbed"))
WEIGHT = 0.7
TOL = 1e-10


def _quadrature(W, W_star, loss, tolerance=1e-12, **options):
    """numerics.quadrature, refined (more Gauss–Hermite nodes) until its own error estimate is
    below ``tolerance``: the default 128 nodes do not resolve σ'(w·x) for erf with |w| ≳ 2
    (numpy's hermegauss overflows beyond about 360 nodes)."""
    for nodes in (None, 200, 300):
        result = quadrature(W, W_star, loss, nodes=nodes, **options)
        if result.error_estimate <= tolerance:
            return result
    raise AssertionError(f"quadrature did not converge: error estimate {result.error_estimate}")


def _close(closed, reference, what):
    closed, reference = np.asarray(closed, float), np.asarray(reference, float)
    scale = 1.0 + float(np.max(np.abs(reference)))
    error = float(np.max(np.abs(closed - reference)))
    assert error <= TOL * scale, f"{what}: max |Δ| = {error:.3g} > {TOL:g}·{scale:.3g}"


@pytest.mark.parametrize("activation", CLOSED)
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"K{c[0]}-Ks{c[1]}-d{c[2]}-{c[3]}")
def test_closed_forms_match_quadrature(activation, config):
    K, Ks, d, at = config
    c = make_configuration(K, Ks, d, seed=K + 3 * d, at=at, radius=0.4)
    for loss in LOSSES:
        q = _quadrature(c.W, c.W_star, loss, activation=activation, sobolev_weight=WEIGHT)
        opts = {"activation": activation, "sobolev_weight": WEIGHT}
        label = f"{activation} {loss} {config}"
        _close(theory.population_loss(c.W, c.W_star, loss, **opts), q.loss, label + " loss")
        _close(theory.population_gradient(c.W, c.W_star, loss, **opts), q.gradient,
               label + " gradient")
        _close(theory.population_hessian(c.W, c.W_star, loss, **opts), q.hessian,
               label + " hessian")


@pytest.mark.parametrize("activation", CLOSED)
@pytest.mark.parametrize("width, dim, scale", [(1, 2, 0.5), (2, 3, 1.0), (3, 3, 1.3)])
def test_at_the_teacher(activation, width, dim, scale):
    """At W = W*: zero loss and gradient; the l2 Hessian (and, smooth σ, the h1 Hessian in both
    conventions) equals quadrature's; for kinked σ the Sobolev Hessian does not exist. Teacher
    rows are rescaled to norm ``scale``: beyond about 1.5 the Gauss–Hermite reference cannot
    resolve erf's σ' = (2/√π)e^{−t²} to 1e-12 (Monte-Carlo tests cover larger rows)."""
    W_star = make_configuration(width, width, dim, seed=dim, at="teacher").W_star
    W_star = scale * W_star / np.linalg.norm(W_star, axis=1, keepdims=True)
    opts = {"activation": activation, "sobolev_weight": WEIGHT}
    for loss in LOSSES:
        assert abs(theory.population_loss(W_star, W_star, loss, **opts)) <= 1e-12
        assert np.max(np.abs(theory.population_gradient(W_star, W_star, loss, **opts))) <= 1e-12
    _close(theory.population_hessian(W_star, W_star, "l2", **opts),
           _quadrature(W_star, W_star, "l2", activation=activation).hessian, "l2 at teacher")
    if activation in SMOOTH:
        reference = _quadrature(W_star, W_star, "h1", activation=activation,
                                sobolev_weight=WEIGHT).hessian
        for convention in ("expected", "exact"):
            _close(theory.population_hessian(W_star, W_star, "h1", convention=convention,
                                             **opts), reference, f"h1 {convention} at teacher")
    else:
        for convention in ("expected", "exact"):
            with pytest.raises(theory.NonDifferentiableError):
                theory.population_hessian(W_star, W_star, "h1", convention=convention, **opts)


def _z(entries: int, familywise: float = 1e-3) -> float:
    return float(stats.norm.ppf(1 - familywise / (2 * entries)))


@pytest.mark.parametrize("activation", CLOSED)
def test_loss_and_gradient_within_monte_carlo_error_bars(activation):
    c = make_configuration(2, 3, 3, seed=5, at="random")
    for loss in ("l2", "h1"):
        est = monte_carlo(c.W, c.W_star, loss, activation=activation, n_samples=200_000, seed=1,
                          sobolev_weight=WEIGHT)
        opts = {"activation": activation, "sobolev_weight": WEIGHT}
        z = _z(1 + c.W.size)
        value = theory.population_loss(c.W, c.W_star, loss, **opts)
        gradient = theory.population_gradient(c.W, c.W_star, loss, **opts)
        assert abs(est.value - value) <= z * est.value_stderr
        assert np.all(np.abs(est.gradient - gradient) <= z * est.gradient_stderr)


def _step_bias(activation, W, W_star, steps):
    """The deterministic bias of the Monte-Carlo Hessian's central difference with its own steps
    h_k: (G(W + h e) − G(W − h e))/(2h) − ∂G, with G and ∂G from quadrature (no sampling)."""
    K, d = W.shape
    opts = {"activation": activation, "sobolev_weight": WEIGHT}
    exact = _quadrature(W, W_star, "h1", tolerance=1e-7, **opts).hessian
    difference = np.empty_like(exact)
    for k in range(K):
        for b in range(d):
            shift = np.zeros_like(W)
            shift[k, b] = steps[k]
            plus = _quadrature(W + shift, W_star, "h1", tolerance=1e-7, hessian=False,
                               **opts).gradient
            minus = _quadrature(W - shift, W_star, "h1", tolerance=1e-7, hessian=False,
                                **opts).gradient
            difference[:, k * d + b] = ((plus - minus) / (2 * steps[k])).ravel()
    return difference - exact


def _hessian_within_bars(activation, W, W_star, n_samples):
    """|MC − closed form| <= z·stderr + |step bias| entrywise (Bonferroni z, familywise 1e-3):
    the bars are sampling errors; the O(h²) bias of the central difference is computed
    deterministically (quadrature) and added, not guessed."""
    est = monte_carlo_hessian(W, W_star, "h1", activation=activation, n_samples=n_samples,
                              seed=2, sobolev_weight=WEIGHT)
    closed = theory.population_hessian(W, W_star, "h1", activation=activation,
                                       sobolev_weight=WEIGHT)
    bias = np.abs(_step_bias(activation, W, W_star, est.steps))
    excess = np.abs(est.hessian - closed) - (_z(closed.size) * est.stderr + bias)
    assert np.all(excess <= 0), f"{activation}: worst excess {excess.max():.3g}"


@pytest.mark.parametrize("activation", ("erf", "leaky_relu(0.1)"))
def test_hessian_within_monte_carlo_error_bars(activation):
    c = make_configuration(2, 2, 2, seed=4, at="perturbed", radius=0.5)
    _hessian_within_bars(activation, c.W, c.W_star, 40_000)


_SLOW_CASES = [(activation, config) for activation in CLOSED
               for config in ((2, 3, 3, "random"), (3, 3, 3, "teacher"))
               # a kinked activation's Sobolev Hessian does not exist at the teacher
               if config[3] != "teacher" or activation in SMOOTH]


@pytest.mark.slow
@pytest.mark.parametrize("activation, config", _SLOW_CASES)
def test_hessian_within_monte_carlo_error_bars_slow(activation, config):
    K, Ks, d, at = config
    c = make_configuration(K, Ks, d, seed=7, at=at, radius=1.0)
    _hessian_within_bars(activation, c.W, c.W_star, 200_000)


# ------------------------------------------------------------------------ properties
@st.composite
def pair_of_configurations(draw, equal_widths=False):
    K = draw(st.integers(1, 3))
    Ks = K if equal_widths else draw(st.integers(1, 3))
    d = draw(st.integers(2, 4))
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    scale = draw(st.sampled_from((0.3, 1.0, 2.0)))
    return scale * rng.normal(size=(K, d)) / np.sqrt(d), rng.normal(size=(Ks, d)) / np.sqrt(d), \
        seed


@settings(deadline=None)
@given(pair_of_configurations(equal_widths=True), st.sampled_from(CLOSED),
       st.sampled_from(LOSSES))
def test_loss_symmetric_in_student_and_teacher(config, activation, loss):
    """Every pair kernel is symmetric, k(a, b) = k(b, a), so L(W, W*) = L(W*, W) for K = K*."""
    W, W_star, _ = config
    opts = {"activation": activation, "sobolev_weight": WEIGHT}
    forward = theory.population_loss(W, W_star, loss, **opts)
    backward = theory.population_loss(W_star, W, loss, **opts)
    assert forward == pytest.approx(backward, rel=1e-10, abs=1e-13)


@settings(deadline=None)
@given(pair_of_configurations(), st.sampled_from(CLOSED), st.sampled_from(LOSSES))
def test_rotation_invariance(config, activation, loss):
    """x ~ N(0, I) is rotation invariant: L(WQ, W*Q) = L, F(WQ) = F(W)Q, H → (I⊗Qᵀ) H (I⊗Q)."""
    W, W_star, seed = config
    Q = special_ortho_group.rvs(W.shape[1], random_state=seed)
    opts = {"activation": activation, "sobolev_weight": WEIGHT}
    assert theory.population_loss(W @ Q, W_star @ Q, loss, **opts) == pytest.approx(
        theory.population_loss(W, W_star, loss, **opts), rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(theory.population_gradient(W @ Q, W_star @ Q, loss, **opts),
                               theory.population_gradient(W, W_star, loss, **opts) @ Q,
                               rtol=1e-8, atol=1e-11)
    R = np.kron(np.eye(W.shape[0]), Q)
    np.testing.assert_allclose(theory.population_hessian(W @ Q, W_star @ Q, loss, **opts),
                               R.T @ theory.population_hessian(W, W_star, loss, **opts) @ R,
                               rtol=1e-8, atol=1e-10)


@settings(deadline=None)
@given(pair_of_configurations(), st.sampled_from(("leaky_relu(0.1)", "leaky_relu(0.3)")),
       st.sampled_from(LOSSES), st.sampled_from((0.25, 3.0)))
def test_two_slope_family_is_positively_homogeneous(config, activation, loss, c):
    """σ(ct) = cσ(t) for c > 0: L(cW, cW*) = c² L (both terms), F(cW) = c F, H(cW) = H."""
    W, W_star, _ = config
    opts = {"activation": activation, "sobolev_weight": WEIGHT}
    assert theory.population_loss(c * W, c * W_star, loss, **opts) == pytest.approx(
        c * c * theory.population_loss(W, W_star, loss, **opts), rel=1e-9, abs=1e-13)
    np.testing.assert_allclose(theory.population_gradient(c * W, c * W_star, loss, **opts),
                               c * theory.population_gradient(W, W_star, loss, **opts),
                               rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("activation", SMOOTH)
def test_smooth_activations_are_not_homogeneous(activation):
    """The scale matters for erf, sine, gelu: L(2W, 2W*) is not 4 L(W, W*)."""
    c = make_configuration(2, 2, 3, seed=0, at="perturbed", radius=0.5)
    for loss in ("l2", "h1"):
        base = theory.population_loss(c.W, c.W_star, loss, activation=activation)
        doubled = theory.population_loss(2 * c.W, 2 * c.W_star, loss, activation=activation)
        assert abs(doubled - 4 * base) > 1e-3 * abs(doubled)


@settings(deadline=None)
@given(st.integers(1, 3), st.integers(2, 4), st.integers(0, 1000),
       st.sampled_from((0.3, 1.0, 3.0)), st.sampled_from(SMOOTH))
def test_hessian_at_teacher_is_symmetric_psd_for_smooth_activations(K, d, seed, scale,
                                                                   activation):
    """At W = W* the residual vanishes: the Hessian is E[JᵀJ] (Gauss–Newton), symmetric PSD,
    and the expected Jacobian equals the exact Hessian."""
    W_star = scale * np.random.default_rng(seed).normal(size=(K, d)) / np.sqrt(d)
    for loss in LOSSES:
        H = theory.population_hessian(W_star, W_star, loss, activation=activation)
        H_exact = theory.population_hessian(W_star, W_star, loss, activation=activation,
                                            convention="exact")
        scale_h = max(1.0, float(np.max(np.abs(H))))
        np.testing.assert_allclose(H, H.T, atol=1e-12 * scale_h)
        np.testing.assert_allclose(H, H_exact, atol=1e-12 * scale_h)
        assert np.linalg.eigvalsh(H).min() >= -1e-10 * scale_h


# ---------------------------------------------------------------------- names
def test_numerics_and_theory_read_activation_specs_alike():
    from theory.activations import available
    from theory.activations import get_activation as closed_form

    for spec in ("relu", "leaky_relu", "leaky_relu(0.1)", "leaky_relu(0.25)", "leaky_relu(0)",
                 "gelu", "erf", "sine"):
        assert closed_form(spec).name == get_activation(spec).name
    assert {"relu", "gelu", "erf", "sine"} <= set(available())


@pytest.mark.parametrize("name", ["tanh", "swish", "leaky_relu(2)"])
def test_theory_rejects_activations_without_closed_forms(name):
    c = make_configuration(1, 1, 2)
    with pytest.raises(ValueError, match="activation"):
        theory.population_loss(c.W, c.W_star, "l2", activation=name)
