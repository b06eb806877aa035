"""Runners: sweeps over grids of configurations (sweep, with grid, points, table and pool) and
the Dask cluster client (dask_client)."""
