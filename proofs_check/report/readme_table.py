"""Write (or check) the generated findings from the default `check` run.

Two generated blocks, never typed by hand:

* the claims table of the findings page (``docs/findings/index.md``, between :data:`START` and
  :data:`END`): one row per registered claim (claim, verdict, its headline clause, its family
  page), then one section per claim with its verdict, summary items and computed condition;
* the findings summary of ``README.md`` (between :data:`SUMMARY_START` and :data:`SUMMARY_END`):
  one line per claim of :data:`README_CLAIMS`, its verdict and headline with a link to its family
  page.

Verdicts and numbers come from the run's JSON (``sobolev-verify check --json``): a claim's
``headline`` (a short clause) when the verdict carries one, else the first clause of its
summary. Only a complete default-mode run qualifies (not ``--quick``, not a ``--claim`` subset),
so the pages quote what ``sobolev-verify check`` prints. A claim registered
``machine_dependent`` (a timing) is listed without numbers.

Usage::

    python -m proofs_check.report.readme_table                         # run the check, write
    python -m proofs_check.report.readme_table --from-json check.json  # reuse `check --json`
    python -m proofs_check.report.readme_table --from-json check.json --check  # exit 1 if stale

``--check`` leaves both files untouched and exits 1 (printing a unified diff) when a block
differs; bad input (missing markers, a quick or partial run, a summarised claim missing from
the run) exits 2.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from proofs_check.report.markdown import cell, sentences, short_summary

_GENERATED = "(generated: python -m proofs_check.report.readme_table)"
START = f"<!-- claims-table:start {_GENERATED} -->"
END = "<!-- claims-table:end -->"
SUMMARY_START = f"<!-- findings-summary:start {_GENERATED} -->"
SUMMARY_END = "<!-- findings-summary:end -->"

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_README = ROOT / "README.md"
#: The findings page, relative to the folder of the README.
FINDINGS_PAGE = Path("docs") / "findings" / "index.md"

#: The claims the README summarises (at most 12), in reading order.
README_CLAIMS = (
    "oh2025-hessian-h1",
    "summary-alpha-squared",
    "certified-kappa-h1-expected-below-l2",
    "kappa-h1-below-l2",
    "flow-h1-faster-than-l2",
    "activation-gain-largest-for-sine",
    "sgd-h1-reaches-epsilon-in-fewer-steps",
    "landscape-spurious-l2-minimum-certified",
    "landscape-h1-spurious-stable-equilibrium-certified",
    "landscape-h1-no-more-spurious-endpoints-per-activation",
    "sobolev-acceleration-survives-anisotropy",
    "autograd-hessian-governs-training",
)

#: The findings page (under docs/findings/) of each claim, by the first matching id prefix.
FAMILY_PAGES = (
    ("certified-one-neuron-kappa-at-minimum", "activations.md"),
    ("activation-", "activations.md"),
    ("autograd-", "autograd.md"),
    ("basin-", "dynamics.md"),
    ("flow-", "dynamics.md"),
    ("sgd-", "dynamics.md"),
    ("kappa-h2-", "second-order.md"),
    ("sobolev-acceleration-survives-anisotropy", "second-order.md"),
    ("landscape-spurious-l2-minimum-certified", "landscape-certificates.md"),
    ("landscape-h1-spurious-stable-equilibrium-certified", "landscape-certificates.md"),
    ("landscape-h1-trap-not-h1-critical-point", "landscape-certificates.md"),
    ("landscape-", "landscape.md"),
    ("certified-", "conditioning.md"),
    ("kappa-", "conditioning.md"),
    ("lambda-", "conditioning.md"),
    ("predicted-kappa-", "conditioning.md"),
    ("oh2025-", "conditioning.md"),
    ("summary-", "conditioning.md"),
    ("tian2017-", "conditioning.md"),
)

#: README lines are kept under this many characters (headlines are cut at a word boundary).
README_LINE_LIMIT = 200


def family_page(claim_id: str) -> str | None:
    """The findings page (a file name under docs/findings/) describing ``claim_id``, or None."""
    return next((page for prefix, page in FAMILY_PAGES if claim_id.startswith(prefix)), None)


def slug(claim_id: str) -> str:
    """The anchor of a claim's section on the findings page (letters, digits, ``_`` and ``-``)."""
    return re.sub(r"[^a-z0-9_]+", "-", claim_id.lower()).strip("-")


def headline(claim: dict[str, Any], limit: int = 160) -> str:
    """The claim's one-clause reason: its verdict's ``headline`` when it has one, else the first
    clause of its summary, cut at a word boundary to about ``limit`` characters."""
    if claim.get("headline") and len(claim["headline"]) <= limit:
        return claim["headline"]  # already one short clause (claims._evidence.headline)
    return short_summary(claim.get("headline") or claim["summary"], limit)


def _text(text: str) -> str:
    """Generated prose safe in markdown: ``*`` (as in ``2*pi*r``) is not emphasis."""
    return text.replace("*", "\\*")


def _check_payload(payload: dict[str, Any]) -> None:
    info = payload.get("provenance") or {}
    if info.get("mode") != "default":
        raise ValueError(f"the findings tables need the default (non-quick) run; got mode "
                         f"{info.get('mode')!r}: run `sobolev-verify check` without --quick")
    if not info.get("all_claims", False):
        raise ValueError("the findings tables need every claim: run `sobolev-verify check` "
                         "without --claim")


def _verdict(claim: dict[str, Any]) -> str:
    return "*machine-dependent*" if claim.get("machine_dependent") else f"**{claim['status']}**"


def _timing_note(claim: dict[str, Any]) -> str:
    return ("a timing: its ratios and verdict depend on the machine and its load, so this page "
            f"quotes none; run `sobolev-verify check --claim {claim['id']}`")


def table(payload: dict[str, Any]) -> str:
    """The findings-page block for a complete default-mode `check --json` payload."""
    _check_payload(payload)
    lines = ["| claim | verdict | in one clause | documented | page |",
             "|---|---|---|---|---|"]
    for claim in payload["claims"]:
        page = family_page(claim["id"])
        link = f"[{page.removesuffix('.md')}]({page})" if page else "—"
        clause = (_timing_note(claim) if claim.get("machine_dependent") else headline(claim))
        lines.append(f"| [`{claim['id']}`](#{slug(claim['id'])}) | {_verdict(claim)} | "
                     f"{_text(cell(clause))} | {claim['expected']} | {link} |")
    for claim in payload["claims"]:
        lines += ["", f"### `{claim['id']}` {{#{slug(claim['id'])}}}", ""]
        if claim.get("machine_dependent"):
            lines.append(f"*machine-dependent* (documented: {claim['expected']}): "
                         f"{_timing_note(claim)}.")
            continue
        lines.append(f"{_verdict(claim)} (documented: {claim['expected']})")
        lines.append("")
        lines += [f"* {_text(item)}" for item in sentences(claim["summary"])]
        if claim.get("condition"):
            lines += ["", f"**Condition:** {_text(claim['condition'])}"]
        if claim.get("error"):
            lines += ["", f"**Checker error:** {_text(claim['error'])}"]
    return "\n".join(lines)


def summary_lines(payload: dict[str, Any], claims: Sequence[str] = README_CLAIMS,
                  findings_dir: str = "docs/findings") -> str:
    """The README's findings summary: one line per claim of ``claims`` (verdict, headline, link
    to its family page), each under :data:`README_LINE_LIMIT` characters."""
    _check_payload(payload)
    by_id = {claim["id"]: claim for claim in payload["claims"]}
    missing = [claim_id for claim_id in claims if claim_id not in by_id]
    if missing:
        raise ValueError(f"the README summarises claims the run does not have: {missing}; "
                         "update README_CLAIMS in proofs_check.report.readme_table")
    lines = []
    for claim_id in claims:
        claim = by_id[claim_id]
        page = family_page(claim_id) or "index.md"
        link = f"[`{claim_id}`]({findings_dir}/{page})"
        if claim.get("machine_dependent"):
            lines.append(f"- {link}: *machine-dependent* (a timing; run `sobolev-verify check "
                         f"--claim {claim_id}`)")
            continue
        head = f"- {link}: **{claim['status']}** — "
        budget = README_LINE_LIMIT - len(head)
        clause = _text(headline(claim, budget - 2))
        while len(clause) > budget:  # escapes made it longer: cut again
            budget -= 5
            clause = _text(headline(claim, budget - 2))
        lines.append(head + clause)
    return "\n".join(lines)


def splice(text: str, new_block: str, start: str = START, end: str = END) -> str:
    """``text`` with the block between the markers replaced by ``new_block``."""
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ValueError(f"the file must contain the markers {start!r} and {end!r} once, in "
                         "this order")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{new_block}\n{end}{tail}"


def _default_payload() -> dict[str, Any]:
    from proofs_check.report.markdown import Report, dumps, payload, provenance, run_claims

    results = run_claims(False, progress=lambda claim: print(f"checking {claim.id} ...",
                                                              file=sys.stderr, flush=True))
    report = Report(results, provenance=provenance(False, results, complete=True))
    return json.loads(dumps(payload(report)))


def _update_file(path: Path, new: str, old: str, *, check: bool, what: str) -> int:
    if new == old:
        print(f"{path}: {what} is up to date")
        return 0
    if check:
        sys.stdout.writelines(difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True),
            f"{path} (committed)", f"{path} (from the default check run)"))
        print(f"{path}: {what} differs from the default `check` run; regenerate with "
              "`python -m proofs_check.report.readme_table`", file=sys.stderr)
        return 1
    path.write_text(new, encoding="utf-8")
    print(f"{path}: {what} written")
    return 0


def update(readme_path: Path, payload: dict[str, Any], *, check: bool = False,
           findings_path: Path | None = None,
           readme_claims: Sequence[str] = README_CLAIMS) -> int:
    """Write the README's findings summary and the findings page's claims table (or, with
    ``check``, compare only). ``findings_path`` defaults to docs/findings/index.md beside the
    README. Returns an exit code (1 when a block is stale under ``check``)."""
    findings_path = findings_path or readme_path.parent / FINDINGS_PAGE
    readme_old = readme_path.read_text(encoding="utf-8")
    findings_old = findings_path.read_text(encoding="utf-8")
    findings_dir = Path(os.path.relpath(findings_path.parent, readme_path.parent))
    readme_new = splice(readme_old, summary_lines(payload, readme_claims, findings_dir.as_posix()),
                        SUMMARY_START, SUMMARY_END)
    findings_new = splice(findings_old, table(payload))
    codes = [_update_file(readme_path, readme_new, readme_old, check=check,
                          what="findings summary"),
             _update_file(findings_path, findings_new, findings_old, check=check,
                          what="claims table")]
    return max(codes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m proofs_check.report.readme_table",
        description="Write (or --check) the findings page's claims table and the README's "
                    "findings summary from the default check run.")
    parser.add_argument("--from-json", metavar="FILE",
                        help="reuse the output of `sobolev-verify check --json` (default run)")
    parser.add_argument("--readme", default=str(DEFAULT_README), metavar="PATH",
                        help="README to update (default: the repository's README.md)")
    parser.add_argument("--findings", metavar="PATH",
                        help=f"findings page to update (default: {FINDINGS_PAGE} beside the "
                             "README)")
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 with a diff when a block is stale")
    args = parser.parse_args(argv)
    try:
        if args.from_json:
            payload = json.loads(Path(args.from_json).read_text(encoding="utf-8"))
        else:
            payload = _default_payload()
        return update(Path(args.readme), payload, check=args.check,
                      findings_path=Path(args.findings) if args.findings else None)
    except (OSError, ValueError, KeyError) as exc:
        print(f"readme_table: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
