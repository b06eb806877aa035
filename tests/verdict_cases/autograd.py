"""Controlled evidence for the autograd-Hessian claim."""

from __future__ import annotations

from tests.verdict_cases import VerdictCase


def _case(gaps):
    return {"configuration": "synthetic",
            "rows": [{"n": n, "matrix_gap": g, "kappa_autograd": 10.0, "kappa_expected": 20.0}
                     for n, g in zip((1_000, 100_000), gaps, strict=True)]}


def evidence(l2_teacher=(0.1, 0.01), h1_teacher=(0.1, 0.1), others=(0.2, 0.2),
             measured=0.91):
    return {"l2@teacher": _case(l2_teacher), "h1@teacher": _case(h1_teacher),
            "l2@perturbed": _case(others), "h1@perturbed": _case(others),
            "gd_rates_at_teacher": {"h1": {"measured_gd_rate": measured,
                                           "population_field_gd_rate": 0.91,
                                           "autograd_linear_model_rate": 0.80}},
            "kappa_population_h1_at_teacher_over_directions": {
                "count": 100, "min": 15.0, "median": 25.0, "max": 80.0},
            "differ_threshold": 0.05}


CASES = [
    VerdictCase("autograd-hessian-governs-training", "fails", evidence),
    VerdictCase("autograd-hessian-governs-training", "holds",
                lambda: evidence(h1_teacher=(0.1, 0.01), others=(0.1, 0.01))),
    VerdictCase("autograd-hessian-governs-training", "inconclusive",
                lambda: evidence(l2_teacher=(0.1, 0.2)), "control fails"),
    VerdictCase("autograd-hessian-governs-training", "inconclusive",
                lambda: evidence(measured=0.80), "GD follows the autograd model"),
]
