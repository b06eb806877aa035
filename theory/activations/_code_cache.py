r"""A disk cache for the numpy code SymPy generates from the activations' kernels.

Differentiating a kernel and turning its partials into numpy code (``sympy.lambdify`` with
common-subexpression elimination) takes about a second per (kernel, order) — in every fresh
process. :func:`cached_lambdify` stores the generated source the first time and later
processes compile that instead of deriving it again.

* Key: SHA-256 of a description of the SymPy input (the caller's key material, normally the
  ``srepr`` of the kernel expression, its auxiliary symbols and the requested orders), the
  package version, the SymPy version and the source of the generating module(s), so any change
  of the expressions or of the generating code gives a new entry.
* Folder: ``kernels/`` under the user cache folder (``$XDG_CACHE_HOME/sobolev-verify`` or
  ``~/.cache/sobolev-verify`` on Linux, ``~/Library/Caches/sobolev-verify`` on macOS,
  ``%LOCALAPPDATA%\sobolev-verify`` on Windows; the environment variable
  ``SOBOLEV_VERIFY_CACHE`` overrides it), as ``sobolev-verify derive`` uses.
* An entry is a text file: a header line, one line of bindings (each global name the code
  uses and the numpy attribute or float constant it is bound to) and the function's source.
  It is written atomically (a temporary file in the same folder renamed into place), so
  concurrent processes never read half an entry; an unreadable, corrupt or stale entry is
  ignored and rewritten. A folder that cannot be written only costs the speed-up.
"""

from __future__ import annotations

import builtins
import hashlib
import inspect
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

#: Bump when the entry format changes (old entries are then simply not found).
FORMAT = 1

_SOURCES: dict[str, bytes] = {}


def cache_dir() -> Path:
    """The user cache folder of sobolev-verify (module docstring)."""
    override = os.environ.get("SOBOLEV_VERIFY_CACHE")
    if override:
        return Path(override)
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache")
    return base / "sobolev-verify"


_VERSIONS: dict[str, str] = {}


def _version(package: str) -> str:
    """The installed version of ``package``, read from its ``NAME-VERSION.dist-info`` folder
    name on sys.path (parsing the metadata file with importlib.metadata costs ~50 ms, a fifth
    of what the cache saves a fresh process); "unknown" when it is not installed."""
    if package not in _VERSIONS:
        prefix = package.replace("-", "_").lower() + "-"
        found = "unknown"
        for folder in sys.path:
            try:
                names = os.listdir(folder or ".")
            except OSError:
                continue
            match = next((name for name in names if name.lower().startswith(prefix)
                          and name.endswith(".dist-info")), None)
            if match is not None:
                found = match[len(prefix):-len(".dist-info")]
                break
        _VERSIONS[package] = found
    return _VERSIONS[package]


def _source(path: str) -> bytes:
    if path not in _SOURCES:
        try:
            _SOURCES[path] = Path(path).read_bytes()
        except OSError:  # pragma: no cover - frozen or zipped installs
            _SOURCES[path] = path.encode()
    return _SOURCES[path]


def entry_key(material: str, generators: Iterable[str] = ()) -> str:
    """SHA-256 (hex) of ``material``, the versions and the sources of ``generators`` (files)."""
    digest = hashlib.sha256()
    parts = [f"format {FORMAT}", _version("sobolev-verify"), _version("sympy"), material]
    for part in parts:
        digest.update(part.encode() + b"\0")
    for path in (__file__, *generators):
        digest.update(_source(path) + b"\0")
    return digest.hexdigest()


_HEADER = f"# sobolev-verify generated kernel code, format {FORMAT}"


def _entry_path(key: str) -> Path:
    return cache_dir() / "kernels" / f"{key}.py.txt"


def _entry_text(name: str, source: str, bindings: dict[str, list]) -> str:
    pairs = " ".join(f"{global_name}={kind}:{value}"
                     for global_name, (kind, value) in bindings.items())
    return f"{_HEADER}\n# {name} {pairs}\n{source}"


def _parse_entry(text: str) -> tuple[str, dict[str, list], str]:
    """(function name, bindings, source) of an entry; ValueError if it is not one."""
    header, names, source = text.split("\n", 2)
    if header != _HEADER or not names.startswith("# "):
        raise ValueError("not a kernel-code entry of this format")
    name, *pairs = names[2:].split(" ")
    bindings = {}
    for pair in pairs:
        global_name, binding = pair.split("=", 1)
        kind, value = binding.split(":", 1)
        bindings[global_name] = [kind, value]
    return name, bindings, source


def _bindings(function: Callable) -> dict[str, list] | None:
    """Each global name of ``function``'s code -> ["numpy", attribute] or ["value", float];
    None when a name is bound to something else (then the entry is not cached)."""
    names: set[str] = set()
    stack = [function.__code__]
    while stack:
        code = stack.pop()
        names.update(code.co_names)
        stack.extend(const for const in code.co_consts if inspect.iscode(const))
    scope = function.__globals__
    bindings: dict[str, list] = {}
    for name in sorted(names):
        if name not in scope:
            if name in vars(builtins):
                continue
            return None
        value = scope[name]
        if value is np:
            bindings[name] = ["module", "numpy"]
        elif isinstance(value, float):
            bindings[name] = ["value", value.hex()]
        elif getattr(np, name, None) is value:
            bindings[name] = ["numpy", name]
        else:
            match = next((attribute for attribute, candidate in vars(np).items()
                          if candidate is value), None)
            if match is None:
                return None
            bindings[name] = ["numpy", match]
    return bindings


def _compile(source: str, bindings: dict[str, list], name: str, filename: str) -> Callable:
    scope: dict[str, Any] = {}
    for global_name, (kind, value) in bindings.items():
        if kind == "module" and value == "numpy":
            scope[global_name] = np
        elif kind == "value":
            scope[global_name] = float.fromhex(value)
        elif kind == "numpy":
            scope[global_name] = getattr(np, value)
        else:
            raise ValueError(f"unknown binding {kind!r}")
    exec(compile(source, filename, "exec"), scope)
    function = scope[name]
    if not callable(function):
        raise ValueError("the entry does not define a function")
    return function


def _load(path: Path) -> Callable | None:
    try:
        name, bindings, source = _parse_entry(path.read_text(encoding="utf-8"))
        return _compile(source, bindings, name, str(path))
    except Exception:  # noqa: BLE001 - any unreadable or corrupt entry is rebuilt
        return None


def _store(path: Path, entry: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=path.stem[:16], suffix=".tmp",
                                             dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(entry)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:
        pass  # a read-only or full cache folder costs only the speed-up


def cached_lambdify(material: str, build: Callable[[], tuple[tuple, Any, dict]],
                    generators: Iterable[str] = ()) -> Callable:
    """The numpy function ``sympy.lambdify(*build()[:2], modules="numpy", **build()[2])``,
    compiled from the disk cache when an entry for ``material`` exists (module docstring).

    ``material`` must determine the expressions ``build`` returns (e.g. the srepr of the
    SymPy input they are derived from); ``generators`` are the files of the code that derives
    them (their source is part of the key). ``build`` runs only on a cache miss.
    """
    import sympy as sp

    path = _entry_path(entry_key(material, generators))
    function = _load(path) if path.is_file() else None
    if function is not None:
        return function
    arguments, expressions, options = build()
    function = sp.lambdify(arguments, expressions, modules="numpy", **options)
    bindings = _bindings(function)
    if bindings is not None:
        source = inspect.getsource(function)
        _store(path, _entry_text(function.__name__, source, bindings))
    return function


def _module_file(module: str) -> str:
    """The source file of ``module``, found without importing it."""
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:  # pragma: no cover
        raise ImportError(f"no source for {module}")
    return spec.origin


class PartialValues(tuple):
    """The partials (h, h_sa, ...) as a tuple of float64 arrays of the pair shape, which are
    the rows of one array ``stacked`` (count, *pair shape): one finiteness check and one
    product cover them all (theory.pair_frame.pair_derivatives)."""

    stacked: np.ndarray

    def __new__(cls, stacked: np.ndarray) -> PartialValues:
        values = super().__new__(cls, stacked)
        values.stacked = stacked
        return values


def _wrap(function: Callable, definitions: Callable, n: int, order: int,
          name: str) -> Callable[..., tuple[np.ndarray, ...]]:
    """(s_a, s_b, c) -> the partials tuple of theory.activations._partials, from the generated
    function of (s_a, s_b, c, *auxiliaries) and that of the auxiliaries' definitions."""

    def evaluate(sa, sb, cc):
        sa, sb, cc = np.broadcast_arrays(sa, sb, cc)
        values = function(sa, sb, cc, *definitions(sa, sb, cc))
        # lambdify returns python scalars for constant entries: assigning them into the rows of
        # one float64 (count, *pair shape) array broadcasts them to the pair shape
        stacked = np.empty((len(values), *sa.shape))
        for index, value in enumerate(values):
            stacked[index] = value
        return PartialValues(stacked)

    evaluate.__doc__ = f"Partials of ∂^{n}k/∂c^{n} up to order {order}, k the {name} kernel"
    return evaluate


_PARTIALS: dict[tuple[str, str, int, int], Callable] = {}


def kernel_partials(name: str, module: str, n: int, order: int
                    ) -> Callable[..., tuple[np.ndarray, ...]]:
    """The numpy partials function of theory.activations._partials.partials_function for the
    kernel of ``module`` (KERNEL, or KERNEL_AUX with AUXILIARY), order ``order`` of
    h_n = ∂ⁿk/∂cⁿ — from the disk cache when both generated functions are there, which needs
    neither SymPy nor the kernel's module: the key is the source of ``module`` and of
    _partials.py (which determine the expressions), n, order and the versions. Otherwise
    derived with SymPy and stored. Cached for the life of the process."""
    memo = (name, module, n, order)
    if memo in _PARTIALS:
        return _PARTIALS[memo]
    partials_file = str(Path(__file__).with_name("_partials.py"))
    generators = [_module_file(module), partials_file]
    material = f"kernel partials|{name}|{module}|n={n}|order={order}"
    paths = [_entry_path(entry_key(f"{material}|{part}", generators))
             for part in ("partials", "auxiliary")]
    loaded = [_load(path) if path.is_file() else None for path in paths]
    if loaded[0] is None or loaded[1] is None:
        import importlib

        from theory.activations import _partials

        kernel_module = importlib.import_module(module)
        kernel = getattr(kernel_module, "KERNEL_AUX", None)
        auxiliary = getattr(kernel_module, "AUXILIARY", ()) if kernel is not None else ()
        kernel = kernel_module.KERNEL if kernel is None else kernel
        if order not in (0, 1, 2):
            raise ValueError(f"order must be 0, 1 or 2; got {order!r}")
        symbols = [symbol for symbol, _, _ in auxiliary]
        arguments = (_partials.s_a, _partials.s_b, _partials.c)
        loaded = [
            cached_lambdify(f"{material}|partials", lambda: (
                (*arguments, *symbols),
                _partials.partial_expressions(kernel, n, order, auxiliary), {"cse": True}),
                generators),
            cached_lambdify(f"{material}|auxiliary", lambda: (
                arguments, [definition for _, definition, _ in auxiliary], {}), generators),
        ]
    _PARTIALS[memo] = _wrap(loaded[0], loaded[1], n, order, name)
    return _PARTIALS[memo]


__all__ = ["cache_dir", "cached_lambdify", "entry_key", "kernel_partials"]
