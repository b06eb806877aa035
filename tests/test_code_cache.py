"""The disk cache of the smooth kernels' generated code (theory.activations._code_cache):
a fresh process reads it without SymPy and gets the values SymPy's own lambdify gives, corrupt
entries are ignored and rewritten, writes are atomic, the key follows the versions and the
generating sources, and SOBOLEV_VERIFY_CACHE chooses the folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from theory.activations import _code_cache as code_cache
from theory.activations import get_activation

ROOT = Path(__file__).resolve().parents[1]

#: A fresh process: the erf partials (n = 1, order 2) at fixed points, and whether SymPy
#: was imported to get them.
_CHILD = """
import json, sys
import numpy as np
from theory.activations import get_activation
sa, sb, cc = np.array([0.7, 1.3]), np.array([0.4, 2.0]), np.array([0.2, -0.5])
values = get_activation("erf").partials(1, 2, sa, sb, cc)
print(json.dumps({"values": [v.tolist() for v in values], "sympy": "sympy" in sys.modules}))
"""


def _fresh_process(cache: Path) -> dict:
    env = {**os.environ, "SOBOLEV_VERIFY_CACHE": str(cache),
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True,
                         text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout)


def _sympy_reference(n: int, order: int, sa, sb, cc):
    """The same partials from SymPy's lambdify of the plain kernel (no auxiliary symbols, no
    cache): an independent route to the numbers."""
    from theory.activations import _partials

    kernel = get_activation("erf").kernel
    return _partials.partials_function("erf-plain", kernel, n, order)(sa, sb, cc)


def test_a_fresh_process_reads_the_cache_without_sympy_and_gets_sympys_values(tmp_path):
    first = _fresh_process(tmp_path)
    assert first["sympy"]  # nothing cached yet: derived with SymPy
    entries = sorted((tmp_path / "kernels").iterdir())
    assert len(entries) == 2 and not list((tmp_path / "kernels").glob("*.tmp"))
    second = _fresh_process(tmp_path)
    assert not second["sympy"]
    assert second["values"] == first["values"]  # the same code, bit for bit
    sa, sb, cc = np.array([0.7, 1.3]), np.array([0.4, 2.0]), np.array([0.2, -0.5])
    reference = _sympy_reference(1, 2, sa, sb, cc)
    np.testing.assert_allclose(np.array(second["values"]), np.array(reference),
                               rtol=1e-12, atol=1e-14)


def test_corrupt_entries_are_ignored_and_rewritten(tmp_path):
    good = _fresh_process(tmp_path)
    entries = sorted((tmp_path / "kernels").iterdir())
    garbage = ["", "# sobolev-verify generated kernel code, format 1\n# f x=numpy:nothing\n"
               "def f(:\n", "\x00\xff not text"]
    for text in garbage:
        for entry in entries:
            entry.write_bytes(text.encode("latin-1"))
        again = _fresh_process(tmp_path)
        assert again["values"] == good["values"]
        assert again["sympy"]  # rebuilt
        for entry in entries:  # rewritten with a valid entry
            name, bindings, source = code_cache._parse_entry(entry.read_text())
            assert source.startswith(f"def {name}(")


def test_writes_are_atomic_and_a_failed_write_leaves_nothing(tmp_path, monkeypatch):
    path = tmp_path / "kernels" / "entry.py.txt"

    def failing_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(code_cache.os, "replace", failing_replace)
    code_cache._store(path, "text")
    assert not path.exists() and list(path.parent.iterdir()) == []
    monkeypatch.undo()
    code_cache._store(path, "text")
    assert path.read_text() == "text" and list(path.parent.iterdir()) == [path]


def test_an_unwritable_cache_folder_only_costs_the_speed_up(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("SOBOLEV_VERIFY_CACHE", str(blocker))
    import sympy as sp

    x = sp.Symbol("x")
    function = code_cache.cached_lambdify("unwritable test", lambda: ((x,), [sp.sin(x)], {}))
    assert function(0.5) == [np.sin(0.5)]


def test_the_key_follows_versions_material_and_generator_sources(tmp_path, monkeypatch):
    generator = tmp_path / "generator.py"
    generator.write_text("A = 1\n")
    base = code_cache.entry_key("material", [str(generator)])
    assert code_cache.entry_key("material", [str(generator)]) == base
    assert code_cache.entry_key("other material", [str(generator)]) != base
    monkeypatch.setitem(code_cache._VERSIONS, "sympy", "0.0.0-test")
    assert code_cache.entry_key("material", [str(generator)]) != base
    monkeypatch.undo()
    monkeypatch.setattr(code_cache, "_SOURCES", {str(generator): b"A = 2\n"})
    assert code_cache.entry_key("material", [str(generator)]) != base


def test_the_cache_folder_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SOBOLEV_VERIFY_CACHE", str(tmp_path / "here"))
    assert code_cache.cache_dir() == tmp_path / "here"
    monkeypatch.delenv("SOBOLEV_VERIFY_CACHE")
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert code_cache.cache_dir() == tmp_path / "xdg" / "sobolev-verify"


@pytest.mark.parametrize("name", ("erf", "gelu", "sine"))
def test_cached_partials_equal_sympys_for_every_smooth_activation(name, tmp_path, monkeypatch):
    monkeypatch.setenv("SOBOLEV_VERIFY_CACHE", str(tmp_path))
    monkeypatch.setattr(code_cache, "_PARTIALS", {})
    act = get_activation(name)
    sa, sb, cc = np.array([0.5, 1.5]), np.array([0.8, 0.3]), np.array([0.1, -0.4])
    built = code_cache.kernel_partials(name, act.module, 2, 2)(sa, sb, cc)
    monkeypatch.setattr(code_cache, "_PARTIALS", {})
    read = code_cache.kernel_partials(name, act.module, 2, 2)(sa, sb, cc)  # from disk
    assert [v.tolist() for v in read] == [v.tolist() for v in built]
    from theory.activations import _partials

    plain = _partials.partials_function(f"{name}-plain", act.kernel, 2, 2)(sa, sb, cc)
    np.testing.assert_allclose(np.array(read), np.array(plain), rtol=1e-10, atol=1e-12)
