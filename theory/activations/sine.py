r"""sine: φ(t) = sin t.

For (u, v) centred Gaussian with variances s_a, s_b and covariance c,
E[sin u sin v] = ½(E cos(u − v) − E cos(u + v)) = ½(e^{−(s_a+s_b−2c)/2} − e^{−(s_a+s_b+2c)/2}):

    k(s_a, s_b, c) = e^{−(s_a + s_b)/2} · sinh(c).

Entire in (s_a, s_b, c): the loss is smooth, the two conventions coincide, the Hessian exists at
the teacher. Not homogeneous: the kernels decay like e^{−|w|²/2} in the weight scale, so the
landscape depends on the teacher's norm, not only on angles.

SymPy derivation and proof against the Gaussian integral: theory/symbolic/activations.py.
"""

from __future__ import annotations

import sympy as sp

from theory.activations._partials import c, s_a, s_b

NAME = "sine"
KERNEL = sp.exp(-(s_a + s_b) / 2) * sp.sinh(c)
