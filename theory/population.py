r"""The public population functions: one dispatch above the two evaluation routes.

population_loss, population_gradient, population_hessian, GradientField and gradient_field are
defined here and re-exported by :mod:`theory`. Each picks a route and imports only what lies
below it:

* the lean route (:mod:`theory.fast_field`): relu family or smooth activation at Σ = I with
  representable float64 rows — angles from the Gram matrix of the rows, two matrix products;
* the general route (:mod:`theory.assembly`): every activation, loss, Σ and scale, with the full
  validation and the pair geometry as (K, K + K*, d) arrays.

The lean route returns None where it does not apply; the general route then runs unchanged and
raises its ValueError naming the argument. Hessians come from theory.assembly (structured
assembly in the span of the rows where that is exact to rounding, else pair by pair).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from theory import assembly, fast_field
from theory.validation import (
    as_weight_matrix,
    check_input_covariance,
    require_dense_hessian_memory,
)

Array = NDArray[np.float64]
_FLOAT64 = np.dtype(np.float64)


def _finite(value, what: str, sobolev_weight: float, second_order_weight: float):
    """``value`` if every entry is finite, else ValueError naming the loss weights (the only
    inputs left that can overflow once W, W_star and input_covariance passed their checks)."""
    if np.all(np.isfinite(value)):
        return value
    raise ValueError(
        f"the population {what} overflows float64 (sobolev_weight = {sobolev_weight!r}, "
        f"second_order_weight = {second_order_weight!r}): λ·J and μ·J₂ must stay below "
        f"{np.finfo(float).max:.3g}. Reduce sobolev_weight or second_order_weight, or rescale "
        "W and W_star")

_COMMON_DOC = """
    Args:
        W: student weights (K, d), or (d,) for one neuron. W_star: teacher weights (K*, d).
        loss: "l2" (E ½(g − g*)²), "sobolev" (J = E ½|∇_x g − ∇_x g*|²), "h1" (L + λJ),
            "sobolev2" (J₂ = E ½‖∇²_x g − ∇²_x g*‖²_F) or "h2" (L + λJ + μJ₂).
        activation: "relu", "leaky_relu" (slope 0.01), "leaky_relu(α)" (α in [0, 1)), "erf",
            "sine", "gelu" (theory.activations.available()). tanh has no closed form
            (ValueError). J₂ is infinite for relu/leaky relu (ValueError).
        sobolev_weight: λ >= 0. second_order_weight: μ >= 0 (h2 only).
        input_covariance: Σ (d×d symmetric positive definite), x ~ N(0, Σ); None is I; or
            theory.SpikedCovariance(U) for Σ = I + UUᵀ without forming it. The Sobolev terms
            still measure the Euclidean input gradient and Hessian.
    Homogeneity: for relu and leaky relu loss(rW, rW*) = r² loss(W, W*) (r > 0); the smooth
    activations are not homogeneous, their landscape depends on the weight scale."""



def population_loss(W: ArrayLike, W_star: ArrayLike, loss: str = "h1", *,
                    activation: str = "relu", sobolev_weight: float = 1.0,
                    second_order_weight: float = 1.0,
                    input_covariance: ArrayLike | None = None) -> float:
    with np.errstate(over="ignore", invalid="ignore"):  # a non-finite result is refused below
        value = fast_field.lean_loss(W, W_star, loss, activation, sobolev_weight,
                                     second_order_weight, input_covariance)
        if value is None:
            value = assembly.general_population_loss(
                W, W_star, loss, activation=activation, sobolev_weight=sobolev_weight,
                second_order_weight=second_order_weight, input_covariance=input_covariance)
    return _finite(value, "loss", sobolev_weight, second_order_weight)


population_loss.__doc__ = """Population loss of the student W against the teacher W*, a float.

    loss = ½ Σ_{i,j} P(w_i, w_j) − Σ_{i,j} P(w_i, w*_j) + ½ Σ_{i,j} P(w*_i, w*_j) with the pair
    kernel P of the loss (theory.pair_frame). Closed form; absolute rounding error
    ~1e-16 × Σ|w|² (values far below that near the teacher carry no relative accuracy).
""" + _COMMON_DOC



def population_gradient(W: ArrayLike, W_star: ArrayLike, loss: str = "h1", *,
                        convention: str = "expected", activation: str = "relu",
                        sobolev_weight: float = 1.0, second_order_weight: float = 1.0,
                        input_covariance: ArrayLike | None = None) -> NDArray[np.float64]:
    with np.errstate(over="ignore", invalid="ignore"):  # a non-finite result is refused below
        field = fast_field.lean_gradient(W, W_star, loss, convention, activation,
                                         sobolev_weight, second_order_weight, input_covariance)
        if field is None:
            field = assembly.general_population_gradient(
                W, W_star, loss, convention=convention, activation=activation,
                sobolev_weight=sobolev_weight, second_order_weight=second_order_weight,
                input_covariance=input_covariance)
    return _finite(field, "gradient", sobolev_weight, second_order_weight)


population_gradient.__doc__ = """Population gradient field F(W), shape (K, d) (one row per neuron).

    convention="expected": E_x[∇_W ℓ(x; W)] with the step function's derivative taken as 0 (what
    autograd and large-batch SGD follow; it drives training). Defined everywhere.
    convention="exact": ∇_W of the population loss. For "l2" both coincide; for the Sobolev part
    of relu/leaky relu the exact one adds boundary terms and does not exist where a student row
    is parallel or antiparallel to another row (NonDifferentiableError). For smooth activations
    the two are the same field (differentiation under the expectation is legitimate: the
    integrand is smooth with integrable derivatives), so both names give the same result.
""" + _COMMON_DOC



def population_hessian(W: ArrayLike, W_star: ArrayLike, loss: str = "h1", *,
                       convention: str = "expected", activation: str = "relu",
                       sobolev_weight: float = 1.0, second_order_weight: float = 1.0,
                       input_covariance: ArrayLike | None = None) -> NDArray[np.float64]:
    p = assembly.make_problem(W, W_star, loss, activation=activation, convention=convention,
                     sobolev_weight=sobolev_weight, second_order_weight=second_order_weight,
                     input_covariance=input_covariance)
    require_dense_hessian_memory(p.W, p.W_star)
    with np.errstate(over="ignore", invalid="ignore"):  # a non-finite result is refused below
        hessian = assembly.structured_hessian(p)
        if hessian is None:
            hessian = assembly.direct_hessian(p)
    return _finite(hessian, "Hessian", sobolev_weight, second_order_weight)


population_hessian.__doc__ = """Jacobian of the population gradient field, (K·d, K·d), index i·d+a.

    convention="exact": the Hessian of the population loss (symmetric).
    convention="expected": the Jacobian of the expected gradient field (the "expected Hessian";
    not symmetric for the Sobolev part of relu/leaky relu). The two coincide for "l2" and for
    every smooth activation (whose Hessian is symmetric and exists everywhere, including at the
    teacher). For relu/leaky relu the l2 Hessian exists at every W with non-zero rows; Sobolev/h1
    Hessians (λ > 0) raise NonDifferentiableError where a student row is parallel or
    antiparallel (in the Σ-geometry) to another student row or to a teacher row — in particular
    at the teacher itself.
""" + _COMMON_DOC


class GradientField:
    """F(W) = theory.population_gradient(W, W_star, loss, ...) with W* and the settings fixed
    and validated once (see :func:`theory.gradient_field`).

    Calling it with W (K, d) (or (d,)) returns F(W) of shape (K, d). The lean route checks only
    that W is a float64 array of the teacher's d with finite non-zero rows; every other W (and
    every setting the lean route does not cover) goes to theory.population_gradient with the
    stored arguments, whose ValueError names the problem.
    """

    def __init__(self, W_star, loss: str = "h1", *, convention: str = "expected",
                 activation: str = "relu", sobolev_weight: float = 1.0,
                 second_order_weight: float = 1.0, input_covariance=None) -> None:
        teacher = as_weight_matrix(W_star, "W_star")
        # validate every setting now (a ValueError here names the argument): the teacher's
        # largest row stands in for W (so that a problem with W* is named W_star)
        largest = int(np.argmax(np.abs(teacher).max(axis=1)))
        assembly.make_problem(teacher[largest:largest + 1], teacher, loss, activation=activation,
                     convention=convention, sobolev_weight=sobolev_weight,
                     second_order_weight=second_order_weight, input_covariance=input_covariance)
        sigma = check_input_covariance(input_covariance, teacher.shape[1])
        self.W_star = teacher
        self.W_star.setflags(write=False)
        self.loss, self.convention, self.activation = loss, convention, activation
        self.sobolev_weight, self.second_order_weight = sobolev_weight, second_order_weight
        self.input_covariance = input_covariance
        self._general = assembly.general_population_gradient
        plan = fast_field.lean_plan(loss, convention, activation, sobolev_weight,
                                    second_order_weight)
        teacher_fit = fast_field.teacher_rows(teacher)
        self._plan = plan if sigma is None and teacher_fit is not None else None
        self._teacher_n2 = None if teacher_fit is None else teacher_fit[1]

    def __call__(self, W) -> Array:
        plan = self._plan
        if plan is not None and type(W) is np.ndarray and W.dtype is _FLOAT64:
            student = W[None, :] if W.ndim == 1 else W
            if student.ndim == 2 and student.size and student.shape[1] == self.W_star.shape[1]:
                n2 = np.einsum("ij,ij->i", student, student)
                if fast_field.representable(n2):
                    rows = (np.concatenate((student, self.W_star)),
                            np.concatenate((n2, self._teacher_n2)), student.shape[0])
                    if isinstance(plan, fast_field.SmoothPlan):
                        with np.errstate(over="ignore", invalid="ignore"):
                            F = fast_field.smooth_gradient(plan, *rows)
                        return _finite(F, "gradient", self.sobolev_weight,
                                       self.second_order_weight)
                    F = fast_field.two_slope_gradient(plan, *rows)
                    if F is not None:
                        return F
        return self._general(W, self.W_star, self.loss, convention=self.convention,
                             activation=self.activation, sobolev_weight=self.sobolev_weight,
                             second_order_weight=self.second_order_weight,
                             input_covariance=self.input_covariance)

    def __repr__(self) -> str:
        K_star, d = self.W_star.shape
        return (f"GradientField(loss={self.loss!r}, convention={self.convention!r}, "
                f"activation={self.activation!r}, sobolev_weight={self.sobolev_weight!r}, "
                f"K*={K_star}, d={d})")


def gradient_field(W_star, loss: str = "h1", *, convention: str = "expected",
                   activation: str = "relu", sobolev_weight: float = 1.0,
                   second_order_weight: float = 1.0, input_covariance=None) -> GradientField:
    r"""The population gradient field W ↦ F(W) against a fixed teacher, validated once.

    ``field = gradient_field(W_star, loss, ...)`` then ``field(W)`` equals
    ``theory.population_gradient(W, W_star, loss, ...)`` with the same arguments: shape (K, d)
    (a (d,) W is one neuron, result (1, d)), row i the gradient with respect to w_i of the loss

        loss = ½ Σ_{i,j} P(w_i, w_j) − Σ_{i,j} P(w_i, w*_j) + ½ Σ_{i,j} P(w*_i, w*_j)

    for x ~ N(0, Σ): "l2" L = E ½(g − g*)², "sobolev" J = E ½|∇_x g − ∇_x g*|², "h1" L + λJ
    (λ = sobolev_weight), and for smooth activations "sobolev2"/"h2" with J₂ (μ =
    second_order_weight). convention="expected" is E_x of the pointwise gradient with the
    step's derivative taken as 0 (what autograd and large-batch SGD follow, the right-hand side
    of a training flow dW/dt = −F(W)); "exact" is ∇_W of the population loss (for the relu
    family it adds boundary terms and does not exist where two rows are (anti)parallel:
    NonDifferentiableError). For smooth activations both are the same field.

    Every setting and W* are checked here (ValueError naming the argument, as
    population_gradient raises). Each call then checks only W: on the lean route of
    theory.fast_field (relu family, Σ = I, a float64 W of the teacher's d with finite non-zero
    rows) it costs a few matrix products of size K × (K + K*) × d; any other W or setting runs
    population_gradient's general route, which raises its usual ValueError for a bad W.
    """
    return GradientField(W_star, loss, convention=convention, activation=activation,
                         sobolev_weight=sobolev_weight, second_order_weight=second_order_weight,
                         input_covariance=input_covariance)
