"""BLAS threads inside the toolkit's spectra: read from the BLAS libraries themselves during the
operation (every pool, numpy's and scipy's), restored after, and the user's variables win."""

from __future__ import annotations

import numpy as np
import pytest

import theory
import theory.operators as operators
import theory.spectra as spectra
from theory.threads import BLAS_THREAD_VARIABLES, blas_threads


def _blas_threads_now() -> list[int]:
    from threadpoolctl import threadpool_info

    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


@pytest.mark.parametrize("user_value", [None, "2"])
@pytest.mark.parametrize("eigensolver", ["arpack", "lapack"])
def test_kappa_runs_with_one_blas_thread_unless_the_user_chose(monkeypatch, user_value,
                                                               eigensolver):
    import scipy.sparse.linalg  # noqa: F401  (scipy's own BLAS loaded: its pool is read too)
    from threadpoolctl import threadpool_limits

    for name in BLAS_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    if user_value is not None:
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", user_value)
    seen = []
    product, eigenvalues = operators.jacobian_product, spectra._eigenvalues

    def recording_product(problem):
        inner = product(problem)

        class Recording:
            shape, complement = inner.shape, inner.complement

            def __call__(self, x):
                seen.append(_blas_threads_now())
                return inner(x)
        return Recording()

    def recording_eigenvalues(matrix, symmetric):
        seen.append(_blas_threads_now())
        return eigenvalues(matrix, symmetric)

    monkeypatch.setattr(spectra, "jacobian_product", recording_product)
    monkeypatch.setattr(spectra, "_eigenvalues", recording_eigenvalues)
    rng = np.random.default_rng(0)
    W, W_star = rng.standard_normal((12, 400)), rng.standard_normal((5, 400))
    with threadpool_limits(limits=2, user_api="blas"):  # what the process had before
        theory.condition_number(W, W_star, "l2", eigensolver=eigensolver)
        after = _blas_threads_now()
    assert seen
    expected = 1 if user_value is None else 2
    assert all(count == expected for counts in seen for count in counts)
    assert after == [2] * len(after)


def test_blas_threads_nests_and_restores(monkeypatch):
    from threadpoolctl import threadpool_limits

    for name in BLAS_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    with threadpool_limits(limits=2, user_api="blas"):
        with blas_threads(1):
            inner = _blas_threads_now()
            with blas_threads(1):
                pass
            assert _blas_threads_now() == inner
        assert set(inner) == {1}
        assert set(_blas_threads_now()) == {2}


@pytest.mark.parametrize("user_value", [None, "2"])
def test_every_cli_command_runs_with_one_blas_thread_unless_the_user_chose(monkeypatch,
                                                                           user_value):
    """The CLI's main() runs the subcommand's handler under the toolkit's BLAS limit (read
    inside the handler), and restores the pools after."""
    from threadpoolctl import threadpool_limits

    from proofs_check import cli

    for name in BLAS_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    if user_value is not None:
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", user_value)
    seen = []
    parser_builder = cli.build_parser

    def recording_parser(argv=None):
        parser = parser_builder(argv)
        original = parser.parse_args

        def parse_args(args=None, namespace=None):
            parsed = original(args, namespace)
            parsed.func = lambda parsed_args: seen.append(_blas_threads_now()) or 0
            return parsed
        parser.parse_args = parse_args
        return parser

    monkeypatch.setattr(cli, "build_parser", recording_parser)
    with threadpool_limits(limits=2, user_api="blas"):
        for command in ("cond", "derive", "validate"):
            assert cli.main([command]) == 0
        after = _blas_threads_now()
    expected = 1 if user_value is None else 2
    assert len(seen) == 3 and all(count == expected for counts in seen for count in counts)
    assert set(after) == {2}
