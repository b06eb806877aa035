r"""Streaming Monte-Carlo estimates of the population loss, expected gradient and Hessian.

Independent of theory's closed forms by design: only samples x ~ N(0, I_d) and the pointwise
loss of the student g(x; W) = Σ_i σ(w_i·x) against the teacher g(x; W*).

Pointwise quantities for a chunk X (B×d), with Z = X Wᵀ, Z* = X W*ᵀ (the only O(B·K·d) work,
written as matrix products):

    r = Σ_i σ(Z_i) − Σ_j σ(Z*_j)                           (residual, B)
    D = σ'(Z) W − σ'(Z*) W*                                 (input-gradient residual, B×d)
    ℓ = c₂ ½ r² + c_s ½ |D|²                                (pointwise loss)
    ∂ℓ/∂w_i = α_i x + β_i D,   α_i = c₂ r σ'(w_i·x) + c_s σ''(w_i·x) (w_i·D),   β_i = c_s σ'(w_i·x)

with (c₂, c_s) = (1, 0) for "l2", (0, 1) for "sobolev", (1, λ) for "h1". σ'' is the regular part
(0 for relu / leaky relu): this is the **expected** convention, E_x of the pointwise (autograd)
gradient. Sums over samples of ∂ℓ/∂w and of its square are αᵀX + βᵀD and
(α²)ᵀX² + 2(αβ)ᵀ(X∘D) + (β²)ᵀD², again matrix products.

Streaming: chunks of ``batch_size`` rows are drawn from one numpy Generator (the stream of
normals does not depend on the chunking, so results for different ``batch_size`` agree to
rounding, and are bitwise identical for the same seed and batch_size). Per-chunk means and
centred second moments are merged with Chan et al.'s parallel update, so memory is
O(batch_size·(K + K* + d)) whatever n_samples is. Standard errors are sample standard deviations
/ √N; 95 % intervals are mean ± z₀.₉₇₅·stderr (normal approximation, valid for N ≫ 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from tqdm.auto import tqdm

from numerics.activations import Activation, get_activation
from theory.validation import (
    NonDifferentiableError,
    as_student_teacher,
    check_loss,
    check_sobolev_weight,
)

Array = NDArray[np.float64]

DEFAULT_BATCH_SIZE = 65_536
#: Relative step constant for kinked activations: h_k = STEP_SCALE_KINKED·|w_k|·N^(−1/5).
STEP_SCALE_KINKED = 0.3
#: Relative step for smooth activations: h_k = STEP_SMOOTH·|w_k|.
STEP_SMOOTH = 1e-4


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        # Accept integral floats such as 1e6 for convenience.
        if isinstance(value, float) and value.is_integer() and value >= 1:
            return int(value)
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def _check_seed(seed):
    if seed is None:
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return seed
    raise ValueError(f"seed must be a non-negative integer or None; got {seed!r}")


def loss_coefficients(loss: str, sobolev_weight: float) -> tuple[float, float]:
    """(c₂, c_s): weights of the l2 and Sobolev parts of ``loss``."""
    check_loss(loss)
    weight = check_sobolev_weight(sobolev_weight)
    return {"l2": (1.0, 0.0), "sobolev": (0.0, 1.0), "h1": (1.0, weight)}[loss]


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1); got {confidence!r}")
    return float(stats.norm.ppf(0.5 + confidence / 2.0))


def pointwise(X: Array, W: Array, W_star: Array, activation: Activation, c2: float, cs: float
              ) -> tuple[Array, Array, Array, Array]:
    """Pointwise loss ℓ (B,), coefficients α, β (B, K) and D (B, d) for the rows of X.

    The pointwise expected-convention gradient of sample b is α[b, :, None]·X[b] +
    β[b, :, None]·D[b] (module docstring).
    """
    s0, s1, s2 = activation.numpy[0], activation.numpy[1], activation.numpy[2]
    K = W.shape[0]
    both = X @ np.vstack([W, W_star]).T  # one product for student and teacher
    Z, Zs = both[:, :K], both[:, K:]
    loss = np.zeros(X.shape[0])
    alpha = np.zeros_like(Z)
    beta = np.zeros_like(Z)
    D = np.zeros_like(X)
    dZ = s1(Z)
    if c2:
        r = s0(Z).sum(axis=1) - s0(Zs).sum(axis=1)
        loss += 0.5 * c2 * r * r
        alpha += (c2 * r)[:, None] * dZ
    if cs:
        D = dZ @ W - s1(Zs) @ W_star
        loss += 0.5 * cs * np.einsum("bi,bi->b", D, D)
        if not activation.homogeneous:
            alpha += cs * s2(Z) * (D @ W.T)
        beta = cs * dZ
    return loss, alpha, beta, D


class _Moments:
    """Running mean and centred sum of squares (Chan, Golub & LeVeque parallel update)."""

    def __init__(self, shape) -> None:
        self.n = 0
        self.mean = np.zeros(shape)
        self.m2 = np.zeros(shape)

    def add(self, n: int, mean: Array, m2: Array) -> None:
        total = self.n + n
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + np.maximum(m2, 0.0) + delta * delta * (self.n * n / total)
        self.n = total

    def add_sums(self, n: int, total: Array, squares: Array) -> None:
        """Add a chunk given Σ y and Σ y² (the chunk's centred sum is Σy² − (Σy)²/n)."""
        mean = total / n
        self.add(n, mean, squares - total * mean)

    def stderr(self) -> Array:
        if self.n < 2:
            raise ValueError("n_samples must be at least 2 to estimate a standard error")
        return np.sqrt(self.m2 / (self.n - 1) / self.n)


@dataclass(frozen=True)
class MonteCarloEstimate:
    """Monte-Carlo estimate of the population loss and its expected gradient.

    value, value_stderr: E ℓ and its standard error (sample std / √N).
    gradient, gradient_stderr: (K, d) E_x[∇_W ℓ] in the expected convention, and entrywise
        standard errors.
    Intervals are normal-approximation intervals mean ± z·stderr at ``confidence``.
    """

    value: float
    value_stderr: float
    gradient: Array
    gradient_stderr: Array
    n_samples: int
    seed: int | None
    loss: str
    sobolev_weight: float
    activation: str
    confidence: float = 0.95
    convention: str = "expected"
    method: str = "monte-carlo, x ~ N(0, I_d), normal-approximation intervals"

    def value_interval(self, confidence: float | None = None) -> tuple[float, float]:
        z = _z(self.confidence if confidence is None else confidence)
        return (self.value - z * self.value_stderr, self.value + z * self.value_stderr)

    def gradient_interval(self, confidence: float | None = None) -> tuple[Array, Array]:
        z = _z(self.confidence if confidence is None else confidence)
        return (self.gradient - z * self.gradient_stderr, self.gradient + z * self.gradient_stderr)


def _progress(total: int, progress: bool, what: str):
    return tqdm(total=total, unit="sample", unit_scale=True, desc=what, disable=not progress,
                leave=False)


def _chunks(n_samples: int, batch_size: int):
    done = 0
    while done < n_samples:
        size = min(batch_size, n_samples - done)
        yield size
        done += size


def _checked_inputs(W, W_star, loss, sobolev_weight, activation, slope, n_samples, batch_size,
                    confidence):
    """Validate the arguments shared by the estimators; ValueError names the bad one."""
    W, W_star = as_student_teacher(W, W_star)
    c2, cs = loss_coefficients(loss, sobolev_weight)
    act = get_activation(activation, slope=slope)
    n_samples = _positive_int(n_samples, "n_samples")
    if n_samples < 2:
        raise ValueError("n_samples must be at least 2 to estimate a standard error")
    batch_size = _positive_int(batch_size, "batch_size")
    _z(confidence)
    return W, W_star, c2, cs, act, n_samples, batch_size


def monte_carlo(W: ArrayLike, W_star: ArrayLike, loss: str = "h1", *, n_samples: int,
                seed: int | None = None, sobolev_weight: float = 1.0,
                activation: str | Activation = "relu", slope: float | None = None,
                batch_size: int = DEFAULT_BATCH_SIZE, confidence: float = 0.95,
                progress: bool = False) -> MonteCarloEstimate:
    """Streaming Monte-Carlo estimate of the loss and its expected (autograd) gradient.

    Args:
        W: student (K, d) or (d,). W_star: teacher (K*, d).
        loss: "l2", "sobolev" or "h1" (= l2 + sobolev_weight·sobolev).
        n_samples: N, the number of Gaussian inputs; memory does not grow with N.
        seed: seed of numpy's default Generator; the same seed gives the same samples whatever
            ``batch_size`` (sums then agree to rounding).
        activation: "relu", "leaky_relu" (with ``slope``), "gelu", "tanh", "sine" or an
            :class:`~numerics.activations.Activation`.
        batch_size: rows per chunk. confidence: level of the reported intervals.
        progress: show a tqdm progress bar.
    Returns:
        :class:`MonteCarloEstimate` (expected convention; see the module docstring).
    """
    W, W_star, c2, cs, act, n_samples, batch_size = _checked_inputs(
        W, W_star, loss, sobolev_weight, activation, slope, n_samples, batch_size, confidence)
    rng = np.random.default_rng(_check_seed(seed))
    d = W.shape[1]
    value = _Moments(())
    grad = _Moments(W.shape)
    with _progress(n_samples, progress, "monte-carlo") as bar:
        for size in _chunks(n_samples, batch_size):
            X = rng.standard_normal((size, d))
            ell, alpha, beta, D = pointwise(X, W, W_star, act, c2, cs)
            chunk_mean = ell.mean()
            value.add(size, chunk_mean, np.sum((ell - chunk_mean) ** 2))
            # (d, B) @ (B, K) products, transposed at the end (faster than (K, B) @ (B, d)).
            total = X.T @ alpha
            squares = (X * X).T @ (alpha * alpha)
            if cs:
                total += D.T @ beta
                squares += 2.0 * (X * D).T @ (alpha * beta) + (D * D).T @ (beta * beta)
            grad.add_sums(size, total.T, squares.T)
            bar.update(size)
    return MonteCarloEstimate(
        value=float(value.mean), value_stderr=float(value.stderr()), gradient=grad.mean,
        gradient_stderr=grad.stderr(), n_samples=n_samples, seed=seed, loss=loss,
        sobolev_weight=float(sobolev_weight), activation=act.name, confidence=confidence,
    )


@dataclass(frozen=True)
class MonteCarloHessian:
    """Monte-Carlo Jacobian of the expected gradient field ("expected Hessian").

    hessian, stderr: (K·d, K·d), H[i·d + a, k·d + b] = ∂ E[∂ℓ/∂w_ia] / ∂w_kb (row = gradient
        entry, column = coordinate moved), with entrywise standard errors of the common-random-
        number central difference (sampling error only; the O(h²) step bias is not included).
    steps: (K,) the step h_k used for the coordinates of row k.
    """

    hessian: Array
    stderr: Array
    steps: Array
    n_samples: int
    seed: int | None
    loss: str
    sobolev_weight: float
    activation: str
    step_rule: str
    confidence: float = 0.95
    convention: str = "expected"

    def interval(self, confidence: float | None = None) -> tuple[Array, Array]:
        z = _z(self.confidence if confidence is None else confidence)
        return (self.hessian - z * self.stderr, self.hessian + z * self.stderr)


def _line_distance(W: Array, W_star: Array) -> Array:
    """For each student row k, min over other rows v (students j ≠ k, teachers) of sin∠(w_k, v)."""
    rows = np.vstack([W, W_star])
    unit_k = W / np.linalg.norm(W, axis=1, keepdims=True)
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    cos = np.clip(unit_k @ unit.T, -1.0, 1.0)
    # sin via |u − (u·v)v| is accurate near 0 where sqrt(1 − cos²) is not.
    sin = np.linalg.norm(unit_k[:, None, :] - cos[..., None] * unit[None, :, :], axis=-1)
    K = W.shape[0]
    sin[np.arange(K), np.arange(K)] = np.inf
    return sin.min(axis=1)


def hessian_steps(W: Array, W_star: Array, activation: Activation, n_samples: int,
                  sobolev: bool, step: float | None = None) -> tuple[Array, str]:
    """Finite-difference steps h_k (one per student row) and a description of the rule.

    Kinked activations (relu, leaky relu): the pointwise gradient jumps when x crosses a
    hyperplane, so the CRN difference quotient has variance ~ V/(h·N) while the bias of the
    central difference is ~ C·h²; the mean squared error C²h⁴ + V/(hN) is minimal for
    h ∝ N^(−1/5). We take h_k = 0.3·|w_k|·N^(−1/5) (the constant puts the bias well below the
    standard error for O(1) curvature), capped at 0.25·|w_k|·sin θ_min,k so that the stencil
    does not reach the non-differentiable set where w_k is parallel to another row.
    Smooth activations: the CRN difference quotient has O(1) variance for every h, so h is only
    limited by rounding: h_k = 1e-4·|w_k| (bias ~1e-8 relative, rounding ~1e-12).
    ``step`` overrides the constant: h_k = step·|w_k|.
    """
    norms = np.linalg.norm(W, axis=1)
    if step is not None:
        if not (isinstance(step, (int, float)) and math.isfinite(step) and step > 0):
            raise ValueError(f"step must be a finite number > 0 (relative to |w_k|); got {step!r}")
        return step * norms, f"h_k = {step:g}·|w_k| (user)"
    if activation.jump == 0.0:
        return STEP_SMOOTH * norms, f"h_k = {STEP_SMOOTH:g}·|w_k| (smooth activation)"
    distance = _line_distance(W, W_star)
    if sobolev and (distance <= 1e-12).any():
        k = int(np.argmin(distance))
        raise NonDifferentiableError(
            f"the expected Sobolev Hessian does not exist here: student row {k} is parallel or "
            "antiparallel to another row (cone singularity); evaluate at a perturbed W"
        )
    base = STEP_SCALE_KINKED * n_samples ** (-0.2)
    relative = np.where(distance > 1e-12, np.minimum(base, 0.25 * distance), base)
    return relative * norms, ("h_k = min(0.3·N^(-1/5), 0.25·sin θ_min,k)·|w_k| "
                              "(kinked activation: MSE-balancing rate)")


def monte_carlo_hessian(W: ArrayLike, W_star: ArrayLike, loss: str = "h1", *, n_samples: int,
                        seed: int | None = None, sobolev_weight: float = 1.0,
                        activation: str | Activation = "relu", slope: float | None = None,
                        step: float | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                        confidence: float = 0.95, progress: bool = False) -> MonteCarloHessian:
    """Jacobian of the expected gradient field by CRN central differences, with standard errors.

    Column k·d + b is [Ĝ(W + h_k e_kb) − Ĝ(W − h_k e_kb)] / (2h_k), where Ĝ is the sample mean of
    the pointwise gradient over the SAME inputs x for both points (common random numbers).
    Because the difference is taken of the averaged field (not of a pointwise Hessian), samples
    whose x crosses a moved hyperplane contribute: the estimate sees the boundary (δ) terms of
    relu's Sobolev part that the average of pointwise autograd Hessians misses. The step rule is
    described in :func:`hessian_steps`; the reported standard errors are sampling errors of the
    per-sample difference quotients (step bias O(h²) not included).
    """
    W, W_star, c2, cs, act, n_samples, batch_size = _checked_inputs(
        W, W_star, loss, sobolev_weight, activation, slope, n_samples, batch_size, confidence)
    steps, rule = hessian_steps(W, W_star, act, n_samples, cs > 0, step)
    K, d = W.shape
    # Bound the per-chunk (B, K·d, K·d) array of difference quotients to ~2^22 entries.
    chunk = min(batch_size, max(256, 2 ** 22 // (K * d) ** 2))
    rng = np.random.default_rng(_check_seed(seed))
    moments = _Moments((K * d, K * d))
    with _progress(n_samples, progress, "monte-carlo hessian") as bar:
        for size in _chunks(n_samples, chunk):
            X = rng.standard_normal((size, d))
            quotients = np.empty((size, K * d, K * d))
            for k in range(K):
                for b in range(d):
                    moved = []
                    for sign in (1.0, -1.0):
                        Wm = W.copy()
                        Wm[k, b] += sign * steps[k]
                        _, alpha, beta, D = pointwise(X, Wm, W_star, act, c2, cs)
                        moved.append(alpha[:, :, None] * X[:, None, :]
                                     + beta[:, :, None] * D[:, None, :])
                    column = (moved[0] - moved[1]) / (2.0 * steps[k])
                    quotients[:, :, k * d + b] = column.reshape(size, K * d)
            mean = quotients.mean(axis=0)
            moments.add(size, mean, np.sum((quotients - mean) ** 2, axis=0))
            bar.update(size)
    return MonteCarloHessian(
        hessian=moments.mean, stderr=moments.stderr(), steps=steps, n_samples=n_samples,
        seed=seed, loss=loss, sobolev_weight=float(sobolev_weight), activation=act.name,
        step_rule=rule, confidence=confidence,
    )
