r"""Resumable, parallel census runs: one JSONL results file per run, one writer.

:func:`census_resumable` runs :func:`numerics.landscape.census` in chunks of starts — in this
process, on a local process pool whose workers die with the parent, or on any executor with a
``map`` (e.g. a Dask client) — and appends each finished endpoint to ``out`` as one JSON line
keyed by :func:`run_key`, so an interrupted run resumes where it stopped
(:func:`load_finished`). One writer per file (an exclusive lock, :func:`exclusive`); a file that
is not a census results file, or a damaged line, is refused with its line number
(:class:`CensusFileError`). The descent and classification live in :mod:`numerics.landscape`.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np

from numerics.landscape import (
    CENSUS_LOSSES,
    CHUNK_MEMORY_BYTES,
    CLASSES,
    CensusResult,
    CensusSettings,
    Endpoint,
    _loss_weights,
    initial_weights,
    orthonormal_teacher,
    run_starts,
)
from theory.batched_field import batch_bytes


class CensusFileError(ValueError):
    """A results file that is not this tool's census, or a damaged line in one."""


class CensusLockedError(ValueError):
    """Another process is writing the same results file."""


def run_key(width: int, teacher_width: int, dim: int, seed: int, loss: str,
            settings: CensusSettings) -> dict[str, Any]:
    """What identifies a census run in a results file (a start is redone if any of it differs)."""
    return {"width": int(width), "teacher_width": int(teacher_width), "dim": int(dim),
            "seed": int(seed), "loss": loss, "settings": settings.as_dict()}


def _endpoint_from_line(record: Any) -> Endpoint:
    """The endpoint of one parsed line, or ValueError saying what is wrong with it."""
    if not isinstance(record, dict) or not isinstance(record.get("key"), dict) \
            or not isinstance(record.get("endpoint"), dict):
        raise ValueError('not an object with "key" and "endpoint" objects')
    data = record["endpoint"]
    missing = [name for name in Endpoint.__dataclass_fields__
               if name not in data and name != "capped"]
    if missing:
        raise ValueError(f"endpoint lacks {missing}")
    if not isinstance(data["start"], int) or isinstance(data["start"], bool) or data["start"] < 0:
        raise ValueError(f"start {data['start']!r} is not a non-negative integer")
    if data["cls"] not in CLASSES or data["loss"] not in CENSUS_LOSSES:
        raise ValueError(f"class {data['cls']!r} / loss {data['loss']!r} unknown")
    for name in ("objective", "l2_loss", "field_norm"):
        if not isinstance(data[name], (int, float)) or isinstance(data[name], bool):
            raise ValueError(f"{name} {data[name]!r} is not a number")
    try:
        W = np.asarray(data["W"], dtype=float)
    except (TypeError, ValueError):
        raise ValueError("W is not a numeric matrix") from None
    if W.ndim != 2 or not np.isfinite(W).all():
        raise ValueError("W is not a finite matrix")
    return Endpoint.from_json(data)


def load_finished(path, key: dict[str, Any]) -> dict[int, Endpoint]:
    """Endpoints of ``key`` already stored in the JSON-lines file ``path`` (by start index).

    A truncated last line (an interrupted write) is ignored (census_resumable cuts it off
    before appending); lines of other runs are kept in
    the file and skipped here. A file whose first line is not a census record is refused
    (CensusFileError: not this tool's file, nothing is appended to it); any other line that is
    not a valid record is reported with its line number (CensusFileError).
    """
    import json
    from pathlib import Path

    finished: dict[int, Endpoint] = {}
    path = Path(path)
    if not path.exists():
        return finished
    text = path.read_bytes()
    try:
        lines = text.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        raise CensusFileError(f"{str(path)!r} is not a census results file (not UTF-8 text); "
                              "refusing to append to it: choose another --out") from None
    complete = text.endswith(b"\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        last = number == len(lines)
        try:
            endpoint = _endpoint_from_line(json.loads(line))
        except (json.JSONDecodeError, ValueError, TypeError, KeyError) as exc:
            if last and not complete and (number > 1 or line.startswith('{"key": {')):
                continue  # an interrupted write (census_resumable cuts it off)
            if number == 1:
                raise CensusFileError(
                    f"{str(path)!r} is not a census results file (line 1 is not a census "
                    "record); refusing to append to it: choose another --out") from None
            raise CensusFileError(
                f"{str(path)}:{number}: damaged census line ({exc}); remove or repair that "
                "line, or choose another --out") from None
        if json.loads(line)["key"] == key:
            finished[endpoint.start] = endpoint
    return finished


_HELD_LOCKS: dict[str, list] = {}


@contextlib.contextmanager
def exclusive(path):
    """Hold an exclusive advisory lock (fcntl.flock) on ``<path>.lock`` (re-entrant within one
    process); a second process is refused at once (CensusLockedError). The lock dies with the
    process, even on SIGKILL; the lock file stays (removing it would race with a waiter)."""
    from pathlib import Path

    path = Path(path)
    lock_path = path.with_name(path.name + ".lock")
    name = str(lock_path.resolve())
    held = _HELD_LOCKS.get(name)
    if held is not None:
        held[1] += 1
        try:
            yield
        finally:
            held[1] -= 1
        return
    handle = lock_path.open("a")
    try:
        try:
            import fcntl
        except ImportError:  # not POSIX: no locking available
            fcntl = None
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CensusLockedError(
                    f"{str(path)!r} is being written by another census (it holds "
                    f"{str(lock_path)!r}); wait for it to finish, or choose another --out"
                ) from None
        _HELD_LOCKS[name] = [handle, 1]
        try:
            yield
        finally:
            del _HELD_LOCKS[name]
    finally:
        handle.close()


def _die_with_parent(parent_pid: int) -> None:
    """Pool-worker initializer: the worker dies when the census process dies, even by SIGKILL
    (Linux: prctl(PR_SET_PDEATHSIG); elsewhere and in addition a daemon thread polls
    os.getppid()). Workers ignore SIGINT (the parent terminates them)."""
    import os
    import signal
    import sys
    import threading
    import time

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
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


def _run_chunk(job: tuple) -> list[Endpoint]:
    indices, width, teacher_width, dim, seed, loss, settings = job
    W_star = orthonormal_teacher(teacher_width, dim)
    starts = initial_weights(indices, width, dim, seed, settings.init)
    return run_starts(indices, starts, W_star, loss, settings)


def chunk_length(pending: int, width: int, teacher_width: int, dim: int, workers: int) -> int:
    """Starts per chunk: at most CHUNK_MEMORY_BYTES of working memory
    (theory.batched_field.batch_bytes per start), and small enough that each worker gets about
    four chunks (so progress is saved as the census goes)."""
    cap = max(1, CHUNK_MEMORY_BYTES // batch_bytes(width, teacher_width, dim))
    share = max(1, math.ceil(pending / (4 * max(1, workers))))
    return int(min(cap, share))


def census_resumable(width: int, n_starts: int, loss: str = "l2", *,
                     teacher_width: int | None = None, dim: int | None = None, seed: int = 0,
                     settings: CensusSettings | None = None, out=None, workers: int = 1,
                     chunk_size: int | None = None, on_chunk=None,
                     executor=None) -> CensusResult:
    """census() in chunks of starts, on a process pool of ``workers``, appending every finished
    endpoint to the JSON-lines file ``out`` (one object per line: {"key": run_key, "endpoint":
    ...}); a re-run with the same ``out`` and settings skips the starts already there, so an
    interrupted census resumes where it stopped. The result equals census()'s (each start is
    descended on its own; chunking does not change any number). ``on_chunk(done, total)`` is
    called after each chunk. ``chunk_size``: starts per chunk (default :func:`chunk_length`).

    ``out`` has one writer (:func:`exclusive`: a second process is refused with
    CensusLockedError); a file that is not a census, or has a damaged line, is refused
    (CensusFileError, load_finished). Pool workers die with this process (even by SIGKILL).

    ``executor``: instead of the local pool, any object whose ``map(fn, jobs)`` yields
    ``fn(job)`` for every job, in any order (a concurrent.futures executor, or an adapter over
    a Dask cluster); the calling process stays the only writer of ``out``. Exclusive with
    ``workers > 1``."""
    settings = settings or CensusSettings()
    teacher_width = width if teacher_width is None else teacher_width
    dim = teacher_width if dim is None else dim
    orthonormal_teacher(teacher_width, dim)  # validates
    if not isinstance(width, (int, np.integer)) or width < 1:
        raise ValueError(f"width must be a positive integer; got {width!r}")
    if not isinstance(n_starts, (int, np.integer)) or n_starts < 1:
        raise ValueError(f"n_starts must be a positive integer; got {n_starts!r}")
    if not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be a positive integer; got {workers!r}")
    if chunk_size is not None and (not isinstance(chunk_size, (int, np.integer))
                                   or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive integer; got {chunk_size!r}")
    if executor is not None and workers > 1:
        raise ValueError(f"workers={workers} and an executor are exclusive; pass one of them")
    if executor is not None and not callable(getattr(executor, "map", None)):
        raise ValueError(f"executor must have a map(fn, jobs) method; got {executor!r}")
    _loss_weights(loss, settings.sobolev_weight)
    lock = exclusive(out) if out is not None else contextlib.nullcontext()
    with lock:
        return _census_locked(width, n_starts, loss, teacher_width, dim, seed, settings, out,
                              workers, chunk_size, on_chunk, executor)


def _census_locked(width, n_starts, loss, teacher_width, dim, seed, settings, out, workers,
                   chunk_size, on_chunk, executor) -> CensusResult:
    import json
    import os
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context
    from pathlib import Path

    key = run_key(width, teacher_width, dim, seed, loss, settings)
    finished = load_finished(out, key) if out is not None else {}
    if out is not None and Path(out).exists():
        text = Path(out).read_bytes()
        if text and not text.endswith(b"\n"):  # an interrupted write: cut its partial line off
            with Path(out).open("r+b") as handle:
                handle.truncate(text.rfind(b"\n") + 1)
    todo = [i for i in range(n_starts) if i not in finished]
    size = chunk_size or chunk_length(len(todo), width, teacher_width, dim,
                                      4 if executor is not None else workers)
    chunks = [todo[i:i + size] for i in range(0, len(todo), size)]
    jobs = [(chunk, width, teacher_width, dim, seed, loss, settings) for chunk in chunks]

    def store(endpoints: list[Endpoint]) -> None:
        for endpoint in endpoints:
            finished[endpoint.start] = endpoint
        if out is not None:
            with Path(out).open("a", encoding="utf-8") as handle:
                handle.write("".join(json.dumps({"key": key, "endpoint": endpoint.to_json()},
                                                allow_nan=False) + "\n"
                                     for endpoint in endpoints))
        if on_chunk is not None:
            on_chunk(sum(i in finished for i in range(n_starts)), n_starts)

    if executor is not None:
        for endpoints in executor.map(_run_chunk, jobs):
            store(endpoints)
    elif workers > 1 and len(jobs) > 1:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                   initializer=_die_with_parent, initargs=(os.getpid(),))
        try:
            for endpoints in pool.map(_run_chunk, jobs):
                store(endpoints)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    else:
        for job in jobs:
            store(_run_chunk(job))
    endpoints = tuple(finished[i] for i in range(n_starts))
    return CensusResult(loss, width, teacher_width, dim, seed, settings, endpoints)
