"""Validation figure: Monte-Carlo errors of the h1 loss, gradient and Hessian vs the sample size
over independent replicates, with the mean reported standard error (``montecarlo_error``)."""

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
    finish,
    pyplot,
    save,
)
from theory.configurations import make_configuration


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
    plt = pyplot()
    with plt.rc_context(RC):
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
        finish(fig, f"Monte-Carlo error vs N, h1 (λ = {SOBOLEV_WEIGHT:g}, expected convention): "
                     f"K = K* = 2, d = 3, W = W* + {radius}·Z/√d (seed 0); independent seeds "
                     f"per replicate", axes[0], ncol=4)
        return save(fig, path)
