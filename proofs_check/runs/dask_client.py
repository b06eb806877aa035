"""Connecting to a Dask distributed scheduler, shared by `sweep` and `landscape`.

Both commands submit independent tasks to the cluster and write every finished result from the
submitting process (one writer), so an interrupted run resumes from its output file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

#: How long to wait for a Dask scheduler before giving up (dask time string).
SCHEDULER_TIMEOUT = "10s"


@contextlib.contextmanager
def dask_client(scheduler: Any) -> Iterator[Any]:
    """A ``distributed.Client`` for ``scheduler`` (an address such as "tcp://host:8786", or a
    Client, used as is and not closed).

    Raises:
        ImportError: dask.distributed is not installed (one line naming the extra).
        OSError: the scheduler did not answer within SCHEDULER_TIMEOUT.
    """
    try:
        import distributed
    except ImportError:
        raise ImportError(
            "--scheduler needs dask.distributed: pip install 'sobolev-verify[dask]'"
        ) from None
    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    try:
        client = distributed.Client(scheduler, timeout=SCHEDULER_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise OSError(f"--scheduler {scheduler!r} is unreachable ({exc}); check the address "
                      "and that the scheduler is running, or omit --scheduler to run "
                      "locally") from None
    try:
        yield client
    finally:
        client.close()


class DaskMap:
    """Executor-like adapter: ``map(fn, jobs)`` submits every job to ``client`` and yields the
    results as they complete (in completion order); unfinished tasks are cancelled when the
    consumer stops early (an error or an interrupt). A task that fails on the cluster raises
    OSError (one line: the cause and the usual fix, the scheduler's and workers' environment);
    results yielded before it are the caller's to keep."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def map(self, fn: Callable[[Any], Any], jobs: Iterable[Any]) -> Iterator[Any]:
        import distributed

        futures = self.client.map(fn, list(jobs), pure=False)
        try:
            for future in distributed.as_completed(futures):
                try:
                    result = future.result()
                except Exception as exc:  # unpicklable task, module missing on a worker, ...
                    cause = (str(exc).strip().splitlines() or [""])[0]
                    raise OSError(
                        f"a task failed on the Dask cluster {self.client.scheduler.address} "
                        f"({type(exc).__name__}: {cause}); the scheduler and every worker must "
                        "import the same sobolev-verify (install it there, or start them from "
                        "the project directory); re-run to resume") from exc
                yield result
        finally:
            self.client.cancel([f for f in futures if not f.done()])
