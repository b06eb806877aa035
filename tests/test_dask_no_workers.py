"""A Dask run whose every worker dies stops with one line after NO_WORKER_TIMEOUT instead of
waiting silently forever (loopback cluster; its only worker is closed mid-run)."""

from __future__ import annotations

import time

import pytest

from proofs_check.runs.dask_client import as_completed_watching


def _slow(x):
    import time as t

    t.sleep(8)
    return x


@pytest.mark.slow
def test_every_worker_gone_ends_the_wait_with_one_line():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        assert client.submit(lambda: 1).result(timeout=30) == 1
        futures = client.map(_slow, range(3), pure=False)
        cluster.scale(0)  # every worker leaves while the tasks are pending
        started = time.monotonic()
        with pytest.raises(OSError, match="no worker for 3 s") as info:
            for _ in as_completed_watching(client, futures, no_worker_timeout=3.0):
                pass
        assert "\n" not in str(info.value) and "re-run" in str(info.value)
        assert time.monotonic() - started < 60
