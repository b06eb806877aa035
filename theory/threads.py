"""BLAS threads for the toolkit's own dense operations.

The products theory computes are small (K×K by K×m, (K·m)² at most a few thousand on a side)
and many: with OpenBLAS's default of one thread per core its threads busy-wait between them,
and on a busy 2-core machine they then run several times slower than with one thread (κ at
K = 64, d = 1000 took 14.6 s with numpy's default 2 threads against 4.5 s with one).
:func:`blas_threads` limits every BLAS pool of the process (numpy's and scipy's OpenBLAS, MKL,
...) through threadpoolctl, which works after numpy is loaded, unlike the environment
variables; a BLAS thread variable the user has set (BLAS_THREAD_VARIABLES) switches the limit
off: the user's choice stands.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np

#: Environment variables with which a user chooses the BLAS thread count themselves.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

#: BLAS threads inside the toolkit's spectra and CLI commands (unless the user chose).
TOOLKIT_BLAS_THREADS = 1

_controller_cache: dict[str, Any] = {}


def user_chose_blas_threads() -> bool:
    """Whether one of BLAS_THREAD_VARIABLES is set in the environment."""
    return any(name in os.environ for name in BLAS_THREAD_VARIABLES)


def _controller():
    """A threadpoolctl controller of the BLAS libraries loaded now (built once, and again
    after scipy's own BLAS has been loaded); None without threadpoolctl."""
    key = "scipy" if "scipy.linalg" in sys.modules else "numpy"
    if key not in _controller_cache:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - a declared dependency
            _controller_cache[key] = None
        else:
            _controller_cache[key] = ThreadpoolController()
    return _controller_cache[key]


@contextlib.contextmanager
def blas_threads(threads: int = TOOLKIT_BLAS_THREADS) -> Iterator[None]:
    """Run the body with at most ``threads`` BLAS threads in every BLAS pool of the process,
    restoring the previous counts after; no change when the user set a BLAS thread variable."""
    controller = None if user_chose_blas_threads() else _controller()
    if controller is None:
        yield
        return
    with controller.limit(limits=threads, user_api="blas"):
        yield


F = TypeVar("F", bound=Callable[..., Any])


#: Below this many weights (the size of the first argument, W) a call is not limited: its
#: products are too small for BLAS to split among threads, and the first limit in a process
#: costs ~20 ms (importing threadpoolctl and finding the BLAS libraries).
SMALL_PROBLEM_WEIGHTS = 4096


def with_toolkit_blas_threads(function: F) -> F:
    """Decorate ``function`` (first argument: the weights W) to run under :func:`blas_threads`
    (TOOLKIT_BLAS_THREADS), unless W has fewer than SMALL_PROBLEM_WEIGHTS entries."""

    @functools.wraps(function)
    def limited(*args: Any, **kwargs: Any) -> Any:
        weights = args[0] if args else kwargs.get("W")
        if np.size(weights) < SMALL_PROBLEM_WEIGHTS:
            return function(*args, **kwargs)
        with blas_threads():
            return function(*args, **kwargs)

    return limited  # type: ignore[return-value]


__all__ = ["BLAS_THREAD_VARIABLES", "SMALL_PROBLEM_WEIGHTS", "TOOLKIT_BLAS_THREADS", "blas_threads",
           "user_chose_blas_threads", "with_toolkit_blas_threads"]
