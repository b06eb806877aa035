"""`sobolev-verify check`: the main job — every claim, a verdict table, report.md and figures."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from proofs_check.report import (
    Report,
    draw_figures,
    provenance,
    run_claims,
    to_json,
    verdict_table,
    write_markdown,
)


def run(args: argparse.Namespace) -> int:
    out_dir = Path(args.out)
    if args.readme_table and (args.quick or args.claim):
        raise ValueError("--readme-table needs the complete default run: drop --quick and "
                         "--claim")

    def progress(claim):
        if not args.json:
            print(f"checking {claim.id} ...", file=sys.stderr, flush=True)

    results = run_claims(args.quick, only=args.claim, progress=progress)
    report = Report(results, provenance=provenance(args.quick, results,
                                                   complete=not args.claim))
    if args.no_figures:
        report.figure_note = "skipped (--no-figures)"
    else:
        try:
            report.figures = draw_figures(out_dir, args.quick)
        except ImportError as exc:
            report.figure_note = str(exc)
    markdown = write_markdown(report, out_dir, args.quick)
    if args.json:
        print(to_json(report))
    else:
        print(verdict_table(results))
        print(f"\nreport: {markdown}" + (f" ({len(report.figures)} figures)"
                                         if report.figures else f" ({report.figure_note})"))
        mismatched = [r.claim.id for r in results if not r.agrees]
        if mismatched:
            print(f"verdicts that differ from what is documented: {', '.join(mismatched)}")
    if args.readme_table:
        from proofs_check import readme_table

        code = readme_table.update(Path(args.readme_table), json.loads(to_json(report)))
        if code:
            return code
    return 0 if report.ok else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check", help="the main job: settle every claim, write report.md and figures",
        description="Run every registered claim with its evidence, print a verdict table, "
                    "write report.md with PNG figures to --out, and exit 1 when a verdict "
                    "differs from the documented one (e.g. a claim expected to hold fails).")
    parser.add_argument("--quick", action="store_true",
                        help="smaller surveys and Monte-Carlo sizes (about 1 minute)")
    parser.add_argument("--out", default="sobolev-report",
                        help="directory for report.md and figures (default: sobolev-report)")
    parser.add_argument("--claim", action="append", metavar="ID",
                        help="run only this claim (repeatable)")
    parser.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--readme-table", metavar="README",
                        help="also write the claims table of this README (between its "
                             "claims-table markers) from this run; needs the default run")
    parser.set_defaults(func=run)
