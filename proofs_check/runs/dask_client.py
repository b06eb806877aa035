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


#: Seconds a run waits while the scheduler has no worker at all before it stops with one line
#: (every finished result is already saved; start workers and re-run to resume).
NO_WORKER_TIMEOUT = 60.0
#: Seconds between checks of the scheduler's workers while no task finishes.
_POLL_SECONDS = 2.0


def as_completed_watching(client: Any, futures: list[Any],
                          no_worker_timeout: float | None = None) -> Iterator[Any]:
    """Yield ``futures`` as they finish, like distributed.as_completed, but raise OSError once
    the scheduler has had no worker for ``no_worker_timeout`` seconds (default
    NO_WORKER_TIMEOUT) while tasks remain: without workers nothing would ever finish, and the
    run would wait silently forever."""
    import time

    import distributed

    limit = NO_WORKER_TIMEOUT if no_worker_timeout is None else no_worker_timeout
    pending = set(futures)
    alone_since = None
    while pending:
        try:
            done, _ = distributed.wait(list(pending), timeout=_POLL_SECONDS,
                                       return_when="FIRST_COMPLETED")
        except TimeoutError:
            done = set()
        if done:
            alone_since = None
            for future in done:
                pending.discard(future)
                yield future
            continue
        try:
            workers = client.scheduler_info().get("workers", {})
        except Exception:  # the scheduler itself is gone: as good as no worker
            workers = {}
        if workers:
            alone_since = None
            continue
        now = time.monotonic()
        alone_since = alone_since or now
        if now - alone_since >= limit:
            raise OSError(
                f"the Dask scheduler {client.scheduler.address} has had no worker for "
                f"{limit:.0f} s with {len(pending)} task(s) left; every finished result is "
                "saved: start workers (dask worker ADDRESS) and re-run the same command to "
                "resume")


class DaskMap:
    """Executor-like adapter: ``map(fn, jobs)`` submits every job to ``client`` and yields the
    results as they complete (in completion order); unfinished tasks are cancelled when the
    consumer stops early (an error or an interrupt). A task that fails on the cluster raises
    OSError (one line: the cause and the usual fix, the scheduler's and workers' environment);
    results yielded before it are the caller's to keep."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def map(self, fn: Callable[[Any], Any], jobs: Iterable[Any]) -> Iterator[Any]:

        futures = self.client.map(fn, list(jobs), pure=False)
        try:
            for future in as_completed_watching(self.client, futures):
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
