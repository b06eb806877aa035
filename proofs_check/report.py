"""Run the claims, draw the figures and write report.md.

Figures (PNG, matplotlib with the Agg backend; matplotlib is the `plot` extra):

* ``kappa_vs_theta.png`` — κ of one neuron vs the angle θ to the teacher (|w| = |w*|, d = 3):
  l2, h1 expected and h1 exact (closed forms).
* ``spectra.png`` — eigenvalues (real parts) of l2 and h1 (expected) at a configuration near the
  teacher, h1 also normalised by 1 + λ.
* ``montecarlo_error.png`` — |Monte-Carlo − closed form| of the h1 loss and its standard error vs
  the number of samples N, with the N^(-1/2) reference.
* ``flow.png`` — population loss and distance to the teacher vs time along gradient flows of
  l2 and h1 (expected field) from one start.
* ``activation_gain.png`` — κ(l2)/κ(h1) and λmin(h1)/λmin(l2) at the global minimum per
  activation and teacher row norm (proofs_check.figures_activations).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import theory
from proofs_check.claims import Claim, Verdict, all_claims
from proofs_check.figures_activations import figure_activation_gain
from theory.configurations import make_configuration


@dataclass
class ClaimResult:
    claim: Claim
    verdict: Verdict
    seconds: float
    error: str | None = None

    @property
    def agrees(self) -> bool:
        return self.error is None and self.claim.agrees(self.verdict)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.claim.id, "statement": self.claim.statement,
                "source": self.claim.source, "scope": self.claim.scope,
                "expected": self.claim.expected, "status": self.verdict.status,
                "agrees_with_expected": self.agrees, "summary": self.verdict.summary,
                "condition": self.verdict.condition,
                "counterexample": self.verdict.counterexample,
                "evidence": self.verdict.evidence, "seconds": round(self.seconds, 2),
                "error": self.error}


@dataclass
class Report:
    results: list[ClaimResult]
    figures: list[Path] = field(default_factory=list)
    figure_note: str | None = None

    @property
    def ok(self) -> bool:
        return all(result.agrees for result in self.results)


def run_claims(quick: bool, only: Sequence[str] | None = None,
               progress=None) -> list[ClaimResult]:
    """Run every registered claim (or those in ``only``); an exception becomes a failed row."""
    results = []
    claims = all_claims()
    if only:
        unknown = sorted(set(only) - {claim.id for claim in claims})
        if unknown:
            raise ValueError(f"unknown claim id(s) {unknown}; known: "
                             f"{[claim.id for claim in claims]}")
        claims = [claim for claim in claims if claim.id in only]
    for claim in claims:
        if progress:
            progress(claim)
        start = time.perf_counter()
        try:
            verdict = claim.run(quick)
            error = None
        except Exception as exc:  # a broken checker is reported, not hidden
            verdict = Verdict("inconclusive", f"checker raised {type(exc).__name__}: {exc}")
            error = f"{type(exc).__name__}: {exc}"
        results.append(ClaimResult(claim, verdict, time.perf_counter() - start, error))
    return results


def verdict_table(results: Sequence[ClaimResult]) -> str:
    """Fixed-width verdict table: id, expected, status, agreement and the one-line summary."""
    width = max(len(r.claim.id) for r in results)
    lines = [f"{'claim':<{width}}  {'expected':<11} {'verdict':<12} ok   summary"]
    for r in results:
        mark = "yes" if r.agrees else "NO"
        lines.append(f"{r.claim.id:<{width}}  {r.claim.expected:<11} {r.verdict.status:<12} "
                     f"{mark:<4} {r.verdict.summary}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------- figures

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
        figure_activation_gain(out_dir / "activation_gain.png", quick),
    ]


# ------------------------------------------------------------------------------------ report

def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def to_json(report: Report) -> str:
    return json.dumps({"ok": report.ok, "claims": [r.as_dict() for r in report.results],
                       "figures": [str(p) for p in report.figures]},
                      indent=2, default=_json_default)


def write_markdown(report: Report, out_dir: Path, quick: bool) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = ["# sobolev-verify report", "",
             f"Mode: {'quick' if quick else 'default'}. Overall: "
             f"{'every verdict matches what is documented' if report.ok else 'MISMATCH'}.", "",
             "| claim | expected | verdict | matches | summary |", "|---|---|---|---|---|"]
    for r in report.results:
        lines.append(f"| `{r.claim.id}` | {r.claim.expected} | **{r.verdict.status}** | "
                     f"{'yes' if r.agrees else 'NO'} | {r.verdict.summary} |")
    lines.append("")
    for r in report.results:
        lines += [f"## `{r.claim.id}`", "", f"**Statement.** {r.claim.statement}", "",
                  f"**Source.** {r.claim.source}. **Scope.** {r.claim.scope}.", "",
                  f"**Verdict: {r.verdict.status}** — {r.verdict.summary} "
                  f"({r.seconds:.1f} s)."]
        if r.verdict.condition:
            lines += ["", f"**Condition.** {r.verdict.condition}"]
        if "table" in r.verdict.evidence:
            lines += ["", "```", r.verdict.evidence["table"], "```"]
        if r.verdict.counterexample:
            lines += ["", "**Counterexample.**", "", "```json",
                      json.dumps(r.verdict.counterexample, indent=1, default=_json_default),
                      "```"]
        lines += ["", "<details><summary>Evidence</summary>", "", "```json",
                  json.dumps(r.verdict.evidence, indent=1, default=_json_default), "```",
                  "", "</details>", ""]
    if report.figures:
        lines += ["## Figures", ""]
        lines += [f"![{p.stem}]({p.name})" for p in report.figures]
    if report.figure_note:
        lines += ["", f"Figures: {report.figure_note}"]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
