"""theory: closed forms of the shallow student-teacher model with Gaussian input x ~ N(0, Σ).

Public API (stable):

    population_loss(W, W_star, loss="h1", *, activation="relu", sobolev_weight=1.0,
                    second_order_weight=1.0, input_covariance=None) -> float
    population_gradient(W, W_star, loss="h1", *, convention="expected", activation="relu",
                        sobolev_weight=1.0, second_order_weight=1.0, input_covariance=None)
    population_hessian(same arguments) -> (K·d, K·d), index i·d + a
    spectrum(same arguments, method="auto"|"dense"|"structured")
    condition_number(same arguments, eigensolver="auto"|"lapack"|"arpack") -> float
    extreme_eigenvalues(same arguments) -> (min Re λ, max Re λ), as condition_number gets them
    gradient_field(W_star, loss="h1", *, convention=..., activation=..., sobolev_weight=...,
                   second_order_weight=..., input_covariance=...) -> callable W ↦ F(W), equal
                   to population_gradient(W, W_star, ...) with W* and the settings validated once

Losses: "l2" (E ½(g − g*)²), "sobolev" (E ½|∇_x g − ∇_x g*|²), "h1" (l2 + λ·sobolev),
"sobolev2" (E ½‖∇²_x g − ∇²_x g*‖²_F), "h2" (l2 + λ·sobolev + μ·sobolev2).
Activations: theory.activations.available() — relu, leaky_relu(α), erf, sine, gelu.
Conventions: "expected" (E_x of the pointwise gradient, step derivative 0; drives training) and
"exact" (derivative of the population loss); they coincide for smooth activations. See the library
guide (docs/library.md), theory.kernels, theory.pair_frame and theory.activations.
"""

from theory import activations  # noqa: F401  (theory.activations.available(), parse_activation)
from theory.population import (
    GradientField,
    gradient_field,
    population_gradient,
    population_hessian,
    population_loss,
)
from theory.spectra import condition_number, extreme_eigenvalues, spectrum
from theory.validation import (
    ALL_LOSSES,
    CONVENTIONS,
    LOSSES,
    NonDifferentiableError,
    SpikedCovariance,
)

__all__ = [
    "ALL_LOSSES",
    "CONVENTIONS",
    "LOSSES",
    "NonDifferentiableError",
    "SpikedCovariance",
    "GradientField",
    "condition_number",
    "extreme_eigenvalues",
    "gradient_field",
    "population_gradient",
    "population_hessian",
    "population_loss",
    "spectrum",
]
