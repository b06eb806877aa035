"""proofs_check.check_formula: verdicts on known-true and known-false candidates."""

import math

import numpy as np
import pytest

from proofs_check import check_formula
from proofs_check.analysis.formulas import MIN_POINTS

# Textbook one-neuron L2 loss (k(a, b) = |a||b|(sin θ + (π − θ) cos θ)/(2π)), typed independently.
L2_LOSS = "r**2/4 + r_star**2/4 - r*r_star*(sin(theta) + (pi - theta)*cos(theta))/(2*pi)"
SOBOLEV_EXPECTED_GRADIENT = "w/2 - (pi - theta)/(2*pi)*w_star"


def _angle(w, w_star):
    v, u = w / np.linalg.norm(w), w_star / np.linalg.norm(w_star)
    return 2 * math.atan2(np.linalg.norm(v - u), np.linalg.norm(v + u))


def test_true_loss_holds_from_enough_points():
    verdict = check_formula(L2_LOSS, quantity="loss", loss="l2")
    assert verdict.holds
    assert verdict.n_points >= MIN_POINTS
    assert verdict.max_relative_error <= 1e-8
    assert verdict.route_disagreement <= 1e-9


def test_wrong_loss_fails_with_worst_configuration():
    wrong = L2_LOSS.replace("sin(theta) +", "-sin(theta) +")
    verdict = check_formula(wrong, quantity="loss", loss="l2", n_search=20)
    assert verdict.status == "fails" and not verdict.holds
    worst = verdict.worst
    assert worst["relative_error"] == verdict.max_relative_error > 1e-3
    assert _angle(worst["w"], worst["w_star"]) == pytest.approx(worst["theta"], abs=1e-9)


def test_never_holds_from_too_few_points():
    verdict = check_formula(L2_LOSS, quantity="loss", loss="l2", n_random=5, n_search=0)
    assert verdict.n_points < MIN_POINTS
    assert verdict.status == "inconclusive" and not verdict.holds
    assert verdict.max_relative_error <= 1e-8  # the formula is right: only the count is missing


def test_error_hidden_near_degenerate_angle_is_found():
    def candidate(w, w_star):
        r, r_star, theta = np.linalg.norm(w), np.linalg.norm(w_star), _angle(w, w_star)
        exact = r**2 / 4 + r_star**2 / 4 - r * r_star * (
            math.sin(theta) + (math.pi - theta) * math.cos(theta)) / (2 * math.pi)
        return exact * (1.01 if theta < 1e-4 else 1.0)

    verdict = check_formula(candidate, quantity="loss", loss="l2", n_random=20, n_search=0)
    assert verdict.status == "fails"
    assert verdict.worst["theta"] < 1e-4


def test_symbolic_vector_candidate_in_expected_convention_only():
    expected = check_formula(SOBOLEV_EXPECTED_GRADIENT, quantity="gradient", loss="sobolev",
                             convention="expected", n_search=60)
    assert expected.holds, expected.summary()
    exact = check_formula(SOBOLEV_EXPECTED_GRADIENT, quantity="gradient", loss="sobolev",
                          convention="exact", n_random=20, n_search=0)
    assert exact.status == "fails"


def test_candidate_that_raises_is_a_failure():
    def broken(w, w_star):
        raise ZeroDivisionError("boom")

    verdict = check_formula(broken, quantity="loss", loss="l2", n_random=3, n_search=0)
    assert verdict.status == "fails" and math.isinf(verdict.max_relative_error)
    assert "ZeroDivisionError" in verdict.worst["candidate"]


@pytest.mark.parametrize("kwargs,match", [
    ({"quantity": "jerk", "loss": "l2"}, "quantity"),
    ({"quantity": "loss", "loss": "l1"}, "loss"),
    ({"quantity": "loss"}, "loss is required"),
    ({"quantity": "loss", "loss": "l2", "rtol": -1.0}, "rtol"),
    ({"quantity": "loss", "loss": "l2", "dims": (1,)}, "dims"),
    ({"quantity": "loss", "loss": "l2", "n_search": -3}, "n_search"),
])
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_formula(L2_LOSS, **kwargs)


def test_unparseable_string_and_wrong_shape():
    with pytest.raises(ValueError, match="parsed"):
        check_formula("r +* 2", quantity="loss", loss="l2")
    with pytest.raises(ValueError, match="shape"):
        check_formula(lambda w, w_star: np.zeros(3), quantity="loss", loss="l2")


def test_a_correct_formula_checked_against_another_loss_says_which_loss_it_was_compared_with():
    verdict = check_formula(L2_LOSS, quantity="loss", loss="h1", n_random=20, n_search=0)
    assert verdict.status == "fails"
    assert "of h1" in verdict.summary()
    assert any("loss 'h1'" in note and "check loss=" in note for note in verdict.notes)
    assert check_formula(L2_LOSS, quantity="loss", loss="l2", n_random=250, n_search=0).holds
