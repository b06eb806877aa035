"""Controlled evidence for the one-neuron basin claims."""

from __future__ import annotations

from tests.verdict_cases import VerdictCase


def expected(distances, angles=(0.5, 1.5, 2.5, 3.0)):
    return {"converged_distance": 1e-6,
            "runs": [{"loss": "h1", "r0": 1.0, "theta0": a, "final_distance": d}
                     for a, d in zip(angles, distances, strict=True)]}


def exact(final_angles, angles=(1.0, 2.0, 2.6, 3.0)):
    return {"on_ray_angle": 1e-6, "predicted_edge_theta_c": 2.4883,
            "runs": [{"r0": 1.0, "theta0": a, "final_angle": f}
                     for a, f in zip(angles, final_angles, strict=True)]}


CASES = [
    VerdictCase("basin-one-neuron-expected", "holds", lambda: expected([1e-9] * 4)),
    VerdictCase("basin-one-neuron-expected", "conditional",
                lambda: expected([1e-9, 1e-9, 1e-9, 0.5])),
    VerdictCase("basin-one-neuron-expected", "fails",
                lambda: expected([0.5, 1e-9, 0.5], angles=(0.5, 1.5, 2.5))),
    VerdictCase("basin-one-neuron-expected", "inconclusive", lambda: expected([], angles=())),
    # every start reaches the ray: "holds" (the old checker raised StopIteration here)
    VerdictCase("basin-one-neuron-exact-h1", "holds", lambda: exact([1e-9] * 4)),
    VerdictCase("basin-one-neuron-exact-h1", "conditional",
                lambda: exact([1e-9, 1e-9, 3.14, 3.14])),
    VerdictCase("basin-one-neuron-exact-h1", "fails",
                lambda: exact([3.14, 1e-9, 3.14], angles=(1.0, 2.0, 2.6))),
    VerdictCase("basin-one-neuron-exact-h1", "inconclusive", lambda: exact([], angles=())),
]
