"""Input-covariance families and the h2 / anisotropy claims' evidence."""

import numpy as np
import pytest

from proofs_check.analysis.input_laws import (
    load_covariance,
    power_law_covariance,
    spiked_covariance,
)
from proofs_check.claims import get_claim


def test_spiked_covariance_has_the_stated_spectrum_and_axes():
    sigma = spiked_covariance(5, 9.0, 2)
    assert np.array_equal(np.diag(sigma), [10, 10, 1, 1, 1])
    assert np.linalg.cond(sigma) == pytest.approx(10.0)


@pytest.mark.parametrize("condition", [1.0, 3.0, 100.0])
def test_power_law_covariance_has_the_requested_condition_number(condition):
    sigma = power_law_covariance(4, condition, seed=3)
    eig = np.linalg.eigvalsh(sigma)
    assert eig.max() / eig.min() == pytest.approx(condition, rel=1e-10)
    assert np.allclose(sigma, sigma.T)


def test_bad_families_and_files_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="rank"):
        spiked_covariance(3, 1.0, 4)
    with pytest.raises(ValueError, match="strength"):
        spiked_covariance(3, -2.0, 1)
    path = tmp_path / "s.npy"
    np.save(path, np.diag([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="input_covariance"):
        load_covariance(str(path), 3)
    with pytest.raises(ValueError, match="input_covariance"):
        load_covariance(str(tmp_path / "missing.npy"), 3)


def test_chain_claim_evidence_is_consistent_with_theory():
    """Every surveyed κ is what theory.condition_number returns for that point."""
    import theory
    from theory.configurations import make_configuration

    evidence = get_claim("kappa-h2-below-h1-below-l2").gather(True)
    point = evidence["points"][-1]
    config = make_configuration(point["K"], point["K"], point["d"], point["seed"],
                                at=point["at"], radius=point["radius"])
    kappa = theory.condition_number(config.W, config.W_star, "h2",
                                    activation=point["activation"])
    assert point["kappa"]["h2"] == kappa


def test_anisotropy_survey_reduces_to_isotropic_at_cond_one():
    evidence = get_claim("sobolev-acceleration-survives-anisotropy").gather(True)
    ones = [p for p in evidence["points"] if p["cond_sigma"] == 1.0]
    spiked = {(p["activation"], p["seed"]): p["kappa"] for p in ones if p["family"] == "spiked"}
    for p in ones:
        if p["family"] == "power_law":  # Σ = Q I Qᵀ = I up to rounding
            ref = spiked[(p["activation"], p["seed"])]
            assert p["kappa"]["l2"] == pytest.approx(ref["l2"], rel=1e-9)
