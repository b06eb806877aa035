"""`sobolev-verify derive`: print the SymPy-derived one-neuron formulas (theory.symbolic).

Derivations take seconds; each rendered formula block is cached on disk under the platform's
cache folder (``$XDG_CACHE_HOME/sobolev-verify`` or ``~/.cache/sobolev-verify`` on Linux,
``~/Library/Caches/sobolev-verify`` on macOS, ``%LOCALAPPDATA%\\sobolev-verify`` on Windows;
``SOBOLEV_VERIFY_CACHE`` overrides it), keyed by the package version, the SymPy version and a
digest of theory/symbolic's source. Entries are written atomically (a temporary file renamed
into place), so concurrent runs are safe; an unreadable or corrupt entry is ignored and
recomputed. ``--no-cache`` derives afresh.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from theory.validation import CONVENTIONS, LOSSES

QUANTITIES = ("loss", "gradient", "hessian", "flow")
LEGEND = ("Symbols: r = |w|, r_* = |w*| (r_star in --json's sympy strings), θ = angle(w, w*) "
          "in (0, π), λ = Sobolev weight (lam); u = w*/|w*|, v = w/|w|, "
          "e = (u − cos θ v)/sin θ. K = K* = 1, x ~ N(0, I_d). Derived by SymPy from the Gaussian "
          "integrals in polar coordinates (theory.symbolic).")


def cache_dir() -> Path:
    """The folder of derive's cache: the user cache folder of sobolev-verify, shared with the
    kernels' generated code (theory.activations._code_cache.cache_dir; SOBOLEV_VERIFY_CACHE
    overrides it)."""
    from theory.activations._code_cache import cache_dir as user_cache_dir

    return user_cache_dir()


def cache_key() -> str:
    """Package version, SymPy version and a digest of theory/symbolic's source files."""
    import theory.symbolic as symbolic
    from proofs_check import __version__

    digest = hashlib.sha256()
    for path in sorted(Path(symbolic.__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    try:
        sympy_version = metadata.version("sympy")
    except metadata.PackageNotFoundError:  # pragma: no cover
        sympy_version = "unknown"
    return f"{__version__}-sympy{sympy_version}-{digest.hexdigest()[:16]}"


def _read(path: Path, key: str) -> Any | None:
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        return entry["payload"] if entry.get("key") == key else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # missing or corrupt: recompute


def _write(path: Path, key: str, payload: Any) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=".tmp-", suffix=".json",
                                         delete=False, encoding="utf-8") as handle:
            json.dump({"key": key, "payload": payload}, handle)
        os.replace(handle.name, path)
    except OSError:  # a read-only cache folder only costs time
        try:
            os.unlink(handle.name)
        except (OSError, UnboundLocalError):
            pass


def section(quantity: str, loss: str, convention: str, fmt: str, use_cache: bool = True):
    """One rendered block (text for pretty/latex, a dict for json), from the cache if there."""
    heading = f"{quantity}, loss={loss}" + ("" if quantity == "loss"
                                            else f", convention={convention}")
    key = cache_key() if use_cache else ""
    path = cache_dir() / key / f"{quantity}-{loss}-{convention}.{fmt}.json"
    if use_cache and (cached := _read(path, key)) is not None:
        return cached
    from theory.symbolic import printing

    rendered = printing.render([(heading, printing.derivation(quantity, loss, convention))], fmt)
    payload = json.loads(rendered)[0] if fmt == "json" else rendered
    if use_cache:
        _write(path, key, payload)
    return payload


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "derive", help="print the SymPy-derived one-neuron formulas",
        description="Print the one-neuron losses, gradients, Hessians and (r, θ) flow "
                    "derived with SymPy (cached on disk; see --no-cache). " + LEGEND)
    parser.add_argument("--quantity", choices=QUANTITIES, action="append",
                        help="quantity to print (repeatable; default: all)")
    parser.add_argument("--loss", choices=LOSSES, action="append",
                        help="loss to print (repeatable; default: all)")
    parser.add_argument("--convention", choices=CONVENTIONS, action="append",
                        help="gradient convention (repeatable; default: both)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--latex", action="store_const", dest="fmt", const="latex",
                        help="print LaTeX")
    output.add_argument("--json", action="store_const", dest="fmt", const="json",
                        help="print JSON (sympy string and LaTeX per formula)")
    parser.add_argument("--no-cache", action="store_true",
                        help=f"derive afresh instead of reading the cache in {cache_dir()}")
    parser.set_defaults(func=run, fmt="pretty")


def run(args: argparse.Namespace) -> int:
    if args.convention and args.quantity == ["loss"]:
        raise ValueError("--convention has no effect with --quantity loss (one loss for both "
                         "conventions); drop --convention")
    blocks = []
    for quantity in args.quantity or QUANTITIES:
        for loss in args.loss or LOSSES:
            conventions = ["expected"] if quantity == "loss" else (args.convention or CONVENTIONS)
            for convention in conventions:
                blocks.append(section(quantity, loss, convention, args.fmt,
                                      use_cache=not args.no_cache))
    if args.fmt == "json":
        print(json.dumps(blocks, indent=2))
        return 0
    text = "\n".join(blocks)
    if args.fmt == "pretty":
        text = LEGEND + "\n\n" + text
    print(text.rstrip("\n"))
    return 0
