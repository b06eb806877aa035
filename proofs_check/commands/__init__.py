"""Subcommands of `sobolev-verify`, one module each (discovered by proofs_check.cli)."""
