"""report.html: the report as one self-contained page.

Figures are embedded as ``data:`` URIs (PNG, SVG; a PDF figure cannot be shown by a browser
inline and is linked instead), styles are inline, nothing is fetched from the network. The page
opens with what it checks (the paper), the toolkit's version, commit and date; then a table of
contents, the verdict table, one section per claim with the anchor ``#claim-<id>``
(proofs_check.report.markdown.anchor: the claim id itself), each figure next to the first claim it
supports with its caption, and the provenance (versions, commit, date, mode, seeds per claim).
Evidence and counterexamples are shown, collapsed, as tables and short lists with rounded numbers
(proofs_check.report.evidence); report.json keeps the exact values.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import Any

from proofs_check.report.evidence import evidence_html, text_html, value_html
from proofs_check.report.markdown import (
    PAPER,
    Report,
    anchor,
    place_figures,
    sentences,
    short_summary,
)

_MIME = {".png": "image/png", ".svg": "image/svg+xml"}

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 64rem;
       margin: 2rem auto; padding: 0 1rem; line-height: 1.45; color: #1a1a1a; }
h2 code { font-size: inherit; }
h1 { font-size: 1.6rem; margin-bottom: .3rem; } h2 { font-size: 1.2rem; margin-top: 2.2rem;
     border-bottom: 1px solid #ddd; padding-bottom: .2rem; overflow-wrap: anywhere; }
.meta { color: #444; margin-top: 0; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: .85rem; }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; }
table { border-collapse: collapse; font-size: .9rem; }
th, td { border: 1px solid #ddd; padding: .3rem .5rem; vertical-align: top; text-align: left; }
table.kv, table.records { font-size: .8rem; margin: .2rem 0; }
table.kv th { background: #fafafa; font-weight: 600; white-space: nowrap; }
table.records th { background: #fafafa; }
details { margin: .8rem 0; } summary { cursor: pointer; font-weight: 600; }
.scroll { overflow-x: auto; }
.more { font-size: .8rem; color: #555; margin: .2rem 0; }
.status { font-weight: 600; white-space: nowrap; }
.holds, .proved { color: #00734f; } .fails { color: #b34700; }
.conditional { color: #8a6d00; } .inconclusive { color: #666; }
.mismatch { background: #fde8e0; }
figure { margin: 1.2rem 0; } figure img { max-width: 100%; height: auto; }
figcaption { font-size: .9rem; color: #333; }
nav ol { column-width: 24rem; column-gap: 2rem; font-size: .9rem; padding-left: 2.2rem; }
nav li { break-inside: avoid; overflow-wrap: anywhere; }
"""


def _figure_html(number: int, path: Path, caption: str) -> str:
    mime = _MIME.get(path.suffix)
    label = f"<b>Figure {number}.</b> {text_html(caption)}"
    if mime is None:
        return (f'<figure id="figure-{number}"><p><a href="{escape(path.name)}">'
                f"{escape(path.name)}</a> (not embedded: browsers do not show "
                f"{escape(path.suffix)} inline; use --format png or svg)</p>"
                f"<figcaption>{label}</figcaption></figure>")
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure id="figure-{number}"><img src="data:{mime};base64,{data}" '
            f'alt="Figure {number}: {escape(path.stem)}">'
            f"<figcaption>{label}</figcaption></figure>")


def _header(report: Report, quick: bool) -> list[str]:
    info = report.provenance or {}
    version = info.get("package_version") or "from source"
    commit = info.get("git_commit")
    commit_text = (f"commit <code>{escape(commit[:12])}</code>"
                   + (" (with uncommitted changes)" if info.get("git_dirty") else "")
                   if commit else "no git commit recorded")
    date = escape(str(info.get("date_utc", "date not recorded")))
    overall = ("every verdict matches what is documented" if report.ok
               else "MISMATCH: some verdicts differ from what is documented")
    return ["<h1>sobolev-verify report</h1>",
            f'<p class="meta">Checks the claims of {escape(PAPER)} and of the work it builds '
            f"on. sobolev-verify {escape(str(version))}, {commit_text}, {date}; mode "
            f"{'quick' if quick else 'default'}"
            + ("" if info.get("all_claims", True) else " (a subset of the claims)")
            + ". <a href=\"#provenance\">Provenance</a>.</p>",
            f"<p>Overall: {escape(overall)}. Numbers are rounded for reading; report.json has "
            "the exact values.</p>"]


def _provenance_html(info: dict[str, Any] | None) -> list[str]:
    parts = ['<section id="provenance"><h2>Provenance</h2>']
    if not info:
        return parts + ["<p>not recorded</p></section>"]
    commit = info.get("git_commit") or f"none ({info.get('git_commit_reason')})"
    if info.get("git_dirty"):
        commit += " (with uncommitted changes)"
    rows = [("package", f"sobolev-verify {info.get('package_version') or 'from source'} "
                        f"({info.get('package_version_from', 'installed')})"),
            ("git commit", commit), ("date (UTC)", info.get("date_utc")),
            ("mode", info.get("mode", "")
             + ("" if info.get("all_claims", True) else " (a subset of the claims)")),
            ("Python", info.get("python")), ("numpy", info.get("numpy")),
            ("scipy", info.get("scipy")), ("sympy", info.get("sympy")),
            ("mpmath", info.get("mpmath")), ("platform", info.get("platform"))]
    parts.append('<table class="kv">' + "".join(
        f"<tr><th>{escape(name)}</th><td>{escape(str(value))}</td></tr>" for name, value in rows)
        + "</table>")
    seeds = info.get("seeds") or {}
    if seeds:
        parts.append("<details><summary>Seeds per claim</summary><ul>")
        parts += [f'<li><a href="#{escape(anchor(claim_id))}"><code>{escape(claim_id)}</code>'
                  f"</a>: {value_html(value, depth=1)}</li>" for claim_id, value in seeds.items()]
        parts.append("</ul></details>")
    parts.append("</section>")
    return parts


def render_html(report: Report, quick: bool) -> str:
    """The whole page as a string."""
    placement = place_figures(report)
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             "<title>sobolev-verify report</title>", f"<style>{_CSS}</style></head><body>",
             *_header(report, quick),
             '<nav><h2 id="contents">Contents</h2><ol>',
             '<li><a href="#verdicts">Verdicts</a></li>']
    for r in report.results:
        parts.append(f'<li><a href="#{escape(anchor(r.claim.id))}"><code>{escape(r.claim.id)}'
                     f"</code></a> — {escape(r.verdict.status)}</li>")
    if placement.unplaced:
        parts.append('<li><a href="#further-figures">Further figures</a></li>')
    parts.append('<li><a href="#provenance">Provenance</a></li>')
    parts += ["</ol></nav>", '<h2 id="verdicts">Verdicts</h2>',
              '<div class="scroll"><table><thead><tr><th>claim</th><th>expected</th>'
              "<th>verdict</th><th>matches</th><th>summary</th></tr></thead><tbody>"]
    for r in report.results:
        row_class = "" if r.agrees else ' class="mismatch"'
        headline = getattr(r.verdict, "headline", None)
        parts.append(
            f'<tr{row_class}><td><a href="#{escape(anchor(r.claim.id))}"><code>'
            f"{escape(r.claim.id)}</code></a></td><td>{escape(r.claim.expected)}</td>"
            f'<td class="status {escape(r.verdict.status)}">{escape(r.verdict.status)}</td>'
            f"<td>{'yes' if r.agrees else 'NO'}</td>"
            f"<td>{text_html(headline or short_summary(r.verdict.summary))}</td></tr>")
    parts.append("</tbody></table></div>")
    for r in report.results:
        parts += [f'<section id="{escape(anchor(r.claim.id))}">',
                  f"<h2><code>{escape(r.claim.id)}</code></h2>",
                  f"<p><b>Statement.</b> {text_html(r.claim.statement)}</p>",
                  f"<p><b>Source.</b> {text_html(r.claim.source)}. <b>Scope.</b> "
                  f"{text_html(r.claim.scope)}.</p>",
                  f'<p><b>Verdict: <span class="status {escape(r.verdict.status)}">'
                  f"{escape(r.verdict.status)}</span></b> ({r.seconds:.1f} s)"
                  + ("" if r.agrees else " — <b>differs from the documented "
                     f"{escape(r.claim.expected)}</b>") + "</p>", "<ul>"]
        parts += [f"<li>{text_html(part)}</li>" for part in sentences(r.verdict.summary)]
        parts.append("</ul>")
        if r.verdict.condition:
            parts.append(f"<p><b>Condition.</b> {text_html(r.verdict.condition)}</p>")
        if r.error:
            parts.append(f"<p><b>Checker error.</b> {text_html(r.error)}</p>")
        for number, path, caption, first in placement.by_claim[r.claim.id]:
            if first:
                parts.append(_figure_html(number, path, caption))
            else:
                parts.append(f'<p>See <a href="#figure-{number}">Figure {number}</a> above.</p>')
        if "table" in r.verdict.evidence:
            parts.append(f"<pre>{escape(str(r.verdict.evidence['table']))}</pre>")
        if r.verdict.counterexample:
            parts.append('<details><summary>Counterexample</summary><div class="scroll">'
                         + value_html(r.verdict.counterexample) + "</div></details>")
        parts.append('<details><summary>Evidence</summary><div class="scroll">'
                     + evidence_html(r.verdict.evidence) + "</div></details>")
        parts.append("</section>")
    if placement.unplaced:
        parts.append('<section id="further-figures"><h2>Further figures</h2>')
        parts += [_figure_html(number, path, caption)
                  for number, path, caption in placement.unplaced]
        parts.append("</section>")
    if report.figure_note:
        parts.append(f"<p>Figures: {text_html(report.figure_note)}</p>")
    parts += _provenance_html(report.provenance)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_html(report: Report, out_dir: Path, quick: bool) -> Path:
    """Write ``out_dir/report.html`` (figures must already be in ``report.figures``)."""
    path = Path(out_dir) / "report.html"
    path.write_text(render_html(report, quick), encoding="utf-8")
    return path
