"""theory.symbolic: SymPy derivation of the closed forms.

Submodules:

* ``symbols``: the documented symbols r, r_star, theta, lam, u, v, I;
* ``algebra``: exact algebra of I, u, v (products, gradients, Jacobians, the (v, e) frame);
* ``kernels``: pair kernels from the Gaussian integrals in polar coordinates;
* ``one_neuron``: L, J, H_λ, gradients and Hessians in both conventions;
* ``flow``: the one-neuron gradient flow in (r, θ);
* ``assembly``: general-K losses/gradients as sums over pairs of the derived kernels;
* ``numeric``: lambdified (cached) numpy evaluation, the second evaluation route;
* ``printing``: pretty text, LaTeX and JSON.

Importing this package imports SymPy; ``theory`` itself does not.
"""
