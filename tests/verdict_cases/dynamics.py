"""Controlled evidence for the gradient-flow claims (raw and normalised speed, rate prediction)."""

from __future__ import annotations

from tests.verdict_cases import VerdictCase


def _flow(time, mu, fitted=None, window=None):
    return {"time": time, "predicted_asymptotic_rate": mu, "fitted_rate": fitted,
            "fitted_rate_stderr": 1e-4, "predicted_window_rate": window,
            "local_rates": [{"D_from": 1.0, "D_to": 0.1, "rate": mu}]}


def _run(K, l2, h1, seed=0):
    return {"K": K, "K*": K, "d": 3, "at": "random", "radius": 1.0, "seed": seed,
            "relative_distance": 0.5 + 0.1 * K, "row_angles_deg": [30.0] * K, "l2": l2,
            "h1": h1}


def flows(rows):
    return {"runs": rows, "epsilon": 1e-4, "sobolev_weight": 1.0, "rtol": 1e-9,
            "rate_tie": 1e-6, "rate_rtol": 0.01}


def times(pairs):
    """(K, t_l2, t_h1) triples."""
    return flows([_run(K, _flow(a, 0.1), _flow(b, 0.3), seed=k)
                  for k, (K, a, b) in enumerate(pairs)])


def rates(pairs):
    """(K, μ_l2, μ_h1) triples (h1 unnormalised)."""
    return flows([_run(K, _flow(1.0, a), _flow(0.5, b), seed=k)
                  for k, (K, a, b) in enumerate(pairs)])


def fitted(pairs):
    """(measured, predicted window) pairs for l2; h1 without a fit window."""
    return flows([_run(1, _flow(1.0, 0.5, m, p), _flow(0.5, 1.0), seed=k)
                  for k, (m, p) in enumerate(pairs)])


CASES = [
    VerdictCase("flow-h1-faster-than-l2", "holds", lambda: times([(1, 10, 3), (2, 20, 5)])),
    VerdictCase("flow-h1-faster-than-l2", "conditional",
                lambda: times([(1, 10, 3), (2, 20, 5), (3, 20, 25)])),
    VerdictCase("flow-h1-faster-than-l2", "holds",
                lambda: times([(1, 10, 3), (2, 20, 20)]), "a tie is not a violation"),
    VerdictCase("flow-h1-faster-than-l2", "fails",
                lambda: times([(1, 10, 30), (2, 20, 5), (3, 20, 25)])),
    VerdictCase("flow-h1-faster-than-l2", "inconclusive",
                lambda: times([(1, 10, 10), (2, 20, 20)])),
    # normalised: μ_h1/2 vs μ_l2
    VerdictCase("flow-h1-normalised-faster-than-l2", "holds",
                lambda: rates([(2, 0.05, 0.2), (3, 0.05, 0.3)])),
    VerdictCase("flow-h1-normalised-faster-than-l2", "holds",
                lambda: rates([(1, 0.5, 1.0), (2, 0.05, 0.2), (3, 0.05, 0.3)]),
                "one-neuron tie: not a violation"),
    VerdictCase("flow-h1-normalised-faster-than-l2", "conditional",
                lambda: rates([(1, 0.5, 0.8), (2, 0.05, 0.2), (3, 0.05, 0.3)]),
                "one neuron slower, K >= 2 faster"),
    VerdictCase("flow-h1-normalised-faster-than-l2", "fails",
                lambda: rates([(1, 0.5, 0.8), (2, 0.05, 0.2), (3, 0.05, 0.08)])),
    VerdictCase("flow-h1-normalised-faster-than-l2", "inconclusive",
                lambda: rates([(1, 0.5, 1.0), (2, 0.1, 0.2)])),
    VerdictCase("flow-rate-matches-spectrum", "holds",
                lambda: fitted([(0.500, 0.501), (0.2, 0.2005)])),
    VerdictCase("flow-rate-matches-spectrum", "fails",
                lambda: fitted([(0.500, 0.501), (0.2, 0.25)])),
    VerdictCase("flow-rate-matches-spectrum", "inconclusive", lambda: fitted([])),
]
