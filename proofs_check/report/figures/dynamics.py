"""Dynamics figure: loss and distance to the teacher along the l2 and h1 gradient flows, raw and
(1 + λ)-rescaled time (``flow``); :func:`plot_flows` also draws ``sobolev-verify flow --plot``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from proofs_check.report.figures.style import (
    LOSS_STYLE,
    OKABE_ITO,
    RC,
    SOBOLEV_WEIGHT,
    finish,
    loss_style,
    pyplot,
    save,
)
from theory.configurations import make_configuration


def plot_flows(flows: dict, W_star, path: Path, title: str,
               sobolev_weight: float = SOBOLEV_WEIGHT, second_order_weight: float = 1.0) -> Path:
    """Loss and distance to the teacher vs time for flows {"l2": FlowResult, "h1": ...}, and
    the distance vs (1 + λ)-rescaled time for h1 ((1 + λ + μ) for h2). Each curve stops where
    the distance reaches the solver's accuracy floor 100·(rtol·‖W*‖ + atol), and the loss where
    it reaches its rounding floor 100·eps·‖W*‖²: below them the curves are solver or rounding
    noise."""
    plt = pyplot()
    with plt.rc_context(RC):
        fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
        floor = None
        for loss, flow in flows.items():
            key = "l2" if loss == "l2" else f"{loss} {flow.convention}"
            floor = 100 * (flow.rtol * float(np.linalg.norm(W_star)) + flow.atol)
            keep = np.ones_like(flow.t, dtype=bool)
            if flow.distance is not None and (flow.distance < floor).any():
                keep[int(np.argmax(flow.distance < floor)) + 1:] = False
            t = flow.t[keep]
            style = loss_style(key, marker=None,
                               label=f"{LOSS_STYLE[key]['label']} ({flow.status})")
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
        finish(fig, title, axes[:2])
        return save(fig, path)


def figure_flow(path: Path, quick: bool = True, evidence=None) -> Path:
    """Two flows integrated for the figure (the flow claims record rates, not trajectories)."""
    from numerics.flow import gradient_flow

    config = make_configuration(2, 2, 3, 1, at="random", radius=1.0)
    flows = {loss: gradient_flow(config.W, config.W_star, loss, t_max=150.0,
                                 sobolev_weight=SOBOLEV_WEIGHT) for loss in ("l2", "h1")}
    return plot_flows(flows, config.W_star, path,
                      f"Gradient flow on the expected field (DOP853, rtol "
                      f"{flows['l2'].rtol:g}), K = K* = 2, d = 3, λ = {SOBOLEV_WEIGHT:g}; start "
                      "W0 random (N(0, 1/d) entries, seed 1), same for both losses")
