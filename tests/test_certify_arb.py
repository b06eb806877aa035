"""Tests of prove on python-flint Arb balls (arithmetic="arb") and of arb_ctx.

Independent evaluations: mpmath at 200 bits (mp.workprec(200)) at points of the boxes, for the
enclosures; mpmath.iv on the same boxes, for agreement between the two arithmetics; plain
float (math) and theory.spectrum (dense float64 Hessians) for counterexamples.
"""

from __future__ import annotations

import math

import flint
import numpy as np
import pytest
from flint import arb
from hypothesis import given, settings
from hypothesis import strategies as st
from mpmath import iv, mp, mpf

import theory
from proofs_check.analysis import activation_gains as gains
from proofs_check.analysis.certify import (
    arb_ctx,
    describe_arithmetic,
    interval,
    interval_max,
    interval_min,
    one_neuron_spectra,
    prove,
)

CASES = [("l2", "expected"), ("sobolev", "expected"), ("sobolev", "exact"),
         ("h1", "expected"), ("h1", "exact")]


def _ends(value) -> tuple[mpf, mpf]:
    """Exact end points of a ball or an iv interval as mpmath numbers."""
    if isinstance(value, arb):
        return tuple(mpf(tuple(int(n) for n in end.mid().man_exp()))
                     for end in (value.lower(), value.upper()))
    return mpf(value.a), mpf(value.b)


def _contains(value, point: mpf) -> bool:
    lo, hi = _ends(value)
    return lo <= point <= hi


def _box(rho: float, theta: float, width: float) -> tuple[tuple[float, float], ...]:
    return (rho, rho * (1 + width)), (theta, min(theta + width, math.pi - 1e-3))


def _spectra(box, ctx, convention):
    rho, theta = box
    return one_neuron_spectra(rho, theta, convention=convention, dim=3, ctx=ctx)


def _kappa_cross(spectra):
    """λmax(h1)·λmin(l2) − λmax(l2)·λmin(h1) from one context's spectra (plain products)."""
    l2 = [v for v, _ in spectra["l2"].values()]
    h1 = [v for v, _ in spectra["h1"].values()]
    return max(h1) * min(l2) - max(l2) * min(h1)


@settings(max_examples=30, deadline=None)
@given(rho=st.floats(0.1, 10.0), theta=st.floats(1e-3, math.pi - 0.01),
       log_width=st.floats(-9.0, 0.0), seed=st.integers(0, 2**31))
def test_arb_and_iv_spectra_enclose_high_precision_values(rho, theta, log_width, seed):
    box = _box(rho, theta, 10.0 ** log_width)
    rng = np.random.default_rng(seed)
    points = [tuple(lo + (hi - lo) / 2 for lo, hi in box)]
    points += [tuple(rng.uniform(lo, hi) for lo, hi in box) for _ in range(3)]
    for convention in ("expected", "exact"):
        balls = _spectra([interval(lo, hi, "arb") for lo, hi in box], arb_ctx, convention)
        intervals = _spectra([interval(lo, hi) for lo, hi in box], iv, convention)
        cross = [balls, intervals]
        for k, (r, t) in enumerate(points):
            with mp.workprec(200):
                exact = _spectra([mpf(r), mpf(t)], mp, convention)
                exact_cross = _kappa_cross(exact)
            for loss in ("l2", "sobolev", "h1"):
                for key, (value, _) in exact[loss].items():
                    assert _contains(balls[loss][key][0], value), (loss, key, r, t)
                    if k == 0:  # the midpoint: both arithmetics contain it
                        assert _contains(intervals[loss][key][0], value), (loss, key)
            for spectra in cross:
                (l2_min, l2_max), (h1_min, h1_max) = (
                    (interval_min(*[v for v, _ in spectra[loss].values()]),
                     interval_max(*[v for v, _ in spectra[loss].values()]))
                    for loss in ("l2", "h1"))
                ctx = arb_ctx if spectra is balls else iv
                f = ctx.fmul(h1_max, l2_min) - ctx.fmul(l2_max, h1_min)
                assert _contains(f, exact_cross)


@settings(max_examples=30, deadline=None)
@given(r=st.floats(0.1, 10.0), log_width=st.floats(-9.0, 0.5), seed=st.integers(0, 2**31))
def test_arb_and_iv_one_neuron_minimum_enclose_high_precision_values(r, log_width, seed):
    box = (r, r * (1 + 10.0 ** log_width))
    rng = np.random.default_rng(seed)
    points = [box[0] + (box[1] - box[0]) / 2] + list(rng.uniform(*box, size=3))
    for activation in ("erf", "sine"):
        ball = gains.one_neuron_minimum(interval(*box, "arb"), activation, arb_ctx)
        enclosure = gains.one_neuron_minimum(interval(*box), activation, iv)
        for k, point in enumerate(points):
            with mp.workprec(200):
                exact = gains.one_neuron_minimum(mpf(float(point)), activation, mp)
            for loss in ("l2", "h1"):
                for j in range(2):
                    assert _contains(ball[loss][j], exact[loss][j]), (activation, loss, j)
                    if k == 0:
                        assert _contains(enclosure[loss][j], exact[loss][j])


@settings(max_examples=60, deadline=None)
@given(a=st.floats(-5, 5), b=st.floats(-5, 5), c=st.floats(-5, 5), d=st.floats(-5, 5))
def test_fmul_fdiv_are_interval_products(a, b, c, d):
    """fmul/fdiv enclose every product/quotient of points of the balls and are the interval
    product's hull up to the ball radius' rounding (Arb's x * y is wider for wide balls)."""
    (x0, x1), (y0, y1) = sorted((a, b)), sorted((c, d))
    x, y = interval(x0, x1, "arb"), interval(y0, y1, "arb")
    with mp.workprec(200):
        xs, ys = _ends(x), _ends(y)
        products = [p * q for p in xs for q in ys]
        lo, hi = _ends(arb_ctx.fmul(x, y))
        slack = (mpf(2) ** -25 * (max(products) - min(products))
                 + mpf(2) ** -50 * max(abs(p) for p in products) + mpf(2) ** -1000)
        assert lo <= min(products) and max(products) <= hi
        assert min(products) - lo <= slack and hi - max(products) <= slack
        if y > 0 or y < 0:  # the ball (not only the box) excludes 0
            quotients = [p / q for p in xs for q in ys]
            lo, hi = _ends(arb_ctx.fdiv(x, y))
            slack = (mpf(2) ** -25 * (max(quotients) - min(quotients))
                     + mpf(2) ** -50 * max(abs(q) for q in quotients))
            assert lo <= min(quotients) and max(quotients) <= hi
            assert min(quotients) - lo <= slack and hi - max(quotients) <= slack


@settings(max_examples=100, deadline=None)
@given(a=st.floats(-1e300, 1e300), b=st.floats(-1e300, 1e300))
def test_balls_enclose_their_float_box_on_its_side_of_zero(a, b):
    lo, hi = sorted((a, b))
    low, high = _ends(interval(lo, hi, "arb"))
    assert low <= lo and hi <= high
    with mp.workprec(2200):  # beyond the box: radius rounding (30 bits) + midpoint rounding
        excess = (high - low) - (mpf(hi) - mpf(lo))
        assert excess <= mpf(2) ** -27 * (mpf(hi) - mpf(lo)) + mpf(2) ** -50 * max(-lo, hi)
    assert low >= 0 or lo < 0
    assert high <= 0 or hi > 0


def test_balls_enclose_their_float_box():
    for lo, hi in [(0.1, 10.0), (1e-3, math.pi - 1e-3), (-2.0, 3.5), (1.0, 1.0 + 2**-40),
                   (0.0, 0.7), (2.054732069445573e-101, 1.0), (-1.0, -1e-300)]:
        ball = interval(lo, hi, "arb")
        low, high = _ends(ball)
        assert low <= lo and hi <= high
        assert (high - low) - (hi - lo) <= (hi - lo) * 2.0 ** -27 + 2.0 ** -50 * max(-lo, hi)
        assert low >= 0 or lo < 0  # a box on one side of 0 gives a ball on that side
        assert high <= 0 or hi > 0
    assert interval(0.1, arithmetic="arb").is_exact()  # a float point is an exact ball
    assert _ends(interval(0.1, arithmetic="arb")) == (mpf(0.1), mpf(0.1))


def test_ball_max_min_enclose_the_extremes():
    a, b = interval(1.0, 3.0, "arb"), interval(2.0, 2.5, "arb")
    high, low = interval_max(a, b, 0), interval_min(a, b, interval(-1.0, 5.0, "arb"))
    assert _contains(high, mpf(2)) and _contains(high, mpf(3))
    assert not _contains(high, mpf(1.99)) and not _contains(high, mpf(3.01))
    assert _contains(low, mpf(-1)) and _contains(low, mpf(2.5))
    assert not _contains(low, mpf(2.51))
    with pytest.raises(ValueError, match="one arithmetic"):
        interval_max(a, iv.mpf([0, 1]))


# ---------------------------------------------------------------- prove on both arithmetics

def _statements(ctx):
    """(f, box, keyword arguments, expected status) for the toy statements of test_certify."""
    return [
        (lambda b: ctx.sin(b[0]) - b[0], [(0.5, 3.0)], {}, "proved"),
        (lambda b: b[0] + b[1], [(0.0, 1.0), (0.0, 1.0)],
         {"relation": ">", "where": lambda b: b[0] - 0.5}, "proved"),
        (lambda b: ctx.sin(b[0]) - 0.9, [(0.0, 3.0)], {}, "counterexample"),
        (lambda b: b[0] - b[1], [(0.0, 1.0), (0.0, 1.0)],
         {"where": lambda b: b[1] - b[0], "min_width": 1e-3, "max_boxes": 200}, "undecided"),
        (lambda b: b[0] - b[1], [(0.0, 1.0), (0.0, 1.0)], {}, "counterexample"),
        (lambda b: b[0] - 1, [(0.0, 1.0)], {"min_width": 1e-3}, "undecided"),
        (lambda b: b[0] * b[1], [(-1.0, 1.0), (-1.0, 1.0)],
         {"relation": ">", "where": lambda b: (b[0], b[1]), "min_width": 1 / 16}, "undecided"),
        (lambda b: ctx.sin(b[0]) * ctx.cos(b[1]) - 1.01, [(0.0, 3.0), (-1.0, 1.0)], {},
         "proved"),
        (lambda b: b[0] ** 2 + b[1] ** 2 - 3, [(0.0, 1.0), (0.0, 1.0)], {}, "proved"),
        (lambda b: b[0] ** 2 - b[1], [(0.0, 1.0), (0.0, 1.0)], {}, "counterexample"),
    ]


def test_arb_and_iv_reach_the_same_status():
    for (f_iv, box, options, status), (f_arb, _, options_arb, _) in zip(
            _statements(iv), _statements(arb_ctx), strict=True):
        on_iv = prove(f_iv, box, **options)
        on_arb = prove(f_arb, box, arithmetic="arb", **options_arb)
        assert on_iv.status == on_arb.status == status, (box, options)
        if status == "counterexample":
            assert on_arb.counterexample["point"] == on_iv.counterexample["point"]
        assert describe_arithmetic("arb") in on_arb.settings["arithmetic"]


def test_planted_false_claim_has_a_counterexample_under_arb():
    # "λmin(l2) > 0.3" fails where t = ρ sin θ/(2π) > 0.05 (λmin(l2) = 1/2 − 2t for t < 1/4).
    def smallest_l2(box):
        rho, theta = box
        values = one_neuron_spectra(rho, theta, dim=3, ctx=arb_ctx)["l2"]
        return interval_min(*[v for v, _ in values.values()]) - arb(0.3)

    result = prove(smallest_l2, [(0.1, 10.0), (1e-3, math.pi - 1e-3)], relation=">",
                   names=("ρ", "θ"), arithmetic="arb")
    assert result.status == "counterexample"
    rho, theta = result.counterexample["point"]["ρ"], result.counterexample["point"]["θ"]
    W = np.array([[1.0, 0.0, 0.0]])
    W_star = rho * np.array([[math.cos(theta), math.sin(theta), 0.0]])
    dense = np.real(theory.spectrum(W, W_star, "l2", method="dense"))  # dense float64 Hessian
    assert dense.min() <= 0.3
    assert "Arb ball arithmetic" in result.statement and "counterexample" in result.statement


def test_statement_names_arb_and_its_precision():
    f = lambda b: arb_ctx.sin(b[0]) - b[0]  # noqa: E731
    result = prove(f, [(0.5, 3.0)], arithmetic="arb")
    assert f"python-flint {flint.__version__}" in result.statement
    assert f"{flint.ctx.prec}-bit precision" in result.statement
    previous = flint.ctx.prec
    try:
        flint.ctx.prec = 80
        assert "80-bit precision" in prove(f, [(0.5, 3.0)], arithmetic="arb").statement
    finally:
        flint.ctx.prec = previous


def test_bad_arithmetic_and_mismatched_enclosures_raise():
    box = [(0.0, 1.0)]
    with pytest.raises(ValueError, match="arithmetic must be one of .* got 'ball'"):
        prove(lambda b: b[0], box, arithmetic="ball")
    with pytest.raises(ValueError, match="arithmetic"):
        interval(0.0, 1.0, arithmetic="mpfi")
    with pytest.raises(ValueError, match="arb ball"):
        prove(lambda b: iv.mpf([-1, -0.5]), box, arithmetic="arb")  # iv under arb
    with pytest.raises(ValueError, match="mpmath.iv interval"):
        prove(lambda b: arb(-1), box)  # a ball under iv
    with pytest.raises(ValueError, match="arb ball"):
        prove(lambda b: -0.5, box, arithmetic="arb")  # a float is not an enclosure
    with pytest.raises(ValueError, match="NaN"):
        prove(lambda b: arb.nan(), box, arithmetic="arb")
    with pytest.raises(ValueError, match="convert"):
        arb_ctx.convert("0.1")  # a decimal string is not an exact float
