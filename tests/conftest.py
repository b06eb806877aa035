"""Shared test settings: hypothesis profiles sized for CI (2 cores, < 10 min for the suite).

* ``ci`` (default): 25 examples per property, **derandomized** and without an example database,
  so every run of the suite draws the same examples and a property that only fails for rare
  examples cannot pass or fail at random between runs of the same commit.
* ``explore``: 100 fresh random examples per property (``HYPOTHESIS_PROFILE=explore pytest``):
  run it to hunt for counterexamples before committing a new property.
* ``thorough``: 500 fresh random examples per property.
"""

import os

from hypothesis import HealthCheck, settings

_RELAXED = [HealthCheck.too_slow, HealthCheck.filter_too_much]

settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          database=None, suppress_health_check=_RELAXED)
settings.register_profile("explore", max_examples=100, deadline=None,
                          suppress_health_check=_RELAXED)
settings.register_profile("thorough", max_examples=500, deadline=None,
                          suppress_health_check=_RELAXED)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Generated-code and derive caches go to a folder of this test session, never the user's cache
# (a test that needs its own cache folder sets SOBOLEV_VERIFY_CACHE itself, e.g. with monkeypatch).
if "SOBOLEV_VERIFY_CACHE" not in os.environ:
    import atexit
    import shutil
    import tempfile

    _CACHE = tempfile.mkdtemp(prefix="sobolev-verify-test-cache-")
    os.environ["SOBOLEV_VERIFY_CACHE"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
