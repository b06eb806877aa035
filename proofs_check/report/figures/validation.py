"""Validation figure (``montecarlo_error``): the Monte-Carlo κ of the claim
``predicted-kappa-matches-monte-carlo`` against the closed-form κ, row by row, drawn from that
claim's evidence (no Monte-Carlo of its own: the claim's replicates are what it shows)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from proofs_check.report.figures.style import (
    LOSS_STYLE,
    OKABE_ITO,
    RC,
    evidence_of,
    finish,
    pyplot,
    save,
)

CLAIM = "predicted-kappa-matches-monte-carlo"


def build_montecarlo(evidence: Mapping[str, Any]):
    """Per row of the Monte-Carlo claim: (κ_MC − κ_pred)/κ_pred with the claim's agreement bar
    ±t·SE/κ_pred; a bar crossing 0 is a row that agrees."""
    plt = pyplot()
    rows = list(evidence["rows"])
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(7.6, 4.0))
        for i, row in enumerate(rows):
            key = "l2" if row["loss"] == "l2" else "h1 expected"
            style = LOSS_STYLE[key]
            predicted = row["predicted_kappa"]
            gap = (row["measured_kappa"] - predicted) / predicted
            bar = row["threshold"] * row["measured_kappa_stderr"] / predicted
            ax.errorbar([i], [gap], yerr=[[bar], [bar]], fmt=style["marker"],
                        color=style["color"], capsize=3, linestyle="none",
                        markerfacecolor=style["color"] if row["verdict"] == "agrees" else "none",
                        label=style["label"] if i < 2 else None)
        ax.axhline(0.0, color=OKABE_ITO["black"], linewidth=0.8)
        ax.set_xticks(range(len(rows)),
                      [f"K={r['width']}, K*={r['teacher_width']}, d={r['dim']}\n{r['at']}, "
                       f"{r['loss']}" for r in rows], rotation=90, fontsize=7)
        ax.set_ylabel("(κ_MC − κ_predicted) / κ_predicted")
        first = rows[0] if rows else {}
        finish(fig, "Monte-Carlo κ against the closed-form κ (expected convention, λ = 1): "
                     f"{first.get('n_samples', '?')} samples, {first.get('replicates', '?')} "
                     f"replicates, bars ±t·SE with t = {first.get('threshold', math.nan):.2f} "
                     "(the claim's agreement test: a bar crossing 0 agrees)",
                axes_with_legend=ax, ncol=2)
    return fig


def figure_montecarlo_error(path: Path, quick: bool = True,
                            evidence: Mapping[str, Any] | None = None) -> Path:
    """Drawn from the claim's evidence of this run (gathered now only if the run left the claim
    out)."""
    return save(build_montecarlo(evidence_of(CLAIM, quick, evidence)), Path(path))
