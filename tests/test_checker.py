"""The checker: verdict rules, conditioning claims re-checked independently, the comparison
table's statistics, and the `check` job's report and exit code."""

import json
import math

import numpy as np
import pytest

import theory
from proofs_check import claims as registry
from proofs_check.claims import Verdict, get_claim
from proofs_check.cli import main
from proofs_check.compare import GridPoint, _jackknife_kappa, compare_point


def test_verdicts_must_carry_their_evidence():
    with pytest.raises(ValueError, match="counterexample"):
        Verdict("fails", "broken")
    with pytest.raises(ValueError, match="condition"):
        Verdict("conditional", "sometimes")
    with pytest.raises(ValueError, match="status must be one of"):
        Verdict("maybe", "?")


def test_unknown_claim_id_is_a_value_error():
    with pytest.raises(ValueError, match="unknown claim"):
        get_claim("no-such-claim")


def _kappas(point, convention):
    W, W_star = np.array(point["W"]), np.array(point["W_star"])
    return (theory.condition_number(W, W_star, "l2"),
            theory.condition_number(W, W_star, "h1", convention=convention))


def test_kappa_claim_is_conditional_and_its_counterexample_really_breaks_it():
    verdict = get_claim("kappa-h1-below-l2").run(True)
    assert verdict.status == "conditional"
    assert verdict.evidence["violations_by_K"][1] == 0
    kappa_l2, kappa_h1 = _kappas(verdict.counterexample, "expected")
    assert verdict.counterexample["K"] >= 2
    assert math.isfinite(kappa_l2) and kappa_h1 > kappa_l2


def test_exact_hessian_kappa_claim_fails_even_for_one_neuron():
    """Known to fail: the checker must say so. One neuron, d = 3: the exact Sobolev Hessian has
    the complement eigenvalue ½ + ρ cos²θ/(2π sin θ), so κ_exact(h1) >= κ(l2)."""
    verdict = get_claim("kappa-h1-below-l2-exact-hessian").run(True)
    assert verdict.status == "fails"
    assert verdict.evidence["violations_by_K"][1] > 0
    kappa_l2, kappa_h1 = _kappas(verdict.counterexample, "exact")
    assert kappa_h1 >= kappa_l2
    w, u = np.array([np.cos(0.3), np.sin(0.3), 0.0]), np.array([1.0, 0.0, 0.0])
    assert theory.condition_number(w, u, "h1", convention="exact") > \
        theory.condition_number(w, u, "l2")


def test_lambda_claim_needs_normalisation_and_one_neuron():
    verdict = get_claim("lambda-min-grows-lambda-max-barely-changes").run(True)
    assert verdict.status == "conditional"
    assert "normalised" in verdict.condition
    assert verdict.evidence["unnormalised"]["lambda_max_ratio"][1] > 1.5
    point = verdict.counterexample
    W, W_star = np.array(point["W"]), np.array(point["W_star"])
    l2 = np.real(theory.spectrum(W, W_star, "l2"))
    h1 = np.real(theory.spectrum(W, W_star, "h1")) / 2
    assert h1.min() <= l2.min() or abs(h1.max() / l2.max() - 1) > 0.1


def test_jackknife_standard_error_covers_the_truth():
    """Replicas = H + independent noise of known size: κ of the pooled matrix lies within 3
    jackknife SE of κ(H), and the SE shrinks like the noise."""
    H = np.diag([1.0, 2.0, 5.0]) + 0.1
    rng = np.random.default_rng(0)
    for noise in (1e-2, 1e-3):
        replicas = [H + noise * rng.normal(size=H.shape) for _ in range(16)]
        estimate, stderr = _jackknife_kappa(replicas)
        true = np.linalg.eigvalsh(H)
        assert abs(estimate - true[-1] / true[0]) <= 3 * stderr
        assert stderr < 50 * noise


def test_compare_point_agrees_for_one_neuron():
    row = compare_point(GridPoint(1, 1, 2, 0, "perturbed", 0.5), "h1", n_samples=40_000,
                        replicates=4)
    assert row.verdict == "agrees"
    assert math.isfinite(row.measured_kappa_stderr) and row.measured_kappa_stderr > 0


def test_check_job_writes_report_and_figures(tmp_path, capsys):
    code = main(["check", "--quick", "--claim", "kappa-h1-below-l2", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "kappa-h1-below-l2" in out and "conditional" in out
    report = (tmp_path / "report.md").read_text()
    assert "Counterexample" in report
    # --claim draws only the figures that claim needs, embedded in its section
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["kappa_survey.png"]
    assert (tmp_path / "kappa_survey.png").stat().st_size > 1000
    section = report.split("## `kappa-h1-below-l2`")[1]
    assert "(kappa_survey.png)" in section and "*Figure 1.*" in section
    png_size = (tmp_path / "kappa_survey.png").stat().st_size
    assert (tmp_path / "report.html").stat().st_size > png_size  # the figure is embedded
    assert json.loads((tmp_path / "report.json").read_text())["claims"][0]["id"] == \
        "kappa-h1-below-l2"


def test_check_job_exits_nonzero_when_a_claim_expected_to_hold_fails(tmp_path, capsys,
                                                                      monkeypatch):
    claim = get_claim("kappa-h1-below-l2-exact-hessian")
    monkeypatch.setitem(registry._REGISTRY, claim.id,
                        registry.Claim(claim.id, claim.statement, claim.source, claim.scope,
                                       "holds", claim.check))
    code = main(["check", "--quick", "--claim", claim.id, "--out", str(tmp_path),
                 "--no-figures", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 1
    assert payload["ok"] is False
    assert payload["claims"][0]["status"] == "fails"


def test_check_rejects_unknown_claim(capsys):
    assert main(["check", "--claim", "nope", "--no-figures"]) == 2
    assert "unknown claim" in capsys.readouterr().err


@pytest.mark.slow
def test_flow_claim_rescaled_time_is_reported():
    verdict = get_claim("flow-h1-faster-than-l2").run(True)
    assert verdict.status in ("holds", "conditional")
    for run in verdict.evidence["runs"]:
        assert run["h1"]["time"] < run["l2"]["time"]


def test_compare_point_detects_a_wrong_prediction(monkeypatch):
    """A prediction whose largest eigenvalue is 10 % too large must be flagged."""
    import proofs_check.compare as compare

    true_spectrum = theory.spectrum

    def inflated(*args, **kwargs):
        values = np.real(true_spectrum(*args, **kwargs)).copy()
        values[-1] *= 1.1
        return values

    monkeypatch.setattr(compare.theory, "spectrum", inflated)
    row = compare_point(GridPoint(1, 1, 2, 0, "perturbed", 0.5), "l2", n_samples=160_000)
    assert row.verdict == "disagrees"


@pytest.mark.parametrize(
    ("times", "status"),
    [
        ([(10.0, 3.0), (20.0, 5.0)], "holds"),         # faster even after rescaling by 1 + λ = 2
        ([(10.0, 3.0), (20.0, 15.0)], "conditional"),  # faster raw, slower rescaled at one start
        ([(10.0, 3.0), (20.0, 25.0)], "fails"),        # l2 first at one start
    ],
)
def test_flow_claim_verdict_rules(monkeypatch, times, status):
    """The verdict logic on controlled flow times (the flows themselves are tested in
    tests/test_flow.py and, end to end, by the slow test above)."""
    from proofs_check.claims import dynamics

    rows = tuple({"K": 1, "d": 3, "seed": k, "l2": {"time": l2}, "h1": {"time": h1}}
                 for k, (l2, h1) in enumerate(times))
    monkeypatch.setattr(dynamics, "flow_times", lambda quick: rows)
    verdict = dynamics.check_flow_speed(True)
    assert verdict.status == status
    if status != "holds":
        assert verdict.counterexample["seed"] == 1


def test_exact_basin_claim_matches_the_predicted_edge():
    """Full d = 3 exact flows started just below and above θ_c end on the teacher's ray and on
    the antiparallel ray respectively, as the reduced flow predicts."""
    from theory.reduced_flow import critical_angle

    verdict = get_claim("basin-one-neuron-exact-h1").run(True)
    assert verdict.status == "conditional"
    edge = critical_angle("h1", convention="exact")
    assert verdict.evidence["predicted_edge_theta_c"] == edge
    assert verdict.counterexample["theta0"] > edge
    assert verdict.counterexample["final_angle"] > math.pi - 1e-3


@pytest.mark.parametrize(("distances", "status"), [((1e-10, 2e-10), "holds"),
                                                   ((1e-10, 0.3), "fails")])
def test_expected_basin_verdict_rules(monkeypatch, distances, status):
    from proofs_check.claims import basins

    runs = tuple({"loss": "h1", "r0": 1.0, "theta0": 3.0, "final_distance": d}
                 for d in distances)
    monkeypatch.setattr(basins, "_expected_runs", lambda quick: runs)
    verdict = basins.check_expected_basin(True)
    assert verdict.status == status
    if status == "fails":
        assert verdict.counterexample["final_distance"] == 0.3
