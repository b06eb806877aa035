r"""The Sobolev gain per activation at the global minimum W = W* (K = K*), λ = 1.

For an activation σ and a teacher W* (K×d) the population Jacobians of the expected gradient
field at the minimum give

    κ-gain     = κ(l2) / κ(h1)                (> 1: Sobolev training is better conditioned)
    rate-gain  = λmin(h1) / λmin(l2)          (predicted ratio of the local gradient-flow rates)

with κ = max Re λ / min Re λ of the (K·d)×(K·d) Jacobian (theory.spectrum, "expected"
convention, the field gradient flow and SGD follow).

How the Jacobian "at the minimum" is taken:

* smooth σ (erf, sine, gelu): at W = W* exactly. There the two conventions coincide (no kink,
  so no boundary term) and the Hessian exists; it is a Gauss–Newton matrix, hence symmetric
  PSD.
* piecewise-linear σ (relu, leaky_relu(α)): the l2 Hessian exists at W* (the l2 field is C¹)
  and is taken there; the Sobolev field is not differentiable at W* (cone singularity), so the
  h1 Jacobian is one-sided: taken at W* + ε·‖W*‖_F·V/‖V‖_F with ε = ONE_SIDED_OFFSET along
  ``directions`` seeded Gaussian directions V; min / median / max over directions are
  reported. These activations are positively homogeneous, so every Jacobian is invariant under
  W* → cW* (tested in tests/test_activation_theory_vs_numerics.py): surveys compute them at
  row norm 1 and use them for every row norm.
* tanh (no closed form): the same quantities from numerics.quadrature's Jacobian at W = W*
  (tensor Gauss–Hermite, 128 nodes) — a measured activation. Where the rule's own error
  estimate is above MEASURED_TOL (tanh' = sech² is not resolved at row norm 3: 0.11 at 128
  nodes, still 9e-3 at 300) the point is marked unresolved and left out, with the estimate
  recorded.

Teachers: rows of theory.configurations.make_configuration(K, K, d, seed, at="teacher")
rescaled to the row norm ``scale`` (sine's and erf's kernels are not homogeneous in |w|, so the
gain depends on the scale; relu's does not).

One neuron (K = K* = 1) at w = w*, |w*| = r, for smooth σ the Jacobians are diagonal in
(u = w*/r, its complement) with 1-D Gaussian integrals (z ~ N(0, 1)):

    l2:       A = E[σ'(rz)² z²] (along u),   B = E[σ'(rz)²] (d − 1 times)
    sobolev:  C = E[(σ'(rz) + rz σ''(rz))²], D = E[σ'(rz)²] + r² E[σ''(rz)²]
    h1 = l2 + λ·sobolev: {A + λC, B + λD}

(the Sobolev residual ∇_x g = σ'(w·x) w has w-Jacobian σ' I + σ'' w xᵀ; at the minimum the
Hessian is E of its Gram matrix). Closed forms, with the Gaussian moments
E[e^{−a z²} z^{2k}] = (2k − 1)!!·(1 + 2a)^{−1/2−k} and E[z² cos bz] = (1 − b²) e^{−b²/2}:

    erf  (c = 4/π, s = 1 + 4r²):  A = c s^{−3/2},  B = c s^{−1/2},
         C = c (s^{−1/2} − 4r² s^{−3/2} + 12 r⁴ s^{−5/2}),  D = c (s^{−1/2} + 4r⁴ s^{−3/2});
    sine (e = e^{−2r²}):  A = (1 + (1 − 4r²) e)/2,  B = (1 + e)/2,
         C = (1 + e)/2 − 2r² e + r² (1 − (1 − 4r²) e)/2,  D = (1 + e)/2 + r² (1 − e)/2.

:func:`one_neuron_minimum` evaluates them in mpmath.mp, mpmath.iv or Arb balls (certificates);
the tests check them against 1-D quadrature and against theory.spectrum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

import theory
from numerics.activations import get_activation
from numerics.quadrature import quadrature_losses
from theory.configurations import make_configuration

#: Activations with closed forms in theory, in the order they are reported.
CLOSED_FORM = ("relu", "leaky_relu(0.1)", "gelu", "erf", "sine")
#: Activations measured only (numerics.quadrature): tanh has no closed-form Gaussian kernel.
MEASURED = ("tanh",)
#: Relative offset ε of the one-sided Jacobian of a piecewise-linear activation.
ONE_SIDED_OFFSET = 1e-7
#: First entry of the seed of the direction stream (kept apart from the teachers' streams).
DIRECTION_STREAM = 122025
#: Largest quadrature error estimate accepted for a measured activation's Jacobian.
MEASURED_TOL = 1e-6
#: One-neuron closed forms of the spectrum at the minimum exist for these activations.
ONE_NEURON_CLOSED_FORM = ("erf", "sine")


def is_piecewise_linear(activation: str) -> bool:
    return get_activation(activation).homogeneous


def scaled_teacher(width: int, dim: int, seed: int, scale: float) -> NDArray[np.float64]:
    """make_configuration's teacher (N(0, 1/d) entries) with every row rescaled to norm scale."""
    W_star = make_configuration(width, width, dim, seed, at="teacher").W_star
    return scale * W_star / np.linalg.norm(W_star, axis=1, keepdims=True)


def _extremes(values: ArrayLike) -> tuple[float, float]:
    real = np.real(np.asarray(values))
    return float(real.min()), float(real.max())


def _kappa(smallest: float, largest: float) -> float:
    return largest / smallest if smallest > 0 else math.inf


@dataclass
class MinimumSpectrum:
    """λmin, λmax of l2 and h1 at the minimum, one entry per direction (one for smooth σ)."""

    activation: str
    how: str
    l2: list[tuple[float, float]]
    h1: list[tuple[float, float]]
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def defined(self) -> bool:
        """Whether every λmin is > 0 (κ of a minimum is then finite)."""
        return all(a > 0 for a, _ in self.l2) and all(a > 0 for a, _ in self.h1)

    def kappa_ratios(self) -> NDArray[np.float64]:
        """κ(h1)/κ(l2) per direction (< 1: Sobolev better conditioned)."""
        return np.array([_kappa(*h) / _kappa(*l) for l, h in zip(self.l2, self.h1, strict=True)])

    def kappa_gains(self) -> NDArray[np.float64]:
        """κ(l2)/κ(h1) per direction."""
        return 1.0 / self.kappa_ratios()

    def rate_gains(self) -> NDArray[np.float64]:
        """λmin(h1)/λmin(l2) per direction: the predicted ratio of local flow rates."""
        return np.array([h[0] / l[0] for l, h in zip(self.l2, self.h1, strict=True)])

    def kappas(self) -> dict[str, list[float]]:
        return {"l2": [_kappa(*x) for x in self.l2], "h1": [_kappa(*x) for x in self.h1]}


def spectrum_at_minimum(W_star: ArrayLike, activation: str, *, directions: int = 100,
                        seed: int = 0, sobolev_weight: float = 1.0) -> MinimumSpectrum:
    """λmin, λmax of the l2 and h1 Jacobians at W = W* (module docstring: how it is taken)."""
    W_star = np.asarray(W_star, dtype=float)
    name = get_activation(activation).name
    if name in MEASURED:
        # one pass of the pair integrals for both losses (h1 = l2 + λ·sobolev shares them)
        both = quadrature_losses(W_star, W_star, ("l2", "h1"), activation=name,
                                 sobolev_weight=sobolev_weight)
        l2, h1 = both["l2"], both["h1"]
        error = max(l2.error_estimate, h1.error_estimate)
        notes: dict[str, Any] = {"quadrature_error_estimate": error}
        if error > MEASURED_TOL:
            notes["unresolved"] = (f"quadrature error estimate {error:.2g} > {MEASURED_TOL:g} "
                                   f"({h1.method})")
        return MinimumSpectrum(
            name, f"numerics.quadrature Jacobian at W = W* ({h1.method})",
            [_extremes(np.linalg.eigvals(l2.hessian))], [_extremes(np.linalg.eigvals(h1.hessian))],
            notes)
    options = {"activation": name, "convention": "expected"}
    if not is_piecewise_linear(name):
        return MinimumSpectrum(
            name, "theory.spectrum at W = W* (smooth: both conventions coincide)",
            [_extremes(theory.spectrum(W_star, W_star, "l2", **options))],
            [_extremes(theory.spectrum(W_star, W_star, "h1", sobolev_weight=sobolev_weight,
                                       **options))])
    # A stream of its own: default_rng(seed) would replay the draw that made the teacher
    # (make_configuration) and give radial directions.
    rng = np.random.default_rng((DIRECTION_STREAM, seed))
    epsilon = ONE_SIDED_OFFSET * float(np.linalg.norm(W_star))
    l2 = _extremes(theory.spectrum(W_star, W_star, "l2", **options))
    h1 = []
    for _ in range(directions):
        V = rng.normal(size=W_star.shape)
        W = W_star + epsilon * V / np.linalg.norm(V)
        h1.append(_extremes(theory.spectrum(W, W_star, "h1", sobolev_weight=sobolev_weight,
                                            **options)))
    return MinimumSpectrum(
        name, "theory.spectrum: l2 Hessian at W*; h1 one-sided, the expected-convention "
              f"Jacobian at W* + ε‖W*‖V/‖V‖, ε = {ONE_SIDED_OFFSET:g}, {directions} Gaussian "
              f"directions V (seed ({DIRECTION_STREAM}, {seed}))",
        [l2] * directions, h1)


# ------------------------------------------------------------------------------- one neuron
def one_neuron_minimum(r, activation: str, ctx, sobolev_weight=1) -> dict[str, tuple]:
    """Eigenvalues (value, multiplicity−1 flag) of l2 and h1 at w = w*, |w*| = r, one neuron.

    Returns {"l2": (A, B), "h1": (A + λC, B + λD)}: the first entry is the eigenvalue along
    w*, the second the one on its complement (multiplicity d − 1). ``ctx`` is a context
    offering pi, sqrt, exp, fmul and fdiv: mpmath.mp (points), mpmath.iv (intervals) or
    proofs_check.analysis.certify.arb_ctx (python-flint Arb balls, whose fmul/fdiv are interval
    products, tight on wide balls); r a number of that context. Formulas in the module
    docstring, each shared subexpression (r², s·√s, e^{−2r²}, …) evaluated once; erf and sine
    only.
    """
    if activation == "erf":
        c = 4 / ctx.pi
        r2 = ctx.fmul(r, r)
        r4 = ctx.fmul(r2, r2)
        s = 1 + 4 * r2
        root = ctx.sqrt(s)
        s_root = ctx.fmul(s, root)
        inv_root = ctx.fdiv(1, root)
        A = ctx.fdiv(c, s_root)
        B = ctx.fdiv(c, root)
        C = c * (inv_root - ctx.fdiv(4 * r2, s_root) + ctx.fdiv(12 * r4, ctx.fmul(s, s_root)))
        D = c * (inv_root + ctx.fdiv(4 * r4, s_root))
    elif activation == "sine":
        r2 = ctx.fmul(r, r)
        e = ctx.exp(-2 * r2)
        k = ctx.fmul(1 - 4 * r2, e)
        half_one_e = (1 + e) / 2
        A = (1 + k) / 2
        B = half_one_e
        C = half_one_e - ctx.fmul(2 * r2, e) + ctx.fmul(r2, 1 - k) / 2
        D = half_one_e + ctx.fmul(r2, 1 - e) / 2
    else:
        raise ValueError(f"activation must be one of {ONE_NEURON_CLOSED_FORM} for the one-neuron "
                         f"closed form; got {activation!r}")
    return {"l2": (A, B), "h1": (A + sobolev_weight * C, B + sobolev_weight * D)}


# ---------------------------------------------------------------------------------- surveys
def survey_grid(quick: bool) -> dict[str, tuple]:
    """The teachers surveyed: K = K* widths, dims, seeds, row-norm scales."""
    return {
        "width": (1, 2, 3) if quick else (1, 2, 3, 4),
        "dim": (2, 3, 5) if quick else (2, 3, 5, 8),
        "seed": (0, 1) if quick else (0, 1, 2),
        "scale": (0.3, 1.0, 3.0),
    }


def survey(quick: bool, activations: tuple[str, ...] = CLOSED_FORM, *,
           directions: int = 100) -> list[dict[str, Any]]:
    """One record per (teacher, activation): κ and λmin of l2 and h1 at the minimum."""
    grid = survey_grid(quick)
    records = []
    homogeneous: dict[tuple, MinimumSpectrum] = {}
    for width in grid["width"]:
        for dim in grid["dim"]:
            for seed in grid["seed"]:
                for scale in grid["scale"]:
                    W_star = scaled_teacher(width, dim, seed, scale)
                    for activation in activations:
                        if is_piecewise_linear(activation):  # invariant under W* -> cW*
                            key = (width, dim, seed, activation)
                            if key not in homogeneous:
                                homogeneous[key] = spectrum_at_minimum(
                                    scaled_teacher(width, dim, seed, 1.0), activation,
                                    directions=directions, seed=seed)
                                homogeneous[key].how += (
                                    "; positively homogeneous: computed at row norm 1, the "
                                    "same for every row norm")
                            spec = homogeneous[key]
                        else:
                            spec = spectrum_at_minimum(W_star, activation,
                                                       directions=directions, seed=seed)
                        records.append({
                            "activation": spec.activation, "K": width, "K*": width, "d": dim,
                            "seed": seed, "scale": scale, "how": spec.how,
                            "defined": spec.defined and "unresolved" not in spec.notes,
                            "kappa_l2": spec.kappas()["l2"], "kappa_h1": spec.kappas()["h1"],
                            "lambda_min_l2": [x[0] for x in spec.l2],
                            "lambda_min_h1": [x[0] for x in spec.h1],
                            **spec.notes,
                        })
    return records
