"""Conditioning figures: κ of one neuron vs θ (``kappa_vs_theta``), the eigenvalues near the
teacher (``spectra``), κ(h1) vs κ(l2) over the conditioning survey (``kappa_survey``) and the
one-neuron (ρ, θ) cells certified by interval arithmetic (``certified_region``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import theory
from proofs_check.report.figures.style import (
    LOSS_STYLE,
    OKABE_ITO,
    RC,
    SOBOLEV_WEIGHT,
    TIE_RTOL,
    WIDTH_COLOURS,
    finish,
    log_axis,
    loss_style,
    pyplot,
    save,
)
from theory.configurations import make_configuration


def figure_kappa_vs_theta(path: Path, quick: bool = True, evidence=None) -> Path:
    """The closed forms along θ (cheap: 723 condition numbers of 3×3 Hessians)."""
    plt = pyplot()
    with plt.rc_context(RC):
        thetas = np.linspace(0.02, math.pi - 0.02, 241)
        u = np.array([1.0, 0.0, 0.0])
        keys = {"l2": ("l2", "exact"), "h1 expected": ("h1", "expected"),
                "h1 exact": ("h1", "exact")}
        curves = {key: np.empty_like(thetas) for key in keys}
        for i, theta in enumerate(thetas):
            w = np.array([math.cos(theta), math.sin(theta), 0.0])
            for key, (loss, convention) in keys.items():
                curves[key][i] = theory.condition_number(w, u, loss, convention=convention,
                                                         sobolev_weight=SOBOLEV_WEIGHT)
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        for key, values in curves.items():
            ax.plot(thetas, np.where(np.isfinite(values), values, np.nan),
                    markevery=(list(keys).index(key) * 6, 20), **loss_style(key))
        undefined = ~np.all([np.isfinite(v) for v in curves.values()], axis=0)
        if undefined.any():
            ax.fill_between(thetas, 0, 1, where=undefined, transform=ax.get_xaxis_transform(),
                            color=OKABE_ITO["grey"], alpha=0.25, linewidth=0,
                            label="a Hessian is not positive definite (κ undefined)")
        ax.axvspan(math.pi / 4, 3 * math.pi / 4, color=OKABE_ITO["green"], alpha=0.06,
                   linewidth=0)
        ax.annotate("h1 exact = l2 on [π/4, 3π/4]", xy=(math.pi / 2, curves["l2"][120]),
                    xytext=(0, 14), textcoords="offset points", ha="center", fontsize=8,
                    color=OKABE_ITO["green"])
        log_axis(ax, "y")
        ax.set_xticks([0, math.pi / 4, math.pi / 2, 3 * math.pi / 4, math.pi],
                      ["0", "π/4", "π/2", "3π/4", "π"])
        ax.set_xlabel("θ = angle(w, w*)   (one neuron, ‖w‖ = ‖w*‖ = 1, d = 3)")
        ax.set_ylabel("κ = λ_max / λ_min")
        ax.set_title(f"Condition number vs angle, closed forms, Sobolev weight λ = "
                     f"{SOBOLEV_WEIGHT:g}")
        ax.legend(loc="upper center")
        fig.tight_layout()
        return save(fig, path)


def figure_spectra(path: Path, quick: bool = True, evidence=None) -> Path:
    """Three spectra of one configuration from the closed forms (cheap)."""
    plt = pyplot()
    with plt.rc_context(RC):
        radius = 0.3
        config = make_configuration(3, 3, 5, 0, at="perturbed", radius=radius)
        rows = {}
        imaginary = {}
        for key, loss, scale in (("l2", "l2", 1.0), ("h1 expected", "h1", 1.0),
                                 ("h1 expected / (1 + λ)", "h1", 1 + SOBOLEV_WEIGHT)):
            values = theory.spectrum(config.W, config.W_star, loss,
                                     sobolev_weight=SOBOLEV_WEIGHT) / scale
            rows[key] = np.real(values)
            imaginary[key] = float(np.max(np.abs(np.imag(values))))
        fig, ax = plt.subplots(figsize=(6.4, 3.4))
        for offset, (label, values) in enumerate(rows.items()):
            style = LOSS_STYLE["l2" if label == "l2" else "h1 expected"]
            ax.scatter(values, np.full_like(values, offset), s=22, color=style["color"],
                       marker=style["marker"] if offset < 2 else "D",
                       facecolors="none" if offset == 2 else style["color"])
            kappa = values.max() / values.min() if values.min() > 0 else math.inf
            ax.annotate(f"κ = {kappa:.3g}", xy=(values.max(), offset), xytext=(8, 0),
                        textcoords="offset points", va="center", fontsize=8)
        ax.set_xscale("log")
        ax.set_yticks(range(len(rows)), list(rows))
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.margins(x=0.15)
        dropped = max(imaginary.values())
        ax.set_xlabel("Re μ, eigenvalues μ of the population Jacobian "
                      + (f"(imaginary parts up to {dropped:.1g} dropped)" if dropped > 0
                         else "(all real)"))
        ax.set_title(f"Spectra near the teacher: K = K* = 3, d = 5, W = W* + {radius}·Z/√d "
                     f"(seed 0), λ = {SOBOLEV_WEIGHT:g}")
        fig.tight_layout()
        return save(fig, path)



def kappa_pairs(records: Sequence[Mapping[str, Any]], key: str, width: int
                ) -> np.ndarray:
    """(n, 2) array of (κ(l2), κ(key)) at the survey records of width K = K* = ``width`` where
    both extreme eigenvalues are positive (λ pairs are (λmin, λmax))."""
    pairs = [(r["l2"][1] / r["l2"][0], r[key][1] / r[key][0]) for r in records
             if r["K"] == width and r["l2"][0] > 0 and r[key][0] > 0]
    return np.array(pairs, dtype=float).reshape(-1, 2)


def build_kappa_survey(records: Sequence[Mapping[str, Any]], quick: bool):
    """Both panels share one pair of axis limits that covers every point of both."""
    plt = pyplot()
    records = [r for r in records if r.get("K*") == r["K"] and r.get("l2")
               and r.get("h1_expected") and r.get("h1_exact")]
    widths = sorted({r["K"] for r in records})
    panels = (("h1_expected", "h1, expected convention"), ("h1_exact", "h1, exact Hessian"))
    data = {key: {w: kappa_pairs(records, key, w) for w in widths} for key, _ in panels}
    values = np.concatenate([pairs.ravel() for by_width in data.values()
                             for pairs in by_width.values()] or [np.ones(1)])
    values = values[np.isfinite(values) & (values > 0)]
    lo, hi = float(values.min()) / 1.25, float(values.max()) * 1.25
    with plt.rc_context(RC):
        fig, axes = plt.subplots(1, 2, figsize=(9.6, 4.6), sharex=True, sharey=True)
        for ax, (key, title) in zip(axes, panels, strict=True):
            shown = 0
            for k_index, width in enumerate(widths):
                pairs = data[key][width]
                if not len(pairs):
                    continue
                x, y = pairs.T
                tie = np.isclose(y, x, rtol=TIE_RTOL, atol=0)
                below = (y < x) & ~tie
                ax.scatter(x, y, s=20, color=WIDTH_COLOURS[k_index % len(WIDTH_COLOURS)],
                           marker="os^Dv<>"[k_index % 7], zorder=3,
                           label=f"K = K* = {width}: {below.sum()} of {len(x)} below"
                                 + (f", {tie.sum()} tied" if tie.any() else ""))
                shown += len(x)
            ax.plot([lo, hi], [lo, hi], color=OKABE_ITO["black"], linewidth=1,
                    label="κ(h1) = κ(l2)")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_aspect("equal")
            ax.set_xlabel("κ(l2)")
            ax.legend(loc="upper left", fontsize=7)
            ax.set_title(f"{title}: {shown} with both positive definite")
        for ax in axes:  # after every panel: shared axes take the last limits set
            ax.set_xlim(lo, hi)
            ax.set_ylim(lo, hi)
        axes[0].set_ylabel(f"κ(h1), λ = {SOBOLEV_WEIGHT:g}")
        finish(fig, f"Survey of the conditioning claims ({'quick' if quick else 'full'}): "
                     f"{len(records)} configurations with existing Hessians; below the diagonal "
                     f"= h1 better conditioned (tied: within relative {TIE_RTOL:g})")
    return fig


def figure_kappa_survey(path: Path, quick: bool = True, evidence=None) -> Path:
    """Drawn from the survey the conditioning claims gather (``survey(quick)``, cached: no
    computation of its own after the claims ran)."""
    from proofs_check.claims.conditioning import survey

    return save(build_kappa_survey(survey(quick), quick), path)


#: examined sub-boxes per cell in ``certified_region``.
CELL_BUDGET = 24
#: bits of the point enclosures that recognise a tie, and the tie threshold |f| <= 2**-TIE_BITS.
TIE_PRECISION = 200
TIE_BITS = 150
#: sample points per side of a cell in the tie test (corners and centre lines).
TIE_SAMPLES = 3
#: cell categories: short name (used in titles and the legend), explanation, colour.
CELL_CATEGORIES = {
    "proved": ("proved", "κ(h1) < κ(l2) on the whole cell", OKABE_ITO["green"]),
    "counterexample": ("counterexample", "a certified point with κ(h1) > κ(l2)",
                       OKABE_ITO["vermillion"]),
    "tie": ("tie", f"κ(h1) = κ(l2): cross-multiplied, equal to 2^-{TIE_BITS} at "
                   f"{TIE_SAMPLES}×{TIE_SAMPLES} points (not a violation)", OKABE_ITO["sky"]),
    "not positive definite": ("not positive definite",
                              "a Hessian is not positive definite on the cell (κ undefined)",
                              OKABE_ITO["yellow"]),
    "undecided": ("undecided", f"neither proved nor refuted within {CELL_BUDGET} sub-boxes",
                  OKABE_ITO["grey"]),
}


def _cross_and_region(convention: str, arithmetic: str = "arb"):
    """f = λmax(h1)·λmin(l2) − λmax(l2)·λmin(h1) and the region (λmin(l2), λmin(h1)) on a box of
    Arb balls (the claims' arithmetic; interval products through arb_ctx.fmul) or, with
    ``arithmetic="iv"``, of mpmath.iv intervals (the tie test's high-precision points)."""
    from mpmath import iv

    from proofs_check.analysis.certify import arb_ctx, extremes, one_neuron_spectra

    ctx = arb_ctx if arithmetic == "arb" else iv

    def spectra(box):
        rho, theta = box
        s = one_neuron_spectra(rho, theta, convention=convention, sobolev_weight=SOBOLEV_WEIGHT,
                               dim=3, ctx=ctx)
        return extremes(s["l2"]), extremes(s["h1"])

    def cross(box):
        (l2_min, l2_max), (h1_min, h1_max) = spectra(box)
        return ctx.fmul(h1_max, l2_min) - ctx.fmul(l2_max, h1_min)

    def region(box):
        (l2_min, _), (h1_min, _) = spectra(box)
        return l2_min, h1_min

    return cross, region


def is_tie(convention: str, cell) -> bool:
    """κ(h1) = κ(l2) at every one of TIE_SAMPLES² points of the cell (edges included), in the
    sense that the enclosure of f = λmax(h1)·λmin(l2) − λmax(l2)·λmin(h1) at
    TIE_PRECISION bits lies within ±2^-TIE_BITS: an equality interval arithmetic on the cell
    cannot prove (f is 0 inside its own enclosure), recognised at points and labelled as such."""
    from mpmath import iv

    cross, _ = _cross_and_region(convention, "iv")
    (r0, r1), (t0, t1) = cell
    previous = iv.prec
    iv.prec = TIE_PRECISION
    try:
        bound = iv.mpf(2) ** -TIE_BITS
        for rho in np.linspace(r0, r1, TIE_SAMPLES):
            for theta in np.linspace(t0, t1, TIE_SAMPLES):
                f = cross([iv.mpf(float(rho)), iv.mpf(float(theta))])
                if not (f.a >= -bound and f.b <= bound):
                    return False
        return True
    finally:
        iv.prec = previous


def cell_status(convention: str, cell) -> str:
    """The category of one (ρ, θ) cell (keys of CELL_CATEGORIES)."""
    from proofs_check.analysis.certify import prove

    cross, region = _cross_and_region(convention)
    strict = prove(cross, cell, relation="<", where=region, names=("ρ", "θ"),
                   min_width=1e-3, max_boxes=CELL_BUDGET, arithmetic="arb")
    if strict.status == "proved":
        return "proved" if strict.proved_boxes else "not positive definite"
    if strict.status == "counterexample":
        return "counterexample"
    return "tie" if is_tie(convention, cell) else "undecided"


def figure_certified_region(path: Path, quick: bool = True, evidence=None) -> Path:
    """Cells of a (ρ, θ) grid, each decided by interval arithmetic for this figure (the claims
    prove the whole box at once and record no per-cell outcome)."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    plt = pyplot()
    with plt.rc_context(RC):
        cells = 10 if quick else 24
        rho_edges = np.geomspace(0.5, 2.0, cells + 1) if quick else np.geomspace(0.1, 10, cells + 1)
        theta_edges = np.linspace(0.01, math.pi - 0.01, cells + 1)
        codes = {name: code for code, name in enumerate(CELL_CATEGORIES)}
        colours = [colour for _, _, colour in CELL_CATEGORIES.values()]
        fig, axes = plt.subplots(1, 2, figsize=(9.6, 4.1), sharey=True)
        for ax, convention in zip(axes, ("expected", "exact"), strict=True):
            status = np.empty((cells, cells))
            for i in range(cells):
                for j in range(cells):
                    cell = ((rho_edges[i], rho_edges[i + 1]),
                            (theta_edges[j], theta_edges[j + 1]))
                    status[j, i] = codes[cell_status(convention, cell)]
            ax.pcolormesh(rho_edges, theta_edges, status, cmap=ListedColormap(colours),
                          vmin=-0.5, vmax=len(colours) - 0.5, edgecolors="white",
                          linewidth=0.3)
            log_axis(ax, "x")
            ax.set_xlabel("ρ = ‖w*‖ / ‖w‖")
            counts = {name: int(np.sum(status == code)) for name, code in codes.items()}
            ax.set_title(f"h1 {convention}: " + ", ".join(
                f"{n} {CELL_CATEGORIES[name][0]}" for name, n in counts.items() if n))
        axes[0].set_yticks([0, math.pi / 4, math.pi / 2, 3 * math.pi / 4, math.pi],
                           ["0", "π/4", "π/2", "3π/4", "π"])
        axes[0].set_ylabel("θ = angle(w, w*)")
        finish(fig, f"Is κ(h1) < κ(l2)? One neuron, d ≥ 3, λ = {SOBOLEV_WEIGHT:g}: Arb ball "
                    f"arithmetic (python-flint) on a {cells}×{cells} grid of (ρ, θ) cells",
               ncol=2, handles=[Patch(color=colour, label=f"{short}: {explanation}")
                                for short, explanation, colour in CELL_CATEGORIES.values()])
        return save(fig, path)
