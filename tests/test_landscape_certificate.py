"""Ball-arithmetic enclosures, the Krawczyk test and the landscape certificates.

Independent references: theory's float64 closed forms (theory.population_*, a separate
implementation with numpy angles) at random points of a box, and 50-digit mpmath at the box
centre — the loss from the pair kernels with θ = acos(cos θ), the fields as mpmath derivatives
of that loss (l2, exact h1) or from the orthant probability (expected h1), and Jacobians as
mpmath derivatives of those fields (so the Cartesian Jacobian blocks are checked against
differentiation, not against their own formulas).
"""

from __future__ import annotations

import numpy as np
import pytest
from flint import arb, arb_mat
from mpmath import mp

import theory
from proofs_check.analysis import enclosures as E
from proofs_check.analysis.krawczyk import krawczyk_test
from proofs_check.analysis.landscape_certificate import (
    certify_field_excludes_zero,
    certify_h1_equilibrium,
    certify_l2_minimum,
    certify_lyapunov,
    certify_positive_definite,
)
from proofs_check.analysis.landscape_points import point_for

FIELDS = [("l2", "expected"), ("h1", "expected"), ("h1", "exact")]


def _random_box_points(center, radius, count, rng):
    return [center + rng.uniform(-radius, radius, center.shape) for _ in range(count)]


@pytest.mark.parametrize("loss,convention", FIELDS)
def test_float_values_at_random_points_of_the_box_lie_in_the_enclosures(loss, convention):
    rng = np.random.default_rng(3)
    k = 4
    center = rng.standard_normal((k, k)) / np.sqrt(k)
    radius = 1e-3
    teacher = np.eye(k)
    enc = E.field_and_jacobian(center, radius, loss, convention=convention)
    value = E.loss_enclosure(center, radius, loss)
    for W in _random_box_points(center, radius, 5, rng):
        F = theory.population_gradient(W, teacher, loss, convention=convention)
        H = theory.population_hessian(W, teacher, loss, convention=convention)
        assert E.contains_values(enc.field, F)
        assert E.contains_values(enc.jacobian, H)
        assert value.contains(arb(theory.population_loss(W, teacher, loss)))
    # an interval extension of first order: the width shrinks in proportion to the radius
    small = E.field_and_jacobian(center, radius * 1e-3, loss, convention=convention)
    for wide, narrow in ((enc.field, small.field), (enc.jacobian, small.jacobian)):
        w_wide = max(float(x.rad()) for row in wide.tolist() for x in row)
        w_narrow = max(float(x.rad()) for row in narrow.tolist() for x in row)
        assert 0 < w_narrow < 1.01e-3 * w_wide


def test_a_box_that_reaches_a_parallel_pair_is_refused():
    W = np.array([[1.0, 0.2, 0.1], [2.0, 0.4, 0.2], [0.1, 0.3, 1.0]])  # rows 0, 1 parallel
    with pytest.raises(E.DegenerateBoxError, match="student rows 0 and 1"):
        E.field_enclosure(W, 1e-6, "h1")
    near = W.copy()
    near[1, 1] += 1e-4
    E.field_enclosure(near, 1e-7, "h1")  # sin θ ~ 4e-5, certified > 0 on this box
    with pytest.raises(E.DegenerateBoxError):
        E.field_enclosure(near, 1e-3, "h1")  # this box contains parallel rows
    teacher_parallel = np.eye(3) + 0.0
    with pytest.raises(E.DegenerateBoxError, match="teacher row"):
        E.field_enclosure(teacher_parallel, 1e-9, "l2")


# ------------------------------------------------------------------ 50-digit mpmath reference

def _mp_pair(a, b):
    na = mp.sqrt(mp.fsum(x * x for x in a))
    nb = mp.sqrt(mp.fsum(x * x for x in b))
    dot = mp.fsum(x * y for x, y in zip(a, b, strict=True))
    theta = mp.acos(dot / (na * nb))
    return na, nb, dot, theta


def _mp_loss(W, teacher, weight):
    """L + weight·J from E[relu relu] = |a||b|(sin θ + (π − θ)cos θ)/2π and
    E[1 1] a·b = a·b (π − θ)/2π, summed as ½ΣΣ − ΣΣ + ½ΣΣ over all pairs (self pairs too)."""
    def kernel(a, b):
        na, nb, dot, theta = _mp_pair(a, b)
        if a is b:
            theta = mp.mpf(0)
        k = na * nb * (mp.sin(theta) + (mp.pi - theta) * mp.cos(theta)) / (2 * mp.pi)
        return k + weight * dot * (mp.pi - theta) / (2 * mp.pi)
    s = mp.fsum(kernel(a, b) for a in W for b in W)
    c = mp.fsum(kernel(a, b) for a in W for b in teacher)
    t = mp.fsum(kernel(a, b) for a in teacher for b in teacher)
    return s / 2 - c + t / 2


def _mp_expected_sobolev_field(W, teacher):
    """E_x[(∇g − ∇g*)·1{w_i·x>0}] = Σ_j P(w_i·x>0, w_j·x>0) w_j − Σ_j P(...) w*_j, with the
    orthant probability P = (π − θ)/(2π) (Sheppard)."""
    out = []
    for a in W:
        row = [mp.mpf(0)] * len(a)
        for b, sign in [(b, 1) for b in W] + [(b, -1) for b in teacher]:
            theta = mp.mpf(0) if b is a else _mp_pair(a, b)[3]
            p = (mp.pi - theta) / (2 * mp.pi)
            row = [r + sign * p * x for r, x in zip(row, b, strict=True)]
        out.append(row)
    return out


def _mp_field(W, teacher, loss, convention):
    flat = [x for row in W for x in row]
    k, d = len(W), len(W[0])

    def loss_at(values, weight):
        rows = [values[i * d:(i + 1) * d] for i in range(k)]
        return _mp_loss(rows, teacher, weight)

    if loss == "l2" or convention == "exact":
        weight = 0 if loss == "l2" else 1

        def component(index):
            def f(t):
                values = list(flat)
                values[index] += t
                return loss_at(values, weight)
            return mp.diff(f, 0)
        return [component(i) for i in range(k * d)]
    l2 = _mp_field(W, teacher, "l2", "expected")
    sob = _mp_expected_sobolev_field(W, teacher)
    return [x + y for x, y in zip(l2, [x for row in sob for x in row], strict=True)]


def _mp_case(loss, convention, prec=100):
    k = 3
    center = np.array([[0.9, 0.2, -0.3], [0.1, 0.7, 0.4], [-0.2, 0.3, 0.8]])
    W = [[mp.mpf(float(x)) for x in row] for row in center]
    teacher = [[mp.mpf(1) if p == j else mp.mpf(0) for p in range(k)] for j in range(k)]
    enc = E.field_and_jacobian(center, 0.0, loss, convention=convention, prec=prec)
    return k, center, W, teacher, enc


def _ball(x):
    return arb(mp.nstr(x, 50))


@pytest.mark.parametrize("loss,convention", FIELDS)
def test_fifty_digit_mpmath_at_the_centre_lies_in_the_field_and_loss_enclosures(loss,
                                                                               convention):
    mp.dps = 50
    try:
        k, center, W, teacher, enc = _mp_case(loss, convention)
        value = E.loss_enclosure(center, 0.0, loss, prec=100)
        with E.working_precision(200):
            assert value.contains(_ball(_mp_loss(W, teacher, 0 if loss == "l2" else 1)))
            field = _mp_field(W, teacher, loss, convention)
            flat_enc = [x for row in enc.field.tolist() for x in row]
            assert all(b.contains(_ball(f)) for b, f in zip(flat_enc, field, strict=True))
        # at radius 0 and 100 bits the enclosure is tight (float64 would be ~1e-16)
        assert max(float(x.rad()) for x in flat_enc) < 1e-25
    finally:
        mp.dps = 15


@pytest.mark.slow
@pytest.mark.parametrize("loss,convention", FIELDS)
def test_fifty_digit_mpmath_derivative_of_the_field_lies_in_the_jacobian_enclosure(
        loss, convention):
    mp.dps = 50
    try:
        k, center, W, teacher, enc = _mp_case(loss, convention)
        entries = enc.jacobian.tolist()
        with E.working_precision(200):
            for q in range(k * k):
                def shifted(t, q=q):
                    rows = [list(r) for r in W]
                    rows[q // k][q % k] += t
                    return rows
                for p in range(k * k):
                    derivative = mp.diff(
                        lambda t, p=p, shifted=shifted: _mp_field(shifted(t), teacher, loss,
                                                                  convention)[p], 0)
                    assert entries[p][q].contains(_ball(derivative)), (p, q)
    finally:
        mp.dps = 15


# ------------------------------------------------------------------ Krawczyk and type tests

def test_krawczyk_proves_the_zero_of_a_linear_map_and_refuses_a_far_centre():
    A = np.array([[2.0, 1.0], [0.5, 3.0]])
    b = np.array([1.0, 2.0])
    zero = np.linalg.solve(A, b)
    J = arb_mat([[arb(float(v)) for v in row] for row in A])

    def field_at(x):
        return arb_mat([[arb(float(A[i] @ x - b[i]))] for i in range(2)])

    near = zero + 1e-12
    assert krawczyk_test(near, 1e-9, field_at(near), J).proved
    far = zero + 1e-3
    result = krawczyk_test(far, 1e-9, field_at(far), J)
    assert not result.proved and "Newton step" in result.reason
    # a Jacobian enclosure containing a singular matrix cannot prove anything
    wide = arb_mat([[arb(2.0, 2.5), arb(1.0)], [arb(0.5), arb(3.0)]])
    assert not krawczyk_test(near, 1e-9, field_at(near), wide).proved


def test_positive_definiteness_of_ball_matrices():
    pd = arb_mat([[arb(2.0, 1e-3), arb(0.5, 1e-3)], [arb(0.5, 1e-3), arb(1.0, 1e-3)]])
    result = certify_positive_definite(pd)
    exact_min = (3 - np.sqrt(2)) / 2  # λ_min of [[2, .5], [.5, 1]]
    assert result.proved and 0 < result.lower_bound <= exact_min
    assert result.lower_bound > exact_min - 0.01
    indefinite = arb_mat([[arb(1.0), arb(0.0)], [arb(0.0), arb(-1.0, 1e-6)]])
    result = certify_positive_definite(indefinite)
    assert not result.proved and result.negative_direction is not None
    straddling = arb_mat([[arb(1.0), arb(0.0)], [arb(0.0), arb(0.0, 1e-6)]])
    result = certify_positive_definite(straddling)
    assert not result.proved and result.negative_direction is None


def test_lyapunov_certificate_for_non_normal_and_unstable_matrices():
    stable = arb_mat([[arb(1.0, 1e-6), arb(5.0)], [arb(0.0), arb(1.0, 1e-6)]])
    result = certify_lyapunov(stable)
    assert result.proved and 0 < result.real_part_bound <= 1.0
    unstable = arb_mat([[arb(1.0), arb(0.0)], [arb(0.0), arb(-0.5)]])
    assert not certify_lyapunov(unstable).proved
    rotation = arb_mat([[arb(0.1), arb(-1.0)], [arb(1.0), arb(0.1)]])  # eigenvalues 0.1 ± i
    result = certify_lyapunov(rotation)
    assert result.proved and result.real_part_bound <= 0.1


# ------------------------------------------------------------------ certificates at k = 6

def test_k6_spurious_l2_minimum_and_h1_trap_are_certified():
    W = point_for(6, "l2-spurious-minimum")
    result = certify_l2_minimum(W)
    assert result.status == "proved", result.reason
    assert result.radius is not None and result.l2_loss[0] >= 1e-3
    assert result.margin > 0
    # independent float64 check: the Hessian at the centre has λ_min above the certified bound
    H = theory.population_hessian(np.array(result.center), np.eye(6), "l2")
    assert np.linalg.eigvalsh(H)[0] >= result.margin
    h1 = certify_h1_equilibrium(point_for(6, "h1-stable-equilibrium"))
    assert h1.status == "proved", h1.reason
    J = theory.population_hessian(np.array(h1.center), np.eye(6), "h1")
    assert np.linalg.eigvals(J).real.min() >= h1.real_part_bound > 0
    exact = certify_field_excludes_zero(h1.center, h1.radius, "h1", convention="exact")
    assert exact.excluded
    float_norm = np.linalg.norm(theory.population_gradient(np.array(h1.center), np.eye(6),
                                                           "h1", convention="exact"))
    assert exact.norm_lower <= float_norm < exact.norm_lower * (1 + 1e-6)
    at_minimum = certify_field_excludes_zero(result.center, result.radius, "h1")
    assert at_minimum.excluded


def test_a_saddle_is_certified_a_saddle_not_a_minimum():
    result = certify_l2_minimum(point_for(6, "l2-saddle"))
    assert result.status == "fails"
    assert "not a local minimum" in result.statement
    H = theory.population_hessian(np.array(result.center), np.eye(6), "l2")
    assert np.linalg.eigvalsh(H)[0] < 0


def test_the_global_minimum_moved_off_is_not_certified():
    rng = np.random.default_rng(0)
    W = np.eye(6) + 1e-3 * rng.standard_normal((6, 6))
    result = certify_l2_minimum(W)
    assert result.status == "inconclusive"
    assert "parallel" in result.reason
    h1 = certify_h1_equilibrium(W)
    assert h1.status == "inconclusive"


# ------------------------------------------------------------------ the command


def test_certify_minimum_command_proves_k6_and_refuses_bad_input(tmp_path, capsys):
    from proofs_check import cli

    assert cli.main(["certify-minimum", "--width", "6"]) == 0
    out = capsys.readouterr().out
    assert out.count("proved") >= 4 and "all proved" in out
    assert cli.main(["certify-minimum", "--width", "6", "--radius", "1e-3"]) == 1
    assert "NOT all proved" in capsys.readouterr().out
    for bad in (["--radius", "nan"], ["--radius", "0"], ["--from", str(tmp_path / "no.json")],
                ["--prec", "10"]):
        assert cli.main(["certify-minimum", "--width", "6", *bad]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "error" in err[0]
    census = tmp_path / "census.jsonl"
    census.write_text('{"key": {"width": 5}, "endpoint": {"cls": "global"}}\n')
    assert cli.main(["certify-minimum", "--width", "6", "--from", str(census)]) == 2
    assert "no spurious l2 minimum" in capsys.readouterr().err


def test_certify_minimum_json_is_strict_and_names_its_source(capsys):
    import json

    from proofs_check import cli

    assert cli.main(["certify-minimum", "--width", "6", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out,
                         parse_constant=lambda c: pytest.fail(f"non-strict {c}"))
    assert payload["proved"] and payload["l2"]["status"] == "proved"
    assert payload["source"]["start"] == 45 and payload["source"]["seed"] == 0


def test_rectangular_student_and_partial_teacher_lie_in_the_enclosures():
    rng = np.random.default_rng(5)
    K, d, K_star = 4, 3, 2  # W* = first two rows of I_3
    center = rng.standard_normal((K, d)) / np.sqrt(d)
    teacher = np.eye(d)[:K_star]
    for loss, convention in FIELDS:
        enc = E.field_and_jacobian(center, 1e-4, loss, convention=convention,
                                   teacher_width=K_star)
        value = E.loss_enclosure(center, 1e-4, loss, teacher_width=K_star)
        for W in _random_box_points(center, 1e-4, 3, rng):
            assert E.contains_values(enc.field, theory.population_gradient(
                W, teacher, loss, convention=convention))
            assert E.contains_values(enc.jacobian, theory.population_hessian(
                W, teacher, loss, convention=convention))
            assert value.contains(arb(theory.population_loss(W, teacher, loss)))


def test_printed_bounds_round_toward_the_safe_side():
    from hypothesis import given
    from hypothesis import strategies as st

    from proofs_check.analysis.landscape_certificate import lower_text, upper_text

    @given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False), st.integers(1, 17))
    def check(x, digits):
        assert float(lower_text(x, digits)) <= x <= float(upper_text(x, digits))

    check()
    assert lower_text(0.0017896365657472336) == "0.00178"
    assert upper_text(0.0017896365657472336) == "0.00179"
