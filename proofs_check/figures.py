"""Figures of the report (PNG by default, matplotlib with the Agg backend; the `plot` extra).

* ``kappa_vs_theta.png`` — κ of one neuron vs the angle θ to the teacher (|w| = |w*|, d = 3):
  l2, h1 expected and h1 exact (closed forms).
* ``spectra.png`` — eigenvalues (real parts) of l2 and h1 (expected) at a configuration near the
  teacher, h1 also normalised by 1 + λ.
* ``montecarlo_error.png`` — |Monte-Carlo − closed form| of the h1 loss and its standard error vs
  the number of samples N, with the N^(-1/2) reference.
* ``flow.png`` — population loss and distance to the teacher vs time along gradient flows of
  l2 and h1 (expected field) from one start.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import theory
from theory.configurations import make_configuration


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("figures need matplotlib: pip install 'sobolev-verify[plot]'") from exc
    return plt


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path


def figure_kappa_vs_theta(path: Path) -> Path:
    plt = _pyplot()
    thetas = np.linspace(0.02, math.pi - 0.02, 200)
    u = np.array([1.0, 0.0, 0.0])
    curves = {("l2", "exact"): [], ("h1", "expected"): [], ("h1", "exact"): []}
    for theta in thetas:
        w = np.array([math.cos(theta), math.sin(theta), 0.0])
        for (loss, convention), values in curves.items():
            values.append(theory.condition_number(w, u, loss, convention=convention))
    fig, ax = plt.subplots(figsize=(6, 4))
    labels = {("l2", "exact"): "l2", ("h1", "expected"): "h1, expected (drives training)",
              ("h1", "exact"): "h1, exact Hessian"}
    for key, values in curves.items():
        ax.semilogy(thetas, np.where(np.isfinite(values), values, np.nan), label=labels[key])
    ax.set_xlabel("θ = angle(w, w*)  [|w| = |w*| = 1, d = 3]")
    ax.set_ylabel("κ (inf where not positive definite)")
    ax.set_title("One neuron: condition number vs angle (closed form)")
    ax.legend()
    return _save(fig, path)


def figure_spectra(path: Path) -> Path:
    plt = _pyplot()
    config = make_configuration(3, 3, 5, 0, at="perturbed", radius=0.3)
    series = {
        "l2": np.real(theory.spectrum(config.W, config.W_star, "l2")),
        "h1 (expected)": np.real(theory.spectrum(config.W, config.W_star, "h1")),
    }
    series["h1 / (1 + λ)"] = series["h1 (expected)"] / 2
    fig, ax = plt.subplots(figsize=(6, 4))
    for offset, (label, values) in enumerate(series.items()):
        ax.scatter(values, np.full_like(values, offset), label=label, s=18)
    ax.set_xscale("log")
    ax.set_yticks(range(len(series)), list(series))
    ax.set_xlabel("Re λ of the population Jacobian")
    ax.set_title(config.describe().split(":")[0] + ", W = W* + 0.3·Z/√d")
    return _save(fig, path)


def figure_montecarlo_error(path: Path, quick: bool) -> Path:
    from numerics.montecarlo import monte_carlo

    plt = _pyplot()
    config = make_configuration(2, 2, 3, 0, at="perturbed", radius=0.5)
    exact = theory.population_loss(config.W, config.W_star, "h1")
    sizes = np.logspace(3, 5.5 if quick else 6.5, 7).astype(int)
    errors, stderrs = [], []
    for n in sizes:
        estimate = monte_carlo(config.W, config.W_star, "h1", n_samples=int(n), seed=1)
        errors.append(abs(estimate.value - exact))
        stderrs.append(estimate.value_stderr)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(sizes, errors, "o", label="|MC − closed form| (h1 loss)")
    ax.loglog(sizes, stderrs, "-", label="reported standard error")
    ax.loglog(sizes, stderrs[0] * np.sqrt(sizes[0] / sizes), ":", label="∝ N^(-1/2)")
    ax.set_xlabel("samples N")
    ax.set_ylabel("error")
    ax.legend()
    return _save(fig, path)


def figure_flow(path: Path) -> Path:
    from numerics.flow import gradient_flow

    plt = _pyplot()
    config = make_configuration(2, 2, 3, 1, at="random", radius=1.0)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for loss in ("l2", "h1"):
        flow = gradient_flow(config.W, config.W_star, loss, t_max=150.0)
        left.semilogy(flow.t, np.maximum(flow.loss, 1e-300), label=f"{loss} loss")
        right.semilogy(flow.t, flow.distance, label=f"{loss} flow")
    left.set_ylabel("population loss being minimised")
    right.set_ylabel("‖W − W*‖ (matched over permutations)")
    for ax in (left, right):
        ax.set_xlabel("time t")
        ax.legend()
    fig.suptitle("Gradient flow on the expected field from the same start (K = K* = 2, d = 3); "
                 "h1's loss is ~ distance near W* (cone), l2's ~ distance²", fontsize=9)
    return _save(fig, path)


def draw_figures(out_dir: Path, quick: bool) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        figure_kappa_vs_theta(out_dir / "kappa_vs_theta.png"),
        figure_spectra(out_dir / "spectra.png"),
        figure_montecarlo_error(out_dir / "montecarlo_error.png", quick),
        figure_flow(out_dir / "flow.png"),
    ]
