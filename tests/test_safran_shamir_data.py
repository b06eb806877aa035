"""The published Safran–Shamir census (proofs_check/data/safran_shamir_2018.json) is consistent
with itself and with the losses recomputed at the stored points by two independent formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

import theory
from proofs_check.data import safran_shamir


def objval_matlab(W: np.ndarray, V: np.ndarray) -> float:
    """Transliteration of Safran & Shamir's GD_code/objval.m (students/targets as rows here)."""
    Wn, Vn = np.linalg.norm(W, axis=1), np.linalg.norm(V, axis=1)
    Wh, Vh = W / Wn[:, None], V / Vn[:, None]

    def block(A, B, na, nb):
        angle = np.abs(np.arccos(np.clip(A @ B.T, -1.0, 1.0)))
        return na @ (np.sin(angle) + (math.pi - angle) * np.cos(angle)) @ nb

    return float((block(Wh, Wh, Wn, Wn) / 2 - block(Vh, Wh, Vn, Wn)
                  + block(Vh, Vh, Vn, Vn) / 2) / (2 * math.pi))


def gradient_matlab(W: np.ndarray, V: np.ndarray) -> np.ndarray:
    """2π ∇L as GD_code/findMinimum.m computes it (rows = neurons)."""
    Wn, Vn = np.linalg.norm(W, axis=1), np.linalg.norm(V, axis=1)
    Wh, Vh = W / Wn[:, None], V / Vn[:, None]
    aww = np.arccos(np.clip(Wh @ Wh.T, -1.0, 1.0))
    avw = np.arccos(np.clip(Wh @ Vh.T, -1.0, 1.0))  # (student, target)
    gww = (np.sin(aww) @ Wn)[:, None] * Wh + (math.pi - aww) @ W
    gwv = (np.sin(avw) @ Vn)[:, None] * Wh + (math.pi - avw) @ V
    return gww - gwv


DATA = safran_shamir.load()
ENTRIES = [e for e in DATA["experiments"] if e["families"]]


def test_source_is_recorded():
    source = DATA["source"]
    assert source["repository"] == "https://github.com/ItaySafran/OneLayerGDconvergence"
    assert len(source["commit"]) == 40 and "arXiv:1712.08968" in source["paper"]


def test_grid_and_counts_are_consistent():
    keys = {(e["k"], e["n"]) for e in DATA["experiments"]}
    assert {(k, k) for k in range(6, 21)} <= keys
    assert {(k, k + 1) for k in range(6, 20)} <= keys
    for e in DATA["experiments"]:
        assert e["runs"] == 1000 and 0 <= e["bad"] <= e["runs"]
        assert e["bad"] == sum(f["count"] for f in e["families"])
        assert e["bad"] == sum(level["count"] for level in e["levels"])
        assert len(e["families"]) == sum(level["families"] for level in e["levels"])
        assert (e["file"] is None) == e["inferred"] == (e["bad"] == 0)
    # bad fractions of the n = k runs grow with k (Safran & Shamir's Table 1: 0.3 % … 94.9 %)
    bad = [safran_shamir.experiment(k, k)["bad"] for k in range(6, 21)]
    assert bad[0] == 3 and bad[-1] == 949 and bad == sorted(bad)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"k{e['k']}n{e['n']}")
def test_levels_recomputed_from_the_points(entry):
    k, n = entry["k"], entry["n"]
    teacher = np.eye(k)
    for family, W in zip(entry["families"], safran_shamir.points(entry), strict=True):
        assert W.shape == (n, k)
        mine = theory.population_loss(W, teacher, "l2")
        theirs = objval_matlab(W, teacher)
        assert mine == pytest.approx(family["l2_loss"], rel=1e-12, abs=0)
        assert theirs == pytest.approx(family["l2_loss"], rel=1e-9, abs=0)
        assert family["l2_loss"] >= 1e-3  # "bad" by their rule
        # a gradient-descent endpoint of their stop rule max_i |2π ∇_{w_i} L| <= 1e-9 (this
        # confirms the 2π scale of their stop rule: the stored points reach up to 0.99999e-9)
        grad = gradient_matlab(W, teacher)
        assert np.linalg.norm(grad, axis=1).max() <= 1.001e-9
    for level in entry["levels"]:
        members = [f["l2_loss"] for f in entry["families"]
                   if abs(f["l2_loss"] - level["loss"]) <= 1e-7 * level["loss"]]
        assert len(members) == level["families"]
