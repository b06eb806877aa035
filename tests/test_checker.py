"""The checker: verdict rules, conditioning claims re-checked independently, the comparison
table's statistics, and the `check` job's report and exit code."""

import json
import math

import numpy as np
import pytest

import theory
from proofs_check import claims as registry
from proofs_check.analysis.compare import GridPoint, _jackknife_kappa, compare_point
from proofs_check.claims import Verdict, get_claim
from proofs_check.cli import main
from theory.configurations import make_configuration


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
    return (theory.condition_number(W, W_star, "l2", method="dense"),
            theory.condition_number(W, W_star, "h1", convention=convention, method="dense"))


def _angles(W, W_star):
    """Per-row angle (degrees) to the nearest teacher row, by arccos (independent of the
    checker's atan2 form and matching)."""
    W, W_star = np.atleast_2d(W), np.atleast_2d(W_star)
    cos = (W @ W_star.T) / np.outer(np.linalg.norm(W, axis=1), np.linalg.norm(W_star, axis=1))
    return np.degrees(np.arccos(np.clip(cos, -1, 1))).min(axis=1)


def test_kappa_claim_is_conditional_and_its_counterexample_really_breaks_it():
    verdict = get_claim("kappa-h1-below-l2").run(True)
    assert verdict.status == "conditional"
    assert "fails at" in verdict.summary and "near the teacher" not in verdict.summary
    point = verdict.counterexample
    kappa_l2, kappa_h1 = _kappas(point, "expected")
    assert point["K"] >= 2
    assert math.isfinite(kappa_l2) and kappa_h1 > kappa_l2
    # the location is measured, and it is what an independent computation gives
    np.testing.assert_allclose(sorted(point["row_angles_deg"]),
                               sorted(_angles(point["W"], point["W_star"])), atol=1e-6)
    # the condition is computed from the rows: every row inside it holds strictly
    failures = verdict.evidence["failures"]
    region = failures["regions"][0]
    assert verdict.condition == region["text"] and region["strict"] >= failures["min_support"]


def test_kappa_claim_reports_the_direction_dependence_at_the_teacher():
    """At W* the Sobolev Jacobian depends on the direction of approach: the evidence reports κ
    over >= 100 directions; an independent one-sided limit along one fresh direction (central
    differences of the expected field at W* + εD) lies inside [min, max] for K = K* = 2."""
    from proofs_check.claims.conditioning import gather_kappa

    limits = {(row["K"], row["d"]): row for row in
              gather_kappa(True, "h1_expected", matched=True)["teacher_limits"]}
    spread = limits[(2, 3)]["kappa_h1_over_directions"]
    assert spread["count"] >= 100 and spread["min"] < spread["median"] < spread["max"]
    assert spread["max"] > 2 * spread["min"]  # genuinely direction dependent
    W_star = make_configuration(2, 2, 3, 0, at="teacher").W_star
    D = np.random.default_rng(123).normal(size=W_star.shape)
    base = W_star + 1e-4 * D / np.linalg.norm(D)
    h = 1e-7
    J = np.zeros((6, 6))
    for j in range(6):
        step = np.zeros(6)
        step[j] = h
        plus = theory.population_gradient(base + step.reshape(2, 3), W_star, "h1")
        minus = theory.population_gradient(base - step.reshape(2, 3), W_star, "h1")
        J[:, j] = ((plus - minus) / (2 * h)).ravel()
    real = np.linalg.eigvals(J).real
    assert spread["min"] * 0.99 <= real.max() / real.min() <= spread["max"] * 1.01


def test_exact_hessian_kappa_claim_fails_even_for_one_neuron():
    """Known to fail: the checker must say so. One neuron, d = 3: the exact Sobolev Hessian has
    the complement eigenvalue ½ + ρ cos²θ/(2π sin θ), so κ_exact(h1) >= κ(l2)."""
    verdict = get_claim("kappa-h1-below-l2-exact-hessian").run(True)
    assert verdict.status == "fails"
    assert verdict.evidence["failures"]["ranges"]["K"][0] == 1
    kappa_l2, kappa_h1 = _kappas(verdict.counterexample, "exact")
    assert kappa_h1 > kappa_l2
    w, u = np.array([np.cos(0.3), np.sin(0.3), 0.0]), np.array([1.0, 0.0, 0.0])
    assert theory.condition_number(w, u, "h1", convention="exact") > \
        theory.condition_number(w, u, "l2")


def test_exact_hessian_ties_are_not_violations():
    """d = 2, one neuron: the exact h1 and l2 spectra give equal κ (ties, reported apart)."""
    from proofs_check.claims.conditioning import check_kappa_exact, gather_kappa

    evidence = gather_kappa(True, "h1_exact", matched=True)
    verdict = check_kappa_exact(evidence)
    counts = verdict.evidence["comparison"]
    assert counts["ties"] > 0
    ties = [row for row in evidence["rows"] if row["K"] == 1 and row["d"] == 2]
    assert ties and all(abs(r["kappa_h1"] / r["kappa_l2"] - 1) < 1e-9 for r in ties)
    assert counts["violations"] + counts["ties"] + counts["satisfied"] == len(evidence["rows"])


def test_lambda_claim_needs_normalisation():
    verdict = get_claim("lambda-min-grows-lambda-max-barely-changes").run(True)
    assert verdict.status == "conditional"
    assert "normalised" in verdict.condition
    assert verdict.evidence["unnormalised"]["lambda_max_ratio"]["max"] > 1.5
    point = verdict.counterexample
    W, W_star = np.array(point["W"]), np.array(point["W_star"])
    l2 = np.linalg.eigvalsh(theory.population_hessian(W, W_star, "l2"))
    h1 = np.linalg.eigvals(theory.population_hessian(W, W_star, "h1")).real / 2
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
def test_flow_claims_on_real_flows():
    """Raw time: h1 first at every start. One neuron: the predicted asymptotic rates are the
    closed-form values μ_l2 = ½ (∇²L(w*) = I/2) and μ_h1 = (1 + λ)/2 = 1 (expected Jacobian
    limit (1 + λ)/2·I), so the normalised comparison is a tie there, not a violation."""
    verdict = get_claim("flow-h1-faster-than-l2").run(True)
    assert verdict.status == "holds"
    for run in verdict.evidence["runs"]:
        assert run["h1"]["time"] < run["l2"]["time"]
    normalised = get_claim("flow-h1-normalised-faster-than-l2").run(True)
    one = next(run for run in normalised.evidence["runs"] if run["K"] == 1)
    assert one["l2"]["predicted_asymptotic_rate"] == pytest.approx(0.5, rel=1e-6)
    assert one["h1"]["predicted_asymptotic_rate"] == pytest.approx(1.0, rel=1e-6)
    assert normalised.evidence["comparison"]["ties"] >= 1
    assert normalised.status == "conditional" and "K > 1" in normalised.condition


def test_compare_point_detects_a_wrong_prediction(monkeypatch):
    """A prediction whose largest eigenvalue is 10 % too large must be flagged."""
    import proofs_check.analysis.compare as compare

    true_spectrum = theory.spectrum

    def inflated(*args, **kwargs):
        values = np.real(true_spectrum(*args, **kwargs)).copy()
        values[-1] *= 1.1
        return values

    monkeypatch.setattr(compare.theory, "spectrum", inflated)
    row = compare_point(GridPoint(1, 1, 2, 0, "perturbed", 0.5), "l2", n_samples=160_000)
    assert row.verdict == "disagrees"


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


# ----------------------------------------------------------------- evidence helpers, report text

def test_strict_comparison_reports_ties_apart_from_violations():
    from proofs_check.claims._evidence import compare_strict

    left = [1.0, 2.0, 3.0, 1.0, math.inf, math.nan, 5.0]
    right = [2.0, 2.0 * (1 + 1e-12), 2.0, math.inf, math.inf, 1.0, 5.0 * (1 + 1e-6)]
    outcome = compare_strict(left, right, "<", rtol=1e-9).outcome.tolist()
    assert outcome == ["satisfied", "tie", "violation", "satisfied", "tie", "violation",
                       "satisfied"]
    # a per-point tolerance widens the tie only where asked
    wide = compare_strict([5.0, 5.0], [5.0 * (1 + 1e-6)] * 2, "<", rtol=[1e-9, 1e-5])
    assert wide.outcome.tolist() == ["satisfied", "tie"]
    with pytest.raises(ValueError, match="relation"):
        compare_strict([1.0], [2.0], "<=")


def test_failure_condition_is_computed_from_the_records():
    from proofs_check.claims._evidence import failure_condition

    records = [{"K": K, "d": d, "relative_distance": 0.01 * (1 + K)}
               for K in (1, 2, 3) for d in (2, 3, 5)]
    failed = np.array([r["K"] == 3 and r["d"] >= 3 for r in records])
    where = failure_condition(records, failed, min_support=3)
    assert where["failures"].startswith("fails at 2 of 9 surveyed points: K = 3, d ∈ {3, 5}")
    assert where["ranges"]["K"] == [3.0, 3.0]
    # K <= 2 holds at 6 points, d <= 2 at 3 (and K = 3, d = 2 adds one): the best region is
    # K <= 2, a surveyed grid value labelled with what the next value showed
    assert where["condition"] == ("K ≤ 2 (holds strictly at all 6 surveyed points there; grid "
                                  "values, next surveyed K = 3: 2 violations)")
    # no region of the required support -> no condition
    assert failure_condition(records, failed, min_support=7)["condition"] is None


def test_location_is_measured():
    from proofs_check.claims._evidence import describe_location, location

    W_star = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    W = np.array([[0.0, 2.0, 0.2], [1.0, 0.1, 0.0]])  # rows swapped and tilted
    where = location(W, W_star)
    assert where["matched"] == [1, 0]
    np.testing.assert_allclose(sorted(where["row_angles_deg"]),
                               sorted(_angles(W, W_star)), atol=1e-9)
    expected = np.linalg.norm(W[::-1] - W_star) / np.linalg.norm(W_star)
    assert where["relative_distance"] == pytest.approx(expected)
    assert "relative distance" in describe_location(where)
    wider = location(np.vstack([W, [[0.0, 0.0, 1.0]]]), W_star)
    assert wider["relative_distance"] is None and len(wider["row_angles_deg"]) == 3


def test_json_is_strict_and_keeps_unicode():
    from proofs_check.report.markdown import dumps

    text = dumps({"κ": math.inf, "rows": [1.0, math.nan, -math.inf], "θ": "π/3"})
    assert "\\u" not in text and "π/3" in text

    def bare(constant):
        raise AssertionError(f"bare {constant} in JSON")

    data = json.loads(text, parse_constant=bare)
    assert data["κ"] is None and data["rows"] == [1.0, None, None]
    assert data["null_reasons"]["$.κ"].startswith("+inf")
    assert data["null_reasons"]["$.rows[1]"].startswith("NaN")
    assert data["null_reasons"]["$.rows[2]"].startswith("-inf")


def test_markdown_report_escapes_pipes_and_carries_provenance(tmp_path):
    from proofs_check.report.markdown import ClaimResult, Report, provenance, write_markdown

    claim = get_claim("kappa-h1-below-l2")
    verdict = Verdict("holds", "|a| < |b| at every point",
                      {"seeds": "0..2", "x": math.inf, "rows": list(range(40))})
    results = [ClaimResult(claim, verdict, 0.1)]
    report = Report(results, provenance=provenance(True, results, complete=False))
    text = write_markdown(report, tmp_path, True).read_text()
    row = next(line for line in text.splitlines() if line.startswith("| [`kappa"))
    assert "\\|a\\| < \\|b\\|" in row and row.count(" | ") == 4
    assert "## Provenance" in text and "mode quick" in text and "numpy" in text
    assert "`kappa-h1-below-l2`: 0..2" in text
    assert "28 more (all in `check --json`)" in text  # long lists abridged for readers
    info = report.provenance
    for key in ("package_version", "date_utc", "python", "numpy", "scipy", "sympy", "mpmath",
                "mode", "seeds"):
        assert key in info
    assert "git_commit" in info  # a commit or None with a reason, never an error


def _payload(mode="default", all_claims=True, summary="κ(h1) < κ(l2) | sometimes; at 2*pi*r"):
    return {"provenance": {"mode": mode, "all_claims": all_claims},
            "claims": [{"id": "kappa-c", "expected": "conditional", "status": "conditional",
                        "summary": summary, "condition": "K < 2", "error": None}]}


def _site(tmp_path, readme_table):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{readme_table.SUMMARY_START}\nold\n{readme_table.SUMMARY_END}\n"
                      "outro\n")
    findings = tmp_path / "docs" / "findings" / "index.md"
    findings.parent.mkdir(parents=True)
    findings.write_text(f"# Findings\n{readme_table.START}\nold\n{readme_table.END}\nend\n")
    return readme, findings


def test_findings_tables_are_written_between_markers_and_checked(tmp_path, capsys):
    from proofs_check.report import readme_table

    readme, findings = _site(tmp_path, readme_table)
    claims = ("kappa-c",)
    assert readme_table.update(readme, _payload(), check=True, readme_claims=claims) == 1
    assert "old" in readme.read_text() and "old" in findings.read_text()  # --check: no write
    assert readme_table.update(readme, _payload(), readme_claims=claims) == 0
    text, page = readme.read_text(), findings.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n")
    assert page.startswith("# Findings\n") and page.endswith("end\n")
    # the README line: id linked to its family page, verdict, first clause (no headline yet)
    line = next(line for line in text.splitlines() if line.startswith("- "))
    assert line == ("- [`kappa-c`](docs/findings/conditioning.md): **conditional** — "
                    "κ(h1) < κ(l2) | sometimes …")
    # the findings page: a table row with an anchor link, and the claim's own section
    assert "| [`kappa-c`](#kappa-c) | **conditional** | κ(h1) < κ(l2) \\| sometimes … |" in page
    assert "### `kappa-c` {#kappa-c}" in page and "* at 2\\*pi\\*r" in page
    assert "**Condition:** K < 2" in page
    assert readme_table.update(readme, _payload(), check=True, readme_claims=claims) == 0
    with pytest.raises(ValueError, match="default"):
        readme_table.table(_payload(mode="quick"))
    with pytest.raises(ValueError, match="every claim"):
        readme_table.table(_payload(all_claims=False))
    with pytest.raises(ValueError, match="does not have"):
        readme_table.summary_lines(_payload(), ("missing-claim",))
    readme.write_text("no markers\n")
    assert readme_table.main(["--readme", str(readme), "--from-json",
                              str(tmp_path / "missing.json")]) == 2
    capsys.readouterr()


def test_a_headline_replaces_the_first_clause_and_readme_lines_stay_short():
    from proofs_check.report import readme_table

    payload = _payload(summary="x" * 400)
    claim = payload["claims"][0]
    line = readme_table.summary_lines(payload, ("kappa-c",))
    assert len(line) <= readme_table.README_LINE_LIMIT and line.endswith("…")
    claim["headline"] = "fails at 11 of 395 points, all with K ≥ 2"
    line = readme_table.summary_lines(payload, ("kappa-c",))
    assert line.endswith("**conditional** — fails at 11 of 395 points, all with K ≥ 2")


def test_every_readme_claim_is_registered_and_has_a_findings_page():
    from proofs_check.report import readme_table

    registered = {claim.id for claim in registry.all_claims()}
    assert len(readme_table.README_CLAIMS) <= 12
    assert set(readme_table.README_CLAIMS) <= registered
    from pathlib import Path

    root = Path(__file__).parents[1] / "docs" / "findings"
    for claim_id in registered:
        page = readme_table.family_page(claim_id)
        assert page is not None and (root / page).is_file(), claim_id


def test_readme_table_refuses_a_quick_run(capsys):
    assert main(["check", "--quick", "--readme-table", "README.md", "--no-figures"]) == 2
    assert "default run" in capsys.readouterr().err


def test_conditions_follow_the_evidence_not_a_fixed_phrase():
    """The same rule gives different conditions for different failing sets (the old checkers
    attached "one neuron" / "raw time" whatever the evidence showed)."""
    from tests.verdict_cases import conditioning, dynamics

    decide = get_claim("kappa-h1-below-l2").decide
    by_width = conditioning._kappa([conditioning._row(K, 10.0, 5.0 if K < 3 else 12.0, seed=s)
                                    for K in (1, 2, 3) for s in range(3)])
    by_distance = conditioning._kappa(
        [conditioning._row(2, 10.0, 5.0 if s < 4 else 12.0, seed=s, distance=0.01 * (s + 1))
         for s in range(8)])
    assert decide(by_width).condition.startswith("K ≤ 2 (holds strictly at all 6 compared "
                                                 "configurations there; grid values, next "
                                                 "surveyed K = 3: 3 violations)")
    assert decide(by_distance).condition.startswith(
        "relative distance ≤ 0.04 (holds strictly at all 4 compared configurations there; grid "
        "values, next surveyed relative distance = 0.05: 1 violation)")
    flow = get_claim("flow-h1-faster-than-l2").decide
    verdict = flow(dynamics.times([(1, 10, 3), (2, 20, 5), (3, 20, 25)]))
    assert verdict.condition.startswith("K ≤ 2")
    assert verdict.counterexample["K"] == 3


def test_machine_dependent_claim_agrees_with_any_documented_verdict_and_quotes_no_numbers():
    """A timing claim (evidence varies with the machine) is reported as measured, but neither its
    numbers nor its verdict are pinned: `check` accepts any documented verdict and the README
    table, checked by CI, quotes none of its numbers."""
    from proofs_check.report import readme_table

    claim = get_claim("sgd-h1-epoch-cost-at-most-1.3x-l2")
    assert claim.machine_dependent
    for status in claim.verdicts:
        counterexample = {"x": 1} if status == "fails" else None
        condition = "some" if status == "conditional" else None
        assert claim.agrees(Verdict(status, "s", {}, counterexample, condition))
    pinned = get_claim("kappa-h1-below-l2")
    assert not pinned.machine_dependent
    assert not pinned.agrees(Verdict("holds", "s"))  # documented: conditional
    payload = _payload()
    payload["claims"].append({"id": claim.id, "expected": "conditional", "status": "holds",
                              "summary": "relu ×1.19", "condition": None, "error": None,
                              "machine_dependent": True})
    text = readme_table.table(payload)
    assert "×1.19" not in text
    row = next(line for line in text.splitlines() if line.startswith(f"| [`{claim.id}`"))
    assert "holds" not in row and "machine-dependent" in row
    line = readme_table.summary_lines(payload, (claim.id,))
    assert "×1.19" not in line and "holds" not in line and "machine-dependent" in line
