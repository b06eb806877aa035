"""Conditioning figures: κ of one neuron vs θ (``kappa_vs_theta``), the eigenvalues near the
teacher (``spectra``), κ(h1) vs κ(l2) over the conditioning survey (``kappa_survey``) and the
one-neuron (ρ, θ) cells certified by interval arithmetic (``certified_region``)."""

from __future__ import annotations

import math
from pathlib import Path

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


def figure_kappa_vs_theta(path: Path, quick: bool = True) -> Path:
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


def figure_spectra(path: Path, quick: bool = True) -> Path:
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



def figure_kappa_survey(path: Path, quick: bool = True) -> Path:
    from proofs_check.claims.conditioning import survey

    plt = pyplot()
    with plt.rc_context(RC):
        # K = K* survey points with both spectra (teacher limits and K ≠ K* rows are left out)
        records = [r for r in survey(quick) if r.get("K*") == r["K"] and r.get("l2")
                   and r.get("h1_expected") and r.get("h1_exact")]
        fig, axes = plt.subplots(1, 2, figsize=(9.6, 4.2), sharex=True, sharey=True)
        widths = sorted({r["K"] for r in records})
        panel_titles: dict = {}
        for ax, key, title in ((axes[0], "h1_expected", "h1, expected convention"),
                               (axes[1], "h1_exact", "h1, exact Hessian")):
            panel_titles[ax] = title
            lows, highs, shown = [], [], 0
            for k_index, width in enumerate(widths):
                pairs = [(r["l2"][1] / r["l2"][0], r[key][1] / r[key][0]) for r in records
                         if r["K"] == width and r["l2"][0] > 0 and r[key][0] > 0]
                if not pairs:
                    continue
                x, y = np.array(pairs).T
                tie = np.isclose(y, x, rtol=TIE_RTOL, atol=0)
                below = (y < x) & ~tie
                lows.append(min(x.min(), y.min()))
                highs.append(max(x.max(), y.max()))
                colour = WIDTH_COLOURS[k_index % len(WIDTH_COLOURS)]
                ax.scatter(x, y, s=20, color=colour, marker="os^Dv<>"[k_index % 7],
                           label=f"K = K* = {width}: {below.sum()} of {len(x)} below"
                                 + (f", {tie.sum()} tied" if tie.any() else ""))
                shown += len(x)
            lo, hi = min(lows) / 1.2, max(highs) * 1.2
            ax.plot([lo, hi], [lo, hi], color=OKABE_ITO["black"], linewidth=1,
                    label="κ(h1) = κ(l2)")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlim(lo, hi)
            ax.set_ylim(lo, hi)
            ax.set_aspect("equal")
            ax.set_xlabel("κ(l2)")
            ax.legend(loc="upper left", fontsize=7)
            ax.set_title(f"{panel_titles[ax]}: {shown} with both positive definite")
        axes[0].set_ylabel(f"κ(h1), λ = {SOBOLEV_WEIGHT:g}")
        finish(fig, f"Survey of the conditioning claims ({'quick' if quick else 'full'}): "
                     f"{len(records)} configurations with existing Hessians; below the diagonal "
                     f"= h1 better conditioned (tied: within relative {TIE_RTOL:g})")
        return save(fig, path)


#: examined sub-boxes per cell in ``certified_region``.
CELL_BUDGET = 24
#: cell categories of ``certified_region``: label and colour.
CELL_CATEGORIES = {
    "proved": ("κ(h1) < κ(l2) proved on the cell", OKABE_ITO["green"]),
    "counterexample": ("certified counterexample in the cell", OKABE_ITO["vermillion"]),
    "excluded": ("a Hessian not positive definite (κ undefined)", OKABE_ITO["yellow"]),
    "undecided": (f"undecided within {CELL_BUDGET} sub-boxes", OKABE_ITO["grey"]),
}


def _cell_status(convention: str, cell) -> str:
    from proofs_check.analysis.certify import extremes, one_neuron_spectra, prove

    def spectra(box):
        rho, theta = box
        s = one_neuron_spectra(rho, theta, convention=convention, sobolev_weight=SOBOLEV_WEIGHT,
                               dim=3)
        return extremes(s["l2"]), extremes(s["h1"])

    def cross(box):
        (l2_min, l2_max), (h1_min, h1_max) = spectra(box)
        return h1_max * l2_min - l2_max * h1_min

    def region(box):
        (l2_min, _), (h1_min, _) = spectra(box)
        return l2_min, h1_min

    strict = prove(cross, cell, relation="<", where=region, names=("ρ", "θ"),
                   min_width=1e-3, max_boxes=CELL_BUDGET)
    if strict.status == "proved":
        return "proved" if strict.proved_boxes else "excluded"
    return "counterexample" if strict.status == "counterexample" else "undecided"


def figure_certified_region(path: Path, quick: bool = True) -> Path:
    from matplotlib.patches import Patch

    plt = pyplot()
    with plt.rc_context(RC):
        cells = 10 if quick else 24
        rho_edges = np.geomspace(0.5, 2.0, cells + 1) if quick else np.geomspace(0.1, 10, cells + 1)
        theta_edges = np.linspace(0.01, math.pi - 0.01, cells + 1)
        from matplotlib.colors import ListedColormap

        codes = {name: code for code, name in enumerate(CELL_CATEGORIES)}
        colours = [colour for _, colour in CELL_CATEGORIES.values()]

        fig, axes = plt.subplots(1, 2, figsize=(9.6, 3.9), sharey=True)
        for ax, convention in zip(axes, ("expected", "exact"), strict=True):
            status = np.empty((cells, cells))
            for i in range(cells):
                for j in range(cells):
                    cell = ((rho_edges[i], rho_edges[i + 1]),
                            (theta_edges[j], theta_edges[j + 1]))
                    status[j, i] = codes[_cell_status(convention, cell)]
            ax.pcolormesh(rho_edges, theta_edges, status, cmap=ListedColormap(colours),
                          vmin=-0.5, vmax=len(colours) - 0.5, edgecolors="white",
                          linewidth=0.3)
            log_axis(ax, "x")
            ax.set_xlabel("ρ = ‖w*‖ / ‖w‖")
            counts = {name: int(np.sum(status == code)) for name, code in codes.items()}
            ax.set_title(f"h1 {convention}: " + ", ".join(
                f"{n} {name}" for name, n in counts.items() if n))
        axes[0].set_yticks([0, math.pi / 4, math.pi / 2, 3 * math.pi / 4, math.pi],
                           ["0", "π/4", "π/2", "3π/4", "π"])
        axes[0].set_ylabel("θ = angle(w, w*)")
        finish(fig, f"κ(h1) < κ(l2) for one neuron, d ≥ 3, λ = {SOBOLEV_WEIGHT:g}: "
                f"interval arithmetic (mpmath.iv) on a {cells}×{cells} grid of (ρ, θ) cells",
                ncol=3, handles=[Patch(color=colour, label=label)
                                 for label, colour in CELL_CATEGORIES.values()])
        return save(fig, path)
