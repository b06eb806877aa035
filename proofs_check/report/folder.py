"""The report folder of `sobolev-verify check`: staged, locked and swapped into place safely.

A run writes its report into a staging folder ``.NAME.partial-XXXX`` beside the target ``NAME``
and, when it is complete, swaps it in by a sequence of renames in the same parent folder, each
atomic, whose every intermediate state is recognised and completed by the next run
(:func:`recover`):

====  =========================================  =============================================
step  state after the step                       what recovery does with it
====  =========================================  =============================================
0     NAME = old report, .NAME.partial-X = new   removes .NAME.partial-X (an unfinished run)
1     .NAME.old-X = old report, NAME missing     renames .NAME.old-X back to NAME
2     NAME = new report, .NAME.old-X = old       moves the user's files from .NAME.old-X into
                                                 NAME, then step 4
3     (moving the user's files, one rename each)  continues moving them
4     .NAME.trash-X = old report's own files     removes .NAME.trash-X
====  =========================================  =============================================

So a kill at any instant (SIGKILL, power loss) leaves either the previous report or the new
one complete under NAME — or, between steps 1 and 2, under ``.NAME.old-X`` where the next run
puts it back — and never loses a file the user added to the folder. SIGTERM and Ctrl-C are
held back during the renames (a few milliseconds) and act right after them. One run at a time
writes a target: ``.NAME.lock`` (an advisory lock held for the whole run, removed at its end)
refuses a second concurrent run with one line, and makes removing another run's leftovers safe.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

#: The file in a report folder that lists what `check` wrote there (and whether the report is
#: complete, i.e. from a run of every claim).
MANIFEST = ".sobolev-verify-report.json"
_OUTPUT_NAMES = re.compile(r"^(report\.(md|json|html)|[a-z0-9_]+\.(png|svg|pdf))$")

#: Test hook: called with the name of each swap step ("moved-old", "moved-new", "carried",
#: "trashed") right after it; tests make it kill the process to check every state.
_STEP_HOOK: Callable[[str], None] | None = None


def _step(name: str) -> None:
    if _STEP_HOOK is not None:
        _STEP_HOOK(name)


def _siblings(target: Path, kind: str) -> list[Path]:
    prefix = f".{target.name}.{kind}-"
    try:
        return sorted(p for p in target.parent.iterdir() if p.name.startswith(prefix))
    except OSError:
        return []


def read_manifest(folder: Path) -> dict | None:
    """The manifest of a report folder, or None (absent or unreadable)."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _own_files(folder: Path) -> set[str]:
    """Names in ``folder`` the tool wrote: its manifest's list, or names like its outputs."""
    manifest = read_manifest(folder)
    files = manifest.get("files") if manifest else None
    if isinstance(files, list):
        return {str(name) for name in files} | {MANIFEST}
    return {entry.name for entry in folder.iterdir() if _OUTPUT_NAMES.match(entry.name)} | {
        MANIFEST}


def is_previous_report(folder: Path) -> bool:
    """A folder this tool wrote: it has the manifest, or only files named like its outputs
    (reports of versions before the manifest)."""
    if (folder / MANIFEST).is_file():
        return True
    return all(entry.is_file() and _OUTPUT_NAMES.match(entry.name) for entry in folder.iterdir())


def is_complete_report(folder: Path) -> bool:
    """The folder holds a report of every claim (its manifest says so; a report without that
    field, written before it existed, counts as complete: it is never overwritten by a partial
    one)."""
    manifest = read_manifest(folder)
    if manifest is not None and "complete" in manifest:
        return bool(manifest["complete"])
    try:  # a report written before the manifest said it: its provenance does
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        return bool(report["provenance"]["all_claims"])
    except (OSError, ValueError, KeyError, TypeError):
        return folder.is_dir() and any(folder.iterdir())


def _carry_user_files(old: Path, target: Path) -> None:
    """Move every entry of ``old`` that the tool did not write into ``target`` (a name already
    there gets the suffix .previous); each move is one rename."""
    ours = _own_files(old)
    for entry in sorted(old.iterdir()):
        if entry.name in ours:
            continue
        destination = target / entry.name
        if destination.exists():
            destination = target / (entry.name + ".previous")
        os.replace(entry, destination)


def _discard(folder: Path, target: Path) -> None:
    """Rename ``folder`` to .NAME.trash-X (atomic), then delete it."""
    trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.trash-", dir=target.parent))
    os.replace(folder, trash / "old")
    _step("trashed")
    shutil.rmtree(trash, ignore_errors=True)


def recover(target: Path) -> list[str]:
    """Complete or undo what an interrupted run left beside ``target`` (call under the lock).
    Returns one line per action taken (for a note on stderr)."""
    actions = []
    for old in _siblings(target, "old"):
        inner = old / target.name  # the layout of versions that moved into a holder folder
        source = inner if inner.is_dir() else old
        if not target.exists():
            os.replace(source, target)
            actions.append(f"restored the previous report from {old.name} (a run was killed "
                           "while swapping)")
            if source is inner:
                shutil.rmtree(old, ignore_errors=True)
        else:
            _carry_user_files(source, target)
            _discard(old, target)
            actions.append(f"finished replacing the previous report ({old.name} removed; "
                           "files you had added were kept)")
    for trash in _siblings(target, "trash"):
        shutil.rmtree(trash, ignore_errors=True)
    for partial in _siblings(target, "partial"):
        shutil.rmtree(partial, ignore_errors=True)
        actions.append(f"removed {partial.name} left by an interrupted run")
    return actions


@contextlib.contextmanager
def target_lock(target: Path, option: str = "--out") -> Iterator[None]:
    """Hold ``.NAME.lock`` beside ``target`` for the run (an advisory lock, released when the
    process dies; the file is removed when the run ends); ValueError when another run holds
    it. After locking, the path must still name the locked file (a run that ends removes it,
    and a lock on a removed file guards nothing), else the lock is taken again."""
    import fcntl

    lock_path = target.parent / f".{target.name}.lock"
    while True:
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ValueError(f"{option} {target}: cannot create the lock file {lock_path} "
                             f"({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise ValueError(f"{option} {target} is being written by another "
                                 f"`sobolev-verify check` (it holds {lock_path}); wait for it "
                                 "or choose another folder") from None
            raise
        try:
            same = os.stat(lock_path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock_path)
        os.close(fd)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGTERM and SIGINT back for the duration: their handlers are replaced by ones that
    only record the signal, and each recorded signal is raised again once the previous
    handlers are back (so they act right after the block). A thread signal mask would not do:
    the kernel hands a process-directed signal to any thread that does not block it, and the
    main thread then runs the handler at once. Only in the main thread; elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def record(signum, frame):  # noqa: ARG001 - signal handler signature
        received.append(signum)

    previous = {signum: signal.signal(signum, record)
                for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(received):
            signal.raise_signal(signum)


def swap_into_place(staging: Path, target: Path) -> None:
    """Replace ``target`` by the complete report in ``staging`` (module docstring's steps)."""
    with _signals_held():
        if not target.exists():
            os.replace(staging, target)
            _step("moved-new")
            return
        holder = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        holder.rmdir()  # the unique name only: the old report is renamed to it
        os.replace(target, holder)
        _step("moved-old")
        os.replace(staging, target)
        _step("moved-new")
        _carry_user_files(holder, target)
        _step("carried")
        _discard(holder, target)


def check_report_target(target: Path, option: str = "--out") -> None:
    """Refuse, before any work, a target that is a file or a folder this tool did not write."""
    here = Path.cwd().resolve()
    if target.resolve() == here or target.resolve() in here.parents:
        raise ValueError(f"{option} {target} is the current folder or contains it; the report "
                         "folder is replaced as a whole, so give a subfolder (e.g. "
                         f"{option} sobolev-report)")
    if target.exists() and not target.is_dir():
        raise ValueError(f"{option} {target} is a file; give a folder for the report")
    if target.is_dir() and any(target.iterdir()) and not is_previous_report(target):
        raise ValueError(f"{option} {target} is a non-empty folder that `sobolev-verify check` "
                         "did not write; choose a new folder (the report replaces the folder's "
                         "previous report and keeps no other files of its own)")
    if not target.parent.is_dir():
        raise ValueError(f"{option} {target}: the folder {target.parent} does not exist; "
                         "create it first (check creates only the report folder itself)")


@contextlib.contextmanager
def report_folder(target: Path | str, option: str = "--out", *, complete: bool = True,
                  notes=None) -> Iterator[Path]:
    """Yield a staging folder beside ``target``; on success it replaces ``target`` as a whole.

    Under the target's lock: what an interrupted run left is recovered first (:func:`recover`;
    one line per action on ``notes``, default stderr); the previous report stays complete and
    untouched until the new one is finished (an interrupted run leaves it as it was and removes
    the staging folder); files in the previous report folder that the tool did not write (not
    in its manifest) are carried over. ``complete`` is recorded in the manifest (a run of every
    claim). A target that is a file, a foreign non-empty folder, or under a missing folder is
    refused before any work (ValueError).
    """
    shown, target = Path(target), Path(target).resolve()  # "." and symlinks: the real folder
    check_report_target(target, option)
    with target_lock(target, option):
        for line in recover(target):
            print(f"sobolev-verify: {shown}: {line}", file=notes or sys.stderr)
        check_report_target(target, option)
        try:
            staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-",
                                            dir=target.parent))
        except OSError as exc:
            raise ValueError(f"{option} {shown}: cannot write beside it ({exc.strerror})"
                             ) from None
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)  # mkdtemp makes it private; a report folder is not
        try:
            yield staging
            written = sorted(entry.name for entry in staging.iterdir())
            (staging / MANIFEST).write_text(
                json.dumps({"files": written, "complete": bool(complete)}, indent=1) + "\n",
                encoding="utf-8")
            check_report_target(target, option)  # it may have changed while the claims ran
            swap_into_place(staging, target)
        except BaseException:
            if staging.exists():  # not yet swapped in
                shutil.rmtree(staging, ignore_errors=True)
            raise
