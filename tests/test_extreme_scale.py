"""Extreme scales: every activation and loss returns the 50-digit value or refuses (ValueError).

The reproductions are the abuse run's: erf/gelu/sine at weights scaled by up to 1e308, Σ = 1e200·I,
sobolev_weight and second_order_weight at 1e308. References: tests/mp_smooth_reference.py
(smooth activations) and tests/mp_reference.py (relu), both at 50 digits from the defining
closed forms. The accuracy bound is relative to the magnitude of the pair sum
(½Σ|F_ss| + Σ|F_st| + ½Σ|F_tt|, the size of the terms float64 adds), never to the loss alone,
which can cancel to 0 at the teacher.
"""

from __future__ import annotations

import warnings

import mpmath as mp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import theory
from tests import mp_reference, mp_smooth_reference
from theory.activations import SMOOTH_SQUARED_NORM_RANGE

SMOOTH = ("erf", "gelu", "sine")
W0 = np.random.default_rng(0).standard_normal((2, 3))
W_STAR = np.eye(3)[:2]


def _magnitude(W, W_star, loss, activation, sobolev_weight=1.0, second_order_weight=1.0,
               sigma=None):
    """½Σ|F_ss| + Σ|F_st| + ½Σ|F_tt| at 50 digits (the size of the terms summed)."""
    ref = mp_smooth_reference
    with mp.workdps(ref.DIGITS):
        weights = {n: mp.mpf(float(w)) for n, w in
                   ref._weights(loss, sobolev_weight, second_order_weight).items()}
        student, teacher = ref._mp_rows(W), ref._mp_rows(W_star)
        s = ref._sigma(sigma)

        def block(X, Y):
            return mp.fsum(abs(ref.pair_kernel(activation, a, b, weights, s))
                           for a in X for b in Y)
        return float(block(student, student) / 2 + block(student, teacher)
                     + block(teacher, teacher) / 2)


def _call(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning (overflow, invalid) is a failure too
        return function(*args, **kwargs)


@pytest.mark.parametrize("activation", SMOOTH)
@pytest.mark.parametrize("scale", (1e5, 1e9, 1e50, 1e100, 1e154, 1e200, 1e308 / 4))
def test_large_weights_are_refused_with_the_range(activation, scale):
    """Reproduction: erf l2 was 2.37 … 0.852 … 0.465, sine 0.432 (limit 0.932),
    gelu inf and NaN gradients. Outside the representable range: ValueError naming W, W_star
    and the range, from every population function."""
    for function in (theory.population_loss, theory.population_gradient,
                     theory.population_hessian):
        for loss in ("l2", "sobolev", "h1"):
            with pytest.raises(ValueError, match=r"W and\s+W_star") as info:
                _call(function, W0 * scale, W_STAR, loss, activation=activation)
            assert f"{SMOOTH_SQUARED_NORM_RANGE[1]:g}" in str(info.value)


@pytest.mark.parametrize("activation", SMOOTH)
def test_huge_input_covariance_is_refused(activation):
    """Σ = 1e200·I gave l2 loss 0 and Sobolev loss NaN for erf."""
    for loss in ("l2", "sobolev"):
        with pytest.raises(ValueError, match="input_covariance"):
            _call(theory.population_loss, W0, W_STAR, loss, activation=activation,
                  input_covariance=1e200 * np.eye(3))


@pytest.mark.parametrize("activation", SMOOTH)
@pytest.mark.parametrize("name", ("sobolev_weight", "second_order_weight"))
def test_huge_loss_weights_give_the_value_or_a_refusal(activation, name):
    """λ or μ = 1e308 gave inf loss and NaN gradient/Hessian: now the value (checked at 50
    digits for the loss) or a ValueError naming the weight."""
    kwargs = {name: 1e308}
    for function in (theory.population_loss, theory.population_gradient,
                     theory.population_hessian):
        try:
            value = _call(function, W0, W_STAR, "h2", activation=activation, **kwargs)
        except ValueError as exc:
            assert name in str(exc)
            continue
        assert np.all(np.isfinite(value))
        if function is theory.population_loss:
            reference = mp_smooth_reference.loss(W0, W_STAR, "h2", activation, **kwargs)
            assert abs(value - float(reference)) <= 1e-12 * abs(float(reference))


@pytest.mark.parametrize("activation", SMOOTH)
@pytest.mark.parametrize("scale", (1e-70, 1e-3, 1.0, 10.0, 31.0))
def test_in_range_values_match_mpmath(activation, scale):
    """Inside the range, loss and gradient agree with 50-digit mpmath — also with a student row
    equal to a teacher row (the pair whose Gram entries must be exactly consistent)."""
    W = np.vstack([W_STAR[0], W0[1] / np.linalg.norm(W0[1])]) * scale
    teacher = W_STAR * scale
    for loss in ("l2", "sobolev", "h2"):
        value = _call(theory.population_loss, W, teacher, loss, activation=activation)
        reference = float(mp_smooth_reference.loss(W, teacher, loss, activation))
        magnitude = _magnitude(W, teacher, loss, activation)
        assert abs(value - reference) <= 1e-10 * magnitude
        gradient = _call(theory.population_gradient, W, teacher, loss, activation=activation)
        expected = np.array(mp_smooth_reference.gradient(W, teacher, loss, activation),
                            dtype=float)
        assert np.abs(gradient - expected).max() <= 1e-9 * magnitude / scale


_LOSSES = ("l2", "sobolev", "h1", "sobolev2", "h2")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def _two_slope_reference(W, W_star, loss, slope, sobolev_weight):
    """50-digit loss of leaky_relu(slope) at Σ = I: pair kernels α c + (1 − α)² k_relu and
    α e + (1 − α)² q_relu (tests/mp_reference.py's relu kernels)."""
    ref = mp_reference
    with mp.workdps(ref.DIGITS):
        alpha = mp.mpf(slope)
        student, teacher = ([ref._vec(r) for r in np.atleast_2d(M)] for M in (W, W_star))
        terms = {"l2": [(1, ref._k)], "sobolev": [(1, ref._q)],
                 "h1": [(1, ref._k), (mp.mpf(sobolev_weight), ref._q)]}[loss]

        def block(X, Y, kernel):
            return mp.fsum(alpha * ref._dot(a, b) + (1 - alpha) ** 2 * kernel(a, b)
                           for a in X for b in Y)
        return float(mp.fsum(w * (block(student, student, k) / 2 - block(student, teacher, k)
                                  + block(teacher, teacher, k) / 2) for w, k in terms))


@given(activation=st.sampled_from(SMOOTH + ("relu", "leaky_relu(0.25)", "tanh")),
       loss=st.sampled_from(_LOSSES),
       student_exponent=st.one_of(st.integers(-320, 308), st.integers(-40, 2)),
       teacher_exponent=st.one_of(st.integers(-320, 308), st.integers(-40, 2)),
       sigma_exponent=st.one_of(st.none(), st.integers(-300, 300), st.integers(-3, 3)),
       weight_exponent=st.one_of(st.integers(-300, 308), st.integers(-3, 3)),
       seed=st.integers(0, 2**16))
def test_every_activation_and_loss_is_right_or_refuses(activation, loss, student_exponent,
                                                        teacher_exponent, sigma_exponent,
                                                        weight_exponent, seed):
    """Property over every activation and loss, at scales 1e-320 … 1e308 of W, W_star, Σ and
    λ = μ: the population loss is finite and equal to the 50-digit reference (to 1e-10 of the
    pair sum's magnitude for the smooth activations; relative to the loss for the two-slope
    family, evaluated from stable angles at independent random W and W_star, which are far
    apart), or a ValueError —
    never NaN, inf, a warning or another exception."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((2, 3)) * 10.0**min(student_exponent, 307)
    W_star = rng.standard_normal((2, 3)) * 10.0**min(teacher_exponent, 307)
    sigma = None if sigma_exponent is None else 10.0**sigma_exponent * np.eye(3)
    weight = 10.0**min(weight_exponent, 307)
    kwargs = dict(activation=activation, sobolev_weight=weight, second_order_weight=weight,
                  input_covariance=sigma)
    try:
        value = _call(theory.population_loss, W, W_star, loss, **kwargs)
    except ValueError:
        return
    assert activation != "tanh"  # no closed form: always a ValueError
    assert np.isfinite(value)
    if activation in ("relu", "leaky_relu(0.25)"):
        if sigma is not None:
            return  # the references are at Σ = I (Σ = cI scales the loss by c exactly)
        slope = 0.0 if activation == "relu" else 0.25
        reference = _two_slope_reference(W, W_star, loss, slope, weight)
        assert abs(value - reference) <= 1e-10 * max(abs(reference), np.finfo(float).tiny)
        return
    reference = float(mp_smooth_reference.loss(W, W_star, loss, activation, weight, weight,
                                               sigma))
    magnitude = _magnitude(W, W_star, loss, activation, weight, weight, sigma)
    assert abs(value - reference) <= 1e-10 * magnitude + np.finfo(float).tiny


@pytest.mark.slow
@pytest.mark.parametrize("activation", SMOOTH)
@pytest.mark.parametrize("scale", (1.0, 30.0))
def test_in_range_hessians_match_mpmath(activation, scale):
    """Hessians at the upper end of the range against 50-digit mpmath second derivatives of
    the loss (mp.diff in two weight entries): within 2e-9 of the largest entry (measured
    1.1e-9 for the erf Sobolev Hessian at |w| = 30, the worst case), plus an absolute 1e-15 for
    Hessians that are exponentially small (sine's l2 Hessian at |w| = 30 is ~6e-64: its pair
    terms are O(1) and cancel, and float64 returns it as 0)."""
    rng = np.random.default_rng(3)
    W = rng.standard_normal((2, 3))
    W = W / np.linalg.norm(W, axis=1, keepdims=True) * scale
    teacher = W_STAR * scale
    ref = mp_smooth_reference
    for loss in ("l2", "sobolev"):
        H = _call(theory.population_hessian, W, teacher, loss, activation=activation)
        with mp.workdps(ref.DIGITS):
            weights = {n: mp.mpf(w) for n, w in ref._weights(loss, 1.0, 1.0).items()}
            rows_star = ref._mp_rows(teacher)
            x0 = [mp.mpf(float(v)) for v in W.ravel()]

            def f(*x, rows_star=rows_star, weights=weights):
                return ref._loss_rows(activation, [list(x[0:3]), list(x[3:6])], rows_star,
                                      weights, None)
            expected = np.zeros((6, 6))
            for i in range(6):
                for j in range(i, 6):
                    orders = [0] * 6
                    orders[i] += 1
                    orders[j] += 1
                    expected[i, j] = expected[j, i] = float(mp.diff(f, x0, tuple(orders)))
        largest = np.abs(expected).max()
        assert np.abs(H - expected).max() <= 2e-9 * largest + 1e-15
