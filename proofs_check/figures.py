"""Figures of the report (matplotlib with the Agg backend; matplotlib is the `plot` extra).

Every figure shares one style (:data:`LOSS_STYLE`: one colour, line style and marker per loss and
convention, from the Okabe–Ito colour-blind-safe palette) and is written as PNG, SVG or PDF
(``fmt``). Each has a :class:`FigureSpec` in :data:`FIGURES` with its caption (configuration, λ,
what to look at) and the claims it supports, so the report can put it next to them and
``check --claim X`` redraws only the figures X needs.

* ``kappa_vs_theta`` — κ of one neuron vs θ = angle(w, w*) (|w| = |w*|, d = 3, λ = 1): l2,
  h1 expected, h1 exact (closed forms).
* ``spectra`` — eigenvalues μ (real parts) of l2 and h1 (expected) near the teacher, κ per row.
* ``montecarlo_error`` — Monte-Carlo errors of the h1 loss, gradient and Hessian vs N over
  independent replicates, with the mean reported standard error.
* ``flow`` — loss and distance to the teacher along the l2 and h1 gradient flows, raw and
  (1 + λ)-rescaled time, cut at the solver's accuracy floor.
* ``kappa_survey`` — κ(h1) vs κ(l2) over the conditioning claims' survey, coloured by K.
* ``certified_region`` — one neuron, (ρ, θ) cells proved / counterexample / undecided by interval
  arithmetic for κ(h1) < κ(l2), both conventions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import theory
from theory.configurations import make_configuration

FORMATS = ("png", "svg", "pdf")

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = {"blue": "#0072B2", "vermillion": "#D55E00", "green": "#009E73",
             "orange": "#E69F00", "sky": "#56B4E9", "purple": "#CC79A7", "yellow": "#F0E442",
             "black": "#000000", "grey": "#999999"}

#: One style per loss/convention, the same in every figure.
LOSS_STYLE: dict[str, dict] = {
    "l2": {"color": OKABE_ITO["blue"], "linestyle": "-", "marker": "o",
           "label": "l2"},
    "h1 expected": {"color": OKABE_ITO["vermillion"], "linestyle": "--", "marker": "s",
                    "label": "h1, expected (the field training follows)"},
    "h1 exact": {"color": OKABE_ITO["green"], "linestyle": ":", "marker": "^",
                 "label": "h1, exact Hessian"},
    "h2 expected": {"color": OKABE_ITO["purple"], "linestyle": "-.", "marker": "D",
                    "label": "h2, expected"},
    "h2 exact": {"color": OKABE_ITO["orange"], "linestyle": (0, (3, 1, 1, 1)), "marker": "v",
                 "label": "h2, exact Hessian"},
}
#: Colours of the widths K in survey plots.
WIDTH_COLOURS = (OKABE_ITO["blue"], OKABE_ITO["orange"], OKABE_ITO["green"],
                 OKABE_ITO["purple"], OKABE_ITO["sky"], OKABE_ITO["vermillion"])

_RC = {"font.size": 9, "axes.titlesize": 9.5, "axes.labelsize": 9, "legend.fontsize": 8,
       "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.6, "lines.linewidth": 1.6,
       "lines.markersize": 4.5, "axes.spines.top": False, "axes.spines.right": False,
       "svg.fonttype": "none", "pdf.fonttype": 42, "savefig.bbox": "tight"}

SOBOLEV_WEIGHT = 1.0
#: relative tolerance under which two condition numbers count as tied (not a violation).
TIE_RTOL = 1e-9


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("figures need matplotlib: pip install 'sobolev-verify[plot]'") from exc
    return plt


def _style(key: str, **overrides) -> dict:
    style = dict(LOSS_STYLE[key])
    style.update(overrides)
    return style


def _save(fig, path: Path) -> Path:
    fmt = path.suffix.lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"figure format must be one of {FORMATS}; got {fmt!r} in {path}")
    # metadata without a date, so that figures are reproducible byte for byte where possible
    metadata = {"png": {"Software": None}, "svg": {"Date": None},
                "pdf": {"CreationDate": None}}[fmt]
    if not getattr(fig, "_laid_out", False):  # figures that did not go through _finish
        fig.tight_layout()
    fig.savefig(path, dpi=150, metadata=metadata, bbox_inches="tight")
    _pyplot().close(fig)
    return path


def _finish(fig, title: str, axes_with_legend=None, ncol: int = 3, handles=None) -> None:
    """A suptitle wrapped to the canvas width and (optionally) one legend below the panels."""
    import textwrap

    width_chars = int(fig.get_figwidth() * 13)
    fig.suptitle("\n".join(textwrap.wrap(title, width_chars)))
    if handles is not None:
        labels = [handle.get_label() for handle in handles]
    elif axes_with_legend is not None:
        handles, labels = [], []
        for axis in np.atleast_1d(axes_with_legend):
            for handle, label in zip(*axis.get_legend_handles_labels(), strict=True):
                if label not in labels:
                    handles.append(handle)
                    labels.append(label)
    if handles is not None:
        fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False)
        fig.tight_layout(rect=(0, 0.06 * math.ceil(len(labels) / ncol) + 0.02, 1, 1))
    else:
        fig.tight_layout()
    fig._laid_out = True


def _log_axis(axis, which: str = "y") -> None:
    """Log scale with readable ticks between decades (1.5, 2, 3, 5 ...), plain numbers."""
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    target = axis.yaxis if which == "y" else axis.xaxis
    (axis.set_yscale if which == "y" else axis.set_xscale)("log")
    low, high = (axis.get_ylim() if which == "y" else axis.get_xlim())
    if high / low < 100:  # less than two decades: label 1, 1.5, 2, 3, 5 of each decade
        target.set_major_locator(LogLocator(base=10, subs=(1.0, 1.5, 2.0, 3.0, 5.0)))
        formatter = ScalarFormatter()
        formatter.set_scientific(False)
        target.set_major_formatter(formatter)
        target.set_minor_formatter(NullFormatter())


# ------------------------------------------------------------------------------ the figures

def figure_kappa_vs_theta(path: Path, quick: bool = True) -> Path:
    plt = _pyplot()
    with plt.rc_context(_RC):
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
                    markevery=(list(keys).index(key) * 6, 20), **_style(key))
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
        _log_axis(ax, "y")
        ax.set_xticks([0, math.pi / 4, math.pi / 2, 3 * math.pi / 4, math.pi],
                      ["0", "π/4", "π/2", "3π/4", "π"])
        ax.set_xlabel("θ = angle(w, w*)   (one neuron, ‖w‖ = ‖w*‖ = 1, d = 3)")
        ax.set_ylabel("κ = λ_max / λ_min")
        ax.set_title(f"Condition number vs angle, closed forms, Sobolev weight λ = "
                     f"{SOBOLEV_WEIGHT:g}")
        ax.legend(loc="upper center")
        fig.tight_layout()
        return _save(fig, path)


def figure_spectra(path: Path, quick: bool = True) -> Path:
    plt = _pyplot()
    with plt.rc_context(_RC):
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
        return _save(fig, path)


def _replicate_errors(config, sizes, replicates: int, hessian: bool):
    """(len(sizes), replicates) arrays of errors and reported standard errors (RMS over
    entries) of independent Monte-Carlo estimates (seed = 1000·i + r)."""
    from numerics.montecarlo import monte_carlo, monte_carlo_hessian

    W, W_star = config.W, config.W_star
    exact_loss = theory.population_loss(W, W_star, "h1", sobolev_weight=SOBOLEV_WEIGHT)
    exact_grad = theory.population_gradient(W, W_star, "h1", sobolev_weight=SOBOLEV_WEIGHT)
    shape = (len(sizes), replicates)
    out = {name: (np.empty(shape), np.empty(shape)) for name in ("loss", "gradient")}
    if hessian:
        exact_hess = theory.population_hessian(W, W_star, "h1", sobolev_weight=SOBOLEV_WEIGHT)
        out["hessian"] = (np.empty(shape), np.empty(shape))
    for i, n in enumerate(sizes):
        for r in range(replicates):
            seed = 1000 * i + r
            est = monte_carlo(W, W_star, "h1", n_samples=int(n), seed=seed,
                              sobolev_weight=SOBOLEV_WEIGHT)
            out["loss"][0][i, r] = abs(est.value - exact_loss)
            out["loss"][1][i, r] = est.value_stderr
            out["gradient"][0][i, r] = np.sqrt(np.mean((est.gradient - exact_grad) ** 2))
            out["gradient"][1][i, r] = np.sqrt(np.mean(est.gradient_stderr ** 2))
            if hessian:
                h = monte_carlo_hessian(W, W_star, "h1", n_samples=int(n) // 4,
                                        seed=seed, sobolev_weight=SOBOLEV_WEIGHT)
                out["hessian"][0][i, r] = np.sqrt(np.mean((h.hessian - exact_hess) ** 2))
                out["hessian"][1][i, r] = np.sqrt(np.mean(h.stderr ** 2))
    return out


def figure_montecarlo_error(path: Path, quick: bool = True) -> Path:
    plt = _pyplot()
    with plt.rc_context(_RC):
        radius = 0.5
        config = make_configuration(2, 2, 3, 0, at="perturbed", radius=radius)
        sizes = np.unique(np.logspace(3, 5 if quick else 6, 6 if quick else 7).astype(int))
        replicates = 8 if quick else 16
        data = _replicate_errors(config, sizes, replicates, hessian=True)
        fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.6), sharex=True)
        titles = {"loss": "loss H", "gradient": "gradient (RMS over entries)",
                  "hessian": "Hessian (RMS; N/4 samples, CRN differences)"}
        for ax, (name, (errors, stderrs)) in zip(axes, data.items(), strict=True):
            n = sizes if name != "hessian" else sizes // 4
            rms = np.sqrt(np.mean(errors ** 2, axis=1))
            low, high = np.quantile(errors, [0.1, 0.9], axis=1)
            colour = LOSS_STYLE["h1 expected"]["color"]
            ax.fill_between(n, low, high, color=colour, alpha=0.2, linewidth=0,
                            label=f"10–90 % of {replicates} replicates")
            ax.plot(n, rms, "o-", color=colour, label="RMS error over replicates")
            ax.plot(n, stderrs.mean(axis=1), "k--", linewidth=1.2,
                    label="mean reported standard error")
            anchor = rms[0] * math.sqrt(n[0])
            ax.plot(n, anchor / np.sqrt(n), color=OKABE_ITO["grey"], linestyle=":",
                    label="slope −1/2 (through the first RMS point)")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("samples N")
            ax.set_title(titles[name])
        axes[0].set_ylabel("|Monte-Carlo − closed form|")
        _finish(fig, f"Monte-Carlo error vs N, h1 (λ = {SOBOLEV_WEIGHT:g}, expected convention): "
                     f"K = K* = 2, d = 3, W = W* + {radius}·Z/√d (seed 0); independent seeds "
                     f"per replicate", axes[0], ncol=4)
        return _save(fig, path)


def plot_flows(flows: dict, W_star, path: Path, title: str,
               sobolev_weight: float = SOBOLEV_WEIGHT, second_order_weight: float = 1.0) -> Path:
    """Loss and distance to the teacher vs time for flows {"l2": FlowResult, "h1": ...}, and
    the distance vs (1 + λ)-rescaled time for h1 ((1 + λ + μ) for h2). Each curve stops where
    the distance reaches the solver's accuracy floor 100·(rtol·‖W*‖ + atol), and the loss where
    it reaches its rounding floor 100·eps·‖W*‖²: below them the curves are solver or rounding
    noise."""
    plt = _pyplot()
    with plt.rc_context(_RC):
        fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
        floor = None
        for loss, flow in flows.items():
            key = "l2" if loss == "l2" else f"{loss} {flow.convention}"
            floor = 100 * (flow.rtol * float(np.linalg.norm(W_star)) + flow.atol)
            keep = np.ones_like(flow.t, dtype=bool)
            if flow.distance is not None and (flow.distance < floor).any():
                keep[int(np.argmax(flow.distance < floor)) + 1:] = False
            t = flow.t[keep]
            style = _style(key, marker=None, label=f"{LOSS_STYLE[key]['label']} ({flow.status})")
            loss_floor = 100 * np.finfo(float).eps * float(np.sum(np.square(W_star)))
            shown = flow.loss[keep] >= loss_floor
            if not shown.all():
                shown[int(np.argmin(shown)):] = False
            axes[0].plot(t[shown], flow.loss[keep][shown], **style)
            if flow.distance is not None:
                axes[1].plot(t, flow.distance[keep], **style)
                scale = {"l2": 1.0, "h1": 1 + sobolev_weight,
                         "h2": 1 + sobolev_weight + second_order_weight}[loss]
                axes[2].plot(t * scale, flow.distance[keep], **style)
        axes[0].axhline(loss_floor, color=OKABE_ITO["grey"], linestyle=(0, (1, 3)), linewidth=1,
                        label=f"rounding floor of the loss 100·eps·‖W*‖² = {loss_floor:.1g}")
        for ax in axes[1:]:
            ax.axhline(floor, color=OKABE_ITO["grey"], linestyle="-.", linewidth=1,
                       label=f"solver accuracy floor 100·(rtol‖W*‖ + atol) = {floor:.1g}")
        for ax in axes:
            ax.set_yscale("log")
        axes[0].set_ylabel("population loss being minimised")
        axes[0].set_xlabel("time t")
        axes[1].set_ylabel("‖W − W*‖ (best permutation)")
        axes[1].set_xlabel("time t")
        axes[2].set_xlabel("rescaled time (1 + λ)·t for h1, t for l2" if "h2" not in flows else
                           "rescaled time (1 + λ)·t for h1, (1 + λ + μ)·t for h2, t for l2")
        axes[0].set_title("loss (h1 ~ distance, l2 ~ distance²)")
        axes[1].set_title("distance to the teacher")
        axes[2].set_title("same, h1 time rescaled by 1 + λ")
        _finish(fig, title, axes[:2])
        return _save(fig, path)


def figure_flow(path: Path, quick: bool = True) -> Path:
    from numerics.flow import gradient_flow

    config = make_configuration(2, 2, 3, 1, at="random", radius=1.0)
    flows = {loss: gradient_flow(config.W, config.W_star, loss, t_max=150.0,
                                 sobolev_weight=SOBOLEV_WEIGHT) for loss in ("l2", "h1")}
    return plot_flows(flows, config.W_star, path,
                      f"Gradient flow on the expected field (DOP853, rtol "
                      f"{flows['l2'].rtol:g}), K = K* = 2, d = 3, λ = {SOBOLEV_WEIGHT:g}; start "
                      "W0 random (N(0, 1/d) entries, seed 1), same for both losses")


def figure_kappa_survey(path: Path, quick: bool = True) -> Path:
    from proofs_check.claims.conditioning import survey

    plt = _pyplot()
    with plt.rc_context(_RC):
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
        _finish(fig, f"Survey of the conditioning claims ({'quick' if quick else 'full'}): "
                     f"{len(records)} configurations with existing Hessians; below the diagonal "
                     f"= h1 better conditioned (tied: within relative {TIE_RTOL:g})")
        return _save(fig, path)


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
    from proofs_check.certify import extremes, one_neuron_spectra, prove

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

    plt = _pyplot()
    with plt.rc_context(_RC):
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
            _log_axis(ax, "x")
            ax.set_xlabel("ρ = ‖w*‖ / ‖w‖")
            counts = {name: int(np.sum(status == code)) for name, code in codes.items()}
            ax.set_title(f"h1 {convention}: " + ", ".join(
                f"{n} {name}" for name, n in counts.items() if n))
        axes[0].set_yticks([0, math.pi / 4, math.pi / 2, 3 * math.pi / 4, math.pi],
                           ["0", "π/4", "π/2", "3π/4", "π"])
        axes[0].set_ylabel("θ = angle(w, w*)")
        _finish(fig, f"κ(h1) < κ(l2) for one neuron, d ≥ 3, λ = {SOBOLEV_WEIGHT:g}: "
                f"interval arithmetic (mpmath.iv) on a {cells}×{cells} grid of (ρ, θ) cells",
                ncol=3, handles=[Patch(color=colour, label=label)
                                 for label, colour in CELL_CATEGORIES.values()])
        return _save(fig, path)


# ------------------------------------------------------------------------- the registry

@dataclass(frozen=True)
class FigureSpec:
    """A report figure: file stem, drawing function ``draw(path, quick) -> path``, caption
    (configuration, λ, what to look at) and the claim ids it supports."""

    name: str
    draw: Callable[[Path, bool], Path]
    caption: str
    claims: tuple[str, ...] = ()


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("kappa_survey", figure_kappa_survey,
               "κ(h1) against κ(l2) at every configuration of the conditioning survey (K = K*, "
               "teacher N(0, 1/d), placements perturbed/random), λ = 1, coloured by width K. "
               "Points below the diagonal are where Sobolev training improves the conditioning; "
               "look for the points above it (expected convention) and for how many sit above "
               "it with the exact Hessian.",
               ("kappa-h1-below-l2", "kappa-h1-below-l2-exact-hessian")),
    FigureSpec("kappa_vs_theta", figure_kappa_vs_theta,
               "One neuron, ‖w‖ = ‖w*‖ = 1, d = 3, λ = 1: κ vs the angle θ from the closed "
               "forms. The expected-convention h1 curve lies below l2 for every θ; the exact "
               "h1 Hessian coincides with l2 on [π/4, 3π/4] and is worse outside it.",
               ("certified-kappa-h1-expected-below-l2", "certified-kappa-h1-exact-below-l2",
                "kappa-h1-below-l2-exact-hessian")),
    FigureSpec("certified_region", figure_certified_region,
               "One neuron, d ≥ 3, λ = 1: each (ρ, θ) cell is proved (κ(h1) < κ(l2) wherever "
               "both Hessians are positive definite), holds a certified counterexample, lies "
               "where a Hessian is not positive definite, or is undecided within "
               f"{CELL_BUDGET} sub-boxes (interval arithmetic, mpmath.iv). Expected convention: "
               "proved on every inner cell; the cells at θ near 0 and π stay undecided because "
               "κ(l2) − κ(h1) → 0 there (a tight inequality). Exact Hessian: counterexamples "
               "for θ < π/4 and θ > 3π/4; in between κ(h1) = κ(l2) exactly, an equality that "
               "interval arithmetic leaves undecided — no gain there either.",
               ("certified-kappa-h1-expected-below-l2", "certified-kappa-h1-exact-below-l2")),
    FigureSpec("spectra", figure_spectra,
               "Eigenvalues μ (real parts) of the l2 Hessian and the h1 Jacobian (expected "
               "convention, λ = 1), and of h1/(1 + λ), at K = K* = 3, d = 5, W = W* + 0.3·Z/√d; "
               "κ per row. Compare the smallest eigenvalues of l2 and h1/(1 + λ): the claim is "
               "that Sobolev training raises them while the largest barely moves.",
               ("lambda-min-grows-lambda-max-barely-changes",
                "certified-h1-normalised-raises-min-keeps-max")),
    FigureSpec("montecarlo_error", figure_montecarlo_error,
               "Monte-Carlo estimates of the h1 loss, expected gradient and expected Hessian "
               "(λ = 1) against the closed forms at K = K* = 2, d = 3, W = W* + 0.5·Z/√d, over "
               "independent seeds per N. The RMS error should follow the mean reported "
               "standard error and the N^(-1/2) slope; the Hessian also carries an O(h²) "
               "step bias not in its bar.",
               ("predicted-kappa-matches-monte-carlo",)),
    FigureSpec("flow", figure_flow,
               "Gradient flows of l2 and h1 (expected field, λ = 1) from the same random start, "
               "K = K* = 2, d = 3 (seed 1). Curves stop at the solver's accuracy floor. Look at "
               "the distance: h1 converges faster in raw time; the right panel shows how much "
               "of that is the factor 1 + λ in the field's scale.",
               ("flow-h1-faster-than-l2",)),
)


def _drawn_by(module: str, function: str) -> Callable[[Path, bool], Path]:
    """``draw(path, quick)`` that imports ``module.function`` only when the figure is drawn (the
    landscape and activation figures pull in their claims' surveys)."""

    def draw(path: Path, quick: bool) -> Path:
        import importlib

        return getattr(importlib.import_module(module), function)(path, quick)

    return draw


FIGURES += (
    FigureSpec("landscape", _drawn_by("proofs_check.figures_landscape", "figure_landscape"),
               "Landscape census on the exact population field (relu, orthonormal teacher "
               "W* = I_k, K = K* = d = k, N(0, 1/d) starts, λ = 1, h1 in the expected "
               "convention): fraction of gradient-descent runs from the same starts that reach "
               "the global minimum, with Wilson 95 % intervals. Look at where l2 first drops "
               "below 1 (spurious minima) and whether h1 stays above it.",
               ("landscape-h1-global-at-least-as-often",
                "landscape-spurious-l2-minima-not-h1-minima",
                "landscape-h1-descent-escapes-spurious-l2-minima")),
    FigureSpec("activation_gain",
               _drawn_by("proofs_check.figures_activations", "figure_activation_gain"),
               "κ(l2)/κ(h1) and λmin(h1)/λmin(l2) at the global minimum W = W* per activation "
               "(closed forms; relu and leaky relu one-sided, median over directions; tanh by "
               "quadrature), K = K* ≤ 4, teacher rows rescaled to norm 0.3, 1 and 3, λ = 1. "
               "Values above 1 mean Sobolev training helps; look at how the ranking of sine "
               "changes with the row norm.",
               ("activation-gain-largest-for-sine",)),
)


def spec_for(path: Path | str) -> FigureSpec | None:
    """The spec of a figure file (by stem), or None for figures drawn elsewhere."""
    stem = Path(path).stem
    return next((spec for spec in FIGURES if spec.name == stem), None)


def figures_for(claim_ids: Sequence[str] | None) -> list[FigureSpec]:
    """The specs that support any of ``claim_ids`` (all of them for None)."""
    if claim_ids is None:
        return list(FIGURES)
    wanted = set(claim_ids)
    return [spec for spec in FIGURES if wanted.intersection(spec.claims)]


def draw_figures(out_dir: Path, quick: bool, fmt: str = "png",
                 claims: Sequence[str] | None = None,
                 progress: Callable[[str, int, int], None] | None = None) -> list[Path]:
    """Draw the figures the claims ``claims`` need (every figure for None) into ``out_dir`` as
    ``fmt`` ("png", "svg" or "pdf"); returns their paths in drawing order. ``progress(name, i,
    n)`` is called before figure i of n."""
    if fmt not in FORMATS:
        raise ValueError(f"figure format must be one of {FORMATS}; got {fmt!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    specs = figures_for(claims)
    paths = []
    for index, spec in enumerate(specs):
        if progress is not None:
            progress(spec.name, index, len(specs))
        paths.append(spec.draw(out_dir / f"{spec.name}.{fmt}", quick))
    # figure modules of other families add their figures here, one line each
    return paths
