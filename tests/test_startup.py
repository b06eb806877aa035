"""Start-up cost: importing the packages must not pull in scipy (CLI calls and every spawned
sweep worker pay for it; scipy.stats alone is ~0.8 s)."""

import subprocess
import sys


def test_importing_the_packages_does_not_import_scipy():
    code = ("import sys, numerics, theory, proofs_check, proofs_check.cli, "
            "proofs_check.runs.sweep; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]", out


def test_lazy_names_still_resolve_to_functions():
    code = ("import numerics; from numerics.quadrature import quadrature as q; "
            "import numerics.montecarlo; "
            "assert numerics.quadrature is q and callable(numerics.monte_carlo); print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "ok"
