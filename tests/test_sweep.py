"""Tests of proofs_check.runs.sweep: grid parsing, row contents, executors agree, resumption.

Row values are checked against an independent path: the dense (K·d)² population Hessian from
theory.population_hessian and numpy's eigensolver, while the sweep uses the structured method
(d > K + K*). Executor agreement is exact (string equality of the CSV tables).
"""

from __future__ import annotations

import csv
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
from proofs_check.cli import main
from proofs_check.runs import grid, sweep, table
from proofs_check.runs import pool as sweep_pool
from theory.configurations import make_configuration

SMALL_GRID = dict(width=[1, 2], teacher_width=["same", 1], dim=[3, 6], seed=["0:2"],
                  sobolev_weight=[0.5], at=["default"], radius=["default"])


def _table(path: Path) -> list[tuple[str, ...]]:
    """The CSV as a sorted list of raw string rows (header excluded) — exact comparison."""
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == sweep.COLUMNS
    return sorted(tuple(r) for r in rows[1:])


def _keys(path: Path) -> list[tuple[str, ...]]:
    return [tuple(r[c] for c in sweep.KEY_COLUMNS) for r in sweep.read_results(path)]


@pytest.fixture(scope="module")
def small_points() -> list[sweep.GridPoint]:
    return sweep.grid_from_lists(**SMALL_GRID).points()


@pytest.fixture(scope="module")
def reference(tmp_path_factory, small_points) -> Path:
    """The small grid computed in-process once; other executors must reproduce it exactly."""
    path = tmp_path_factory.mktemp("ref") / "ref.csv"
    summary = sweep.run_sweep(small_points, path, workers=1, progress=False)
    assert summary.computed == len(small_points) and summary.failed == 0
    return path


# ------------------------------------------------------------------------------------ grid


def test_grid_product_defaults_and_dedup():
    grid = sweep.grid_from_lists(width=[2, 3], teacher_width=["same", 2], dim=["3"],
                                 seed=["0:3"], sobolev_weight=[1, 0.25], at=["default"])
    points = grid.points()
    # (K, K*) pairs: (2,2) once (same and 2 coincide), (3,3), (3,2) -> 3 × 3 seeds × 2 weights
    assert len(points) == 18
    assert len({p.key() for p in points}) == 18
    by_widths = {(p.width, p.teacher_width): (p.at, p.radius) for p in points}
    assert by_widths == {(2, 2): ("perturbed", 0.1), (3, 3): ("perturbed", 0.1),
                         (3, 2): ("random", 1.0)}
    assert {p.seed for p in points} == {0, 1, 2}


def test_grid_from_toml(tmp_path):
    file = tmp_path / "grid.toml"
    file.write_text('[grid]\nwidth = [2, 4]\nteacher = ["same"]\ndim = 5\nseeds = "0:2"\n'
                    'sobolev_weight = [1.0]\nat = ["teacher", "perturbed"]\nradius = [0.3]\n'
                    'method = "dense"\n')
    points = sweep.grid_from_toml(file).points()
    assert len(points) == 2 * 2 * 2
    teacher = [p for p in points if p.at == "teacher"]
    assert all(p.radius is None for p in teacher) and len(teacher) == 4
    assert all(p.radius == 0.3 for p in points if p.at == "perturbed")
    assert {p.method for p in points} == {"dense"} and {p.dim for p in points} == {5}


@pytest.mark.parametrize("text, fragment", [
    ("[grid]\nwidths = [0]\n", "width"),
    ("[grid]\nwidth = [2]\ncolour = [1]\n", "unknown key 'colour'"),
    ("[grid]\nseed = [1.5]\n", "seed"),
    ("[grid]\nsobolev_weight = [-1]\n", "sobolev_weight"),
    ("[grid]\nat = ['nowhere']\n", "at"),
    ("[grid]\nradius = [0]\n", "radius"),
    ("[grid]\nmethod = 'fast'\n", "method"),
    ("[grid]\ndim = []\n", "dim"),
    ("[grid\n", "not valid TOML"),
])
def test_bad_grid_files_raise_value_error_naming_the_problem(tmp_path, text, fragment):
    file = tmp_path / "bad.toml"
    file.write_text(text)
    with pytest.raises(ValueError, match=fragment):
        sweep.grid_from_toml(file).points()


# ----------------------------------------------------------------------------- row contents


def test_row_matches_dense_eigenvalues_of_the_closed_form_hessian():
    point = sweep.grid_from_lists(width=[2], dim=[7], seed=[3], sobolev_weight=[0.7]).points()[0]
    row = sweep.compute_point(point)
    assert row["status"] == "ok" and row["method"] == "auto"
    config = make_configuration(2, 2, 7, 3, at="perturbed", radius=0.1)
    for loss in sweep.SWEEP_LOSSES:
        for convention in theory.CONVENTIONS:
            hessian = theory.population_hessian(config.W, config.W_star, loss,
                                                convention=convention, sobolev_weight=0.7)
            real = np.sort(np.linalg.eigvals(hessian).real)
            prefix = f"{loss}_{convention}_"
            assert row[prefix + "undefined"] == ""
            lam_min, lam_max = float(row[prefix + "lambda_min"]), float(row[prefix + "lambda_max"])
            assert lam_min == pytest.approx(real[0], rel=1e-9, abs=1e-12)
            assert lam_max == pytest.approx(real[-1], rel=1e-9)
            assert float(row[prefix + "kappa"]) == pytest.approx(real[-1] / real[0], rel=1e-8)


def test_sobolev_hessian_at_teacher_is_undefined_not_an_error():
    point = sweep.grid_from_lists(width=[2], dim=[4], at=["teacher"]).points()[0]
    row = sweep.compute_point(point)
    assert row["status"] == "ok" and row["error"] == ""
    for convention in theory.CONVENTIONS:
        assert "parallel" in row[f"h1_{convention}_undefined"]
        assert row[f"h1_{convention}_kappa"] == ""
        # the l2 Hessian exists at the teacher: positive semi-definite, κ finite or inf
        assert float(row[f"l2_{convention}_lambda_max"]) > 0


def test_failing_point_is_recorded_and_the_sweep_goes_on(tmp_path):
    # at="perturbed" needs K = K*: the (3, 2) point fails, the (2, 2) point must still be done
    points = sweep.grid_from_lists(width=[2, 3], teacher_width=[2], dim=[3],
                                   at=["perturbed"]).points()
    out = tmp_path / "r.csv"
    summary = sweep.run_sweep(points, out, workers=1, progress=False)
    assert (summary.computed, summary.failed) == (2, 1)
    rows = {r["width"]: r for r in sweep.read_results(out)}
    assert rows["2"]["status"] == "ok" and math.isfinite(float(rows["2"]["l2_exact_kappa"]))
    assert rows["3"]["status"] == "error" and "width == teacher_width" in rows["3"]["error"]
    # a re-run retries it by default (and it fails again, once); retry_errors=False keeps it
    again = sweep.run_sweep(points, out, workers=1, progress=False)
    assert (again.computed, again.failed, again.retried, again.remaining_errors) == (1, 1, 1, 1)
    kept = sweep.run_sweep(points, out, workers=1, progress=False, retry_errors=False)
    assert (kept.computed, kept.remaining_errors) == (0, 1)
    assert sorted(_keys(out)) == sorted(p.key() for p in points)


def test_numbers_round_trip_exactly(small_points):
    row = sweep.compute_point(small_points[-1])
    value = float(row["h1_exact_lambda_min"])
    assert grid._format(value) == row["h1_exact_lambda_min"]
    assert sweep.compute_point(small_points[-1]) == row  # deterministic given the seed


# ------------------------------------------------------------------------------- executors


def test_local_pool_reproduces_in_process_table(tmp_path, small_points, reference):
    out = tmp_path / "pool.csv"
    summary = sweep.run_sweep(small_points, out, workers=2, progress=False)
    assert summary.executor.startswith("local process pool")
    assert _table(out) == _table(reference)


def test_dask_local_cluster_reproduces_local_table(tmp_path, small_points, reference):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        out = tmp_path / "dask.csv"
        summary = sweep.run_sweep(small_points, out, scheduler=cluster.scheduler_address,
                                  progress=False)
        assert summary.executor.startswith("dask distributed")
        assert _table(out) == _table(reference)
        # resume through the cluster: drop half the rows, re-run, same table again
        rows = sweep.read_results(out)
        table._write_table(out, rows[: len(rows) // 2])
        again = sweep.run_sweep(small_points, out, scheduler=cluster.scheduler_address,
                                progress=False)
        assert again.skipped == len(rows) // 2
        assert _table(out) == _table(reference)


# ------------------------------------------------------------------------------ resumption


def test_truncated_csv_resumes_without_duplicates_or_lost_rows(tmp_path, small_points,
                                                                reference):
    text = reference.read_text()
    lines = text.splitlines(keepends=True)
    out = tmp_path / "partial.csv"
    # header + 5 complete rows + half of the 6th: what a kill during a write leaves behind
    out.write_text("".join(lines[:6]) + lines[6][: len(lines[6]) // 2])
    summary = sweep.run_sweep(small_points, out, workers=1, progress=False)
    assert summary.skipped == 5 and summary.computed == len(small_points) - 5
    assert _table(out) == _table(reference)


def test_interrupted_pool_sweep_resumes(tmp_path, small_points, reference):
    out = tmp_path / "stopped.csv"

    class Stop(Exception):
        pass

    def stop_after_three(row, seen=[]):  # noqa: B006 - deliberate call counter
        seen.append(row)
        if len(seen) == 3:
            raise Stop

    with pytest.raises(Stop):
        sweep.run_sweep(small_points, out, workers=2, progress=False, on_row=stop_after_three)
    assert len(sweep.read_results(out)) == 3
    summary = sweep.run_sweep(small_points, out, workers=2, progress=False)
    assert summary.skipped == 3
    assert _table(out) == _table(reference)


def test_killed_cli_sweep_resumes(tmp_path):
    """SIGKILL a running `sobolev-verify sweep`, then re-run: every point once, none lost."""
    out = tmp_path / "killed.csv"
    # dense nonsymmetric eigenproblems of size 200, 12 points, so the kill lands mid-way (with 6
    # points the faster assembly sometimes finished them all between the poll and the kill)
    argv = ["sweep", "--width", "2", "--dim", "100", "--seed", "0:12", "--method", "dense",
            "--no-progress", "--out", str(out)]
    process = subprocess.Popen([sys.executable, "-m", "proofs_check.cli", *argv, "--workers", "1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if out.exists() and out.read_text().count("\n") >= 3:  # header + 2 rows
                break
            time.sleep(0.05)
        assert process.poll() is None, "sweep finished before it could be interrupted"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    done_before = len(sweep.read_results(out))
    assert 2 <= done_before < 12
    assert main([*argv, "--workers", "1"]) == 0
    keys = _keys(out)
    assert len(keys) == len(set(keys)) == 12
    assert {k[3] for k in keys} == {str(s) for s in range(12)}
    assert all(r["status"] == "ok" for r in sweep.read_results(out))


def test_foreign_csv_is_refused(tmp_path, small_points):
    out = tmp_path / "other.csv"
    out.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a sweep table of this version"):
        sweep.run_sweep(small_points, out, workers=1, progress=False)


# ------------------------------------------------------------------------------------- CLI


def test_cli_grid_and_axis_options_are_exclusive(tmp_path, capsys):
    file = tmp_path / "g.toml"
    file.write_text("[grid]\nwidth = [2]\n")
    assert main(["sweep", "--grid", str(file), "--dim", "3", "--out",
                 str(tmp_path / "x.csv")]) == 2
    assert "exclusive" in capsys.readouterr().err


def test_cli_grid_file_run(tmp_path, capsys):
    file = tmp_path / "g.toml"
    file.write_text('[grid]\nwidth = [1]\ndim = [2, 4]\nseed = [0]\nat = ["random"]\n')
    out = tmp_path / "cli.csv"
    assert main(["sweep", "--grid", str(file), "--workers", "1", "--no-progress",
                 "--out", str(out)]) == 0
    assert "2 grid points" in capsys.readouterr().out
    assert sorted(k[2] for k in _keys(out)) == ["2", "4"]


# ----------------------------------------------------------------------------------- flows


def test_flow_rate_columns_lie_in_the_hessian_spectrum_at_the_teacher():
    """Near the teacher the l2 flow is linear with Hessian H(W*) (symmetric, positive definite
    here), so the decay rate of ‖W − W*‖ must lie in [λmin, λmax] of H(W*) (independent:
    closed-form spectrum at W* vs the integrated ODE)."""
    point = sweep.grid_from_lists(width=[2], dim=[10], seed=[0], flow_t_max=60).points()[0]
    assert point.key()[-1] == "60.0"
    row = sweep.compute_point(point)
    assert row["status"] == "ok"
    config = make_configuration(2, 2, 10, 0)
    at_teacher = np.sort(theory.spectrum(config.W_star, config.W_star, "l2"))
    rate = float(row["flow_l2_expected_rate"])
    assert at_teacher[0] - 3 * float(row["flow_l2_expected_rate_stderr"]) <= rate
    assert rate <= at_teacher[-1]
    assert "q = distance" in row["flow_l2_expected_note"]
    for loss, convention in sweep.FLOWS:
        assert row[f"flow_{loss}_{convention}_status"] in (
            "converged", "t_max", "singular", "collapsed")
        if row[f"flow_{loss}_{convention}_rate"] == "":
            assert "too few samples" in row[f"flow_{loss}_{convention}_note"]
    # Sobolev acceleration at this point: the h1 (expected) flow is faster than the l2 flow
    assert float(row["flow_h1_expected_rate"]) > rate


def test_flow_setting_is_part_of_the_key():
    plain = sweep.grid_from_lists(width=[2]).points()[0]
    with_flow = sweep.grid_from_lists(width=[2], flow_t_max=10).points()[0]
    assert plain.key() != with_flow.key()
    with pytest.raises(ValueError, match="flow_t_max"):
        sweep.grid_from_lists(flow_t_max=-1)


# ------------------------------------------------------------------------------- start-up cost

_FOOTPRINT = """
import sys
from proofs_check.runs import sweep
points = sweep.grid_from_lists(width=["2", "3"], dim=["3", "10"], seed=["0:2"],
                               activation=["relu", "leaky_relu(0.1)"]).points()
summary = sweep.run_sweep(points, sys.argv[1], workers=1, progress=False)
assert summary.computed == len(points) == 16 and summary.failed == 0, summary
heavy = ("scipy", "sympy", "mpmath", "matplotlib", "dask", "distributed", "tqdm", "numerics")
print(" ".join(name for name in heavy if name in sys.modules))
"""


def test_spectra_only_sweep_imports_neither_scipy_nor_sympy_nor_tqdm(tmp_path):
    """A relu / leaky relu spectra-only sweep (grid validation, the lock, every compute_point,
    the CSV) runs on numpy and theory alone: each spawned pool worker pays these imports, and
    scipy.special + mpmath (numerics.activations) or tqdm cost ~0.1 s each per process, more
    than a whole 54-point spectra sweep's per-point work. Checked in a fresh interpreter."""
    result = subprocess.run([sys.executable, "-c", _FOOTPRINT, str(tmp_path / "t.csv")],
                            capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [], f"heavy imports: {result.stdout}"


def test_one_pending_point_is_computed_in_process_whatever_workers(tmp_path, small_points,
                                                                   reference):
    out = tmp_path / "one.csv"
    rows = sweep.read_results(reference)
    table._write_table(out, rows[1:])  # every point but the first is done
    summary = sweep.run_sweep(small_points, out, workers=2, progress=False)
    assert summary.computed == 1 and summary.executor == "in-process"
    assert sorted(_table(out)) == sorted(_table(reference))


def _blas_variables() -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in sweep.BLAS_THREAD_VARIABLES}


def test_spawned_workers_get_cores_over_workers_blas_threads(monkeypatch):
    """Processes spawned inside _worker_threads(n) see n for every BLAS thread variable the
    user did not set, the user's value where set; the parent's environment is restored."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    before = _blas_variables()
    with sweep_pool._worker_threads(1):
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        future = pool.submit(_blas_variables)
    with pool:
        seen = future.result(timeout=60)
    assert seen == {"OPENBLAS_NUM_THREADS": "3", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    assert _blas_variables() == before


def test_local_pool_starts_its_workers_with_single_threaded_blas(monkeypatch, tmp_path,
                                                                 small_points):
    """2 workers on os.cpu_count() cores get cores // 2 BLAS threads each (at least 1)."""
    calls = []
    original = sweep_pool._worker_threads

    def recording(threads):
        calls.append(threads)
        return original(threads)

    monkeypatch.setattr(sweep_pool, "_worker_threads", recording)
    summary = sweep.run_sweep(small_points[:4], tmp_path / "t.csv", workers=2, progress=False)
    assert summary.executor.startswith("local process pool") and summary.failed == 0
    assert calls == [max(1, (os.cpu_count() or 1) // 2)]


def _blas_threads_now() -> int:
    from threadpoolctl import threadpool_info

    return max(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas")


@pytest.mark.parametrize("user_value", [None, "2"])
def test_in_process_sweep_computes_its_points_with_single_threaded_blas(monkeypatch, tmp_path,
                                                                        small_points, user_value):
    """workers=1 computes every point under IN_PROCESS_BLAS_THREADS (= 1) BLAS threads, read
    from the BLAS library itself during compute_point, and restores the previous count after;
    a BLAS thread variable the user set switches the limit off (the user's choice stands)."""
    for name in sweep.BLAS_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    if user_value is not None:
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", user_value)
    from threadpoolctl import threadpool_limits

    seen = []
    original = sweep.compute_point

    def recording(point):
        seen.append(_blas_threads_now())
        return original(point)

    monkeypatch.setattr(sweep, "compute_point", recording)
    with threadpool_limits(limits=2, user_api="blas"):  # what the process had before the sweep
        summary = sweep.run_sweep(small_points[:3], tmp_path / "t.csv", workers=1,
                                  progress=False)
        after = _blas_threads_now()
    assert summary.executor == "in-process" and summary.failed == 0
    assert seen == [1 if user_value is None else 2] * 3
    assert after == 2
