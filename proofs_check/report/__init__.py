"""Reports of a `check` run: markdown (report.md and the shared rendering), html (report.html),
readme_table (the generated claims table) and figures (one module per family)."""
