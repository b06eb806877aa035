"""Figures of the report: the registry (:data:`FIGURES`); one module per family draws them
(matplotlib with the Agg backend; matplotlib is the `plot` extra; shared style in ``style``).

Every figure shares one style (:data:`LOSS_STYLE`: one colour, line style and marker per loss and
convention, from the Okabe–Ito colour-blind-safe palette) and is written as PNG, SVG or PDF
(``fmt``). Each has a :class:`FigureSpec` in :data:`FIGURES` with its caption (configuration, λ,
what to look at) and the claims it supports, so the report can put it next to them and
``check --claim X`` redraws only the figures X needs.

* ``kappa_vs_theta`` — κ of one neuron vs θ = angle(w, w*) (|w| = |w*|, d = 3, λ = 1): l2,
  h1 expected, h1 exact (closed forms).
* ``spectra`` — eigenvalues μ (real parts) of l2 and h1 (expected) near the teacher, κ per row.
* ``montecarlo_error`` — the Monte-Carlo κ of the claim predicted-kappa-matches-monte-carlo
  against the closed-form κ, row by row, from that claim's evidence.
* ``flow`` — loss and distance to the teacher along the l2 and h1 gradient flows, raw and
  (1 + λ)-rescaled time, cut at the solver's accuracy floor.
* ``kappa_survey`` — κ(h1) vs κ(l2) over the conditioning claims' survey, coloured by K.
* ``certified_region`` — one neuron, (ρ, θ) cells proved / counterexample / tie / not positive
  definite / undecided by interval arithmetic for κ(h1) < κ(l2), both conventions.
* ``landscape`` — fraction of starts reaching the global minimum per surveyed k (census).
* ``activation_gain`` — κ-gain and rate-gain at W = W* per activation and teacher row norm.

Each caption says what the figure is drawn from: a claim's evidence of the same run (or the
survey its claims gather, cached), or a computation of the figure's own (closed forms, flows,
interval arithmetic on a grid) where no claim records those numbers. ``draw(path, quick,
evidence)`` receives the run's evidence {claim id: evidence}.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proofs_check.report.figures.conditioning import (
    CELL_BUDGET,
    TIE_BITS,
    figure_certified_region,
    figure_kappa_survey,
    figure_kappa_vs_theta,
    figure_spectra,
)
from proofs_check.report.figures.dynamics import figure_flow, plot_flows  # noqa: F401  (flow --plot)
from proofs_check.report.figures.style import FORMATS
from proofs_check.report.figures.validation import figure_montecarlo_error


@dataclass(frozen=True)
class FigureSpec:
    """A report figure: file stem, drawing function ``draw(path, quick, evidence=None) ->
    path`` (``evidence``: {claim id: evidence} of the run), caption (configuration, λ, what it
    is drawn from, what to look at) and the claim ids it supports."""

    name: str
    draw: Callable[..., Path]
    caption: str
    claims: tuple[str, ...] = ()


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("kappa_survey", figure_kappa_survey,
               "κ(h1) against κ(l2) at every configuration of the conditioning survey (K = K*, "
               "teacher N(0, 1/d), placements perturbed/random), λ = 1, coloured by width K; "
               "drawn from the survey the conditioning claims gather (both panels share axes "
               "that hold every point). "
               "Points below the diagonal are where Sobolev training improves the conditioning; "
               "look for the points above it (expected convention) and for how many sit above "
               "it with the exact Hessian.",
               ("kappa-h1-below-l2", "kappa-h1-below-l2-exact-hessian")),
    FigureSpec("kappa_vs_theta", figure_kappa_vs_theta,
               "One neuron, ‖w‖ = ‖w*‖ = 1, d = 3, λ = 1: κ vs the angle θ, computed for the "
               "figure from the closed forms. The expected-convention h1 curve lies below l2 "
               "for every θ; the exact h1 Hessian coincides with l2 on [π/4, 3π/4] and is worse "
               "outside it.",
               ("certified-kappa-h1-expected-below-l2", "certified-kappa-h1-exact-below-l2",
                "kappa-h1-below-l2-exact-hessian")),
    FigureSpec("certified_region", figure_certified_region,
               "One neuron, d ≥ 3, λ = 1, decided for the figure cell by cell by interval "
               "arithmetic (mpmath.iv; the claims prove the whole box at once): proved "
               "(κ(h1) < κ(l2) wherever both Hessians are positive definite), counterexample "
               "(a certified point where it fails), tie (κ(h1) = κ(l2) at every sample point of "
               f"the cell to 2^-{TIE_BITS}: an equality, not a violation), not positive definite "
               f"(κ undefined), or undecided within {CELL_BUDGET} sub-boxes. Expected "
               "convention: proved on every inner cell; the cells at θ near 0 and π stay "
               "undecided because κ(l2) − κ(h1) → 0 there (a tight inequality). Exact Hessian: "
               "counterexamples for θ < π/4 and θ > 3π/4 and ties in between — no gain "
               "anywhere.",
               ("certified-kappa-h1-expected-below-l2", "certified-kappa-h1-exact-below-l2")),
    FigureSpec("spectra", figure_spectra,
               "Eigenvalues μ (real parts) of the l2 Hessian and the h1 Jacobian (expected "
               "convention, λ = 1), and of h1/(1 + λ), at K = K* = 3, d = 5, W = W* + 0.3·Z/√d; "
               "κ per row; computed for the figure from the closed forms (one configuration). "
               "Compare the smallest eigenvalues of l2 and h1/(1 + λ): the claim is "
               "that Sobolev training raises them while the largest barely moves.",
               ("lambda-min-grows-lambda-max-barely-changes",
                "certified-h1-normalised-raises-min-keeps-max")),
    FigureSpec("montecarlo_error", figure_montecarlo_error,
               "Drawn from the evidence of predicted-kappa-matches-monte-carlo: per row (K, K*, "
               "d, placement, loss; expected convention, λ = 1) the relative gap between the "
               "Monte-Carlo κ (central-difference Jacobian, replicates, jackknife SE) and the "
               "closed-form κ, with the claim's agreement bar ±t·SE. A bar crossing 0 is a row "
               "that agrees; an open marker one that does not.",
               ("predicted-kappa-matches-monte-carlo",)),
    FigureSpec("flow", figure_flow,
               "Gradient flows of l2 and h1 (expected field, λ = 1) from the same random start, "
               "K = K* = 2, d = 3 (seed 1), integrated for the figure (DOP853; the flow claims "
               "record rates, not trajectories). Curves stop at the solver's accuracy floor. "
               "Look at the distance: h1 converges faster in raw time; the right panel shows how "
               "much of that is the factor 1 + λ in the field's scale.",
               ("flow-h1-faster-than-l2",)),
)


def _drawn_by(module: str, function: str) -> Callable[..., Path]:
    """``draw(path, quick, evidence=None)`` that imports ``module.function`` only when the
    figure is drawn (the landscape and activation figures pull in their claims' surveys)."""

    def draw(path: Path, quick: bool, evidence=None) -> Path:
        import importlib

        return getattr(importlib.import_module(module), function)(path, quick,
                                                                  evidence=evidence)

    return draw


FIGURES += (
    FigureSpec("landscape", _drawn_by("proofs_check.report.figures.landscape", "figure_landscape"),
               "Landscape census on the exact population field (relu, orthonormal teacher "
               "W* = I_k, K = K* = d = k, N(0, 1/d) starts, λ = 1, h1 in the expected "
               "convention): fraction of gradient-descent runs from the same starts that reach "
               "the global minimum, with Wilson 95 % intervals, at the surveyed widths only "
               "(markers, no line: nothing is measured between them); drawn from the landscape "
               "claims' census. Look at where l2 first drops "
               "below 1 (spurious minima) and whether h1 stays above it.",
               ("landscape-h1-global-at-least-as-often",
                "landscape-spurious-l2-minima-not-h1-minima",
                "landscape-h1-descent-escapes-spurious-l2-minima")),
    FigureSpec("activation_gain",
               _drawn_by("proofs_check.report.figures.activations", "figure_activation_gain"),
               "κ(l2)/κ(h1) and λmin(h1)/λmin(l2) at the global minimum W = W* per activation "
               "(closed forms; relu and leaky relu one-sided, median over directions; tanh by "
               "quadrature), K = K* ≤ 4, teacher rows rescaled to norm 0.3, 1 and 3, λ = 1; "
               "drawn from the survey of activation-gain-largest-for-sine. Markers: geometric "
               "mean over the teachers; whiskers: smallest to largest teacher. A missing marker "
               "is a value the survey could not give; the title says which and why (tanh at row "
               "norm 3: the quadrature's error estimate is above its tolerance, so tanh is left "
               "out there). Values above 1 mean Sobolev training helps; look at how the ranking "
               "of sine changes with the row norm.",
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
                 progress: Callable[[str, int, int], None] | None = None,
                 evidence: Mapping[str, Any] | None = None) -> list[Path]:
    """Draw the figures the claims ``claims`` need (every figure for None) into ``out_dir`` as
    ``fmt`` ("png", "svg" or "pdf"); returns their paths in drawing order. ``progress(name, i,
    n)`` is called before figure i of n. ``evidence`` ({claim id: evidence} of the run) is
    what figures drawn from a claim's evidence use; a figure whose claim is not in it gathers
    that evidence itself."""
    if fmt not in FORMATS:
        raise ValueError(f"figure format must be one of {FORMATS}; got {fmt!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    specs = figures_for(claims)
    paths = []
    for index, spec in enumerate(specs):
        if progress is not None:
            progress(spec.name, index, len(specs))
        paths.append(spec.draw(out_dir / f"{spec.name}.{fmt}", quick, evidence=evidence))
    # figure modules of other families add their figures here, one line each
    return paths
