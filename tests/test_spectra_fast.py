"""Fast paths of the spectra and of the dense Hessian, each against an independent evaluation:

* the matrix-free Jacobian product (theory.operators) against the dense assembled matrix;
* κ from ARPACK on that product against κ from LAPACK on the dense reduced matrix;
* κ at d > GRAM_BASIS_MIN_D from the Cholesky coordinates of the rows against κ of the same
  configuration written in a small dimension (orthonormal embedding: κ is rotation invariant);
* the structured dense Hessian H = Γ ⊗ I + (I ⊗ Q)(M − Γ ⊗ I)(I ⊗ Q)ᵀ against the pair-by-pair
  assembly (itself checked against finite differences in test_core_derivatives);
* lean validation of large weight arrays: no copy, every NaN/inf/zero row still refused.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import theory
from theory import validation
from theory.assembly import (
    STRUCTURED_HESSIAN_MIN_SIZE,
    direct_hessian,
    make_problem,
    problem_jacobian,
    structured_hessian,
)
from theory.configurations import make_configuration
from theory.operators import ITERATIVE_TOL, extreme_real_parts, jacobian_operator
from theory.spectra import DENSE_SPECTRUM_MAX_SIZE
from theory.structure import GRAM_BASIS_MIN_D, gram_coordinates
from theory.validation import MemoryLimitError, SpikedCovariance, as_weight_matrix

SMOOTH = ("erf", "gelu", "sine")


def _rows(rng, n, d):
    """Rows with norms ~1 (the smooth kernels are best conditioned there)."""
    return rng.standard_normal((n, d)) / math.sqrt(d)


def _problem(W, W_star, loss, activation, convention, sigma=None):
    return make_problem(W, W_star, loss, activation=activation, convention=convention,
                        sobolev_weight=0.7, second_order_weight=0.4, input_covariance=sigma)


# ------------------------------------------------------------------ matrix-free product

@pytest.mark.parametrize(("activation", "loss"), [
    (activation, loss) for activation in ("relu", "leaky_relu(0.2)") + SMOOTH
    for loss in ("l2", "sobolev", "h1") + (("h2",) if activation in SMOOTH else ())])
@pytest.mark.parametrize("convention", ("exact", "expected"))
def test_matrix_free_product_equals_the_dense_jacobian(activation, convention, loss):
    rng = np.random.default_rng(hash((activation, convention, loss)) % 2**32)
    K, K_star, m = 5, 3, 8
    p = _problem(_rows(rng, K, m), _rows(rng, K_star, m), loss, activation, convention)
    J = problem_jacobian(p).dense.reshape(K * m, K * m)
    operator = jacobian_operator(p)
    X = rng.standard_normal((K * m, 4))
    Y = np.column_stack([operator.matvec(x) for x in X.T])
    np.testing.assert_allclose(Y, J @ X, rtol=0, atol=1e-13 * np.abs(J @ X).max())


def test_matrix_free_product_is_not_offered_for_a_non_identity_covariance():
    rng = np.random.default_rng(0)
    sigma = SpikedCovariance(rng.standard_normal((6, 1)))
    assert jacobian_operator(_problem(_rows(rng, 3, 6), _rows(rng, 2, 6), "h1", "relu",
                                      "exact", sigma)) is None


# ------------------------------------------------------------------ ARPACK vs LAPACK

#: ARPACK's relative residual tolerance is 1e-12 per extreme eigenvalue; κ is a ratio of two
#: of them, and the non-symmetric case adds the eigenvector condition: 1e-10 leaves margin.
ITERATIVE_KAPPA_RTOL = 1e-10


@pytest.mark.parametrize(("K", "activation", "convention"), [
    (12, "relu", "exact"), (12, "relu", "expected"), (16, "leaky_relu(0.1)", "expected"),
    (20, "relu", "exact"), (20, "relu", "expected"), (12, "erf", "exact"), (16, "gelu", "exact"),
])
def test_iterative_kappa_agrees_with_lapack(K, activation, convention):
    config = make_configuration(K, K, 100, seed=K)
    kappas = [theory.condition_number(config.W, config.W_star, "h1", convention=convention,
                                      activation=activation, eigensolver=solver)
              for solver in ("arpack", "lapack")]
    assert ITERATIVE_TOL <= 1e-12
    assert math.isfinite(kappas[1])
    assert kappas[0] == pytest.approx(kappas[1], rel=ITERATIVE_KAPPA_RTOL)


def test_iterative_kappa_at_an_indefinite_point_is_inf_like_lapack():
    """A random student far from a larger teacher: the l2 Hessian has a negative eigenvalue."""
    rng = np.random.default_rng(1)
    W, W_star = rng.standard_normal((14, 40)), 3 * rng.standard_normal((3, 40))
    lapack = theory.spectrum(W, W_star, "l2", convention="exact", method="structured")
    assert lapack[0] < 0  # the premise: an indefinite Hessian
    assert theory.condition_number(W, W_star, "l2", eigensolver="arpack") == math.inf


@pytest.mark.parametrize(("loss", "convention"), [("h1", "exact"), ("h1", "expected")])
def test_arpack_extremes_equal_lapack_extremes_including_negative_ones(loss, convention):
    rng = np.random.default_rng(0)
    p = _problem(rng.standard_normal((14, 12)), 3 * rng.standard_normal((3, 12)), loss, "relu",
                 convention)
    symmetric = convention == "exact"
    dense = problem_jacobian(p).dense.reshape(14 * 12, 14 * 12)
    values = np.linalg.eigvalsh(dense) if symmetric else np.linalg.eigvals(dense)
    low, high = extreme_real_parts(jacobian_operator(p), symmetric)
    scale = np.abs(values).max()
    assert values.real.min() < 0
    assert abs(low - values.real.min()) <= ITERATIVE_KAPPA_RTOL * scale
    assert abs(high - values.real.max()) <= ITERATIVE_KAPPA_RTOL * scale


@pytest.mark.parametrize("K, iterative", [(22, False), (23, True)])
def test_auto_eigensolver_switches_at_the_stated_size(monkeypatch, K, iterative):
    """eigensolver="auto" calls ARPACK exactly when the in-span size K·m exceeds
    DENSE_SPECTRUM_MAX_SIZE (K = K*, m = 2K: 968 stays with LAPACK, 1058 goes to ARPACK), and
    both give the LAPACK κ."""
    import theory.spectra as spectra

    calls = []
    real = spectra.extreme_real_parts

    def recording(operator, symmetric, **options):
        calls.append(operator.shape[0])
        return real(operator, symmetric, **options)

    config = make_configuration(K, K, 100, seed=1)
    args = (config.W, config.W_star, "h1")
    reference = theory.condition_number(*args, convention="exact", eigensolver="lapack")
    monkeypatch.setattr(spectra, "extreme_real_parts", recording)
    kappa = theory.condition_number(*args, convention="exact")
    assert (K * 2 * K > DENSE_SPECTRUM_MAX_SIZE) == iterative
    assert calls == ([K * 2 * K] if iterative else [])
    assert kappa == pytest.approx(reference, rel=1e-10)


def test_eigensolver_is_validated():
    with pytest.raises(ValueError, match="eigensolver"):
        theory.condition_number(np.eye(2), np.eye(2)[::-1], "l2", eigensolver="lanczos")


def test_matrix_free_path_answers_where_the_dense_reduced_matrix_is_refused(monkeypatch):
    config = make_configuration(24, 24, 50, seed=1)
    args = (config.W, config.W_star, "h1")
    reference = theory.condition_number(*args, convention="exact", eigensolver="lapack")
    # 60 MB available: the dense reduced (1152)² matrix (~75 MB with its pair arrays) is
    # refused, the matrix-free path (~9 MB: ARPACK's vectors, K×K coefficients) is not
    monkeypatch.setattr(validation, "ALWAYS_ALLOWED_BYTES", 0)
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: 60 * 10**6)
    with pytest.raises(MemoryLimitError, match="reduced"):
        theory.condition_number(*args, convention="exact", eigensolver="lapack")
    kappa = theory.condition_number(*args, convention="exact")
    assert kappa == pytest.approx(reference, rel=ITERATIVE_KAPPA_RTOL)
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: 10**7)
    with pytest.raises(MemoryLimitError, match="matrix-free") as refused:
        theory.condition_number(*args, convention="exact")
    # the refusal names a width that fits, and that width is then computed
    fits = int(re.search(r"a width K <= (\d+) fits", str(refused.value)).group(1))
    assert 1 <= fits < 24
    smaller = theory.condition_number(config.W[:fits], config.W_star, "h1", convention="exact")
    assert smaller > 0  # computed, not refused (κ may be inf away from the teacher)


# ------------------------------------------------------------------ Cholesky coordinates

def _embedded(rng, blocks, d):
    """The rows of ``blocks`` (each (n_b, n0)) in dimension d through a random orthonormal
    frame E (d×n0): x ↦ E x keeps every inner product."""
    n0 = blocks[0].shape[1]
    frame, _ = np.linalg.qr(rng.standard_normal((d, n0)))
    return [B @ frame.T for B in blocks], frame


@pytest.mark.parametrize(("loss", "convention", "activation"), [
    ("h1", "exact", "relu"), ("h1", "expected", "relu"), ("l2", "exact", "leaky_relu(0.3)"),
    ("h1", "exact", "erf"),
])
def test_kappa_at_large_d_from_gram_coordinates_equals_the_small_embedding(loss, convention,
                                                                           activation):
    rng = np.random.default_rng(11)
    K, K_star, n0, d = 4, 3, 10, GRAM_BASIS_MIN_D + 904
    W0, W0_star = _rows(rng, K, n0), _rows(rng, K_star, n0)
    (W, W_star), _ = _embedded(rng, [W0, W0_star], d)
    assert gram_coordinates([W, W_star]) is not None  # the Cholesky path is the one tested
    options = dict(convention=convention, activation=activation)
    large = theory.condition_number(W, W_star, loss, **options)
    small = theory.condition_number(W0, W0_star, loss, method="structured", **options)
    assert large == pytest.approx(small, rel=1e-12)
    values = theory.spectrum(W, W_star, loss, **options)
    assert values.shape == (K * d,)
    assert values[0].real == pytest.approx(theory.spectrum(W0, W0_star, loss, **options)[0].real,
                                           rel=1e-12)


def test_kappa_at_large_d_with_a_spiked_covariance_equals_the_small_embedding():
    rng = np.random.default_rng(12)
    K, K_star, n0, d = 3, 2, 9, GRAM_BASIS_MIN_D + 500
    W0, W0_star, U0 = _rows(rng, K, n0), _rows(rng, K_star, n0), rng.standard_normal((n0, 2))
    (W, W_star), frame = _embedded(rng, [W0, W0_star], d)
    # weights scaled as make_problem does (by a power of two) beside a unit-size spike factor:
    # the Cholesky path still applies (its test is on unit rows)
    assert gram_coordinates([256 * W, 256 * W_star, (frame @ U0).T.copy()]) is not None
    options = dict(convention="exact")
    large = theory.condition_number(W, W_star, "h1", input_covariance=SpikedCovariance(
        frame @ U0), **options)
    small = theory.condition_number(W0, W0_star, "h1", input_covariance=np.eye(n0) + U0 @ U0.T,
                                    method="structured", **options)
    assert large == pytest.approx(small, rel=1e-11)


def test_gram_coordinates_reproduce_the_gram_matrix_and_refuse_ill_conditioned_rows():
    rng = np.random.default_rng(13)
    R = rng.standard_normal((6, 5000))
    C = gram_coordinates([R[:4], R[4:]])
    np.testing.assert_allclose(C @ C.T, R @ R.T, rtol=0, atol=1e-12 * np.abs(R @ R.T).max())
    assert np.allclose(np.triu(C, 1), 0)
    nearly_parallel = np.vstack([R[:1], R[:1] + 1e-4 * R[1:2]])  # λ_min/λ_max ~ 1e-8/4
    assert gram_coordinates([nearly_parallel, R[2:4]]) is None
    assert gram_coordinates([R[:2], R[:1]]) is None  # dependent rows


def test_nearly_parallel_rows_at_large_d_keep_the_basis_path_and_its_precision():
    """sin θ = 1e-5 between a student and a teacher row: the Gram path is refused (it would
    lose the extended-precision angle) and κ equals the small embedding's."""
    rng = np.random.default_rng(14)
    n0, d = 8, GRAM_BASIS_MIN_D + 100
    W0_star = _rows(rng, 3, n0)
    W0 = _rows(rng, 3, n0)
    W0[0] = W0_star[0] + 1e-5 * np.linalg.norm(W0_star[0]) * np.eye(n0)[7]
    (W, W_star), _ = _embedded(rng, [W0, W0_star], d)
    assert gram_coordinates([W, W_star]) is None
    large = theory.condition_number(W, W_star, "l2", convention="exact")
    small = theory.condition_number(W0, W0_star, "l2", convention="exact", method="structured")
    assert large == pytest.approx(small, rel=1e-9)


# ------------------------------------------------------------------ lean validation

def test_large_float64_weights_are_validated_without_a_copy():
    rng = np.random.default_rng(15)
    W = rng.standard_normal((4, validation.LEAN_CHECK_MIN_SIZE))
    checked = as_weight_matrix(W, "W", copy=False)
    assert np.shares_memory(checked, W) and not checked.flags.writeable
    assert W.flags.writeable  # the caller's array is untouched
    np.testing.assert_array_equal(checked, W)
    # the public default still returns a fresh array (results never alias the caller's data)
    assert not np.shares_memory(as_weight_matrix(W, "W"), W)


@pytest.mark.parametrize("bad", (np.nan, np.inf, -np.inf))
@pytest.mark.parametrize("where", ((0, 0), (3, -1), (2, 12345)))
def test_lean_validation_cannot_miss_a_non_finite_entry(bad, where):
    W = np.ones((4, validation.LEAN_CHECK_MIN_SIZE))
    W[where] = bad
    with pytest.raises(ValueError, match="W has a non-finite entry"):
        as_weight_matrix(W, "W", copy=False)


def test_lean_validation_refuses_zero_rows_and_keeps_tiny_ones():
    W = np.ones((3, validation.LEAN_CHECK_MIN_SIZE))
    W[1] = -0.0
    with pytest.raises(ValueError, match=r"zero-norm row\(s\) \[1\]"):
        as_weight_matrix(W, "W", copy=False)
    W[1] = 0.0
    W[1, 7] = 1e-300
    assert as_weight_matrix(W, "W", copy=False)[1, 7] == 1e-300


# ------------------------------------------------------------------ structured dense Hessian

STRUCTURED_RTOL = 1e-13


@pytest.mark.parametrize(("activation", "convention", "loss", "law"), [
    ("relu", "exact", "h1", None), ("relu", "expected", "h1", None),
    ("relu", "exact", "l2", "spiked"), ("relu", "expected", "sobolev", "spiked-dense"),
    ("leaky_relu(0.1)", "expected", "h1", None), ("erf", "exact", "h1", None),
    ("gelu", "exact", "h2", "spiked"), ("sine", "exact", "l2", None),
])
@pytest.mark.parametrize("seed", (0, 1))
def test_structured_hessian_equals_the_pair_by_pair_assembly(activation, convention, loss,
                                                             law, seed):
    rng = np.random.default_rng(seed)
    K, K_star, d = 3, 2, 45
    assert K * d >= STRUCTURED_HESSIAN_MIN_SIZE
    sigma = None
    if law is not None:
        U = rng.standard_normal((d, 2)) / 2
        sigma = SpikedCovariance(U) if law == "spiked" else np.eye(d) + U @ U.T
    p = _problem(_rows(rng, K, d), _rows(rng, K_star, d), loss, activation, convention, sigma)
    structured = structured_hessian(p)
    assert structured is not None
    direct = direct_hessian(p)
    np.testing.assert_allclose(structured, direct, rtol=0,
                               atol=STRUCTURED_RTOL * np.abs(direct).max())
    public = theory.population_hessian(p.W, p.W_star, loss, activation=activation,
                                       convention=convention, sobolev_weight=0.7,
                                       second_order_weight=0.4, input_covariance=sigma)
    np.testing.assert_array_equal(public, structured)


def test_structured_hessian_is_not_used_where_it_does_not_apply():
    rng = np.random.default_rng(3)
    W, W_star = _rows(rng, 30, 40), _rows(rng, 10, 40)
    assert structured_hessian(_problem(W, W_star, "h1", "relu", "exact")) is None  # m = d
    W, W_star = _rows(rng, 2, 64), _rows(rng, 2, 64)
    assert structured_hessian(_problem(W, W_star, "h1", "relu", "exact")) is not None
    general = rng.standard_normal((64, 64))
    sigma = np.eye(64) + general @ general.T / 64  # Σ − I of full rank: no common complement
    assert structured_hessian(_problem(W, W_star, "l2", "relu", "exact", sigma)) is None
    W[0] = W_star[0] + 1e-6 * W_star[1]  # nearly parallel: keep extended-precision angles
    assert structured_hessian(_problem(W, W_star, "h1", "relu", "exact")) is None
    small = _problem(_rows(rng, 2, 10), _rows(rng, 1, 10), "h1", "relu", "exact")
    assert structured_hessian(small) is None  # K·d = 20: the direct assembly is cheaper


def test_a_non_converging_arpack_run_falls_back_to_lapack(monkeypatch):
    import theory.spectra as spectra

    def no_convergence(operator, symmetric, **options):
        raise spectra.IterativeNoConvergence("no convergence")

    config = make_configuration(12, 12, 60, seed=2)
    args = (config.W, config.W_star, "h1")
    reference = theory.condition_number(*args, convention="expected", eigensolver="lapack")
    monkeypatch.setattr(spectra, "extreme_real_parts", no_convergence)
    assert theory.condition_number(*args, convention="expected",
                                   eigensolver="arpack") == reference


@pytest.mark.parametrize("scale", (1e-160, 1e140))
def test_kappa_at_large_d_is_scale_free_for_relu_even_far_from_unit_norms(scale):
    """relu's Hessian is homogeneous of degree 0: κ(cW, cW*) = κ(W, W*). At scales where the
    squared norms under/overflow the Gram path must step aside, not return garbage."""
    rng = np.random.default_rng(16)
    d = GRAM_BASIS_MIN_D + 10
    W, W_star = _rows(rng, 3, d), _rows(rng, 2, d)
    assert gram_coordinates([scale * W, scale * W_star]) is None
    reference = theory.condition_number(W, W_star, "h1", convention="exact")
    assert theory.condition_number(scale * W, scale * W_star, "h1",
                                   convention="exact") == pytest.approx(reference, rel=1e-12)


@pytest.mark.parametrize("bad", (np.nan, np.inf))
def test_bad_weights_at_large_d_are_refused_with_the_usual_message(bad):
    """κ at d > GRAM_BASIS_MIN_D reads the weights once (for their Gram matrix); a NaN, an
    inf or a zero row still gets the ValueError naming the argument."""
    rng = np.random.default_rng(17)
    d = GRAM_BASIS_MIN_D + 10
    W, W_star = _rows(rng, 3, d), _rows(rng, 2, d)
    W_star[1, 77] = bad
    with pytest.raises(ValueError, match="W_star has a non-finite entry"):
        theory.condition_number(W, W_star, "h1")
    W_star[1, 77] = 0.0
    W[2] = 0.0
    with pytest.raises(ValueError, match=r"W has zero-norm row\(s\) \[2\]"):
        theory.condition_number(W, W_star, "h1")
