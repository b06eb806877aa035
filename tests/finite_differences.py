"""Central finite differences shared by the derivative tests (an evaluation independent of
the closed-form gradients and Hessians)."""

import numpy as np


def central_difference_gradient(f, W, h):
    """∂f/∂W_ia by central differences with step h (error O(h²) + O(eps/h))."""
    grad = np.zeros_like(W)
    for index in np.ndindex(W.shape):
        step = np.zeros_like(W)
        step[index] = h
        grad[index] = (f(W + step) - f(W - step)) / (2 * h)
    return grad


def central_difference_jacobian(field, W, h):
    """Columns ∂F/∂W_c (flattened i·d + a) by central differences."""
    columns = []
    for index in np.ndindex(W.shape):
        step = np.zeros_like(W)
        step[index] = h
        columns.append(((field(W + step) - field(W - step)) / (2 * h)).ravel())
    return np.stack(columns, axis=1)
