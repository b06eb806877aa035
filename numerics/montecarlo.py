r"""Streaming Monte-Carlo estimates of the population loss, expected gradient and Hessian.

Why one file of ~900 lines: the estimators (loss, gradient, Hessian, their standard errors) and
the span kernels that feed them share one chunked sampling loop and its buffers; split apart,
each kernel would need the loop's private state.

Independent of theory's closed forms by design: only samples x ~ N(0, Σ) (Σ = ``input_covariance``,
default I_d) and the pointwise loss of the student g(x; W) = Σ_i σ(w_i·x) against the teacher
g(x; W*).

Pointwise quantities. Stack the rows R = [W; W*] (P×d, P = K + K*), let Z = R x be the
pre-activations (student part Z_i = w_i·x), G = R Rᵀ their Euclidean Gram matrix and
s = [σ'(Z_student), −σ'(Z_teacher)], t = [σ''(Z_student), −σ''(Z_teacher)] (length P). Then

    r   = Σ_i σ(Z_i) − Σ_j σ(Z*_j)                         (residual)
    D   = ∇ₓg(x; W) − ∇ₓg(x; W*) = Σ_p s_p r_p             (input-gradient residual)
    H   = ∇²ₓg(x; W) − ∇²ₓg(x; W*) = Σ_p t_p r_p r_pᵀ      (input-Hessian residual)
    ℓ   = c₂ ½ r² + c_s ½ |D|² + c₂₂ ½ ‖H‖²_F,   |D|² = sᵀG s,  ‖H‖²_F = tᵀ(G∘G)t
    ∂ℓ/∂w_i = α_i x + Σ_p γ_ip r_p   with
        α_i  = c₂ r σ'(Z_i) + c_s σ''(Z_i) (w_i·D) + c₂₂ σ'''(Z_i) (w_iᵀ H w_i)
        γ_ip = c_s σ'(Z_i) s_p + 2 c₂₂ σ''(Z_i) t_p G_pi

with (c₂, c_s, c₂₂) = (1, 0, 0) "l2", (0, 1, 0) "sobolev", (1, λ, 0) "h1", (0, 0, 1) "sobolev2",
(1, λ, μ) "h2" (λ = sobolev_weight, μ = second_order_weight). σ'', σ''' are regular parts (0 for
relu / leaky relu): this is the **expected** convention, E_x of the pointwise (autograd)
gradient. For relu and leaky relu σ'' is a Dirac mass and J₂ = E ½‖H‖² is infinite: the
second-order losses raise ValueError. The Sobolev terms use the EUCLIDEAN input derivatives
(weights W, not W L) whatever the law of x.

Sampling in the span (``dimension="span"``, the default). Write x = L z with L the Cholesky
factor of Σ (L = I by default) and z ~ N(0, I_d). Every pointwise quantity depends on z only
through the pre-activations R L z, i.e. through u = Qᵀz where Q (d×m) is an orthonormal basis of
the row space of R L (m ≤ P, from an SVD: linear algebra on W and W*, not a formula of the
theory). u ~ N(0, I_m) is drawn directly, at a cost independent of d. The component of z outside
span(Q) is independent of u with mean zero, so E[x | u] = L Q u and each sample contributes the
conditional expectation E[∂ℓ/∂w_i | u] = α_i L Q u + Σ_p γ_ip r_p (Rao–Blackwell: unbiased, never
a larger variance). These per-sample gradients lie in V = span(L Q, rows of R) (p = dim V ≤ 2P;
p = m when Σ = I); they are accumulated in V's coordinates, means and full p×p scatter matrices
per student row, and mapped back to (K, d) at the end, so the reported standard errors are the
exact sample standard errors of the per-sample (K, d) gradients. ``dimension="full"`` draws
x ∈ R^d and uses the unconditioned pointwise gradient (the estimator before the span; for
tests). When m = d the two coincide and "span" draws x in full (same stream, same numbers).
For relu and leaky relu with l2, sobolev or h1 (per-sample gradients e_k = σ'(Z_k)·y) the span
estimator runs a buffered kernel in a (rows, samples) layout (:class:`_HomogeneousSpanKernel`):
the same sums, up to summation order, without per-chunk temporaries; the smooth activations
with those losses (e_k = σ'(Z_k)·y + b_k·x) have their own (:class:`_SmoothSpanKernel`).

Samplers. ``sampler="random"``: i.i.d. draws from one numpy Generator; chunks of ``batch_size``
rows, and the stream of normals does not depend on the chunking (results for different
``batch_size`` agree to rounding; bitwise identical for the same seed and batch_size). Chunk
means and centred second moments are merged with Chan et al.'s parallel update (memory
O(batch_size·K·p), independent of n_samples); standard errors are sample standard deviations
/ √N. ``sampler="sobol"``: randomized quasi-Monte-Carlo, ``n_scramblings`` independent scrambled
Sobol' sequences (scipy.stats.qmc.Sobol, scramble=True) of n_samples / n_scramblings points each
(a power of two), mapped to normals by the inverse cdf (scipy.stats.qmc.MultivariateNormalQMC);
each scrambling gives an unbiased estimate, and the error bars are the standard errors of the
mean over scramblings (their sample std / √n_scramblings). 95 % intervals are
mean ± z₀.₉₇₅·stderr (normal approximation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike, NDArray

from numerics.activations import Activation, get_activation
from theory.validation import (
    ALL_LOSSES,
    NonDifferentiableError,
    as_student_teacher,
    check_input_covariance,
    check_loss,
    check_sobolev_weight,
    loss_weights,
)

Array = NDArray[np.float64]

DEFAULT_BATCH_SIZE = 65_536
DEFAULT_SCRAMBLINGS = 16
#: Relative step constant for kinked activations: h_k = STEP_SCALE_KINKED·|w_k|·N^(−1/5).
STEP_SCALE_KINKED = 0.3
#: Relative step for smooth activations: h_k = STEP_SMOOTH·|w_k|.
STEP_SMOOTH = 1e-4
#: Loss names the estimators accept (theory's first-order ones plus the second-order family).
LOSSES = ALL_LOSSES
DIMENSIONS = ("span", "full")
SAMPLERS = ("random", "sobol")
#: Bound on the entries of one chunk's (K, rows, p) array of per-sample gradients (small enough
#: to stay in cache; measured fastest on 2 cores): the rows
#: processed at once are min(batch_size, max(256, CHUNK_ENTRIES // (K·p))).
CHUNK_ENTRIES = 2 ** 17
#: Bound on m·n·k of the relu / leaky relu span kernel's (P, m)·(m, rows) product: OpenBLAS
#: runs a GEMM single-threaded up to 65536·4 = 2^18 multiply-adds. Above it, threaded BLAS on a
#: loaded 2-core machine slowed that one product 250× (15 ms instead of 60 µs per chunk).
SINGLE_THREAD_GEMM = 2 ** 18
#: Bound on the entries of the smooth span kernel's (K, p, rows) array of per-sample gradients:
#: 2^15 entries (256 KB) keep it and its operands in a core's L2 cache through the several
#: elementwise passes that build it; at K·p = 32, 1024 rows ran 24 % faster per sample than 4096.
SMOOTH_KERNEL_ENTRIES = 2 ** 15


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
    """(c₂, c_s): weights of the l2 and Sobolev parts of a first-order loss (l2, sobolev, h1)."""
    check_loss(loss)
    weight = check_sobolev_weight(sobolev_weight)
    return {"l2": (1.0, 0.0), "sobolev": (0.0, 1.0), "h1": (1.0, weight)}[loss]


def input_covariance_factor(input_covariance: ArrayLike | None, d: int) -> Array | None:
    """Lower Cholesky factor L of Σ = L Lᵀ, or None for the identity (the default).

    Σ must be a finite, symmetric (to 1e-12 relative) positive definite (d, d) array;
    otherwise ValueError naming ``input_covariance``. Σ exactly equal to I_d returns None, so
    the identity reproduces the default estimator bit for bit.
    """
    sigma = check_input_covariance(input_covariance, d)  # ValueError naming input_covariance
    if sigma is None:  # None or exactly I_d: the default estimator, bit for bit
        return None
    if not isinstance(sigma, np.ndarray):  # theory.SpikedCovariance: Σ = I + U Uᵀ
        sigma = np.eye(d) + sigma.factor @ sigma.factor.T
    return np.linalg.cholesky(sigma)


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1); got {confidence!r}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def _pointwise(pre: Array, x: Array, rows: Array, gram: Array, K: int, activation: Activation,
               weights: tuple[float, float, float]
               ) -> tuple[Array, Array | None, Array | None, Array | None]:
    """Pointwise loss and per-sample gradients in factored form (module docstring).

    pre: (B, P) pre-activations R x; x: (B, p) coordinates of x (or of E[x | u]); rows: (P, p)
    coordinates of the rows of R in the same frame; gram: (P, P) Euclidean Gram matrix R Rᵀ.
    Returns ℓ (B,) and (a, y, rest) with per-sample gradient of row k
    e_k = a[:, k, None]·y + rest[k]: a = σ'(Z) (B, K), y = c₂ r x + c_s D (B, p) (the part
    shared by all rows, which is everything for relu and leaky relu) and rest (K, B, p) the
    terms in σ'' and σ''' of smooth activations (None when absent).
    """
    c2, cs, c22 = weights
    s0, s1, s2, s3 = activation.numpy
    Z = pre[:, :K]
    # Student and teacher sums are formed separately and then subtracted, so that W = W*
    # gives exactly zero residuals (as the population quantities are).
    ell = a = y = rest = None
    coef = None  # (B, K) coefficients of x in rest
    if c2 or cs:
        slopes = s1(pre)  # σ' of every row
        a = slopes[:, :K]
    if c2:
        values = s0(pre)
        ones = np.ones(max(K, pre.shape[1] - K))  # row sums as products: 8x faster than .sum
        r = values[:, :K] @ ones[:K] - values[:, K:] @ ones[: pre.shape[1] - K]
        ell = (0.5 * c2) * r * r
        y = (r if c2 == 1.0 else c2 * r)[:, None] * x
    if cs:
        D = a @ rows[:K] - slopes[:, K:] @ rows[K:]
        squared = (0.5 * cs) * np.einsum("bp,bp->b", D, D)
        ell = squared if ell is None else ell + squared
        scaled = D if cs == 1.0 else cs * D
        if y is None:
            y = scaled
        else:
            y += scaled
        if not activation.homogeneous:  # relu and leaky relu: regular σ'' = 0
            coef = cs * s2(Z) * (a @ gram[:K, :K] - slopes[:, K:] @ gram[K:, :K])
    if c22:
        d2 = s2(Z)
        t = np.concatenate([d2, -s2(pre[:, K:])], axis=1)
        tg2 = t @ (gram * gram)
        squared = (0.5 * c22) * np.einsum("bp,bp->b", tg2, t)
        ell = squared if ell is None else ell + squared
        third = c22 * s3(Z) * tg2[:, :K]
        coef = third if coef is None else coef + third
        rest = np.stack([(2.0 * c22 * d2[:, i:i + 1]) * ((t * gram[:, i]) @ rows)
                         for i in range(K)])
    if coef is not None:
        term = coef.T[:, :, None] * x[None, :, :]
        rest = term if rest is None else rest + term
    return ell, a, y, rest


def _gradients(a: Array | None, y: Array | None, rest: Array | None) -> Array:
    """Per-sample gradients (K, B, p) from the factored form of :func:`_pointwise`."""
    if a is None:
        return rest
    shared = np.ascontiguousarray(a.T)[:, :, None] * y[None, :, :]  # contiguous: 2x faster
    return shared if rest is None else shared + rest


def pointwise_gradients(X: Array, W: Array, W_star: Array, activation: Activation,
                        weights: tuple[float, float, float]) -> tuple[Array, Array]:
    """Pointwise loss ℓ (B,) and pointwise expected-convention gradients (B, K, d) at inputs X."""
    rows = np.vstack([W, W_star])
    ell, a, y, rest = _pointwise(X @ rows.T, X, rows, rows @ rows.T, W.shape[0], activation,
                                 weights)
    return ell, _gradients(a, y, rest).transpose(1, 0, 2)


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


class _GradientMoments:
    """Chan's update for per-sample gradients given in coordinates (K, B, p).

    With ``scatter`` the centred second moments are full p×p matrices per student row, so the
    variance of any linear image (the original coordinates, via an orthonormal basis) is exact;
    otherwise they are entrywise (the coordinates are already the original ones).
    """

    def __init__(self, K: int, p: int, scatter: bool) -> None:
        self.n = 0
        self.scatter = scatter
        self.mean = np.zeros((K, p))
        self.m2 = np.zeros((K, p, p) if scatter else (K, p))

    def add_chunk(self, a: Array | None, y: Array | None, rest: Array | None) -> None:
        """Add the per-sample gradients e_k = a[:, k]·y + rest[k] of one chunk."""
        if rest is None and self.scatter:  # e_k = a_k y: Σ_b e_k e_kᵀ = (a_k² y)ᵀ y
            n = y.shape[0]
            total = a.T @ y
            squares = np.ascontiguousarray((a * a).T)  # rows contiguous: 1.3x faster
            centred = np.stack([(column[:, None] * y).T @ y for column in squares])
        else:
            gradients = _gradients(a, y, rest)
            n = gradients.shape[1]
            total = gradients.sum(axis=1)
            if self.scatter:  # K small GEMMs (p×B)(B×p)
                centred = np.matmul(gradients.transpose(0, 2, 1), gradients)
            else:
                centred = np.einsum("kbp,kbp->kp", gradients, gradients)
        mean = total / n
        if self.scatter:
            centred -= total[:, :, None] * mean[:, None, :]
        else:
            centred = np.maximum(centred - total * mean, 0.0)
        self.merge(n, mean, centred)

    def add_sums(self, n: int, total: Array, squares: Array) -> None:
        """Add a chunk given Σ_b e_kb (K, p) and the raw scatter Σ_b e_kb e_kbᵀ (K, p, p)."""
        mean = total / n
        centred = squares - total[:, :, None] * mean[:, None, :]
        self.merge(n, mean, centred)

    def merge(self, n: int, mean: Array, centred: Array) -> None:
        combined = self.n + n
        delta = mean - self.mean
        outer = delta[:, :, None] * delta[:, None, :] if self.scatter else delta * delta
        self.mean = self.mean + delta * (n / combined)
        self.m2 = self.m2 + centred + outer * (self.n * n / combined)
        self.n = combined

    def result(self, basis: Array | None) -> tuple[Array, Array]:
        """(mean, stderr) in the original (K, d) coordinates; basis (d, p) orthonormal or None."""
        if self.n < 2:
            raise ValueError("n_samples must be at least 2 to estimate a standard error")
        variance = self.m2 / ((self.n - 1) * self.n)
        if basis is None:
            return self.mean, np.sqrt(np.maximum(variance, 0.0))
        mean = self.mean @ basis.T
        entrywise = np.stack([np.einsum("ap,ap->a", basis @ v, basis) for v in variance])
        return mean, np.sqrt(np.maximum(entrywise, 0.0))


@dataclass(frozen=True)
class _Frame:
    """How a chunk of standard normals U (B, n_draw) becomes pointwise quantities.

    pre-activations = U @ mix (mix: (n_draw, P)); coordinates of x (or E[x | u]) =
    U @ x_map (x_map None: U itself); rows: (P, p) coordinates of the rows of R; basis: (d, p)
    orthonormal basis of the coordinates (None: the coordinates are the original ones).
    """

    n_draw: int
    mix: Array
    x_map: Array | None
    rows: Array
    gram: Array
    basis: Array | None


def _orthonormal_basis(columns: Array) -> Array:
    """Orthonormal basis of the column space (SVD; numpy's matrix_rank tolerance)."""
    left, singular, _ = np.linalg.svd(columns, full_matrices=False)
    if singular.size == 0:
        return left[:, :0]
    tol = singular.max() * max(columns.shape) * np.finfo(float).eps
    return left[:, : int((singular > tol).sum())]


def sampling_frame(W: Array, W_star: Array, factor: Array | None, dimension: str) -> _Frame:
    """The frame of ``dimension`` ("span" or "full") for x = L z, L = factor (None: I)."""
    rows = np.vstack([W, W_star])
    gram = rows @ rows.T
    d = W.shape[1]
    if dimension == "full":
        if factor is None:
            return _Frame(d, rows.T, None, rows, gram, None)
        return _Frame(d, factor.T @ rows.T, factor.T, rows, gram, None)
    mixed = rows if factor is None else rows @ factor  # pre-activations R L z
    Q = _orthonormal_basis(mixed.T)  # (d, m): row space of R L
    if Q.shape[1] == d:  # the span is all of R^d: drawing in it is drawing x in full
        return sampling_frame(W, W_star, factor, "full")
    mix = (mixed @ Q).T  # (m, P)
    if factor is None:  # E[x | u] = Q u: the coordinates in basis Q are u itself
        return _Frame(Q.shape[1], mix, None, rows @ Q, gram, Q)
    T = factor @ Q  # E[x | u] = L Q u
    V = _orthonormal_basis(np.hstack([T, rows.T]))
    return _Frame(Q.shape[1], mix, T.T @ V, rows @ V, gram, V)


def _process(frame: _Frame, U: Array, K: int, activation: Activation,
             weights: tuple[float, float, float]
             ) -> tuple[Array, Array | None, Array | None, Array | None]:
    x = U if frame.x_map is None else U @ frame.x_map
    return _pointwise(U @ frame.mix, x, frame.rows, frame.gram, K, activation, weights)


class _BufferedSpanKernel:
    """Shared by the span kernels: the frame in the (rows, samples) layout, one set of work
    buffers per chunk size (``buffers(n)``, built by the subclass) and the draw of a chunk's
    standard normal samples into its buffer."""

    def __init__(self, frame: _Frame, K: int, weights: tuple[float, float, float]) -> None:
        self.K = K
        self.c2, self.cs = weights[0], weights[1]
        self.mix_t = np.ascontiguousarray(frame.mix.T)  # (P, m)
        self.x_map_t = None if frame.x_map is None else np.ascontiguousarray(frame.x_map.T)
        self.student_rows_t = np.ascontiguousarray(frame.rows[:K].T)  # (p, K)
        self.teacher_rows_t = np.ascontiguousarray(frame.rows[K:].T)  # (p, K*)
        self.P, self.p = frame.mix.shape[1], frame.rows.shape[1]
        self.n_draw = frame.n_draw
        self._buffers: dict[int, dict[str, Array]] = {}

    def buffers(self, n: int) -> dict[str, Array]:
        raise NotImplementedError

    def draw(self, rng: np.random.Generator, n: int) -> Array:
        """n standard normal rows (n, m) into the chunk's buffer (numpy's stream order)."""
        U = self.buffers(n)["U"]
        rng.standard_normal(out=U)
        return U


class _HomogeneousSpanKernel(_BufferedSpanKernel):
    """One chunk of the span estimator for a first-order loss and a homogeneous activation.

    The same quantities as :func:`_pointwise` followed by :meth:`_GradientMoments.add_chunk`
    for relu and leaky relu with the losses l2, sobolev and h1 (there the regular σ'' and σ'''
    vanish, so the per-sample gradient of row k is e_k = a_k·y with a = σ'(Z) and
    y = c₂ r x + c_s D), computed in a transposed (rows, samples) layout into buffers allocated
    once per chunk size: every pass runs over contiguous memory and no chunk allocates (and
    page-faults) its large temporaries.

        pre = mixᵀ Uᵀ (P, n);   a = σ'(pre),  σ(pre) = pre·σ'(pre)   (degree-1 homogeneity)
        r = Σ_i σ(pre_i) − Σ_j σ(pre*_j);   D = R_Sᵀ a_S − R_Tᵀ a_T   (p, n)
        ℓ = c₂ ½ r² + c_s ½ |D|²;   y = c₂ r x + c_s D
        Σ_b e_kb = a_k yᵀ;   Σ_b e_kb e_kbᵀ = (a_k² ⊙ y) yᵀ   (one batched (K, p, n)·(n, p) product)

    σ' of such an activation is σ'(1) on t > 0 and σ'(−1) on t ≤ 0 (see
    :func:`_homogeneous_slopes`). Same numbers as the generic path up to summation order.
    """

    def __init__(self, frame: _Frame, K: int, slopes: tuple[float, float],
                 weights: tuple[float, float, float]) -> None:
        super().__init__(frame, K, weights)
        self.positive, self.negative = slopes
        self.binary = (self.positive, self.negative) == (1.0, 0.0)  # relu: a = 1{t > 0} = a²

    def buffers(self, n: int) -> dict[str, Array]:
        """Work arrays for chunks of n samples (allocated on first use, then reused)."""
        if n not in self._buffers:
            P, p, K = self.P, self.p, self.K
            self._buffers[n] = {
                "U": np.empty((n, self.n_draw)), "pre": np.empty((P, n)),
                "slopes": np.empty((P, n)), "below": np.empty((P, n)), "ell": np.empty(n),
                "r": np.empty(n), "scratch": np.empty(n),
                "D": np.empty((p, n)), "D_teacher": np.empty((p, n)),
                "x": np.empty((p, n)), "y": np.empty((p, n)), "a2": np.empty((K, n)),
                "weighted": np.empty((K, p, n)), "total": np.empty((K, p)),
                "squares": np.empty((K, p, p)),
            }
        return self._buffers[n]

    def chunk(self, U: Array) -> tuple[float, float, Array, Array]:
        """Sufficient statistics of the samples U (n, m): (mean of ℓ, Σ_b (ℓ_b − mean)²,
        Σ_b e_kb (K, p), Σ_b e_kb e_kbᵀ (K, p, p)); the arrays are the kernel's buffers."""
        n = U.shape[0]
        buf = self.buffers(n)
        K, c2, cs = self.K, self.c2, self.cs
        pre, slopes, y, ell = buf["pre"], buf["slopes"], buf["y"], buf["ell"]
        np.matmul(self.mix_t, U.T, out=pre)
        np.greater(pre, 0.0, out=slopes, casting="unsafe")  # 1{t > 0} as 0.0 / 1.0
        if not self.binary:  # σ'(1)·1{t > 0} + σ'(−1)·(1 − 1{t > 0}), exact in floating point
            below = np.subtract(1.0, slopes, out=buf["below"])
            below *= self.negative
            slopes *= self.positive
            slopes += below
        a = slopes[:K]
        x = U.T if self.x_map_t is None else np.matmul(self.x_map_t, U.T, out=buf["x"])
        ell.fill(0.0)
        if c2:  # r = Σ_i σ(Z_i) − Σ_j σ(Z*_j) with σ(t) = t·σ'(t)
            r = np.einsum("pb,pb->b", pre[:K], a, out=buf["r"])
            r -= np.einsum("pb,pb->b", pre[K:], slopes[K:], out=buf["scratch"])
            np.multiply(r, r, out=ell)
            ell *= 0.5 * c2
            np.multiply(x, r if c2 == 1.0 else c2 * r, out=y)
        if cs:  # D = ∇ₓg(x; W) − ∇ₓg(x; W*)
            D = np.matmul(self.student_rows_t, a, out=buf["D"])
            D -= np.matmul(self.teacher_rows_t, slopes[K:], out=buf["D_teacher"])
            squared = np.einsum("pb,pb->b", D, D, out=buf["scratch"])
            squared *= 0.5 * cs
            ell += squared
            scaled = D if cs == 1.0 else np.multiply(D, cs, out=buf["D_teacher"])
            if c2:
                y += scaled
            else:
                np.copyto(y, scaled)
        total = np.matmul(a, y.T, out=buf["total"])
        a2 = a if self.binary else np.square(a, out=buf["a2"])
        weighted = np.multiply(a2[:, None, :], y[None, :, :], out=buf["weighted"])
        squares = np.matmul(weighted, y.T, out=buf["squares"])
        ell_mean = float(ell.sum()) / n
        ell -= ell_mean
        return ell_mean, float(np.dot(ell, ell)), total, squares


class _SmoothSpanKernel(_BufferedSpanKernel):
    """One chunk of the span estimator for a first-order loss and a smooth activation.

    The quantities of :func:`_pointwise` followed by :meth:`_GradientMoments.add_chunk` for the
    losses l2, sobolev and h1 with a non-homogeneous activation (regular σ''; the third
    derivative enters only the second-order losses), in the (rows, samples) layout of
    :class:`_HomogeneousSpanKernel`:

        pre = mixᵀ Uᵀ (P, n);   a = σ'(pre);   r = Σ_i σ(pre_i) − Σ_j σ(pre*_j)
        D = R_Sᵀ a_S − R_Tᵀ a_T (p, n);   ℓ = c₂ ½ r² + c_s ½ |D|²;   y = c₂ r x + c_s D
        b_k = c_s σ''(pre_k) (w_k·D)   (the σ'' term of the Sobolev gradient)
        e_k = a_k y + b_k x;   Σ_b e_kb = a yᵀ + b xᵀ;   Σ_b e_kb e_kbᵀ = E_k E_kᵀ

    with E (K, p, n) built once per chunk and one batched (K, p, n)·(n, p) product for the
    scatter. Same numbers as the generic path up to summation order.
    """

    def __init__(self, frame: _Frame, K: int, activation: Activation,
                 weights: tuple[float, float, float]) -> None:
        super().__init__(frame, K, weights)
        self.activation = activation
        self.student_rows = np.ascontiguousarray(frame.rows[:K])  # (K, p)
        self.ones = np.ones(max(K, self.P - K, self.p))

    def buffers(self, n: int) -> dict[str, Array]:
        """Work arrays for chunks of n samples (allocated on first use, then reused)."""
        if n not in self._buffers:
            P, p, K = self.P, self.p, self.K
            self._buffers[n] = {
                "U": np.empty((n, self.n_draw)), "pre": np.empty((P, n)),
                "jet": tuple(np.empty((P, n)) for _ in range(3 if self.cs else 2)),
                "r": np.empty(n), "scratch": np.empty(n), "ell": np.empty(n),
                "D": np.empty((p, n)), "D_teacher": np.empty((p, n)), "D2": np.empty((p, n)),
                "x": np.empty((p, n)), "y": np.empty((p, n)), "b": np.empty((K, n)),
                "E": np.empty((K, p, n)), "Ex": np.empty((K, p, n)),
                "total": np.empty((K, p)), "total_x": np.empty((K, p)),
                "squares": np.empty((K, p, p)),
            }
        return self._buffers[n]

    def chunk(self, U: Array) -> tuple[float, float, Array, Array]:
        """Sufficient statistics of the samples U (n, m), as
        :meth:`_HomogeneousSpanKernel.chunk`."""
        n = U.shape[0]
        buf = self.buffers(n)
        K, P, p, c2, cs = self.K, self.P, self.p, self.c2, self.cs
        pre, y, ell = buf["pre"], buf["y"], buf["ell"]
        np.matmul(self.mix_t, U.T, out=pre)
        # σ, σ' (and σ'' for the Sobolev term) of every row in one pass over shared factors
        values, slopes, *second = self.activation.jet(pre, 2 if cs else 1, out=buf["jet"])
        a = slopes[:K]
        # x contiguous (rows, samples): the passes below then stream through memory
        x = buf["x"]
        if self.x_map_t is None:
            np.copyto(x, U.T)
        else:
            np.matmul(self.x_map_t, U.T, out=x)
        ell.fill(0.0)
        if c2:
            r = np.matmul(self.ones[:K], values[:K], out=buf["r"])
            r -= np.matmul(self.ones[:P - K], values[K:], out=buf["scratch"])
            np.multiply(r, r, out=ell)
            ell *= 0.5 * c2
            np.multiply(x, r if c2 == 1.0 else c2 * r, out=y)
        b = None
        if cs:
            D = np.matmul(self.student_rows_t, a, out=buf["D"])
            D -= np.matmul(self.teacher_rows_t, slopes[K:], out=buf["D_teacher"])
            squared = np.matmul(self.ones[:p], np.multiply(D, D, out=buf["D2"]),
                                out=buf["scratch"])
            squared *= 0.5 * cs
            ell += squared
            b = np.matmul(self.student_rows, D, out=buf["b"])  # w_k·D
            b *= second[0][:K]
            if cs != 1.0:
                b *= cs
            scaled = D if cs == 1.0 else np.multiply(D, cs, out=buf["D_teacher"])
            if c2:
                y += scaled
            else:
                np.copyto(y, scaled)
        E = np.multiply(a[:, None, :], y[None, :, :], out=buf["E"])
        total = np.matmul(a, y.T, out=buf["total"])
        if b is not None:
            E += np.multiply(b[:, None, :], x[None, :, :], out=buf["Ex"])
            total += np.matmul(b, x.T, out=buf["total_x"])
        squares = np.matmul(E, E.transpose(0, 2, 1), out=buf["squares"])
        ell_mean = float(ell.sum()) / n
        ell -= ell_mean
        return ell_mean, float(np.dot(ell, ell)), total, squares


def _homogeneous_slopes(activation: Activation) -> tuple[float, float] | None:
    """(σ'(1), σ'(−1)) when σ' is constant on t > 0 and on t ≤ 0 (relu, leaky relu), else None."""
    if not activation.homogeneous:
        return None
    positive, zero, negative = (float(v) for v in activation.numpy[1](np.array([1.0, 0.0, -1.0])))
    return (positive, negative) if zero == negative else None


def _span_kernel(frame: _Frame, K: int, activation: Activation,
                 weights: tuple[float, float, float]):
    """The buffered span kernel for a first-order loss (l2, sobolev, h1): relu and leaky relu
    (:class:`_HomogeneousSpanKernel`), smooth activations (:class:`_SmoothSpanKernel`); None
    for the second-order losses and other homogeneous activations (the generic path)."""
    if weights[2] != 0:
        return None
    slopes = _homogeneous_slopes(activation)
    if slopes is not None:
        return _HomogeneousSpanKernel(frame, K, slopes, weights)
    if not activation.homogeneous:
        return _SmoothSpanKernel(frame, K, activation, weights)
    return None


@dataclass(frozen=True)
class MonteCarloEstimate:
    """Monte-Carlo estimate of the population loss and its expected gradient.

    value, value_stderr: E ℓ and its standard error (sample std / √N; for sampler="sobol" the
        std of the per-scrambling means / √n_scramblings).
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
    second_order_weight: float = 1.0
    dimension: str = "span"
    sampler: str = "random"
    n_scramblings: int | None = None
    span_dimension: int | None = None

    def value_interval(self, confidence: float | None = None) -> tuple[float, float]:
        z = _z(self.confidence if confidence is None else confidence)
        return (self.value - z * self.value_stderr, self.value + z * self.value_stderr)

    def gradient_interval(self, confidence: float | None = None) -> tuple[Array, Array]:
        z = _z(self.confidence if confidence is None else confidence)
        return (self.gradient - z * self.gradient_stderr, self.gradient + z * self.gradient_stderr)


def _progress(total: int, progress: bool, what: str):
    from tqdm.auto import tqdm  # imported on use: keeps `import numerics` light

    return tqdm(total=total, unit="sample", unit_scale=True, desc=what, disable=not progress,
                leave=False)


def _chunks(n_samples: int, batch_size: int):
    done = 0
    while done < n_samples:
        size = min(batch_size, n_samples - done)
        yield size
        done += size


def _checked_inputs(W, W_star, loss, sobolev_weight, activation, slope, n_samples, batch_size,
                    confidence, second_order_weight=1.0):
    """Validate the arguments shared by the estimators; ValueError names the bad one."""
    W, W_star = as_student_teacher(W, W_star)
    weights = loss_weights(loss, sobolev_weight, second_order_weight)
    act = get_activation(activation, slope=slope)
    if weights[2] > 0 and act.jump != 0.0:
        raise ValueError(
            f"loss {loss!r} needs a smooth activation: for {act.name} σ'' is a Dirac mass at 0, "
            "so J₂ = E ½‖∇²ₓg(x;W) − ∇²ₓg(x;W*)‖²_F is infinite; use activation 'gelu', 'tanh' "
            "or 'sine', or loss 'h1'")
    n_samples = _positive_int(n_samples, "n_samples")
    if n_samples < 2:
        raise ValueError("n_samples must be at least 2 to estimate a standard error")
    batch_size = _positive_int(batch_size, "batch_size")
    _z(confidence)
    return W, W_star, weights, act, n_samples, batch_size


def _check_choice(value, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}; got {value!r}")
    return value


def monte_carlo(W: ArrayLike, W_star: ArrayLike, loss: str = "h1", *, n_samples: int,
                seed: int | None = None, sobolev_weight: float = 1.0,
                second_order_weight: float = 1.0, activation: str | Activation = "relu",
                slope: float | None = None, input_covariance: ArrayLike | None = None,
                dimension: str = "span", sampler: str = "random",
                n_scramblings: int = DEFAULT_SCRAMBLINGS, batch_size: int = DEFAULT_BATCH_SIZE,
                confidence: float = 0.95, progress: bool = False) -> MonteCarloEstimate:
    """Streaming Monte-Carlo estimate of the loss and its expected (autograd) gradient.

    Args:
        W: student (K, d) or (d,). W_star: teacher (K*, d).
        loss: "l2", "sobolev", "h1" (= l2 + λ·sobolev), "sobolev2" (J₂) or "h2"
            (= l2 + λ·sobolev + μ·sobolev2; smooth activations only).
        n_samples: N, the number of Gaussian inputs; memory does not grow with N.
        seed: seed of numpy's default Generator (sampler "random": the same seed gives the same
            samples whatever ``batch_size``) or of the scramblings (sampler "sobol").
        sobolev_weight: λ. second_order_weight: μ (used by "h2").
        activation: "relu", "leaky_relu" (with ``slope``), "gelu", "tanh", "sine" or an
            :class:`~numerics.activations.Activation`.
        input_covariance: Σ, symmetric positive definite (d, d); x ~ N(0, Σ) (default I_d).
            The Sobolev terms keep the Euclidean input gradient and Hessian.
        dimension: "span" (draw the coordinates of the m-dimensional span only; cost
            independent of d) or "full" (draw x ∈ R^d; for tests).
        sampler: "random" (Monte-Carlo) or "sobol" (randomized QMC: ``n_scramblings``
            independent scrambled Sobol' sequences; n_samples / n_scramblings must be a power
            of two).
        batch_size: rows per chunk. confidence: level of the reported intervals.
        progress: show a tqdm progress bar.
    Returns:
        :class:`MonteCarloEstimate` (expected convention; see the module docstring).
    """
    W, W_star, weights, act, n_samples, batch_size = _checked_inputs(
        W, W_star, loss, sobolev_weight, activation, slope, n_samples, batch_size, confidence,
        second_order_weight)
    _check_choice(dimension, "dimension", DIMENSIONS)
    _check_choice(sampler, "sampler", SAMPLERS)
    seed = _check_seed(seed)
    K, d = W.shape
    factor = input_covariance_factor(input_covariance, d)
    frame = sampling_frame(W, W_star, factor, dimension)
    p = frame.rows.shape[1]
    rows_per_chunk = min(batch_size, max(256, CHUNK_ENTRIES // (K * p)))
    scatter = frame.basis is not None
    grad = _GradientMoments(K, p, scatter)
    value = _Moments(())
    law = "N(0, I_d)" if factor is None else "N(0, Σ)"
    kernel = _span_kernel(frame, K, act, weights) if sampler == "random" and scatter else None
    if kernel is not None:
        rng = np.random.default_rng(seed)
        entries = SMOOTH_KERNEL_ENTRIES if isinstance(kernel, _SmoothSpanKernel) else CHUNK_ENTRIES
        kernel_rows = min(batch_size, max(256, min(
            entries // (K * p), SINGLE_THREAD_GEMM // frame.mix.size)))
        with _progress(n_samples, progress, "monte-carlo") as bar:
            for size in _chunks(n_samples, kernel_rows):
                ell_mean, ell_m2, total, squares = kernel.chunk(kernel.draw(rng, size))
                value.add(size, ell_mean, ell_m2)
                grad.add_sums(size, total, squares)
                bar.update(size)
        scrambles = None
        how = f"monte-carlo, x ~ {law}, normal-approximation intervals"
    elif sampler == "random":
        rng = np.random.default_rng(seed)
        with _progress(n_samples, progress, "monte-carlo") as bar:
            for size in _chunks(n_samples, rows_per_chunk):
                ell, a, y, rest = _process(frame, rng.standard_normal((size, frame.n_draw)), K,
                                           act, weights)
                chunk_mean = ell.mean()
                value.add(size, chunk_mean, np.sum((ell - chunk_mean) ** 2))
                grad.add_chunk(a, y, rest)
                bar.update(size)
        scrambles = None
        how = f"monte-carlo, x ~ {law}, normal-approximation intervals"
    else:
        scrambles = _positive_int(n_scramblings, "n_scramblings")
        if scrambles < 2:
            raise ValueError("n_scramblings must be at least 2 to estimate a standard error")
        per = n_samples // scrambles
        if per * scrambles != n_samples or per & (per - 1):
            good = scrambles * 2 ** max(0, round(math.log2(max(1, n_samples / scrambles))))
            raise ValueError(
                f"n_samples must be n_scramblings × a power of two for sampler='sobol' "
                f"(Sobol' balance); got n_samples={n_samples}, n_scramblings={scrambles}: "
                f"use n_samples={good}")
        from scipy.stats import qmc  # imported on use: scipy.stats is slow to import

        chunk = 2 ** int(math.log2(rows_per_chunk))
        children = np.random.SeedSequence(seed).spawn(scrambles)
        with _progress(n_samples, progress, "quasi-monte-carlo") as bar:
            for child in children:
                engine = qmc.Sobol(frame.n_draw, scramble=True, rng=np.random.default_rng(child))
                normals = qmc.MultivariateNormalQMC(np.zeros(frame.n_draw), engine=engine)
                ell_sum, grad_sum = 0.0, np.zeros((K, p))
                for size in _chunks(per, chunk):
                    ell, a, y, rest = _process(frame, normals.random(size), K, act, weights)
                    ell_sum += float(ell.sum())
                    grad_sum += _gradients(a, y, rest).sum(axis=1)
                    bar.update(size)
                value.add(1, np.asarray(ell_sum / per), np.asarray(0.0))
                grad.merge(1, grad_sum / per, np.zeros_like(grad.m2))
        how = (f"randomized quasi-monte-carlo (scrambled Sobol', {scrambles} scramblings of "
               f"{per} points), x ~ {law}, normal-approximation intervals over scramblings")
    mean, stderr = grad.result(frame.basis)
    return MonteCarloEstimate(
        value=float(value.mean), value_stderr=float(value.stderr()), gradient=mean,
        gradient_stderr=stderr, n_samples=n_samples, seed=seed, loss=loss,
        sobolev_weight=float(sobolev_weight), activation=act.name, confidence=confidence,
        method=f"{how}; dimension={dimension}" + (
            f" (m = {frame.n_draw} coordinates drawn)" if dimension == "span" else ""),
        second_order_weight=float(second_order_weight), dimension=dimension, sampler=sampler,
        n_scramblings=scrambles, span_dimension=frame.n_draw if dimension == "span" else None,
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
    second_order_weight: float = 1.0
    input_covariance: str = "identity"

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
                        second_order_weight: float = 1.0, activation: str | Activation = "relu",
                        slope: float | None = None, input_covariance: ArrayLike | None = None,
                        step: float | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                        confidence: float = 0.95, progress: bool = False) -> MonteCarloHessian:
    """Jacobian of the expected gradient field by CRN central differences, with standard errors.

    Column k·d + b is [Ĝ(W + h_k e_kb) − Ĝ(W − h_k e_kb)] / (2h_k), where Ĝ is the sample mean of
    the pointwise gradient over the SAME inputs x ~ N(0, Σ) for both points (common random
    numbers; x ∈ R^d is drawn in full, since moving w_kb leaves the span of the rows).
    Because the difference is taken of the averaged field (not of a pointwise Hessian), samples
    whose x crosses a moved hyperplane contribute: the estimate sees the boundary (δ) terms of
    relu's Sobolev part that the average of pointwise autograd Hessians misses. The step rule is
    described in :func:`hessian_steps`; the reported standard errors are sampling errors of the
    per-sample difference quotients (step bias O(h²) not included). Losses and
    ``input_covariance`` as in :func:`monte_carlo`.
    """
    W, W_star, weights, act, n_samples, batch_size = _checked_inputs(
        W, W_star, loss, sobolev_weight, activation, slope, n_samples, batch_size, confidence,
        second_order_weight)
    steps, rule = hessian_steps(W, W_star, act, n_samples, weights[1] + weights[2] > 0, step)
    K, d = W.shape
    factor = input_covariance_factor(input_covariance, d)
    # Bound the per-chunk (B, K·d, K·d) array of difference quotients to ~2^22 entries.
    chunk = min(batch_size, max(256, 2 ** 22 // (K * d) ** 2))
    rng = np.random.default_rng(_check_seed(seed))
    moments = _Moments((K * d, K * d))
    # one buffer for every chunk's quotients (a fresh array per chunk costs page faults)
    buffer = np.empty((min(chunk, n_samples), K * d, K * d))
    with _progress(n_samples, progress, "monte-carlo hessian") as bar:
        for size in _chunks(n_samples, chunk):
            X = rng.standard_normal((size, d))
            if factor is not None:
                X = X @ factor.T
            quotients = buffer[:size]
            for k in range(K):
                for b in range(d):
                    moved = []
                    for sign in (1.0, -1.0):
                        Wm = W.copy()
                        Wm[k, b] += sign * steps[k]
                        moved.append(pointwise_gradients(X, Wm, W_star, act, weights)[1])
                    column = (moved[0] - moved[1]) / (2.0 * steps[k])
                    quotients[:, :, k * d + b] = column.reshape(size, K * d)
            mean = quotients.mean(axis=0)
            quotients -= mean  # centred in place
            moments.add(size, mean, np.einsum("bij,bij->ij", quotients, quotients))
            bar.update(size)
    return MonteCarloHessian(
        hessian=moments.mean, stderr=moments.stderr(), steps=steps, n_samples=n_samples,
        seed=seed, loss=loss, sobolev_weight=float(sobolev_weight), activation=act.name,
        step_rule=rule, confidence=confidence, second_order_weight=float(second_order_weight),
        input_covariance="identity" if factor is None else "Σ (user)",
    )
