"""proofs_check: compares theory with measurement; owns claims, verdicts and reports.

Public names are loaded lazily from their modules (PEP 562).
"""

from __future__ import annotations

import importlib
from importlib import metadata as _metadata

try:
    __version__: str = _metadata.version("sobolev-verify")
except _metadata.PackageNotFoundError:  # a source tree that is not installed: read pyproject
    def _source_version() -> str:
        import tomllib
        from pathlib import Path

        try:
            with open(Path(__file__).resolve().parent.parent / "pyproject.toml", "rb") as file:
                return tomllib.load(file)["project"]["version"] + "+source"
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"

    __version__ = _source_version()

_EXPORTS = {
    "check_formula": "proofs_check.analysis.formulas",
    "prove": "proofs_check.analysis.certify",
    "CertificationResult": "proofs_check.analysis.certify",
    "compare_condition_numbers": "proofs_check.analysis.compare",
    "run_sweep": "proofs_check.runs.sweep",
    "Claim": "proofs_check.claims",
    "Verdict": "proofs_check.claims",
    "all_claims": "proofs_check.claims",
    "get_claim": "proofs_check.claims",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'proofs_check' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
