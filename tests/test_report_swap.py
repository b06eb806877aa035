"""The report folder swap is safe at every instant: a process killed after any step leaves a
state the next run completes (the previous or the new report under --out, the user's files
kept, no leftovers); SIGTERM is held back during the renames; one writer at a time; a --claim
run never replaces a report of every claim."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from proofs_check.report import folder
from proofs_check.report.folder import MANIFEST, recover, report_folder, target_lock

ROOT = Path(__file__).parents[1]
STEPS = ("staging", "moved-old", "moved-new", "carried", "trashed")


def _write_report(target: Path, text: str, complete: bool = True) -> None:
    with report_folder(target, complete=complete, notes=open(os.devnull, "w")) as staging:  # noqa: SIM115
        (staging / "report.md").write_text(text)
        (staging / "spectra.png").write_text(text + " figure")


def _leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


def _killed_run(target: Path, step: str) -> int:
    """Run a swap in a child process that dies (os._exit, like SIGKILL: no cleanup) at
    ``step``; returns its exit code."""
    code = textwrap.dedent(f"""
        import os, sys
        from pathlib import Path
        from proofs_check.report import folder
        step = {step!r}
        def hook(name):
            if name == step:
                os._exit(9)
        folder._STEP_HOOK = hook
        with folder.report_folder(Path({str(target)!r})) as staging:
            (staging / "report.md").write_text("new")
            if step == "staging":
                os._exit(9)
    """)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}).returncode


@pytest.mark.parametrize("step", STEPS)
def test_a_kill_after_any_step_is_recovered_by_the_next_run(tmp_path, step):
    target = tmp_path / "report"
    _write_report(target, "old")
    (target / "notes.txt").write_text("mine")
    assert _killed_run(target, step) == 9
    # the state the kill left: the old or the new report under the name, or the old one aside
    if not target.exists():
        assert step == "moved-old"
        aside = [p for p in tmp_path.iterdir() if p.name.startswith(".report.old-")]
        assert len(aside) == 1 and (aside[0] / "report.md").read_text() == "old"
    else:
        text = (target / "report.md").read_text()
        assert text == ("old" if step in ("staging",) else "new")
    with target_lock(target.resolve()):
        recover(target.resolve())
    assert (target / "report.md").read_text() in ("old", "new")
    expected = "old" if step in ("staging", "moved-old") else "new"
    assert (target / "report.md").read_text() == expected
    assert (target / "notes.txt").read_text() == "mine"  # the user's file is never lost
    assert _leftovers(tmp_path, "report") == []
    if expected == "new":
        assert not (target / "spectra.png").exists()  # the old run's figure is gone
    # and the next run works normally
    _write_report(target, "third")
    assert (target / "report.md").read_text() == "third"
    assert (target / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_a_previous_version_holder_folder_is_restored(tmp_path):
    """Versions before this layout moved the old report into .NAME.old-X/NAME and a SIGTERM
    there lost --out: the next run puts it back."""
    target = tmp_path / "report"
    holder = tmp_path / ".report.old-abc123"
    (holder / "report").mkdir(parents=True)
    (holder / "report" / "report.md").write_text("old")
    (holder / "report" / MANIFEST).write_text(json.dumps({"files": ["report.md"]}))
    (tmp_path / ".report.partial-xyz").mkdir()
    (tmp_path / ".report.partial-xyz" / "report.md").write_text("half")
    with target_lock(target):
        actions = recover(target)
    assert (target / "report.md").read_text() == "old"
    assert _leftovers(tmp_path, "report") == [] and len(actions) == 2


def test_sigterm_during_the_swap_acts_after_it(tmp_path):
    target = tmp_path / "report"
    _write_report(target, "old")

    def terminated(signum, frame):
        raise KeyboardInterrupt

    import threading

    idle = threading.Event()  # another thread alive, as in a real run (pools, Dask clients)
    other = threading.Thread(target=idle.wait, daemon=True)
    other.start()
    previous = signal.signal(signal.SIGTERM, terminated)
    folder._STEP_HOOK = lambda name: (os.kill(os.getpid(), signal.SIGTERM)
                                      if name == "moved-old" else None)
    try:
        with pytest.raises(KeyboardInterrupt), report_folder(target) as staging:
            (staging / "report.md").write_text("new")
    finally:
        folder._STEP_HOOK = None
        signal.signal(signal.SIGTERM, previous)
        idle.set()
    assert (target / "report.md").read_text() == "new"
    assert _leftovers(tmp_path, "report") == []


def test_a_second_writer_is_refused_with_one_line(tmp_path):
    target = tmp_path / "report"
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from proofs_check.report.folder import target_lock
        with target_lock(Path({str(target)!r})):
            print("locked", flush=True)
            time.sleep(60)
    """)
    holder = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ValueError, match="being written by another") as info:
            _write_report(target, "second")
        assert "\n" not in str(info.value)
        assert not target.exists()
    finally:
        holder.kill()
        holder.wait()
    _write_report(target, "after")  # the dead holder's lock is gone with it
    assert (target / "report.md").read_text() == "after"


def test_a_claim_run_never_replaces_a_report_of_every_claim(tmp_path, capsys):
    from proofs_check.commands.check import claim_report_target

    out = tmp_path / "report"
    _write_report(out, "every claim", complete=True)
    beside = claim_report_target(out)
    assert beside == tmp_path / "report-claims"
    assert "kept" in capsys.readouterr().err
    _write_report(beside, "one claim", complete=False)
    assert claim_report_target(beside) == beside  # a partial report may be replaced
    partial = tmp_path / "partial"
    _write_report(partial, "one claim", complete=False)
    assert claim_report_target(partial) == partial


def test_a_report_under_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        _write_report(tmp_path / "missing" / "deeper" / "report", "x")
    assert sorted(tmp_path.iterdir()) == []
