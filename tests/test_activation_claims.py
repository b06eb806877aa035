"""proofs_check.analysis.activation_gains and the activation claims: the one-neuron closed
forms at the minimum against 1-D mpmath quadrature and theory.spectrum, the one-sided
directions, the interval certificate, the figure and the CLI's --activation."""

from __future__ import annotations

import json

import mpmath
import numpy as np
import pytest

import theory
from numerics.activations import get_activation
from proofs_check.analysis import activation_gains as gains
from proofs_check.claims import activations as claims
from proofs_check.cli import main


def _one_neuron_by_quadrature(r, activation):
    """A, B, C, D of the activation_gains docstring by mpmath.quad of the 1-D Gaussian
    integrals (30 digits), from the activation's own derivatives (numerics.activations)."""
    act = get_activation(activation)
    s1, s2 = act.mp_derivative(1), act.mp_derivative(2)
    r = mpmath.mpf(r)

    def gauss(f):
        return mpmath.quad(lambda z: f(z) * mpmath.npdf(z), [-mpmath.inf, 0, mpmath.inf])

    with mpmath.workdps(30):
        A = gauss(lambda z: s1(r * z) ** 2 * z * z)
        B = gauss(lambda z: s1(r * z) ** 2)
        C = gauss(lambda z: (s1(r * z) + r * z * s2(r * z)) ** 2)
        D = B + r * r * gauss(lambda z: s2(r * z) ** 2)
    return A, B, C, D


@pytest.mark.parametrize("activation", gains.ONE_NEURON_CLOSED_FORM)
@pytest.mark.parametrize("r", [0.1, 0.7, 1.0, 2.3, 5.0])
def test_one_neuron_closed_form_matches_quadrature(activation, r):
    A, B, C, D = _one_neuron_by_quadrature(r, activation)
    with mpmath.workdps(30):
        eig = gains.one_neuron_minimum(mpmath.mpf(r), activation, mpmath.mp)
        for got, want in zip((*eig["l2"], *eig["h1"]), (A, B, A + C, B + D), strict=True):
            assert abs(got - want) <= mpmath.mpf(10) ** -20 * abs(want)


@pytest.mark.parametrize("activation", gains.ONE_NEURON_CLOSED_FORM)
@pytest.mark.parametrize("r, d", [(0.5, 2), (1.0, 3), (2.0, 4)])
def test_one_neuron_closed_form_matches_theory_spectrum(activation, r, d):
    direction = np.random.default_rng(d).normal(size=(1, d))
    w_star = r * direction / np.linalg.norm(direction)
    eig = gains.one_neuron_minimum(mpmath.mpf(r), activation, mpmath.mp)
    for loss in ("l2", "h1"):
        along, rest = (float(x) for x in eig[loss])
        expected = np.sort([along] + [rest] * (d - 1))
        got = np.sort(np.real(theory.spectrum(w_star, w_star, loss, activation=activation)))
        np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_one_neuron_closed_form_rejects_other_activations():
    with pytest.raises(ValueError, match="activation"):
        gains.one_neuron_minimum(1.0, "gelu", mpmath.mp)


def test_interval_certificate_is_a_proof_and_matches_float_kappas():
    evidence = claims.gather_certificates(quick=True)
    assert {r["status"] for r in evidence["results"].values()} == {"proved"}
    for activation in gains.ONE_NEURON_CLOSED_FORM:
        for r in (0.5, 1.0, 1.9):
            eig = gains.one_neuron_minimum(mpmath.mpf(r), activation, mpmath.mp)
            kappa = {k: max(v) / min(v) for k, v in eig.items()}
            assert kappa["h1"] < kappa["l2"]


def test_one_sided_directions_are_not_radial():
    """The direction stream is not the teacher's: V must not be parallel to W*'s rows."""
    W_star = gains.scaled_teacher(2, 3, 0, 1.0)
    spec = gains.spectrum_at_minimum(W_star, "relu", directions=3, seed=0)
    assert spec.defined and len(spec.l2) == 3
    assert np.ptp(spec.kappa_ratios()) > 1e-3  # different directions, different one-sided κ


def test_scaled_teacher_has_the_requested_row_norms():
    W_star = gains.scaled_teacher(3, 5, 1, 0.3)
    np.testing.assert_allclose(np.linalg.norm(W_star, axis=1), 0.3)


@pytest.mark.parametrize("argv", [
    ["cond", "--activation", "tanh"], ["cond", "--activation", "swish"],
    ["flow", "--activation", "tanh", "--t-max", "1"], ["sweep", "--activation", "tanh"],
    ["validate", "--activation", "swish", "--samples", "1000"],
    ["cond", "--activation", "leaky_relu(1.5)"],
])
def test_cli_bad_activation_is_one_line_exit_2(argv, capsys, tmp_path):
    if argv[0] == "sweep":
        argv = argv + ["--out", str(tmp_path / "x.csv")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "activation" in err


def test_cli_cond_with_erf_at_the_teacher_gives_kappa_in_both_conventions(capsys):
    assert main(["cond", "--activation", "erf", "--at", "teacher", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["activation"] == "erf"
    h1 = [row for row in payload["results"] if row["loss"] == "h1"]
    assert all(row["exists"] for row in h1)
    assert h1[0]["kappa"] == pytest.approx(h1[1]["kappa"], rel=1e-10)


def test_cli_validate_sine_agrees(capsys):
    code = main(["validate", "--activation", "sine", "--samples", "20000", "--hessian-samples",
                 "5000", "--json", "--no-progress", "--dim", "2"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["ok"] and report["activation"] == "sine"
    assert all("closed_form" in row for row in report["results"])


def test_cli_validate_tanh_is_measured_only(capsys):
    code = main(["validate", "--activation", "tanh", "--samples", "20000", "--no-hessian",
                 "--json", "--no-progress", "--dim", "2"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and not any("closed_form" in row for row in report["results"])


def test_cli_sweep_activation_axis(tmp_path, capsys):
    out = tmp_path / "s.csv"
    assert main(["sweep", "--activation", "erf", "leaky_relu(0.1)", "--at", "teacher",
                 "--workers", "1", "--no-progress", "--out", str(out)]) == 0
    from proofs_check.runs.sweep import read_results

    rows = {row["activation"]: row for row in read_results(out)}
    assert set(rows) == {"erf", "leaky_relu(0.1)"}
    assert rows["erf"]["h1_expected_kappa"] and not rows["erf"]["h1_expected_undefined"]
    assert rows["leaky_relu(0.1)"]["h1_expected_undefined"]  # kink: no Hessian at W*


def test_cli_flow_with_erf(capsys):
    assert main(["flow", "--activation", "erf", "--t-max", "50", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["activation"] == "erf"
    assert all(row["status"] in ("converged", "t_max") for row in report["flows"])


def test_figure_activation_gain(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from proofs_check.report.figures.activations import figure_activation_gain

    monkeypatch.setattr(gains, "survey_grid",
                        lambda quick: {"width": (1,), "dim": (2,), "seed": (0,),
                                       "scale": (1.0,)})
    claims._survey.cache_clear()
    try:
        path = figure_activation_gain(tmp_path / "gain.png")
        assert path.exists() and path.stat().st_size > 10_000
    finally:
        claims._survey.cache_clear()


def test_smooth_flow_rate_matches_the_hessian_at_the_teacher_in_both_conventions():
    """erf: no cone, so the exact and expected flows coincide, and the fitted rate of the
    distance to W* is the smallest eigenvalue of the Hessian at W* (same-window model)."""
    from proofs_check.analysis.rates import compare_flow_rate
    from theory.configurations import make_configuration

    c = make_configuration(2, 2, 3, 0, at="perturbed", radius=0.1)
    rows = {conv: compare_flow_rate(c.W, c.W_star, "h1", convention=conv, activation="erf",
                                    t_max=300) for conv in ("expected", "exact")}
    assert rows["expected"].measured == pytest.approx(rows["exact"].measured, rel=1e-9)
    for row in rows.values():
        assert "erf is smooth" in row.how
        assert row.measured == pytest.approx(row.predicted_window, rel=1e-3)
        assert row.predicted == pytest.approx(row.predicted_window, rel=1e-2)
