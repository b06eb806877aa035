"""The census's named protocol, its initialisations and the guarantees of its results file."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import theory
from numerics.census_runs import CensusFileError, CensusLockedError, census_resumable
from numerics.landscape import (
    CensusSettings,
    census,
    descend,
    initial_weights,
    orthonormal_teacher,
    run_starts,
)
from proofs_check.data import safran_shamir

ROOT = Path(__file__).resolve().parents[1]


def test_safran_shamir_settings_and_backward_compatible_keys():
    s = CensusSettings.for_protocol("safran-shamir")
    assert s.step("l2", 8) == s.step("h1", 8) == 0.1  # the h1 field is not rescaled
    assert s.init == "gaussian" and s.neuron_tol == 1e-9 and s.bad_loss == 1e-3
    assert CensusSettings.for_protocol("safran-shamir", step_size=0.05).step("h1", 8) == 0.05
    # the default census keeps the resume key of files written before these settings existed
    assert set(CensusSettings().as_dict()) == {
        "sobolev_weight", "init", "step_scale", "max_steps", "check_every", "descent_tol",
        "refine_below", "critical_tol", "newton_steps", "global_tol", "loss_tol", "eig_tol",
        "cluster_tol"}
    assert CensusSettings.from_dict(s.as_dict()) == s


def test_uniform_init_has_the_documented_scale():
    d = 9
    W = initial_weights(np.arange(400), 9, d, seed=3, init="uniform")
    assert np.abs(W).max() <= 1 / math.sqrt(d)
    assert W.var() == pytest.approx(1 / (3 * d), rel=0.03)  # U(−a, a) has variance a²/3
    G = initial_weights(np.arange(400), 9, d, seed=3, init="gaussian")
    assert G.var() == pytest.approx(1 / d, rel=0.03)


def test_descent_meets_the_published_stop_rule():
    k = 6
    W_star = orthonormal_teacher(k, k)
    settings = CensusSettings.for_protocol("safran-shamir")
    starts = initial_weights(np.arange(6), k, k, 0)
    final, steps, _, capped = descend(starts, W_star, "l2", settings)
    assert not capped.any()
    for W in final:
        grad = theory.population_gradient(W, W_star, "l2")
        rule = 2 * math.pi * np.linalg.norm(grad, axis=1).max()
        # either their stop rule holds, or the descent was stopped within 1e-6·‖W*‖ of W*
        order = np.argsort(np.argmax(W, axis=1))  # row i of W*= I is matched by its largest entry
        distance = np.linalg.norm(W[order] - W_star)
        assert rule <= 1e-9 or distance <= 1e-6 * math.sqrt(k)


def test_capped_starts_are_reported_and_not_polished():
    settings = CensusSettings.for_protocol("safran-shamir", max_steps=3)
    result = census(5, 4, "h1", settings=settings)
    assert all(e.capped and e.cls == "not_converged" and "step cap" in e.note
               for e in result.endpoints)
    assert all(e.steps == 3 and e.newton_steps == 0 for e in result.endpoints)


def test_a_published_bad_minimum_is_a_fixed_point_of_the_protocol():
    entry = safran_shamir.experiment(9, 9)
    W = safran_shamir.points(entry)[1]  # the second family (level 0.03749)
    W_star = np.eye(9)
    settings = CensusSettings.for_protocol("safran-shamir")
    (end,) = run_starts([0], W[None], W_star, "l2", settings)
    assert end.cls == "spurious_minimum" and end.steps <= 1
    assert end.l2_loss == pytest.approx(entry["families"][1]["l2_loss"], rel=1e-9)
    assert end.l2_loss >= settings.bad_loss and end.min_re_eig > 0


# ------------------------------------------------------------------------- the results file

def test_a_foreign_file_is_refused_and_left_alone(tmp_path):
    out = tmp_path / "README.md"
    out.write_text("# a readme\n\nsome text\n")
    with pytest.raises(CensusFileError, match="not a census results file"):
        census_resumable(3, 2, "l2", out=out)
    assert out.read_text() == "# a readme\n\nsome text\n"


@pytest.mark.parametrize("damage", ["123", "[1,2]", '{"key": {}, "endpoint": {}}', "null",
                                    "{not json"])
def test_a_damaged_line_is_named_with_its_number(tmp_path, damage):
    out = tmp_path / "census.jsonl"
    census_resumable(3, 3, "l2", out=out, chunk_size=1)
    lines = out.read_text().splitlines()
    out.write_text("\n".join(lines[:2] + [damage] + lines[2:]) + "\n")
    before = out.read_text()
    with pytest.raises(CensusFileError, match=r"census.jsonl:3: damaged census line"):
        census_resumable(3, 3, "l2", out=out)
    assert out.read_text() == before


def test_null_fields_are_damage(tmp_path):
    out = tmp_path / "census.jsonl"
    census_resumable(3, 2, "l2", out=out)
    record = json.loads(out.read_text().splitlines()[1])
    record["endpoint"]["W"] = None
    out.write_text(out.read_text().splitlines()[0] + "\n" + json.dumps(record) + "\n")
    with pytest.raises(CensusFileError, match=":2: damaged"):
        census_resumable(3, 2, "l2", out=out)


def test_cli_refuses_a_foreign_out_with_one_line(tmp_path, capsys):
    from proofs_check.cli import main

    out = tmp_path / "notes.txt"
    out.write_text("hello\n")
    assert main(["landscape", "--width", "3", "--starts", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a census results file" in err[0]
    assert out.read_text() == "hello\n"


def test_a_second_writer_is_refused(tmp_path):
    out = tmp_path / "census.jsonl"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; h = open(sys.argv[1], 'a'); "
         "fcntl.flock(h, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
         str(out) + ".lock"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(CensusLockedError, match="another census"):
            census_resumable(3, 2, "l2", out=out)
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()
    census_resumable(3, 2, "l2", out=out)  # the lock died with its holder
    assert len(out.read_text().splitlines()) == 2


def _descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {c for c, p in parents.items() if p in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_pool_workers_die_with_a_killed_census(tmp_path):
    code = ("import sys; from numerics.census_runs import census_resumable; "
            "from numerics.landscape import CensusSettings; "
            "census_resumable(10, 400, 'l2', out=sys.argv[1], workers=2, chunk_size=5, "
            "settings=CensusSettings.for_protocol('safran-shamir'))")
    out = tmp_path / "census.jsonl"
    process = subprocess.Popen([sys.executable, "-c", code, str(out)], cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    helpers: set[int] = set()
    try:
        deadline = time.monotonic() + 300
        # the workers are running (initialised) once a chunk has been written
        while time.monotonic() < deadline and process.poll() is None and not (
                out.exists() and out.read_text().count("\n") >= 5):
            time.sleep(0.2)
        helpers = _descendants(process.pid)
        assert len(helpers) >= 2, "the pool did not start"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(pid) for pid in helpers):
            time.sleep(0.1)
        leaked = [pid for pid in helpers if _alive(pid)]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in helpers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert not leaked, "census pool workers outlived the census"
