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
"""

from __future__ import annotations

import json
import math
import platform
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

import theory
from proofs_check.claims import Claim, Verdict, all_claims
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
    provenance: dict[str, Any] | None = None

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
    ]


# ------------------------------------------------------------------------------------ report

def _git_commit() -> dict[str, Any]:
    """The source tree's git commit and whether it has uncommitted changes (None when the
    package does not run from a git checkout or git is missing — not an error)."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=10,
                               check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None, "git_commit_reason": "not a git checkout (or git missing)"}
    return {"git_commit": commit, "git_dirty": bool(dirty)}


def _source_version() -> str | None:
    import tomllib

    try:
        text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
        return tomllib.loads(text)["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return None


def provenance(quick: bool, results: Sequence[ClaimResult] = (),
               complete: bool = True) -> dict[str, Any]:
    """Where the numbers of a report come from: package and library versions, git commit when
    available, UTC date, mode (quick/default), whether every registered claim ran, and each
    claim's seeds (its evidence's "seeds" entry)."""
    from importlib import metadata

    import mpmath
    import scipy
    import sympy

    try:
        version, where = metadata.version("sobolev-verify"), "installed"
    except metadata.PackageNotFoundError:
        version, where = _source_version(), "source tree (pyproject.toml; not installed)"
    info: dict[str, Any] = {
        "package": "sobolev-verify", "package_version": version, "package_version_from": where,
        **_git_commit(),
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(), "numpy": np.__version__,
        "scipy": scipy.__version__, "sympy": sympy.__version__, "mpmath": mpmath.__version__,
        "platform": platform.platform(),
        "mode": "quick" if quick else "default", "all_claims": complete,
        "seeds": {r.claim.id: r.verdict.evidence.get("seeds", "none recorded")
                  for r in results},
    }
    return info


def _reason(value: float) -> str:
    if math.isnan(value):
        return "NaN (not a number: undefined)"
    return "+inf (unbounded or never reached)" if value > 0 else "-inf (unbounded below)"


def json_ready(value: Any, path: str = "$", reasons: dict[str, str] | None = None) -> Any:
    """A copy of ``value`` that strict JSON can hold: arrays and tuples become lists, numpy
    scalars Python numbers, unknown objects their str(), and a non-finite float ``None`` with
    its reason recorded in ``reasons[path]`` (paths like ``$.claims[3].evidence.rows[0].time``).
    """
    if reasons is None:
        reasons = {}
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, dict):
        return {str(k): json_ready(v, f"{path}.{k}", reasons) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v, f"{path}[{i}]", reasons) for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        reasons[path] = _reason(value)
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def dumps(value: Any, indent: int | None = 2) -> str:
    """Strict JSON (no NaN/Infinity; Unicode kept): non-finite floats become null, and the
    reasons are added as "null_reasons" {path: reason} when ``value`` is a dict."""
    reasons: dict[str, str] = {}
    ready = json_ready(value, reasons=reasons)
    if reasons and isinstance(ready, dict):
        ready["null_reasons"] = reasons
    return json.dumps(ready, indent=indent, ensure_ascii=False, allow_nan=False)


def payload(report: Report) -> dict[str, Any]:
    """The report as one JSON-ready dict (before null handling)."""
    return {"ok": report.ok, "provenance": report.provenance,
            "claims": [r.as_dict() for r in report.results],
            "figures": [str(p) for p in report.figures]}


def to_json(report: Report) -> str:
    return dumps(payload(report))


def cell(text: Any) -> str:
    """Text safe inside one markdown table cell: `|` escaped, newlines as spaces."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


#: Lists longer than this are abridged in report.md (the JSON output keeps them whole).
MARKDOWN_LIST_LIMIT = 12


def _abridge(value: Any) -> Any:
    """value with every list longer than MARKDOWN_LIST_LIMIT cut to its first entries plus a
    note, for the human-readable report (survey rows run to hundreds)."""
    if isinstance(value, dict):
        return {k: _abridge(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_abridge(v) for v in value[:MARKDOWN_LIST_LIMIT]]
        if len(value) > MARKDOWN_LIST_LIMIT:
            items.append(f"… {len(value) - MARKDOWN_LIST_LIMIT} more (all in `check --json`)")
        return items
    return value


def _provenance_lines(info: dict[str, Any] | None) -> list[str]:
    if not info:
        return []
    commit = info.get("git_commit") or f"none ({info.get('git_commit_reason')})"
    if info.get("git_dirty"):
        commit += " (with uncommitted changes)"
    return ["## Provenance", "",
            f"sobolev-verify {info.get('package_version') or 'from source'}, commit {commit}, "
            f"{info['date_utc']}; Python {info['python']}, numpy {info['numpy']}, scipy "
            f"{info['scipy']}, sympy {info['sympy']}, mpmath {info['mpmath']}; "
            f"{info['platform']}; mode {info['mode']}"
            + ("" if info.get("all_claims", True) else " (a subset of the claims)") + ".", "",
            "Seeds per claim:", ""]  + [f"* `{k}`: {cell(v)}" for k, v in info["seeds"].items()]


def write_markdown(report: Report, out_dir: Path, quick: bool) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = ["# sobolev-verify report", "",
             f"Mode: {'quick' if quick else 'default'}. Overall: "
             f"{'every verdict matches what is documented' if report.ok else 'MISMATCH'}.", "",
             "| claim | expected | verdict | matches | summary |", "|---|---|---|---|---|"]
    for r in report.results:
        lines.append(f"| `{r.claim.id}` | {r.claim.expected} | **{r.verdict.status}** | "
                     f"{'yes' if r.agrees else 'NO'} | {cell(r.verdict.summary)} |")
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
                      dumps(r.verdict.counterexample, indent=1), "```"]
        lines += ["", "<details><summary>Evidence</summary>", "", "```json",
                  dumps(_abridge(r.verdict.evidence), indent=1), "```", "", "</details>", ""]
    lines += _provenance_lines(report.provenance)
    if report.figures:
        lines += ["", "## Figures", ""]
        lines += [f"![{p.stem}]({p.name})" for p in report.figures]
    if report.figure_note:
        lines += ["", f"Figures: {report.figure_note}"]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
