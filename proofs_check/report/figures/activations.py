"""Figure of the Sobolev gain per activation at the global minimum (``activation_gain.png``).

Two panels over the teachers of the claim ``activation-gain-largest-for-sine`` (K = K*, several
d and seeds, teacher row norms 0.3, 1, 3; λ = 1): the κ-gain κ(l2)/κ(h1) and the predicted
flow-rate gain λmin(h1)/λmin(l2), per activation, one bar per row norm (geometric mean over the
teachers, whiskers from the smallest to the largest teacher). Piecewise-linear activations use
the median over 100 one-sided directions; tanh is measured (numerics.quadrature). See
proofs_check.analysis.activation_gains for how each number is taken.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def figure_activation_gain(path: Path | str, quick: bool = True) -> Path:
    """Draw the per-activation gain bars to ``path`` (PNG) and return the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from proofs_check.claims.activations import gather_ranking

    evidence = gather_ranking(quick)
    activations = evidence["activations"]
    scales = sorted({t["scale"] for t in evidence["teachers"]})
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    width = 0.8 / len(scales)
    titles = {"kappa_gain": "κ(l2) / κ(h1) at W = W*",
              "rate_gain": "λmin(h1) / λmin(l2): predicted flow-rate gain"}
    for ax, measure in zip(axes, ("kappa_gain", "rate_gain"), strict=True):
        for k, scale in enumerate(scales):
            means, lows, highs = [], [], []
            for name in activations:
                values = np.array([t[measure][name] for t in evidence["teachers"]
                                   if t["scale"] == scale and name in t[measure]])
                if values.size == 0:
                    means.append(np.nan)
                    lows.append(0.0)
                    highs.append(0.0)
                    continue
                mean = float(np.exp(np.mean(np.log(values))))
                means.append(mean)
                # clipped at 0: exp(mean(log v)) of equal values can round past them
                lows.append(max(0.0, mean - values.min()))
                highs.append(max(0.0, values.max() - mean))
            x = np.arange(len(activations)) + (k - (len(scales) - 1) / 2) * width
            ax.bar(x, means, width, yerr=[lows, highs], capsize=2,
                   label=f"teacher row norm {scale:g}")
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_xticks(np.arange(len(activations)),
                      [a + (" (measured)" if a in evidence["measured_only"] else "")
                       for a in activations], rotation=20)
        ax.set_title(titles[measure], fontsize=10)
        ax.legend(fontsize=7)
    K = evidence["survey"]["width"]
    d = evidence["survey"]["dim"]
    fig.suptitle(f"Sobolev gain per activation at the global minimum, λ = 1; K = K* in {K}, "
                 f"d in {d}; bars: geometric mean over teachers, whiskers: min–max", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
