r"""Training on sampled data: full-batch gradient descent and minibatch SGD, numpy only.

Data: x ~ N(0, I_d), y = g(x; W*) = Σ_j σ(w*_j·x), ∇_x y = Σ_j σ'(w*_j·x) w*_j. The student
g(x; W) = Σ_i σ(w_i·x) is fitted on the empirical loss over a batch B

    ℓ_B(W) = mean_B ½(g − y)²  ("l2")  +  λ · mean_B ½‖∇_x g − ∇_x y‖²  ("sobolev" part; "h1")

with the gradient of autograd (convention "expected": σ' and σ'' of ReLU taken as 1{t>0}, 0):

    ∂ℓ/∂w_i = mean_B[(g − y) σ'(w_i·x) x]  +  λ · mean_B[σ'(w_i·x) R + σ''(w_i·x) (w_i·R) x],
    R = ∇_x g − ∇_x y.

This module never calls theory's closed forms: its estimates are independent measurements.
Activations: those of numerics.activations (relu, leaky_relu (slope 0.01), gelu (x Φ(x)),
tanh, sine), by name or as an Activation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from numerics.activations import Activation, get_activation
from theory.validation import (
    SECOND_ORDER_LOSSES,
    as_student_teacher,
    check_input_covariance,
    check_population_loss,
    check_second_order_weight,
    check_sobolev_weight,
)

OPTIMIZERS = ("gd", "sgd")


def _evaluate(activation: str | Activation, t: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """(σ(t), σ'(t), σ''(t)) with σ', σ'' as autograd takes them (numerics.activations)."""
    act = get_activation(activation)
    return act.numpy[0](t), act.numpy[1](t), act.numpy[2](t)



def sample_teacher_data(W_star: ArrayLike, n: int, rng: np.random.Generator,
                        activation: str = "relu", input_covariance: ArrayLike | None = None):
    """(X (n, d), y (n,), ∇_x y (n, d)) for x ~ N(0, I_d) (or N(0, Σ): X = Z Lᵀ, Σ = L Lᵀ)."""
    _, W_star = as_student_teacher(W_star, W_star)
    X = rng.standard_normal((n, W_star.shape[1]))
    sigma = check_input_covariance(input_covariance, W_star.shape[1])
    if sigma is not None:
        X = X @ np.linalg.cholesky(sigma).T
    value, slope, _ = _evaluate(activation, X @ W_star.T)
    return X, value.sum(axis=1), slope @ W_star


def batch_loss_and_gradient(W: NDArray, X: NDArray, y: NDArray, dy: NDArray, loss: str,
                            sobolev_weight: float, activation: str = "relu"):
    """(empirical loss, autograd-convention gradient (K, d)) on the batch (module docstring)."""
    w_l2, w_sob = {"l2": (1.0, 0.0), "sobolev": (0.0, 1.0),
                   "h1": (1.0, sobolev_weight)}[loss]
    value, slope, curvature = _evaluate(activation, X @ W.T)  # (n, K)
    n = X.shape[0]
    residual = value.sum(axis=1) - y  # (n,)
    R = slope @ W - dy  # (n, d)
    total = w_l2 * 0.5 * np.mean(residual**2) + w_sob * 0.5 * np.mean(np.sum(R * R, axis=1))
    grad = w_l2 * (slope * residual[:, None]).T @ X / n
    if w_sob:
        grad = grad + w_sob * (slope.T @ R + (curvature * (R @ W.T)).T @ X) / n
    return float(total), grad


def teacher_input_hessians(W_star: NDArray, X: NDArray, activation: str = "relu") -> NDArray:
    """∇²_x y = Σ_j σ''(w*_j·x) w*_j w*_jᵀ for every row of X: (n, d, d) (smooth σ)."""
    curvature = get_activation(activation).numpy[2](X @ W_star.T)
    return np.einsum("nk,ka,kb->nab", curvature, W_star, W_star)


def second_order_loss_and_gradient(W: NDArray, X: NDArray, d2y: NDArray,
                                   activation: str = "relu") -> tuple[NDArray, NDArray]:
    """Per-sample ½‖∇²_x g − ∇²_x y‖²_F (n,) and the batch-mean gradient (K, d) of J₂.

    With R = Σ_i σ''(w_i·x) w_i w_iᵀ − ∇²_x y: ∂/∂w_i = mean[σ'''(w_i·x)(w_iᵀRw_i) x
    + 2σ''(w_i·x) R w_i] (autograd's derivative of the Frobenius residual).
    """
    act = get_activation(activation)
    pre = X @ W.T
    curvature, third = act.numpy[2](pre), act.numpy[3](pre)
    R = np.einsum("nk,ka,kb->nab", curvature, W, W) - d2y
    RW = np.einsum("nab,kb->nka", R, W)  # R w_k for every sample
    quad_form = np.einsum("nka,ka->nk", RW, W)
    n = X.shape[0]
    grad = ((third * quad_form).T @ X + 2 * np.einsum("nk,nka->ka", curvature, RW)) / n
    return 0.5 * np.sum(R * R, axis=(1, 2)), grad


@dataclass(frozen=True)
class TrainResult:
    """Loss curves of a training run.

    steps: (m,) step indices recorded; train_loss: empirical loss on the whole training set;
    test_loss: on ``n_test`` fresh samples (a Monte-Carlo estimate of the population loss with
    standard error test_stderr); W: final weights (K, d). Settings are recorded for provenance.
    """

    steps: NDArray[np.int64]
    train_loss: NDArray[np.float64]
    test_loss: NDArray[np.float64]
    test_stderr: NDArray[np.float64]
    W: NDArray[np.float64]
    loss: str
    optimizer: str
    lr: float
    batch_size: int
    n_train: int
    n_test: int
    seed: int
    activation: str
    sobolev_weight: float
    #: test L2 loss mean ½(g − y)² on the same fresh samples (equal to test_loss for "l2"): a
    #: common yardstick for runs of different losses.
    test_l2_loss: NDArray[np.float64] | None = None
    #: test L2 loss after every step (index = step, 0 = the start), when train was asked for it
    #: (``test_l2_every_step=True``): the exact step at which a level is first reached.
    test_l2_each_step: NDArray[np.float64] | None = None


def _per_sample_loss(W, X, y, dy, loss, weight, activation):
    w_l2, w_sob = {"l2": (1.0, 0.0), "sobolev": (0.0, 1.0), "h1": (1.0, weight)}[loss]
    value, slope, _ = _evaluate(activation, X @ W.T)
    R = slope @ W - dy
    return w_l2 * 0.5 * (value.sum(axis=1) - y) ** 2 + w_sob * 0.5 * np.sum(R * R, axis=1)


def train(W0: ArrayLike, W_star: ArrayLike, loss: str = "h1", *, optimizer: str = "gd",
          lr: float = 0.1, steps: int = 200, batch_size: int = 64, n_train: int = 4096,
          n_test: int = 4096, seed: int = 0, activation: str = "relu",
          sobolev_weight: float = 1.0, record_every: int = 1, second_order_weight: float = 1.0,
          input_covariance: ArrayLike | None = None,
          test_l2_every_step: bool = False,
          stop_at_test_l2_fraction: float | None = None) -> TrainResult:
    """Train the student from W0 on sampled teacher data with GD ("gd", full batch) or SGD.

    loss "sobolev2"/"h2" add μ·mean ½‖∇²_x g − ∇²_x y‖²_F (μ = second_order_weight; smooth
    activations only); input_covariance Σ samples x ~ N(0, Σ) (default I, same random stream).

    SGD draws minibatches of ``batch_size`` without replacement from a fresh permutation of the
    training set each epoch. Losses are recorded every ``record_every`` steps and at the end;
    ``test_l2_every_step`` also records the test L2 loss (only it) after every step
    (TrainResult.test_l2_each_step); with it, ``stop_at_test_l2_fraction`` = f ends the run
    after the first step whose test L2 loss is <= f × the initial one (that step is recorded
    last). Raises ValueError for bad settings, and when the weights become non-finite (lr too
    large).
    """
    W, W_star = as_student_teacher(W0, W_star)
    check_population_loss(loss)
    weight = check_sobolev_weight(sobolev_weight)
    mu = check_second_order_weight(second_order_weight) if loss in SECOND_ORDER_LOSSES else 0.0
    first_order = {"sobolev2": None, "h2": "h1"}.get(loss, loss)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}; got {optimizer!r}")
    activation = get_activation(activation)
    if mu and not activation.is_smooth:
        raise ValueError(f"loss={loss!r} needs a smooth activation: σ'' of {activation.name} is a "
                         "Dirac mass and J₂ is infinite; use gelu, sine or tanh")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0; got {lr!r}")
    for name, value in (("steps", steps), ("batch_size", batch_size), ("n_train", n_train),
                        ("n_test", n_test), ("record_every", record_every)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    if stop_at_test_l2_fraction is not None and not (
            test_l2_every_step and isinstance(stop_at_test_l2_fraction, (int, float))
            and 0 < stop_at_test_l2_fraction < 1):
        raise ValueError("stop_at_test_l2_fraction must be a number in (0, 1) and needs "
                         f"test_l2_every_step=True; got {stop_at_test_l2_fraction!r}")
    if optimizer == "sgd" and batch_size > n_train:
        raise ValueError(f"batch_size ({batch_size}) must not exceed n_train ({n_train})")
    rng = np.random.default_rng(seed)
    X, y, dy = sample_teacher_data(W_star, n_train, rng, activation, input_covariance)
    Xt, yt, dyt = sample_teacher_data(W_star, n_test, rng, activation, input_covariance)
    d2y = teacher_input_hessians(W_star, X, activation) if mu else None
    d2yt = teacher_input_hessians(W_star, Xt, activation) if mu else None
    record, train_curve, test_curve, test_err, test_l2 = [], [], [], [], []

    def loss_and_gradient(W, batch):
        total, grad = 0.0, np.zeros_like(W)
        if first_order is not None:
            total, grad = batch_loss_and_gradient(W, X[batch], y[batch], dy[batch], first_order,
                                                  weight, activation)
        if mu:
            per2, grad2 = second_order_loss_and_gradient(W, X[batch], d2y[batch], activation)
            total, grad = total + mu * float(per2.mean()), grad + mu * grad2
        return total, grad

    def per_sample_test_loss(W):
        per = (np.zeros(n_test) if first_order is None else
               _per_sample_loss(W, Xt, yt, dyt, first_order, weight, activation))
        if mu:
            per = per + mu * second_order_loss_and_gradient(W, Xt, d2yt, activation)[0]
        return per

    def log(step):
        record.append(step)
        train_curve.append(loss_and_gradient(W, slice(None))[0])
        per = per_sample_test_loss(W)
        test_curve.append(float(per.mean()))
        test_err.append(float(per.std(ddof=1) / math.sqrt(n_test)) if n_test > 1 else math.nan)
        test_l2.append(test_curve[-1] if loss == "l2" else float(
            _per_sample_loss(W, Xt, yt, dyt, "l2", weight, activation).mean()))

    each_step = []

    def test_l2_now(W):
        return float(_per_sample_loss(W, Xt, yt, dyt, "l2", weight, activation).mean())

    order = rng.permutation(n_train)
    cursor = 0
    log(0)
    if test_l2_every_step:
        each_step.append(test_l2_now(W))
    for step in range(1, steps + 1):
        if optimizer == "gd":
            batch = slice(None)
        else:
            if cursor + batch_size > n_train:
                order, cursor = rng.permutation(n_train), 0
            batch = order[cursor:cursor + batch_size]
            cursor += batch_size
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below
            _, grad = loss_and_gradient(W, batch)
            W = W - lr * grad
        if not np.all(np.isfinite(W)) or not np.all(np.isfinite(grad)):
            raise ValueError(f"training diverged at step {step} (non-finite weights): lr={lr:g} "
                             f"is too large for {optimizer} on the {loss} loss; lower lr")
        stop = False
        if test_l2_every_step:
            with np.errstate(over="ignore", invalid="ignore"):
                each_step.append(test_l2_now(W))
            stop = (stop_at_test_l2_fraction is not None
                    and each_step[-1] <= stop_at_test_l2_fraction * each_step[0])
        if step % record_every == 0 or step == steps or stop:
            with np.errstate(over="ignore", invalid="ignore"):
                log(step)
            if not (math.isfinite(train_curve[-1]) and math.isfinite(test_curve[-1])):
                raise ValueError(f"training diverged by step {step} (the loss overflowed): "
                                 f"lr={lr:g} is too large for {optimizer} on the {loss} loss")
        if stop:
            break
    return TrainResult(np.array(record), np.array(train_curve), np.array(test_curve),
                       np.array(test_err), W, loss, optimizer, float(lr), int(batch_size),
                       int(n_train), int(n_test), int(seed), activation.name, weight,
                       np.array(test_l2), np.array(each_step) if test_l2_every_step else None)
