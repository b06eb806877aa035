"""The report's figures show what their captions say: read from the Axes (limits, artists,
labels), never from pixels."""

from __future__ import annotations

import math
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from proofs_check.report.figures.activations import build_activation_gain  # noqa: E402
from proofs_check.report.figures.conditioning import (  # noqa: E402
    CELL_CATEGORIES,
    build_kappa_survey,
    cell_status,
    is_tie,
)
from proofs_check.report.figures.landscape import build_landscape  # noqa: E402
from proofs_check.report.figures.style import OKABE_ITO, log_axis  # noqa: E402
from proofs_check.report.figures.validation import build_montecarlo  # noqa: E402

PALETTE = {colour.lower() for colour in OKABE_ITO.values()}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _within(ax, x, y) -> bool:
    (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
    return bool(np.all((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)))


def _survey_record(K, l2, h1_expected, h1_exact):
    return {"K": K, "K*": K, "l2": [1.0, l2], "h1_expected": [1.0, h1_expected],
            "h1_exact": [1.0, h1_exact]}


def test_kappa_survey_limits_cover_every_point_of_both_panels():
    records = [_survey_record(1, 1.5, 1.2, 1.5), _survey_record(2, 40.0, 30.0, 80.0),
               _survey_record(3, 1.2e4, 9e3, 1.4e4),
               # the conditioning claim's worst case in the default survey
               _survey_record(2, 3.65e5, 1.9e6, 2.0e5)]
    fig = build_kappa_survey(records, quick=False)
    points = 0
    for ax in fig.axes:
        for collection in ax.collections:
            if isinstance(collection, PathCollection):
                x, y = np.asarray(collection.get_offsets()).T
                assert _within(ax, x, y), (ax.get_title(), ax.get_xlim(), ax.get_ylim())
                points += len(x)
    assert points == 2 * len(records)
    assert fig.axes[0].get_xlim() == fig.axes[1].get_xlim()


def test_log_axis_tick_labels_are_short_plain_numbers():
    for low, high in ((1.0, 10.0), (0.5, 2.0), (1.0, 3.0)):
        fig, ax = plt.subplots()
        ax.plot([low, high], [low, high])
        ax.set_ylim(low, high)
        log_axis(ax, "y")
        fig.canvas.draw()
        labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
        assert labels
        for label in labels:
            assert not re.search(r"\.\d*0$", label), labels  # no "10.00", "1.50"
            assert float(label) == pytest.approx(float(f"{float(label):g}"))


def _gain_evidence():
    teachers = []
    for scale in (0.3, 3.0):
        for seed in range(3):
            entry = {"K": 2, "d": 3, "seed": seed, "scale": scale,
                     "kappa_gain": {"relu": 2.0 + seed, "sine": 1.5 * (seed + 1)},
                     "rate_gain": {"relu": 3.0, "sine": 4.0 + seed}}
            if scale == 3.0:
                del entry["kappa_gain"]["sine"], entry["rate_gain"]["sine"]
            teachers.append(entry)
    return {"activations": ["relu", "sine"], "measured_only": [], "teachers": teachers,
            "survey": {"width": [2], "dim": [3]},
            "left_out": [{"activation": "sine", "scale": 3.0,
                          "reason": "quadrature error estimate 0.11 > 1e-06"}]}


def test_activation_gain_is_a_dot_plot_in_the_palette_with_labels_and_the_gap_explained():
    evidence = _gain_evidence()
    fig = build_activation_gain(evidence)
    panels = fig.axes
    assert len(panels) == 2
    for ax in panels:
        assert not [p for p in ax.patches if isinstance(p, Rectangle)], "bars on a log axis"
        assert ax.get_ylabel()
        assert ax.get_legend() is None  # the legend sits below the panels, not over the data
        for line in ax.lines:
            assert to_hex(line.get_color()).lower() in PALETTE
            if len(line.get_xdata()) > 1 and line.get_marker() not in (None, "", "None"):
                assert line.get_linestyle() == "None"
    assert fig.legends
    # geometric means over teachers, computed here independently
    relu_03 = math.exp(np.mean(np.log([2.0, 3.0, 4.0])))
    means = [y for line in panels[0].lines for y in line.get_ydata()
             if line.get_marker() not in (None, "", "None")]
    assert any(m == pytest.approx(relu_03) for m in means)
    title = fig.texts[0].get_text() if fig.texts else fig._suptitle.get_text()
    assert "sine at row norm 3" in title.replace("\n", " ")
    assert "quadrature error estimate" in title.replace("\n", " ")


def test_landscape_has_markers_per_surveyed_k_and_no_line_between_them():
    rows = [{"k": 6, "n": 50, "l2_global": 40, "h1_global": 45},
            {"k": 8, "n": 50, "l2_global": 30, "h1_global": 42}]
    fig = build_landscape(rows)
    ax = fig.axes[0]
    data_lines = [line for line in ax.lines if len(line.get_xdata()) > 1]
    assert data_lines
    for line in data_lines:
        assert line.get_linestyle() == "None" and line.get_marker() not in (None, "", "None")
    xs = sorted(x for line in data_lines for x in line.get_xdata())
    assert all(abs(x - round(x)) < 0.2 for x in xs)  # at the surveyed k only (±offset)
    assert list(ax.get_xticks()) == [6, 8]


def test_montecarlo_figure_is_drawn_from_the_claims_evidence():
    rows = [{"width": 1, "teacher_width": 1, "dim": 3, "at": "perturbed", "loss": loss,
             "predicted_kappa": 2.0, "measured_kappa": measured,
             "measured_kappa_stderr": 0.05, "threshold": 4.0, "n_samples": 1000,
             "replicates": 16, "verdict": "agrees"}
            for loss, measured in (("l2", 2.1), ("h1", 1.9))]
    fig = build_montecarlo({"rows": rows})
    ax = fig.axes[0]
    ys = [float(line.get_ydata()[0]) for line in ax.lines
          if line.get_marker() not in (None, "", "None", "_") and len(line.get_ydata()) == 1]
    assert ys == pytest.approx([0.05, -0.05])  # (2.1 − 2)/2 and (1.9 − 2)/2


def test_certified_region_labels_exact_ties_as_ties_and_uses_one_vocabulary():
    middle = ((0.9, 1.1), (1.2, 1.4))  # θ in [π/4, 3π/4]: κ(h1, exact) = κ(l2) identically
    assert cell_status("exact", middle) == "tie"
    assert cell_status("expected", middle) == "proved"
    assert cell_status("exact", ((0.9, 1.1), (0.01, 0.3))) == "counterexample"
    # near θ = 0 the expected-convention inequality is tight, not an equality
    assert cell_status("expected", ((0.9, 1.1), (0.01, 0.3))) == "undecided"
    assert not is_tie("expected", ((0.9, 1.1), (0.01, 0.3)))
    for key, (short, _, _) in CELL_CATEGORIES.items():
        assert short == key  # titles count by these names, the legend starts with them
