"""The abuse run's smaller findings, each reproduced first: a one-line refusal naming the
argument, or the right behaviour."""

from __future__ import annotations

import pytest

from theory.activations import parse_activation


@pytest.mark.parametrize("spec", ["leaky_relu(٠.١)", "leaky_relu(1_0)", "leaky_relu(nan)",
                                  "leaky_relu(໐.5)"])
def test_activation_slope_needs_ascii_digits(spec):
    """float() reads Arabic-Indic digits ('٠.١' = 0.1) and underscores: refused by name."""
    with pytest.raises(ValueError, match="activation"):
        parse_activation(spec)


@pytest.mark.parametrize(("spec", "slope"), [("leaky_relu(0.1)", 0.1), ("leaky_relu(.5)", 0.5),
                                             ("leaky_relu(1e-2)", 0.01), ("leaky_relu(0)", 0.0)])
def test_activation_slope_ascii_forms_still_parse(spec, slope):
    assert parse_activation(spec) == ("leaky_relu", slope)
