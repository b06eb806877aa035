"""theory: closed forms of the shallow ReLU student-teacher model with Gaussian input.

Public API (stable):
    population_loss(W, W_star, loss="h1", *, sobolev_weight=1.0) -> float
    population_gradient(W, W_star, loss="h1", *, convention="expected", sobolev_weight=1.0)
    population_hessian(W, W_star, loss="h1", *, convention="expected", sobolev_weight=1.0)
    spectrum(W, W_star, loss="h1", *, convention="expected", sobolev_weight=1.0, method="auto")
    condition_number(same arguments) -> float

Losses: "l2" (E ½(g − g*)²), "sobolev" (E ½|∇_x g − ∇_x g*|²), "h1" (l2 + λ·sobolev).
Conventions: "expected" (E_x of the pointwise gradient, step derivative 0; drives training) and
"exact" (derivative of the population loss). See README and theory.kernels for the formulas.
"""

from theory.assembly import population_gradient, population_hessian, population_loss
from theory.spectra import condition_number, spectrum
from theory.validation import CONVENTIONS, LOSSES, NonDifferentiableError

__all__ = [
    "CONVENTIONS",
    "LOSSES",
    "NonDifferentiableError",
    "condition_number",
    "population_gradient",
    "population_hessian",
    "population_loss",
    "spectrum",
]
