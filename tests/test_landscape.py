"""The landscape census: its field, its classification and its bookkeeping, each checked against
an independent evaluation (theory's assembly, finite differences of the closed-form loss,
Monte-Carlo, the Wilson formula written out, a fresh run)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.optimize import brentq

import theory
from numerics.census_runs import census_resumable
from numerics.landscape import (
    CLASSES,
    CensusSettings,
    census,
    classify,
    expected_field,
    group_minima,
    initial_weights,
    l2_minima_under_h1,
    loss_levels,
    orthonormal_teacher,
    wilson_interval,
)
from numerics.montecarlo import monte_carlo

#: Start 45 of seed 0 at k = 6 ends at a spurious l2 minimum (the census at k = 6, 100 starts,
#: finds exactly this one; Safran & Shamir report such minima from k = 6 on).
K6_SPURIOUS_START = 45


@pytest.fixture(scope="module")
def k6_minimum():
    result = census(6, 1, "l2", indices=[K6_SPURIOUS_START])
    (endpoint,) = result.endpoints
    assert endpoint.cls == "spurious_minimum", endpoint.note
    return endpoint


@pytest.mark.parametrize("loss", ["l2", "h1"])
@pytest.mark.parametrize("K,K_star,d", [(3, 3, 3), (4, 2, 5), (2, 3, 4)])
def test_batched_field_equals_theory_population_gradient(loss, K, K_star, d):
    rng = np.random.default_rng(K * 100 + d)
    W_star = rng.standard_normal((K_star, d))
    Ws = rng.standard_normal((7, K, d))
    Ws[0, 1] = 2.5 * Ws[0, 0]  # a parallel student pair: the field is defined there
    batched = expected_field(Ws, W_star, loss, sobolev_weight=0.7)
    for W, F in zip(Ws, batched, strict=True):
        reference = theory.population_gradient(W, W_star, loss, sobolev_weight=0.7)
        np.testing.assert_allclose(F, reference, rtol=1e-12, atol=1e-13)


def test_spurious_l2_minimum_is_a_strict_local_minimum_by_finite_differences(k6_minimum):
    W, W_star = k6_minimum.W, orthonormal_teacher(6, 6)
    loss = lambda V: theory.population_loss(V, W_star, "l2")  # noqa: E731
    base = loss(W)
    assert base > 0.02 and abs(base - k6_minimum.objective) < 1e-14
    h = 1e-5
    gradient = np.zeros_like(W)
    for index in np.ndindex(W.shape):
        step = np.zeros_like(W)
        step[index] = h
        gradient[index] = (loss(W + step) - loss(W - step)) / (2 * h)
    assert np.linalg.norm(gradient) < 1e-8
    rng = np.random.default_rng(1)
    for _ in range(30):
        direction = rng.standard_normal(W.shape)
        direction /= np.linalg.norm(direction)
        # quadratic growth at rate >= λ_min/2 in every direction (λ_min from the census)
        rise = loss(W + 1e-3 * direction) - base
        assert rise >= 0.4 * k6_minimum.min_re_eig * 1e-6


def test_spurious_l2_minimum_is_not_an_h1_equilibrium_by_monte_carlo(k6_minimum):
    W_star = orthonormal_teacher(6, 6)
    (item,) = l2_minima_under_h1([k6_minimum], W_star)
    estimate = monte_carlo(k6_minimum.W, W_star, "h1", n_samples=200_000, seed=3)
    mc_norm = float(np.linalg.norm(estimate.gradient))
    error = float(np.linalg.norm(estimate.gradient_stderr))
    assert abs(mc_norm - item.h1_field_norm) <= 5 * error + 1e-3
    assert mc_norm > 20 * error  # not zero within its error bar
    assert item.after.cls in CLASSES and item.moved > 1e-3


def test_a_symmetric_critical_point_is_classified_saddle_with_a_descent_direction():
    W_star = orthonormal_teacher(2, 2)
    direction = np.array([1.0, 1.0]) / math.sqrt(2)

    def radial(c):  # field along the diagonal at W = [c u, c u]
        W = np.array([c * direction, c * direction])
        return float(theory.population_gradient(W, W_star, "l2")[0] @ direction)

    c = brentq(radial, 0.1, 2.0, xtol=1e-15)
    W = np.array([c * direction, c * direction])
    endpoint = classify(0, W, W_star, "l2", 0, CensusSettings())
    assert endpoint.cls == "saddle" and endpoint.min_re_eig < 0
    H = theory.population_hessian(endpoint.W, W_star, "l2")
    values, vectors = np.linalg.eigh(H)
    descent = vectors[:, 0].reshape(W.shape)
    base = theory.population_loss(endpoint.W, W_star, "l2")
    assert theory.population_loss(endpoint.W + 1e-3 * descent, W_star, "l2") < base


def test_a_start_next_to_the_teacher_is_global():
    W_star = orthonormal_teacher(3, 4)
    start = W_star + 1e-2 * np.random.default_rng(0).standard_normal(W_star.shape)
    endpoint = classify(0, start, W_star, "l2", 0, CensusSettings())
    assert endpoint.cls == "not_converged"  # not yet descended: the field is not small
    result = census(3, 2, "h1", dim=4)
    assert result.counts()["global"] == 2


def test_wilson_interval_matches_the_closed_form():
    z = 1.959963984540054
    for successes, trials in ((0, 10), (3, 10), (79, 200), (200, 200)):
        p = successes / trials
        centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
        half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials**2)) / (1 + z * z / trials)
        low, high = wilson_interval(successes, trials)
        assert low == pytest.approx(max(0.0, centre - half), abs=1e-12)
        assert high == pytest.approx(min(1.0, centre + half), abs=1e-12)
    assert wilson_interval(0, 0) is None


def test_starts_are_reproducible_per_index_and_have_variance_one_over_d():
    all_starts = initial_weights(range(10), 4, 6, seed=3)
    np.testing.assert_array_equal(initial_weights([7, 2], 4, 6, seed=3), all_starts[[7, 2]])
    many = initial_weights(range(2000), 3, 5, seed=1)
    variance, stderr = many.var(), many.var() * math.sqrt(2 / many.size)
    assert abs(variance - 1 / 5) < 5 * stderr
    uniform = initial_weights(range(2000), 3, 5, seed=1, init="xavier_uniform")
    assert np.abs(uniform).max() <= math.sqrt(6 / 6)
    assert abs(uniform.var() - 6 / 6 / 3) < 0.01  # U(−a, a) has variance a²/3


def test_minima_grouped_up_to_row_permutation():
    W_star = orthonormal_teacher(3, 3)
    rng = np.random.default_rng(0)
    base = census(3, 1, "l2").endpoints[0]
    other = np.array(base.W) + 0.3 * rng.standard_normal(base.W.shape)
    points = [base, base.__class__(**{**base.__dict__, "start": 1, "W": base.W[[2, 0, 1]]}),
              base.__class__(**{**base.__dict__, "start": 2, "W": other})]
    families = group_minima(points, float(np.linalg.norm(W_star)), 1e-5)
    assert sorted(f.count for f in families) == [1, 2]
    assert loss_levels([1.0, 1.0 + 1e-9, 2.0]) == [(1.0, 2), (2.0, 1)]


def test_resumed_census_equals_a_fresh_one_and_redoes_only_missing_starts(tmp_path):
    out = tmp_path / "census.jsonl"
    fresh = census(3, 5, "h1")
    first = census_resumable(3, 5, "h1", out=out, chunk_size=2)
    lines = out.read_text().splitlines()
    assert len(lines) == 5
    out.write_text("\n".join(lines[:2]) + "\n" + lines[2][:40])  # interrupted mid-line
    calls = []
    again = census_resumable(3, 5, "h1", out=out, chunk_size=2,
                             on_chunk=lambda done, total: calls.append(done))
    assert calls == [4, 5]  # starts 2, 3, 4 redone in two chunks
    for a, b, c in zip(fresh.endpoints, first.endpoints, again.endpoints, strict=True):
        assert a.cls == b.cls == c.cls
        np.testing.assert_array_equal(a.W, c.W)
    calls.clear()
    census_resumable(3, 5, "h1", out=out, on_chunk=lambda done, total: calls.append(done))
    assert calls == []  # nothing left to do
    other = census_resumable(3, 5, "h1", out=out, settings=CensusSettings(sobolev_weight=0.5))
    assert other.settings.sobolev_weight == 0.5  # different settings: a separate run


@pytest.mark.parametrize("bad", [
    dict(width=0, n_starts=3), dict(width=3, n_starts=0), dict(width=3, n_starts=3, loss="l1"),
    dict(width=3, n_starts=3, teacher_width=4, dim=3),
])
def test_bad_census_input_raises_value_error_naming_the_argument(bad):
    with pytest.raises(ValueError, match="width|n_starts|loss|teacher_width"):
        census(**bad)
    with pytest.raises(ValueError, match="sobolev_weight"):
        CensusSettings(sobolev_weight=-1)


def test_cli_json_has_the_documented_shape(capsys):
    from proofs_check.cli import main

    code = main(["landscape", "--width", "3", "--starts", "3", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["loss"] for r in report["results"]] == ["l2", "h1"]
    for result in report["results"]:
        assert set(result["counts"]) == set(CLASSES)
        assert sum(result["counts"].values()) == 3
        assert isinstance(result["spurious_minima"], list)


@pytest.mark.parametrize("argv", [
    ["landscape", "--width", "4", "--dim", "3", "--starts", "2"],
    ["landscape", "--width", "3", "--starts", "0"],
    ["landscape", "--width", "3", "--starts", "2", "--loss", "l1"],
    ["landscape", "--width", "3", "--starts", "2", "--sobolev-weight", "nan"],
])
def test_cli_bad_input_exits_2_with_one_line(argv, capsys):
    from proofs_check.cli import main

    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and "Traceback" not in "\n".join(err)
    assert len([line for line in err if "error" in line]) == 1


def test_figure_from_cli_reports(tmp_path, capsys):
    from proofs_check.cli import main
    from proofs_check.report.figures.landscape import figure_landscape, rows_from_reports

    paths = []
    for width in (2, 3):
        assert main(["landscape", "--width", str(width), "--starts", "2", "--json"]) == 0
        path = tmp_path / f"k{width}.json"
        path.write_text(capsys.readouterr().out)
        paths.append(path)
    rows = rows_from_reports(paths)
    assert [(r["k"], r["n"]) for r in rows] == [(2, 2), (3, 2)]
    assert all(0 <= r["l2_global"] <= 2 and 0 <= r["h1_global"] <= 2 for r in rows)
    out = figure_landscape(tmp_path / "landscape.png", rows=rows)
    assert out.exists() and out.stat().st_size > 1000


@pytest.mark.parametrize("loss", ["l2", "h1"])
def test_a_split_teacher_neuron_is_a_global_minimum_of_the_wider_student(loss):
    # relu(a·x/2) + relu(a·x/2) = relu(a·x): the K = 3 student computes the K* = 2 teacher
    W_star = orthonormal_teacher(2, 3)
    W = np.array([0.5 * W_star[0], 0.5 * W_star[0], W_star[1]])
    assert theory.population_loss(W, W_star, "h1") < 1e-15
    assert classify(0, W, W_star, loss, 0, CensusSettings()).cls == "global"
    assert classify(0, W + [[0, 0.1, 0], [0] * 3, [0] * 3], W_star, loss, 0,
                    CensusSettings()).cls != "global"


def test_cli_refuses_an_unusable_out_path_before_any_descent(tmp_path, capsys):
    from proofs_check.cli import main

    code = main(["landscape", "--width", "3", "--starts", "2", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "--out" in err and "is a directory" in err
