"""Write (or check) the README's claims table from the default `check` run.

The table between the markers :data:`START` and :data:`END` in README.md is generated, never
typed: one row per registered claim with its verdict, the verdict's one-line summary (the
numbers the default run prints) and, for a conditional verdict, its computed condition. Only a
complete default-mode run qualifies (not ``--quick``, not a ``--claim`` subset), so the README
quotes what ``sobolev-verify check`` prints.

Usage::

    python -m proofs_check.report.readme_table                       # run the default check, write
    python -m proofs_check.report.readme_table --from-json check.json  # reuse `check --json` output
    python -m proofs_check.report.readme_table --from-json check.json --check   # exit 1 if stale

``--check`` leaves README.md untouched and exits 1 (printing a unified diff) when the table
differs; bad input (missing markers, a quick or partial run) exits 2.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import Any

from proofs_check.report.markdown import cell

START = "<!-- claims-table:start (generated: python -m proofs_check.report.readme_table) -->"
END = "<!-- claims-table:end -->"
DEFAULT_README = Path(__file__).resolve().parents[2] / "README.md"


def table(payload: dict[str, Any]) -> str:
    """The markdown table for a complete default-mode `check --json` payload."""
    info = payload.get("provenance") or {}
    if info.get("mode") != "default":
        raise ValueError(f"the README table needs the default (non-quick) run; got mode "
                         f"{info.get('mode')!r}: run `sobolev-verify check` without --quick")
    if not info.get("all_claims", False):
        raise ValueError("the README table needs every claim: run `sobolev-verify check` "
                         "without --claim")
    lines = ["| claim | expected | verdict | what the default `check` finds |",
             "|---|---|---|---|"]
    for claim in payload["claims"]:
        if claim.get("machine_dependent"):
            lines.append(f"| `{claim['id']}` | {claim['expected']} | *machine-dependent* | "
                         "a timing: its ratios and verdict depend on the machine and its load, "
                         "so this table quotes none; run `sobolev-verify check --claim "
                         f"{claim['id']}` |")
            continue
        text = claim["summary"]
        if claim.get("condition"):
            text += f" **Condition:** {claim['condition']}"
        if claim.get("error"):
            text += f" **Checker error:** {claim['error']}"
        lines.append(f"| `{claim['id']}` | {claim['expected']} | **{claim['status']}** | "
                     f"{cell(text)} |")
    return "\n".join(lines)


def splice(readme: str, new_table: str) -> str:
    """README text with the block between the markers replaced by ``new_table``."""
    if readme.count(START) != 1 or readme.count(END) != 1 or readme.index(START) > readme.index(
            END):
        raise ValueError(f"README must contain the markers {START!r} and {END!r} once, in "
                         "this order")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{new_table}\n{END}{tail}"


def _default_payload() -> dict[str, Any]:
    from proofs_check.report.markdown import Report, dumps, payload, provenance, run_claims

    results = run_claims(False, progress=lambda claim: print(f"checking {claim.id} ...",
                                                              file=sys.stderr, flush=True))
    report = Report(results, provenance=provenance(False, results, complete=True))
    return json.loads(dumps(payload(report)))


def update(readme_path: Path, payload: dict[str, Any], *, check: bool = False) -> int:
    """Write the table into readme_path (or, with check, compare only). Returns an exit code."""
    old = readme_path.read_text(encoding="utf-8")
    new = splice(old, table(payload))
    if new == old:
        print(f"{readme_path}: claims table is up to date")
        return 0
    if check:
        sys.stdout.writelines(difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True),
            f"{readme_path} (committed)", f"{readme_path} (from the default check run)"))
        print(f"{readme_path}: claims table differs from the default `check` run; regenerate "
              "with `python -m proofs_check.report.readme_table`", file=sys.stderr)
        return 1
    readme_path.write_text(new, encoding="utf-8")
    print(f"{readme_path}: claims table written")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m proofs_check.report.readme_table",
        description="Write (or --check) the README claims table from the default check run.")
    parser.add_argument("--from-json", metavar="FILE",
                        help="reuse the output of `sobolev-verify check --json` (default run)")
    parser.add_argument("--readme", default=str(DEFAULT_README), metavar="PATH",
                        help="README to update (default: the repository's README.md)")
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 with a diff when the table is stale")
    args = parser.parse_args(argv)
    try:
        if args.from_json:
            payload = json.loads(Path(args.from_json).read_text(encoding="utf-8"))
        else:
            payload = _default_payload()
        return update(Path(args.readme), payload, check=args.check)
    except (OSError, ValueError, KeyError) as exc:
        print(f"readme_table: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
