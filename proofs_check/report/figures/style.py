"""The report figures' shared style: the Okabe–Ito colour-blind-safe palette, one colour,
line style and marker per loss and convention (:data:`LOSS_STYLE`), matplotlib settings and
the helpers every figure module uses to draw, title and save (PNG, SVG or PDF)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

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

RC = {"font.size": 9, "axes.titlesize": 9.5, "axes.labelsize": 9, "legend.fontsize": 8,
       "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.6, "lines.linewidth": 1.6,
       "lines.markersize": 4.5, "axes.spines.top": False, "axes.spines.right": False,
       "svg.fonttype": "none", "pdf.fonttype": 42, "savefig.bbox": "tight"}

SOBOLEV_WEIGHT = 1.0
#: relative tolerance under which two condition numbers count as tied (not a violation).
TIE_RTOL = 1e-9


def pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("figures need matplotlib: pip install 'sobolev-verify[plot]'") from exc
    return plt


def loss_style(key: str, **overrides) -> dict:
    style = dict(LOSS_STYLE[key])
    style.update(overrides)
    return style


def save(fig, path: Path) -> Path:
    fmt = path.suffix.lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"figure format must be one of {FORMATS}; got {fmt!r} in {path}")
    # metadata without a date, so that figures are reproducible byte for byte where possible
    metadata = {"png": {"Software": None}, "svg": {"Date": None},
                "pdf": {"CreationDate": None}}[fmt]
    if not getattr(fig, "_laid_out", False):  # figures that did not go through finish
        fig.tight_layout()
    fig.savefig(path, dpi=150, metadata=metadata, bbox_inches="tight")
    pyplot().close(fig)
    return path


def finish(fig, title: str, axes_with_legend=None, ncol: int = 3, handles=None) -> None:
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


def plain_number_formatter():
    """Tick labels as short plain numbers (0.5, 1, 1.5, 10, 2e+04), never "10.00"."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _position: f"{value:g}")


def log_axis(axis, which: str = "y") -> None:
    """Log scale with readable ticks between decades (1.5, 2, 3, 5 ...), plain numbers."""
    from matplotlib.ticker import LogLocator, NullFormatter

    target = axis.yaxis if which == "y" else axis.xaxis
    (axis.set_yscale if which == "y" else axis.set_xscale)("log")
    low, high = (axis.get_ylim() if which == "y" else axis.get_xlim())
    if high / low < 100:  # less than two decades: label 1, 1.5, 2, 3, 5 of each decade
        target.set_major_locator(LogLocator(base=10, subs=(1.0, 1.5, 2.0, 3.0, 5.0)))
        target.set_major_formatter(plain_number_formatter())
        target.set_minor_formatter(NullFormatter())


def evidence_of(claim_id: str, quick: bool, evidence=None) -> dict:
    """The evidence of ``claim_id`` from this run (``evidence``: claim id -> evidence, as
    `check` passes it), or gathered now when the run did not include the claim."""
    if evidence and claim_id in evidence:
        return evidence[claim_id]
    from proofs_check.claims import get_claim

    claim = get_claim(claim_id)
    return claim.gather(quick) if claim.gather is not None else claim.run(quick).evidence
