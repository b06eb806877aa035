"""The sweep table on disk: row validation, reading and resuming (:func:`read_results`),
rewriting, and the one-writer lock (``<out>.lock``, :class:`SweepLockedError`)."""

from __future__ import annotations

import contextlib
import csv
import itertools
import os
from collections.abc import Iterable
from pathlib import Path

from proofs_check.runs.grid import (
    ALL_SWEEP_LOSSES,
    COLUMNS,
    DEFAULT_SCHEMA,
    LAW_TABLE_VERSION,
    TableSchema,
)
from theory.configurations import PLACEMENTS
from theory.validation import CONVENTIONS

# ------------------------------------------------------------------------------------ CSV file


def _row_key(row: dict[str, str]) -> tuple[str, ...]:
    columns = (DEFAULT_SCHEMA if "table_version" not in row
               else TableSchema(law_keys=True)).key_columns
    return tuple(row[name] for name in columns)


HEADER_LINE = ",".join(COLUMNS) + "\n"
#: Every table this version writes: the default one and the version-2 tables of each loss set.
_KNOWN_SCHEMAS = (DEFAULT_SCHEMA, *(
    TableSchema(tuple(loss for loss in ALL_SWEEP_LOSSES if loss in chosen), True)
    for size in range(1, len(ALL_SWEEP_LOSSES) + 1)
    for chosen in itertools.combinations(ALL_SWEEP_LOSSES, size)))
_INT_KEYS = ("width", "teacher_width", "dim", "seed")


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def valid_row(row: dict[str, str], schema: TableSchema = DEFAULT_SCHEMA) -> bool:
    """True if a stored row is one this version could have written (checked on resume).

    Key columns parse (integers, numbers, a known placement), status is "ok" or "error", every
    numeric column is empty or a number, no value holds a NUL or control character, and an "ok"
    row has, for each (loss, convention), either all four spectrum numbers or the reason the
    Hessian is undefined. Anything else (a hand edit, a disk error) is recomputed.
    """
    if any(ch in value for value in row.values() for ch in ("\x00", "\r", "\n")):
        return False
    if row["status"] not in ("ok", "error"):
        return False
    if not all(row[name].lstrip("-").isdigit() for name in _INT_KEYS):
        return False
    if not _is_float(row["sobolev_weight"]) or row["at"] not in PLACEMENTS:
        return False
    for name in ("radius", "flow_t_max"):
        if row[name] and not _is_float(row[name]):
            return False
    if row["method"] not in ("auto", "dense", "structured"):
        return False
    if schema.law_keys and (row["table_version"] != LAW_TABLE_VERSION
                            or not _is_float(row["second_order_weight"])
                            or not row["input_law"]):
        return False
    if not all(row[name] == "" or _is_float(row[name]) for name in schema.float_columns):
        return False
    if row["status"] == "error":
        return bool(row["error"])
    for loss in schema.losses:
        for convention in CONVENTIONS:
            prefix = f"{loss}_{convention}_"
            numbers = [row[prefix + n] for n in ("lambda_min", "lambda_max", "kappa",
                                                 "max_abs_imag")]
            if not row[prefix + "undefined"] and not all(numbers):
                return False
    if row["flow_t_max"]:
        if not all(row[f"flow_{loss}_{convention}_status"]
                   for loss, convention in schema.flows):
            return False
    return True


def read_results(path: str | os.PathLike[str],
                 schema: TableSchema | None = None) -> list[dict[str, str]]:
    """Complete, valid rows of a sweep CSV, in file order (a truncated last line is ignored).

    schema: the table's columns (default: recognised from its header among the default table
    and the version-2 tables of every loss set). Raises ValueError if the file is not a sweep
    table of this version (see :func:`_load`).
    """
    path = Path(path)
    if schema is None:
        schema = _schema_of_file(path)
    rows, _ = _load(path, schema)
    return rows


def _schema_of_file(path: Path) -> TableSchema:
    with path.open("rb") as handle:
        first = handle.readline().decode("utf-8", errors="replace")
    for schema in _KNOWN_SCHEMAS:
        if first == schema.header_line:
            return schema
    return DEFAULT_SCHEMA  # _load refuses it with the usual message


def _load(path: Path, schema: TableSchema = DEFAULT_SCHEMA
          ) -> tuple[list[dict[str, str]], int]:
    """(rows, dropped): valid rows deduplicated by key, and how many lines were dropped
    (truncated, unparsable, invalid or duplicate).

    The file must start with this version's header line; anything else (another CSV, a text
    without line breaks, a binary file) raises ValueError so that it is never overwritten.
    Rows are parsed line by line (the writer never puts a line break inside a value), so one
    corrupt line costs only itself.
    """
    data = path.read_bytes()
    header = schema.header_line.encode("utf-8")
    if not data.startswith(header):
        first = data.split(b"\n", 1)[0].decode("utf-8", errors="replace") + "\n"
        other = next((known for known in _KNOWN_SCHEMAS if first == known.header_line), None)
        hint = ""
        if other is not None:
            hint = (f" It is a sweep table of other options (losses {', '.join(other.losses)}; "
                    + ("keyed by μ and the input law, table version "
                       f"{LAW_TABLE_VERSION}" if other.law_keys else
                       "the default table, without --loss h2, --spike, --second-order-weight or "
                       "--input-covariance") + "): rerun with the options that wrote it, or")
        elif first.startswith("width,") or first.startswith("table_version,"):
            hint = (" It looks like a sweep table of another version of sobolev-verify "
                    f"(this one writes table version {LAW_TABLE_VERSION} for --loss h2, --spike, "
                    "--second-order-weight, --input-covariance, and the default table "
                    "otherwise):")
        raise ValueError(
            f"{str(path)!r} exists and is not a sweep table of this version (its first line is "
            f"not this run's header).{hint} choose another --out file or delete it"
        )
    text = data[len(header):].decode("utf-8", errors="replace")
    dropped = 0
    if text and not text.endswith("\n"):  # interrupted mid-line: drop the partial row
        text = text[: text.rfind("\n") + 1]
        dropped += 1
    rows: list[dict[str, str]] = []
    seen: set[tuple[str, ...]] = set()
    for line in text.splitlines(keepends=False):
        try:
            values = next(csv.reader([line]))
        except (csv.Error, StopIteration):
            dropped += 1
            continue
        if len(values) != len(schema.columns):
            dropped += 1
            continue
        row = dict(zip(schema.columns, values, strict=True))
        if not valid_row(row, schema) or _row_key(row) in seen:
            dropped += 1
            continue
        seen.add(_row_key(row))
        rows.append(row)
    return rows, dropped


def _write_table(path: Path, rows: Iterable[dict[str, str]],
                 schema: TableSchema = DEFAULT_SCHEMA) -> None:
    """Atomically replace ``path`` with a table of ``rows`` (callers hold the table's lock)."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=schema.columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class SweepLockedError(ValueError):
    """Another process is writing the same sweep table."""


@contextlib.contextmanager
def _exclusive(path: Path):
    """Hold an exclusive advisory lock (fcntl.flock) on ``<table>.lock`` for the whole run.

    Every run_sweep on the same table takes this lock before it reads, rewrites or appends, so a
    second writer is refused at once instead of interleaving rows or replacing a file the first
    one still appends to. The lock dies with the process, even on SIGKILL (the file then stays,
    harmless: the next run locks and removes it). A finished run removes the lock file while it
    still holds the lock. A run that opened the file just before that removal could lock the
    removed file; so a lock counts only when the file at ``<table>.lock`` is still the one
    locked (same device and inode), otherwise the run opens the path again and retries.
    """
    lock_path = path.with_name(path.name + ".lock")
    try:
        import fcntl
    except ImportError:  # not POSIX: no locking available
        fcntl = None
    while True:
        try:
            handle = lock_path.open("a")
        except OSError as exc:
            raise ValueError(f"out {str(path)!r}: cannot create its lock file {str(lock_path)!r} "
                             f"({exc.strerror}); choose a writable folder for --out") from None
        if fcntl is None:
            break
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise SweepLockedError(
                f"{str(path)!r} is being written by another sweep (it holds "
                f"{str(lock_path)!r}); wait for it to finish, or choose another --out"
            ) from None
        if _same_file(handle, lock_path):
            break
        handle.close()  # locked a file another run has just removed: lock the current one
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            if fcntl is None or _same_file(handle, lock_path):
                lock_path.unlink()
        handle.close()


def _same_file(handle, path: Path) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(handle.fileno())
    return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)


# ------------------------------------------------------------------------------------- running


