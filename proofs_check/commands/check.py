"""`sobolev-verify check`: the main job — every claim, a verdict table, a report and figures.

The report folder (--out) gets report.md, report.html (self-contained), report.json (exact
values) and the figures. It is written in a staging folder beside --out and moved into place
only when complete, so an interrupted run leaves the previous report as it was.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from proofs_check.commands._options import check_output_dir
from proofs_check.report.markdown import (
    Report,
    provenance,
    report_folder,
    run_claims,
    to_json,
    write_markdown,
)
from proofs_check.report.terminal import verdict_table


def previous_durations(folder: Path | str, quick: bool) -> dict[str, float]:
    """Each claim's run time in the report.json an earlier `check` of the same mode wrote to
    ``folder`` ({} when there is none, it is unreadable, or its mode differs)."""
    try:
        payload = json.loads((Path(folder) / "report.json").read_text(encoding="utf-8"))
        if payload["provenance"]["mode"] != ("quick" if quick else "default"):
            return {}
        return {claim["id"]: float(claim["seconds"]) for claim in payload["claims"]
                if claim.get("error") is None and claim.get("seconds") is not None}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


class Progress:
    """Claim i of n and the elapsed time on stderr: a tqdm bar in a terminal, one plain line per
    claim otherwise (logs, CI). Called before each claim.

    The time left is estimated only from measured durations: ``expected`` maps claim ids to
    their run times in an earlier report of the same mode (check reads them from --out's
    report.json), scaled by how this run's finished claims compare with their earlier times.
    Without such timings for every remaining claim no estimate is printed (claims differ in
    cost by orders of magnitude, so the mean so far predicts nothing)."""

    def __init__(self, claim_ids: Sequence[str], enabled: bool, stream=None,
                 expected: Mapping[str, float] | None = None) -> None:
        self.ids, self.total, self.enabled = list(claim_ids), len(claim_ids), enabled
        self.expected = dict(expected or {})
        self.stream = stream if stream is not None else sys.stderr
        self.index = 0
        self.start = time.perf_counter()
        self.bar = None
        if enabled and self.total and self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, unit="claim", file=self.stream, leave=False,
                            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} claims "
                                       "[{elapsed} elapsed{postfix}]")

    def estimate(self, elapsed: float) -> float | None:
        """Seconds left before claim ``self.index`` starts, or None without timings."""
        remaining = self.ids[self.index:]
        if not remaining or any(claim_id not in self.expected for claim_id in remaining):
            return None
        done = sum(self.expected.get(claim_id, 0.0) for claim_id in self.ids[:self.index])
        speed = elapsed / done if done >= 1.0 and elapsed > 0 else 1.0
        return speed * sum(self.expected[claim_id] for claim_id in remaining)

    def __call__(self, claim) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        left = self.estimate(elapsed)
        if self.bar is not None:
            if self.index:
                self.bar.update(1)
            self.bar.set_description_str(claim.id)
            if left is not None:
                self.bar.set_postfix_str(f"about {left:.0f} s left by the last run's timings",
                                         refresh=True)
        else:
            note = f", about {left:.0f} s left by the last run's timings" if left is not None \
                else ""
            print(f"[{self.index + 1}/{self.total}] {claim.id} (elapsed {elapsed:.0f} s{note})",
                  file=self.stream, flush=True)
        self.index += 1

    def close(self, what: str = "claims done") -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(self.total - self.bar.n)
            self.bar.close()
        print(f"{what} in {time.perf_counter() - self.start:.0f} s", file=self.stream,
              flush=True)


def run(args: argparse.Namespace) -> int:
    """Run every (or each --claim) claim, then write the report folder. SIGTERM and Ctrl-C end
    the run like any command (proofs_check.cli: one line, exit 2); the staging folder is removed
    and --out keeps its previous report."""
    if args.readme_table and (args.quick or args.claim):
        raise ValueError("--readme-table needs the complete default run: drop --quick and "
                         "--claim")
    check_output_dir(args.out, "--out")  # before minutes of work, not after
    try:
        return _run(args)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (proofs_check.cli raises Terminated)
        what = "terminated" if type(exc).__name__ == "Terminated" else "interrupted"
        print(f"sobolev-verify check: {what}; {args.out} keeps its previous report",
              file=sys.stderr)
        return 2



def _run(args: argparse.Namespace) -> int:
    from proofs_check.claims import all_claims

    if args.no_figures and args.format is not None:
        raise ValueError("--format has no effect with --no-figures; drop one of them")
    fmt = args.format or "png"
    known = [claim.id for claim in all_claims()]
    unknown = sorted(set(args.claim or ()) - set(known))
    if unknown:
        import difflib

        hints = [f"{name!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(
            name, known, n=1)) else repr(name) for name in unknown]
        raise ValueError(f"--claim: unknown claim id {', '.join(hints)}; known ids: "
                         f"{', '.join(known)}")
    selected = [claim_id for claim_id in known if not args.claim or claim_id in args.claim]
    target = claim_report_target(Path(args.out)) if args.claim else Path(args.out)
    # timings of an earlier run: --out's report (a complete one holds every claim), else target's
    expected = previous_durations(Path(args.out), args.quick) or previous_durations(
        target, args.quick)
    progress = Progress(selected, enabled=not args.json and not args.no_progress,
                        expected=expected)
    with report_folder(target, complete=not args.claim) as staging:
        results = run_claims(args.quick, only=args.claim, progress=progress)
        progress.close()
        report = Report(results, provenance=provenance(args.quick, results,
                                                       complete=not args.claim))
        if args.no_figures:
            report.figure_note = "skipped (--no-figures)"
        else:
            try:
                from proofs_check.report.figures import draw_figures

                started = time.perf_counter()

                def figure_progress(name: str, index: int, count: int) -> None:
                    if not args.json and not args.no_progress:
                        print(f"[figure {index + 1}/{count}] {name} (elapsed "
                              f"{time.perf_counter() - started:.0f} s)", file=sys.stderr,
                              flush=True)

                report.figures = draw_figures(
                    staging, args.quick, fmt=fmt, claims=args.claim, progress=figure_progress,
                    evidence={r.claim.id: r.verdict.evidence for r in results})
                if not args.json and not args.no_progress:
                    print(f"{len(report.figures)} figures drawn in "
                          f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
            except ImportError as exc:
                report.figure_note = str(exc)
            if not report.figures and report.figure_note is None:
                report.figure_note = "no figure supports the selected claims"
        write_markdown(report, staging, args.quick)
        from proofs_check.report.html import write_html

        write_html(report, staging, args.quick)
        report.figures = [target / path.name for path in report.figures]
        (staging / "report.json").write_text(to_json(report) + "\n", encoding="utf-8")
    if args.json:
        print(to_json(report))
    else:
        print(verdict_table(results, verbose=args.verbose))
        print(f"\nreport in {target}: report.md, report.html, report.json"
              + (f", {len(report.figures)} figures" if report.figures
                 else f" (figures: {report.figure_note})"))
        mismatched = [r.claim.id for r in results if not r.agrees]
        if mismatched:
            print(f"verdicts that differ from what is documented: {', '.join(mismatched)}")
    if args.readme_table:
        from proofs_check.report import readme_table

        code = readme_table.update(Path(args.readme_table), json.loads(to_json(report)))
        if code:
            return code
    return 0 if report.ok else 1


def claim_report_target(out: Path) -> Path:
    """Where a --claim run writes: ``out``, unless ``out`` holds a report of every claim, which
    a report of some claims never replaces; then ``OUT-claims`` beside it (said on stderr)."""
    from proofs_check.report.folder import is_complete_report

    if not (out.is_dir() and is_complete_report(out)):
        return out
    beside = out.with_name(out.name + "-claims")
    if beside.is_dir() and is_complete_report(beside):
        raise ValueError(f"--out {out} and {beside} both hold a report of every claim; give "
                         "--out a new folder for the --claim report")
    print(f"sobolev-verify check: {out} holds a report of every claim and is kept as it is; "
          f"the --claim report goes beside it, to {beside}", file=sys.stderr)
    return beside


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check", help="the main job: settle every claim, write report.md, report.html and "
                      "figures",
        description="Run every registered claim with its evidence, print a verdict table and "
                    "write report.md, a self-contained report.html, report.json (exact values) "
                    "and the figures to --out; exit 1 when a verdict differs from the "
                    "documented one (e.g. a claim expected to hold fails). The folder is "
                    "replaced only when the new report is complete.")
    parser.add_argument("--quick", action="store_true",
                        help="smaller surveys and Monte-Carlo sizes (about 1 minute)")
    parser.add_argument("--out", default="sobolev-report",
                        help="report folder (default: sobolev-report; its parent folder must "
                             "exist); replaced as a whole when the run succeeds, files you "
                             "added to it are kept. A run killed at any instant leaves the "
                             "previous or the new report, completed by the next run; one run "
                             "at a time (a lock beside the folder)")
    parser.add_argument("--claim", action="append", metavar="ID",
                        help="run only this claim and draw only its figures (repeatable). "
                             "A --out folder holding a report of every claim is never "
                             "replaced by it: the report of the chosen claims is then written "
                             "beside it, to OUT-claims")
    parser.add_argument("--no-figures", action="store_true", help="skip the figures")
    parser.add_argument("--format", choices=("png", "svg", "pdf"), default=None,
                        help="figure format (default png; svg and png are embedded in "
                             "report.html, pdf is linked)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress lines on stderr")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="print every claim's whole summary and condition under its row of "
                             "the verdict table (the table alone fits 100 columns)")
    parser.add_argument("--readme-table", metavar="README",
                        help="also write the findings summary of this README and the claims "
                             "table of docs/findings/index.md beside it (between their "
                             "markers) from this run; needs the default run")
    parser.set_defaults(func=run)
