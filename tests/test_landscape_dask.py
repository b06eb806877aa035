"""The landscape census on a Dask cluster: same numbers as the local runs, same resume."""

from __future__ import annotations

import json

import pytest

from numerics.census_runs import census_resumable
from numerics.landscape import census

K, STARTS, SEED = 4, 6, 3


def _records(result) -> list[dict]:
    return [endpoint.to_json() for endpoint in result.endpoints]


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as local_cluster:
        yield local_cluster


@pytest.fixture(scope="module")
def fresh():
    """The census in one process, without chunks or a results file."""
    return census(K, STARTS, "l2", seed=SEED)


def test_workers_and_dask_give_the_same_census(cluster, fresh, tmp_path):
    import distributed

    from proofs_check.runs.dask_client import DaskMap

    one = census_resumable(K, STARTS, "l2", seed=SEED, out=tmp_path / "one.jsonl",
                           chunk_size=2)
    two = census_resumable(K, STARTS, "l2", seed=SEED, out=tmp_path / "two.jsonl",
                           chunk_size=2, workers=2)
    with distributed.Client(cluster.scheduler_address) as client:
        with distributed.get_task_stream(client) as stream:
            on_dask = census_resumable(K, STARTS, "l2", seed=SEED,
                                       out=tmp_path / "dask.jsonl", chunk_size=1,
                                       executor=DaskMap(client))
    # one task per chunk of one start, each run by one of the cluster's workers
    assert len(stream.data) == STARTS
    workers = {worker.worker_address for worker in cluster.workers.values()}
    assert {task["worker"] for task in stream.data} <= workers
    for result in (one, two, on_dask):
        assert result.counts() == fresh.counts()
        assert _records(result) == _records(fresh)
        assert [f.as_dict() for f in result.spurious_families()] == \
            [f.as_dict() for f in fresh.spurious_families()]
    stored = sorted(_lines(tmp_path / "dask.jsonl"), key=lambda r: r["endpoint"]["start"])
    assert [r["endpoint"] for r in stored] == _records(fresh)


def test_interrupted_dask_census_resumes_without_recomputing(cluster, fresh, tmp_path):
    import distributed

    from proofs_check.runs.dask_client import DaskMap

    out = tmp_path / "census.jsonl"
    with distributed.Client(cluster.scheduler_address) as client:
        census_resumable(K, STARTS // 2, "l2", seed=SEED, out=out, chunk_size=1,
                         executor=DaskMap(client))
        half = out.read_text()
        submitted: list = []

        class Recording(DaskMap):
            def map(self, fn, jobs):
                jobs = list(jobs)
                submitted.extend(jobs)
                return super().map(fn, jobs)

        resumed = census_resumable(K, STARTS, "l2", seed=SEED, out=out, chunk_size=1,
                                   executor=Recording(client))
    assert sorted(index for job in submitted for index in job[0]) == \
        list(range(STARTS // 2, STARTS))
    assert out.read_text().startswith(half)  # nothing rewritten, the rest appended
    assert len(_lines(out)) == STARTS
    assert _records(resumed) == _records(fresh)


def test_cli_on_a_cluster_matches_local_workers_and_resumes(cluster, tmp_path, capsys):
    from proofs_check.cli import main

    argv = ["landscape", "-K", str(K), "--starts", str(STARTS), "--seed", str(SEED),
            "--loss", "l2", "--json"]
    assert main([*argv, "--workers", "2", "--out", str(tmp_path / "local.jsonl")]) == 0
    local = json.loads(capsys.readouterr().out)
    out = tmp_path / "dask.jsonl"
    dask_argv = [*argv, "--scheduler", cluster.scheduler_address, "--out", str(out)]
    assert main(dask_argv) == 0
    on_dask = json.loads(capsys.readouterr().out)
    assert on_dask == local
    before = out.read_text()
    assert main(dask_argv) == 0  # everything is finished: nothing recomputed or appended
    assert json.loads(capsys.readouterr().out) == local
    assert out.read_text() == before


@pytest.mark.parametrize("argv, needle", [
    (["--scheduler", "tcp://127.0.0.1:9"], "tcp://127.0.0.1:9"),
    (["--scheduler", "tcp://127.0.0.1:9", "--workers", "2"], "--workers"),
])
def test_cli_scheduler_problems_are_one_line_exit_two(argv, needle, capsys, monkeypatch):
    pytest.importorskip("distributed")
    from proofs_check.cli import main
    from proofs_check.runs import dask_client

    monkeypatch.setattr(dask_client, "SCHEDULER_TIMEOUT", "1s")
    code = main(["landscape", "-K", "3", "--starts", "2", "--loss", "l2", *argv])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and needle in err and "--scheduler" in err


def test_missing_dask_is_one_line_exit_two(capsys, monkeypatch):
    import sys

    from proofs_check.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    code = main(["landscape", "-K", "3", "--starts", "2", "--loss", "l2",
                 "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "dask" in err


def _fails(job):
    raise ModuleNotFoundError("No module named 'numerics'")


def test_a_task_failing_on_the_cluster_is_a_one_line_os_error(cluster):
    import distributed

    from proofs_check.runs.dask_client import DaskMap

    with distributed.Client(cluster.scheduler_address) as client:
        with pytest.raises(OSError, match="No module named 'numerics'.*same sobolev-verify"):
            list(DaskMap(client).map(_fails, [1, 2]))
        assert sorted(DaskMap(client).map(abs, [-2, -1, 3])) == [1, 2, 3]


def test_any_executor_gives_the_same_census_and_workers_exclude_it(fresh):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        threaded = census_resumable(K, STARTS, "l2", seed=SEED, chunk_size=2, executor=pool)
        assert _records(threaded) == _records(fresh)
        with pytest.raises(ValueError, match="workers"):
            census_resumable(K, STARTS, "l2", seed=SEED, workers=2, executor=pool)
    with pytest.raises(ValueError, match="executor"):
        census_resumable(K, STARTS, "l2", seed=SEED, executor=object())


def test_landscape_table_on_a_cluster_equals_the_local_table(cluster, tmp_path, capsys):
    from proofs_check.cli import main

    common = ["landscape-table", "--k", "4", "--starts", "4", "--max-steps", "3000", "--json"]
    assert main([*common, "--out", str(tmp_path / "local")]) == 0
    local = json.loads(capsys.readouterr().out)["rows"]
    assert main([*common, "--out", str(tmp_path / "dask"), "--scheduler",
                 cluster.scheduler_address]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == local
