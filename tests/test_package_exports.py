"""Every public name of the three packages resolves to the function or class it documents, even
after all submodules have been imported (a submodule import rebinds a same-named attribute)."""

import importlib
import pkgutil

import pytest

PACKAGES = ("theory", "numerics", "proofs_check")


def _import_all_submodules(package_name):
    package = importlib.import_module(package_name)
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
        importlib.import_module(info.name)
    return package


@pytest.mark.parametrize("package_name", PACKAGES)
def test_public_names_are_callables_not_modules(package_name):
    package = _import_all_submodules(package_name)
    for name in package.__all__:
        value = getattr(package, name)
        if name.isupper():  # constants such as LOSSES
            continue
        assert callable(value), f"{package_name}.{name} is {value!r}, not a function or class"
