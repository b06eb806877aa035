"""Controlled evidence for the conditioning claims (κ, λ_min/λ_max, λ_min gain, Monte-Carlo)."""

from __future__ import annotations

from tests.verdict_cases import VerdictCase

KAPPA_CLAIMS = ("kappa-h1-below-l2", "kappa-h1-below-l2-exact-hessian",
                "kappa-h1-below-l2-mismatched-widths")


def _row(K, kappa_l2, kappa_h1, d=3, seed=0, distance=0.05):
    return {"K": K, "K*": K, "d": d, "at": "perturbed", "radius": 0.05, "seed": seed,
            "relative_distance": distance, "row_angles_deg": [2.0] * K, "rtol": 1e-9,
            "kappa_l2": kappa_l2, "kappa_h1": kappa_h1}


def _kappa(rows):
    return {"rows": rows, "rtol": 1e-9, "convention": "expected"}


def kappa_holds():
    return _kappa([_row(K, 10.0, 5.0, seed=s) for K in (1, 2) for s in range(3)])


def kappa_conditional():
    # every K = 1 row holds strictly, every K = 2 row is violated: the region K < 2 is computed
    return _kappa([_row(1, 10.0, 5.0, seed=s) for s in range(5)]
                  + [_row(2, 10.0, 12.0, seed=s) for s in range(5)])


def kappa_fails():
    return _kappa([_row(K, 10.0, 12.0, seed=s) for K in (1, 2) for s in range(3)])


def kappa_ties_only():
    # equal to within 1e-12 relative: ties, not violations, and no strict evidence either
    return _kappa([_row(1, 2.0, 2.0 * (1 + 1e-12), seed=s) for s in range(4)])


def _lam(K, min_l2, max_l2, min_h1, max_h1, seed=0):
    return {"K": K, "K*": K, "d": 3, "at": "perturbed", "radius": 0.05, "seed": seed,
            "relative_distance": 0.05, "row_angles_deg": [2.0] * K, "rtol": 1e-9,
            "lambda_min_l2": min_l2, "lambda_max_l2": max_l2, "lambda_min_h1": min_h1,
            "lambda_max_h1": max_h1}


def _lam_evidence(rows):
    return {"rows": rows, "sobolev_weight": 1.0, "barely": 0.1, "rtol": 1e-9}


def lam_holds():  # λ_min up, λ_max within 10 % even without normalisation
    return _lam_evidence([_lam(1, 0.1, 1.0, 0.2, 1.05, s) for s in range(4)])


def lam_normalised_everywhere():  # H/(1+λ): λ_min 0.15 > 0.1, λ_max 1.0 = 1.0
    return _lam_evidence([_lam(1, 0.1, 1.0, 0.3, 2.0, s) for s in range(4)])


def lam_normalised_region():  # normalised holds for K = 1, λ_min drops for K = 2
    return _lam_evidence([_lam(1, 0.1, 1.0, 0.3, 2.0, s) for s in range(5)]
                         + [_lam(2, 0.1, 1.0, 0.1, 2.0, s) for s in range(5)])


def lam_fails():
    return _lam_evidence([_lam(K, 0.1, 1.0, 0.1, 3.0, s) for K in (1, 2) for s in range(3)])


def _gain_row(weight, gain, K=2, seed=0):
    return {"K": K, "K*": K, "d": 3, "at": "perturbed", "radius": 0.05, "seed": seed,
            "relative_distance": 0.05, "λ": weight, "lambda_min_l2": 0.1,
            "lambda_min_h1": gain * 0.1 * (1 + weight), "gain": gain}


def _gain(rows):
    return {"rows": rows, "threshold": 1.5, "rtol": 1e-9, "weights": [0.1, 1.0, 10.0]}


def gain_conditional():  # gain <= 1.5 only at λ = 0.1; 2.0 at λ = 1 and 10
    return _gain([_gain_row(0.1, 1.1, seed=s) for s in range(3)]
                 + [_gain_row(w, 2.0, seed=s) for w in (1.0, 10.0) for s in range(3)])


def _mc(verdicts):
    return {"n_samples": 1000, "rows": [{"verdict": v, "threshold": 4.0, "replicates": 16,
                                         "loss": "l2"} for v in verdicts]}


CASES = [
    *(VerdictCase(c, "holds", kappa_holds) for c in KAPPA_CLAIMS),
    *(VerdictCase(c, "conditional", kappa_conditional) for c in KAPPA_CLAIMS),
    *(VerdictCase(c, "fails", kappa_fails) for c in KAPPA_CLAIMS),
    *(VerdictCase(c, "inconclusive", kappa_ties_only, "ties only") for c in KAPPA_CLAIMS),
    *(VerdictCase(c, "inconclusive", lambda: _kappa([]), "no rows") for c in KAPPA_CLAIMS),
    VerdictCase("lambda-min-grows-lambda-max-barely-changes", "holds", lam_holds),
    VerdictCase("lambda-min-grows-lambda-max-barely-changes", "conditional",
                lam_normalised_everywhere, "normalised everywhere"),
    VerdictCase("lambda-min-grows-lambda-max-barely-changes", "conditional",
                lam_normalised_region, "normalised, K < 2"),
    VerdictCase("lambda-min-grows-lambda-max-barely-changes", "fails", lam_fails),
    VerdictCase("lambda-min-grows-lambda-max-barely-changes", "inconclusive",
                lambda: _lam_evidence([])),
    VerdictCase("lambda-min-gain-significant", "holds",
                lambda: _gain([_gain_row(w, 2.0, seed=s) for w in (0.1, 1.0) for s in range(3)])),
    VerdictCase("lambda-min-gain-significant", "conditional", gain_conditional),
    VerdictCase("lambda-min-gain-significant", "fails",
                lambda: _gain([_gain_row(w, 1.1, seed=s) for w in (0.1, 1.0) for s in range(3)])),
    VerdictCase("lambda-min-gain-significant", "inconclusive", lambda: _gain([])),
    VerdictCase("predicted-kappa-matches-monte-carlo", "holds",
                lambda: _mc(["agrees", "agrees", "inconclusive"])),
    VerdictCase("predicted-kappa-matches-monte-carlo", "fails",
                lambda: _mc(["agrees", "disagrees"])),
    VerdictCase("predicted-kappa-matches-monte-carlo", "inconclusive",
                lambda: _mc(["inconclusive", "inconclusive"])),
]
