"""Where sweep points run: a local process pool (spawned workers that die with the parent,
BLAS threads per worker), in-process BLAS limits, or a Dask distributed cluster."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from proofs_check.runs.dask_client import as_completed_watching, dask_client
from proofs_check.runs.grid import (
    GridPoint,
)
from proofs_check.runs.points import (
    compute_point,
    error_row,
)


def _die_with_parent(parent_pid: int) -> None:
    """Pool-worker initializer: the worker dies when the sweep process dies, even by SIGKILL.

    On Linux the kernel delivers SIGKILL to the worker when its parent exits
    (prctl(PR_SET_PDEATHSIG)); elsewhere a daemon thread polls os.getppid(). Ctrl-C is left to
    the parent (which terminates the workers), so workers ignore SIGINT.

    numerics.census_runs has the same initializer for the census pool; it is not imported from
    there because loading numerics would cost every spawned sweep worker its import time.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


#: Variables that size the BLAS / OpenMP thread pools of a process when numpy loads.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def _worker_threads(threads: int):
    """Processes started inside get ``threads`` BLAS threads each (via the environment they
    inherit); variables the user has set are kept, and the parent's environment is restored.

    Without it every spawned worker starts as many BLAS threads as there are cores, and
    OpenBLAS threads busy-wait: 2 workers on 2 cores ran a 12-point sweep (K = 8, 12;
    d = 50, 100) in 5–21 s of wall time (3–12 s CPU) against 1.6–1.8 s (1 s CPU) with one
    thread each, on a loaded machine. The same rule as joblib's loky executor (cores // workers).
    """
    added = [name for name in BLAS_THREAD_VARIABLES if name not in os.environ]
    for name in added:
        os.environ[name] = str(threads)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


#: BLAS threads while an in-process sweep computes its points (unless the user set one of
#: BLAS_THREAD_VARIABLES). The sweep parallelises over points (--workers), and OpenBLAS's
#: threads busy-wait for every small product: a 54-point sweep (--width 8 12 16 --dim 50 100
#: 200 --seed 0:6) in-process took 76 s with numpy's default 2 threads on 2 cores against 6.2 s
#: with one, at load average 3.4.
IN_PROCESS_BLAS_THREADS = 1


@contextlib.contextmanager
def _in_process_blas_threads(threads: int):
    """Limit the BLAS thread pools of this process (threadpoolctl: works after numpy is loaded,
    unlike the environment variables) while inside; the user's variables take precedence."""
    if any(name in os.environ for name in BLAS_THREAD_VARIABLES):
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="blas"):
        yield


def _run_pool(pending: Sequence[GridPoint], workers: int | None,
              record: Callable[[dict[str, str]], None]) -> str:
    workers = workers or os.cpu_count() or 1
    size = min(workers, len(pending))
    context = multiprocessing.get_context("spawn")  # no fork of a threaded parent (tqdm, BLAS)
    pool = ProcessPoolExecutor(max_workers=size, mp_context=context,
                               initializer=_die_with_parent, initargs=(os.getpid(),))
    finished = False
    try:
        # The pool spawns its workers while the points are submitted (len(pending) >= size).
        with _worker_threads(max(1, (os.cpu_count() or 1) // size)):
            futures = {pool.submit(compute_point, point): point for point in pending}
        for future in as_completed(futures):
            try:
                row = future.result()
            except BrokenProcessPool as exc:
                raise RuntimeError(
                    "the local process pool died (a worker crashed or was killed, e.g. out of "
                    "memory; from a script, run_sweep with workers > 1 must be called under "
                    "`if __name__ == '__main__':` because workers are spawned). Finished rows "
                    "are saved: re-run to resume, or use workers=1 to find the failing point"
                ) from exc
            except Exception as exc:  # e.g. the row could not be unpickled: record, go on
                row = error_row(futures[future], exc)
            record(row)
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:  # interrupted (Ctrl-C, SIGTERM, error): stop the workers now, not after their point
            processes = list((getattr(pool, "_processes", None) or {}).values())
            # taken before shutdown, which sets the pool's reference to None
            manager = getattr(pool, "_executor_manager_thread", None)
            pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.terminate()
            for process in processes:
                process.join(timeout=5)
            # Let the pool's manager thread see the dead workers and exit now: left running, it
            # races the interpreter's atexit hook of concurrent.futures, which then writes to
            # the wake-up pipe the thread is closing ("Bad file descriptor" traceback after the
            # one-line message; seen in ~1 of 10 SIGTERM/SIGINT runs under load). Once the
            # thread has exited, the pipe is marked closed and the hook's write is skipped.
            if manager is not None:
                manager.join(timeout=30)
    return f"local process pool ({workers} workers)"


def _run_dask(pending: Sequence[GridPoint], scheduler: Any,
              record: Callable[[dict[str, str]], None]) -> str:
    with dask_client(scheduler) as client:
        futures = {client.submit(compute_point, point, pure=False): point for point in pending}
        try:
            for future in as_completed_watching(client, list(futures)):
                try:
                    row = future.result()
                except Exception as exc:  # worker lost, deserialisation failure, ...
                    row = error_row(futures[future], exc)
                record(row)
        finally:
            client.cancel([f for f in futures if not f.done()])
        return f"dask distributed ({client.scheduler.address})"


