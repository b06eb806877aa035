"""The lean Gram-matrix route of theory.fast_field against the general route it replaces.

population_gradient / population_loss take the lean route when a cheap check shows it safe; the
general route (theory.assembly.general_population_gradient / general_population_loss, the pair
geometry of every pair as (K, K + K*, d) arrays) stays as the fallback. These tests check that
both routes agree to 1e-14 of the scale of the summed terms on random configurations, including
pairs at angles around both thresholds (sin θ = 0.1 where the lean route leaves the Gram matrix
for row differences, sin θ = 1e-4 where extended precision starts), that the row-difference
geometry is used exactly below the threshold, that every other input falls back to the general
route with its ValueErrors, and that the prepared field theory.gradient_field equals
population_gradient. (The field itself is checked against finite differences, Monte-Carlo and
50-digit mpmath in the core tests, which now run through the lean route.)
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import theory
from theory import assembly, kernels, pair_frame, population
from theory.activations import get_activation

LOSSES = ("l2", "sobolev", "h1")
CONVENTIONS = ("expected", "exact")
ACTIVATIONS = ("relu", "leaky_relu(0.3)")
SMOOTH = ("erf", "sine", "gelu")
SMOOTH_LOSSES = ("l2", "sobolev", "h1", "sobolev2", "h2")
RTOL = 1e-14


def _rotated(rng, row, sin_theta, antiparallel):
    """A row at angle θ (sin θ given) from ``row`` (or from −row), of another length."""
    d = row.shape[0]
    u = row / np.linalg.norm(row)
    v = rng.standard_normal(d)
    v -= (v @ u) * u
    v /= np.linalg.norm(v)
    cos_theta = np.sqrt(1.0 - sin_theta**2)
    direction = (-1.0 if antiparallel else 1.0) * cos_theta * u + sin_theta * v
    return direction * rng.uniform(0.3, 3.0)


@st.composite
def configurations(draw):
    """(W, W_star): random rows, some rotated from others by sin θ log-uniform in [1e-9, 1]
    (both thresholds crossed), some antiparallel, at a random overall scale."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    K, K_star = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    d = draw(st.integers(2, 12))
    W_star = rng.standard_normal((K_star, d))
    W = rng.standard_normal((K, d))
    rows = np.vstack([W, W_star])
    for i in range(K):
        if draw(st.booleans()):
            source = rows[draw(st.integers(0, K + K_star - 1))]
            if source is not W[i]:
                sin_theta = 10.0 ** draw(st.floats(-9.0, 0.0))
                W[i] = _rotated(rng, source, sin_theta, draw(st.booleans()))
    scale = 2.0 ** draw(st.integers(-60, 60)) * draw(st.floats(0.5, 2.0))
    return W * scale, W_star * scale


def _field_scale(W, W_star):
    """Σ|z| over all rows: the size of the pair terms the field sums (it may cancel to far
    less near the teacher)."""
    return np.linalg.norm(W, axis=1).sum() + np.linalg.norm(W_star, axis=1).sum()


def _both(function_lean, function_general, *args, **kwargs):
    """(lean result, general result) of the two functions called with the same arguments, each
    replaced by its exception's (type, message) if it raises ValueError."""
    outcomes = []
    for function in (function_lean, function_general):
        try:
            outcomes.append(function(*args, **kwargs))
        except ValueError as exc:
            outcomes.append((type(exc), str(exc)))
    return outcomes


@given(configurations())
def test_lean_gradient_equals_the_general_route(config):
    W, W_star = config
    scale = _field_scale(W, W_star)
    for loss in LOSSES:
        for convention in CONVENTIONS:
            for activation in ACTIVATIONS:
                options = dict(convention=convention, activation=activation,
                               sobolev_weight=0.7)
                lean, general = _both(theory.population_gradient,
                                      assembly.general_population_gradient, W, W_star, loss,
                                      **options)
                if isinstance(general, tuple):  # a degenerate pair in the exact convention
                    assert lean == general
                    continue
                assert lean.shape == general.shape == W.shape
                assert np.abs(lean - general).max() <= RTOL * scale, (loss, convention)


@given(configurations())
def test_lean_loss_equals_the_general_route(config):
    W, W_star = config
    scale = _field_scale(W, W_star) ** 2
    for loss in LOSSES:
        for activation in ACTIVATIONS:
            lean = theory.population_loss(W, W_star, loss, activation=activation,
                                          sobolev_weight=0.7)
            general = assembly.general_population_loss(W, W_star, loss, activation=activation,
                                                       sobolev_weight=0.7)
            assert isinstance(lean, float)
            assert abs(lean - general) <= RTOL * scale, loss


@pytest.mark.parametrize("sin_theta", [0.5, 0.11, 0.09, 1e-3, 1.01e-4, 0.99e-4, 1e-7, 1e-11])
@pytest.mark.parametrize("antiparallel", [False, True])
def test_row_differences_are_used_exactly_below_the_threshold(monkeypatch, sin_theta,
                                                              antiparallel):
    """A student row at a given angle from a teacher row: the lean route evaluates that pair
    (and only it) from row differences iff sin θ < 0.1, in extended precision iff sin θ < 1e-4,
    and the field matches the general route."""
    rng = np.random.default_rng(7)
    W_star = rng.standard_normal((2, 5))
    W = np.vstack([_rotated(rng, W_star[1], sin_theta, antiparallel), rng.standard_normal(5)])
    calls = []
    original = kernels.refined_pair_geometry

    def spy(a, b, extended, frame=True):
        calls.append((a.copy(), b.copy(), extended.copy()))
        return original(a, b, extended, frame)

    monkeypatch.setattr(kernels, "refined_pair_geometry", spy)
    for convention in CONVENTIONS:
        calls.clear()
        lean = theory.population_gradient(W, W_star, "h1", convention=convention)
        general = assembly.general_population_gradient(W, W_star, "h1", convention=convention)
        assert np.abs(lean - general).max() <= RTOL * _field_scale(W, W_star)
        if sin_theta >= 0.1:
            assert calls == []
            continue
        (a, b, extended), = calls
        np.testing.assert_array_equal(a, W[:1])
        np.testing.assert_array_equal(b, W_star[1:])
        assert extended.tolist() == [sin_theta < kernels.EXTENDED_PRECISION_BELOW]


def _count_general(monkeypatch):
    calls = []
    for name in ("general_population_gradient", "general_population_loss"):
        original = getattr(assembly, name)

        def spy(*args, _original=original, **kwargs):
            calls.append(1)
            return _original(*args, **kwargs)

        monkeypatch.setattr(assembly, name, spy)
    return calls


def test_the_lean_route_is_taken_for_plain_relu_input(monkeypatch):
    calls = _count_general(monkeypatch)
    rng = np.random.default_rng(1)
    W, W_star = rng.standard_normal((3, 4)), rng.standard_normal((2, 4))
    for loss in LOSSES:
        for convention in CONVENTIONS:
            theory.population_gradient(W, W_star, loss, convention=convention)
            theory.population_gradient(W[0], W_star, loss, convention=convention,
                                       activation="leaky_relu(0.1)", input_covariance=np.eye(4))
        theory.population_loss(W, W_star, loss)
        for activation in SMOOTH:
            theory.population_gradient(W, W_star, loss, activation=activation)
            theory.population_loss(W, W_star, loss, activation=activation)
    assert calls == []


@pytest.mark.parametrize("case", [
    "list", "float32", "sigma", "erf_sigma", "huge", "tiny", "degenerate_exact", "weight_array",
])
def test_everything_else_takes_the_general_route(monkeypatch, case):
    calls = _count_general(monkeypatch)
    rng = np.random.default_rng(2)
    W, W_star = rng.standard_normal((3, 4)), rng.standard_normal((2, 4))
    options = dict(convention="expected")
    if case == "list":
        W = W.tolist()
    elif case == "float32":
        W = W.astype(np.float32)
    elif case == "sigma":
        options["input_covariance"] = np.diag([1.0, 2.0, 1.0, 1.0])
    elif case == "erf_sigma":
        options.update(activation="erf", input_covariance=np.diag([1.0, 2.0, 1.0, 1.0]))
    elif case == "huge":
        W, W_star = W * 1e200, W_star * 1e200
    elif case == "tiny":
        W, W_star = W * 1e-200, W_star * 1e-200
    elif case == "degenerate_exact":
        W[0] = 3.0 * W_star[1]
        options["convention"] = "exact"
    elif case == "weight_array":
        options["sobolev_weight"] = np.array(0.5)  # unhashable: not cached, validated in full
    try:
        theory.population_gradient(W, W_star, "h1", **options)
    except theory.NonDifferentiableError:
        assert case == "degenerate_exact"
    assert calls == [1]


def test_scaled_input_outside_the_lean_range_agrees_by_homogeneity():
    """F(cW, cW*) = c F(W, W*) exactly for c a power of two: the general route (at 2^±600) and
    the lean route (at 1) give the same field up to that scaling."""
    rng = np.random.default_rng(3)
    W, W_star = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    base = theory.population_gradient(W, W_star, "h1", convention="exact")
    for exponent in (-600, 600):
        scaled = theory.population_gradient(np.ldexp(W, exponent), np.ldexp(W_star, exponent),
                                            "h1", convention="exact")
        np.testing.assert_allclose(np.ldexp(scaled, -exponent), base, rtol=0,
                                   atol=RTOL * _field_scale(W, W_star))


@pytest.mark.parametrize(("W", "fragment"), [
    (np.array([[1.0, np.nan, 0.0]]), "non-finite"),
    (np.array([[1.0, np.inf, 0.0]]), "non-finite"),
    (np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), "zero-norm"),
    (np.array([[1.0, 2.0]]), "same input dimension"),
    (np.zeros((0, 3)), "empty"),
    (np.ones((2, 3, 1)), "shape"),
])
def test_bad_weights_raise_the_general_routes_errors(W, fragment):
    W_star = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    field = theory.gradient_field(W_star, "h1", convention="exact")
    for evaluate in (lambda: theory.population_gradient(W, W_star, "h1", convention="exact"),
                     lambda: field(W),
                     lambda: theory.population_loss(W, W_star, "h1")):
        with pytest.raises(ValueError, match=fragment):
            evaluate()


def test_bad_settings_raise_before_anything_is_cached():
    W_star = np.eye(3)
    for kwargs, fragment in ((dict(loss="h3"), "loss must be one of"),
                             (dict(convention="exactly"), "convention must be one of"),
                             (dict(activation="tanh"), "no closed form"),
                             (dict(sobolev_weight=-1.0), "sobolev_weight"),
                             (dict(sobolev_weight=float("nan")), "sobolev_weight"),
                             (dict(loss="h2"), "second-order term")):
        with pytest.raises(ValueError, match=fragment):
            theory.population_gradient(np.eye(3), W_star, **kwargs)
        with pytest.raises(ValueError, match=fragment):
            theory.gradient_field(W_star, **kwargs)
    with pytest.raises(ValueError, match="W_star has a non-finite"):
        theory.gradient_field(np.array([[1.0, np.nan]]))
    for sigma, fragment in ((np.ones((3, 3)), "not positive definite"),
                            (np.eye(2), "input_covariance must have shape")):
        with pytest.raises(ValueError, match=fragment):
            theory.gradient_field(W_star, input_covariance=sigma)
        with pytest.raises(ValueError, match=fragment):
            theory.population_gradient(np.eye(3), W_star, input_covariance=sigma)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu(0.2)", "erf", "sine"])
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_gradient_field_equals_population_gradient(activation, convention):
    rng = np.random.default_rng(4)
    W_star = rng.standard_normal((3, 4))
    sigma = np.diag([1.0, 1.5, 0.5, 1.0])
    for loss in LOSSES:
        for input_covariance in (None, sigma):
            options = dict(convention=convention, activation=activation, sobolev_weight=0.4,
                           input_covariance=input_covariance)
            field = theory.gradient_field(W_star, loss, **options)
            for K in (1, 2, 5):
                W = rng.standard_normal((K, 4))
                np.testing.assert_array_equal(
                    field(W), theory.population_gradient(W, W_star, loss, **options))
            w = rng.standard_normal(4)  # one neuron as a 1-D array
            np.testing.assert_array_equal(field(w),
                                          theory.population_gradient(w, W_star, loss, **options))


def test_gradient_field_keeps_its_own_teacher():
    W_star = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    W = np.array([[0.5, 0.5, 0.1], [0.2, -0.3, 1.0]])
    field = theory.gradient_field(W_star, "h1")
    before = field(W)
    W_star[0, 0] = 5.0
    np.testing.assert_array_equal(field(W), before)
    assert population.GradientField is theory.GradientField


@pytest.mark.parametrize("K", [1, 3, 7])
def test_zero_at_the_teacher_exactly(K):
    """At W = W* the loss and the expected field are exactly 0 (every student term cancels its
    teacher term), as on the general route; the exact Sobolev field does not exist there."""
    rng = np.random.default_rng(K)
    W_star = rng.standard_normal((K, 2 * K + 3))
    for loss in LOSSES:
        for activation in ACTIVATIONS:
            assert theory.population_loss(W_star.copy(), W_star, loss,
                                          activation=activation) == 0.0
            assert not theory.population_gradient(W_star.copy(), W_star, loss,
                                                  activation=activation).any()
    with pytest.raises(theory.NonDifferentiableError, match="parallel"):
        theory.population_gradient(W_star.copy(), W_star, "h1", convention="exact")


def _smooth_term_scales(W, W_star, activation, loss):
    """(field scale, loss scale): the largest Σ_q of |terms| a field row sums, 2|F_sa||w_i| +
    (|F_c| + |F_e|)|z_q| (theory.pair_frame's chain rule at Σ = I), and Σ|F| over all pairs
    of rows for the loss."""
    partials = get_activation(activation).partials
    weights = assembly.loss_order_weights(loss, 0.7, 0.4)
    Z = np.vstack([W, W_star])
    n2 = np.einsum("ij,ij->i", Z, Z)
    norms = np.sqrt(n2)
    c = Z @ Z.T
    D = pair_frame.pair_derivatives(partials, weights, n2[:, None], n2[None, :], c, c, 1)
    K = W.shape[0]
    f = {name: np.abs(value[:K]) for name, value in D.first.items()}
    field = (2 * f["sa"].sum(axis=1) * norms[:K] + (f["c"] + f["e"]) @ norms).max()
    return field, np.abs(D.value).sum()


@given(configurations(), st.sampled_from(SMOOTH))
def test_lean_smooth_route_equals_the_general_route(config, activation):
    """erf, sine, gelu: one (K, K + K*) grid of pairs instead of two, to 1e-14 of the size of
    the terms summed (the smooth kernels' scale is not |w|: they saturate or decay)."""
    W, W_star = config
    largest = max(np.abs(W).max(), np.abs(W_star).max())
    if largest > 3.0:  # keep the kernels O(1) (sine's e^{−(s_a+s_b)/2} sinh c overflows by ~30)
        W, W_star = 3.0 * W / largest, 3.0 * W_star / largest
    for loss in SMOOTH_LOSSES:
        options = dict(activation=activation, sobolev_weight=0.7, second_order_weight=0.4)
        field_scale, loss_scale = _smooth_term_scales(W, W_star, activation, loss)
        lean = theory.population_gradient(W, W_star, loss, **options)
        general = assembly.general_population_gradient(W, W_star, loss, **options)
        assert np.abs(lean - general).max() <= RTOL * field_scale, loss
        lean_loss = theory.population_loss(W, W_star, loss, **options)
        general_loss = assembly.general_population_loss(W, W_star, loss, **options)
        assert abs(lean_loss - general_loss) <= RTOL * loss_scale, loss


@pytest.mark.parametrize("activation", SMOOTH)
def test_smooth_zero_at_the_teacher_exactly(activation):
    W_star = np.random.default_rng(9).standard_normal((3, 4))
    for loss in SMOOTH_LOSSES:
        assert theory.population_loss(W_star.copy(), W_star, loss, activation=activation) == 0
        assert not theory.population_gradient(W_star.copy(), W_star, loss,
                                              activation=activation).any()
