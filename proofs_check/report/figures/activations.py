"""Figure of the Sobolev gain per activation at the global minimum (``activation_gain``).

Two panels over the teachers of the claim ``activation-gain-largest-for-sine`` (K = K*, several
d and seeds, teacher row norms 0.3, 1, 3; λ = 1): the κ-gain κ(l2)/κ(h1) and the predicted
flow-rate gain λmin(h1)/λmin(l2), per activation and row norm, as a dot plot on a log axis: the
geometric mean over the teachers (marker) and the smallest to largest teacher (whisker).
Piecewise-linear activations use the median over 100 one-sided directions; tanh is measured
(numerics.quadrature) and left out where the quadrature does not resolve it (the title says
where and why). Drawn from the claim's gathered survey (cached: no computation of its own after
the claims ran). See proofs_check.analysis.activation_gains for how each number is taken.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from proofs_check.report.figures.style import (
    OKABE_ITO,
    RC,
    WIDTH_COLOURS,
    finish,
    plain_number_formatter,
    pyplot,
    save,
)


def gain_summary(evidence: Mapping[str, Any], measure: str
                 ) -> dict[tuple[str, float], tuple[float, float, float, int]]:
    """{(activation, row norm): (geometric mean, min, max, teachers)} of a gain over the
    teachers where it is defined."""
    out = {}
    for name in evidence["activations"]:
        for scale in sorted({t["scale"] for t in evidence["teachers"]}):
            values = np.array([t[measure][name] for t in evidence["teachers"]
                               if t["scale"] == scale and name in t[measure]], dtype=float)
            if values.size:
                out[(name, scale)] = (float(np.exp(np.mean(np.log(values)))),
                                      float(values.min()), float(values.max()), values.size)
    return out


def build_activation_gain(evidence: Mapping[str, Any]):
    """A dot plot: per activation and teacher row norm, the geometric mean over teachers
    (marker) and the smallest to largest teacher (whisker), on a log axis with the no-gain
    line at 1; no bars (a bar's length on a log axis depends on an arbitrary baseline)."""
    plt = pyplot()
    activations = list(evidence["activations"])
    scales = sorted({t["scale"] for t in evidence["teachers"]})
    titles = {"kappa_gain": "κ-gain at W = W*", "rate_gain": "predicted flow-rate gain"}
    labels = {"kappa_gain": "κ(l2) / κ(h1)", "rate_gain": "λmin(h1) / λmin(l2)"}
    markers = "os^Dv"
    missing: set[tuple[str, float]] = set()
    with plt.rc_context(RC):
        fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.4))
        width = 0.6 / max(len(scales), 1)
        for ax, measure in zip(axes, ("kappa_gain", "rate_gain"), strict=True):
            summary = gain_summary(evidence, measure)
            for k, scale in enumerate(scales):
                xs, means, lows, highs = [], [], [], []
                for i, name in enumerate(activations):
                    if (name, scale) not in summary:
                        missing.add((name, scale))
                        continue
                    mean, low, high, _ = summary[(name, scale)]
                    xs.append(i + (k - (len(scales) - 1) / 2) * width)
                    means.append(mean)
                    lows.append(max(mean - low, 0.0))  # the mean of equal values may
                    highs.append(max(high - mean, 0.0))  # round past them
                ax.errorbar(xs, means, yerr=[lows, highs], fmt=markers[k % len(markers)],
                            linestyle="none", capsize=2.5, markersize=5,
                            color=WIDTH_COLOURS[k % len(WIDTH_COLOURS)],
                            label=f"teacher row norm {scale:g}")
            ax.axhline(1.0, color=OKABE_ITO["black"], linewidth=0.8,
                       label="no gain (ratio 1)")
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(plain_number_formatter())
            ax.set_xticks(np.arange(len(activations)),
                          [a + (" (measured)" if a in evidence.get("measured_only", ()) else "")
                           for a in activations], rotation=20)
            ax.set_xlim(-0.6, len(activations) - 0.4)
            ax.set_title(titles[measure])
            ax.set_ylabel(f"{labels[measure]} (log scale)")
        note = ""
        if missing:
            reasons = _left_out_reasons(evidence)
            note = "; no marker: " + ", ".join(
                f"{name} at row norm {scale:g}" + (f" ({reasons[(name, scale)]})"
                                                    if (name, scale) in reasons else "")
                for name, scale in sorted(missing))
        K = evidence["survey"]["width"]
        d = evidence["survey"]["dim"]
        finish(fig, f"Sobolev gain per activation at the global minimum, λ = 1; K = K* in {K}, "
                     f"d in {d}; marker: geometric mean over teachers, whiskers: smallest to "
                     f"largest{note}", axes[0], ncol=4)
    fig._missing = sorted(missing)
    return fig


def _left_out_reasons(evidence: Mapping[str, Any]) -> dict[tuple[str, float], str]:
    """Why each (activation, row norm) left out has no value, over its teachers: e.g.
    "quadrature error estimate 0.067–0.11 > 1e-06 at 18 teachers"."""
    import re

    grouped: dict[tuple[str, float], list[str]] = {}
    for entry in evidence.get("left_out", ()):
        grouped.setdefault((entry["activation"], entry["scale"]), []).append(entry["reason"])
    reasons = {}
    pattern = re.compile(r"quadrature error estimate ([-+.\de]+) > ([-+.\de]+)")
    for key, texts in grouped.items():
        found = [pattern.match(text) for text in texts]
        if all(found):
            estimates = [float(match.group(1)) for match in found]
            low, high = min(estimates), max(estimates)
            span = f"{low:.2g}" if low == high else f"{low:.2g}–{high:.2g}"
            reasons[key] = (f"quadrature error estimate {span} > {found[0].group(2)} at "
                            f"{len(texts)} teacher{'s' * (len(texts) != 1)}")
        else:
            distinct = list(dict.fromkeys(text.split(" (")[0] for text in texts))
            reasons[key] = "; ".join(distinct) + f" at {len(texts)} teacher" + (
                "s" * (len(texts) != 1))
    return reasons
def figure_activation_gain(path: Path | str, quick: bool = True, evidence=None) -> Path:
    """Draw the per-activation gains to ``path`` and return the path."""
    from proofs_check.claims.activations import gather_ranking

    return save(build_activation_gain(gather_ranking(quick)), Path(path))
