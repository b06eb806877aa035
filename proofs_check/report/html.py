"""report.html: the report as one self-contained page.

Figures are embedded as ``data:`` URIs (PNG, SVG; a PDF figure cannot be shown by a browser
inline and is linked instead), styles are inline, nothing is fetched from the network. The page
has a table of contents, one section per claim with the anchor ``#claim-<id>``
(proofs_check.report.markdown.anchor), and each figure next to the first claim it supports, with its
caption. Numbers in the text are rounded for reading (report.json keeps the exact values).
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from proofs_check.report.markdown import (
    Report,
    _abridge,
    anchor,
    dumps,
    place_figures,
    round_for_people,
    sentences,
    short_summary,
)

_MIME = {".png": "image/png", ".svg": "image/svg+xml"}

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 62rem;
       margin: 2rem auto; padding: 0 1rem; line-height: 1.45; color: #1a1a1a; }
h2 code { font-size: inherit; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2.2rem;
     border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: .85rem; }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; }
table { border-collapse: collapse; font-size: .9rem; }
th, td { border: 1px solid #ddd; padding: .3rem .5rem; vertical-align: top; text-align: left; }
.status { font-weight: 600; white-space: nowrap; }
.holds, .proved { color: #00734f; } .fails { color: #b34700; }
.conditional { color: #8a6d00; } .inconclusive { color: #666; }
.mismatch { background: #fde8e0; }
figure { margin: 1.2rem 0; } figure img { max-width: 100%; height: auto; }
figcaption { font-size: .9rem; color: #333; }
nav ol { columns: 2; font-size: .9rem; }
"""


def _figure_html(number: int, path: Path, caption: str) -> str:
    mime = _MIME.get(path.suffix)
    label = f"<b>Figure {number}.</b> {escape(caption)}"
    if mime is None:
        return (f'<figure id="figure-{number}"><p><a href="{escape(path.name)}">'
                f"{escape(path.name)}</a> (not embedded: browsers do not show "
                f"{escape(path.suffix)} inline; use --format png or svg)</p>"
                f"<figcaption>{label}</figcaption></figure>")
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure id="figure-{number}"><img src="data:{mime};base64,{data}" '
            f'alt="Figure {number}: {escape(path.stem)}">'
            f"<figcaption>{label}</figcaption></figure>")


def render_html(report: Report, quick: bool) -> str:
    """The whole page as a string."""
    placement = place_figures(report)
    overall = ("every verdict matches what is documented" if report.ok
               else "MISMATCH: some verdicts differ from what is documented")
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             "<title>sobolev-verify report</title>", f"<style>{_CSS}</style></head><body>",
             "<h1>sobolev-verify report</h1>",
             f"<p>Mode: {'quick' if quick else 'default'}. Overall: {escape(overall)}. "
             "Numbers are rounded for reading; report.json has the exact values.</p>",
             '<nav><h2 id="contents">Contents</h2><ol>']
    for r in report.results:
        parts.append(f'<li><a href="#{anchor(r.claim.id)}"><code>{escape(r.claim.id)}</code>'
                     f"</a> — {escape(r.verdict.status)}</li>")
    if placement.unplaced:
        parts.append('<li><a href="#further-figures">Further figures</a></li>')
    parts += ["</ol></nav>", '<h2 id="verdicts">Verdicts</h2>',
              "<table><thead><tr><th>claim</th><th>expected</th><th>verdict</th>"
              "<th>matches</th><th>summary</th></tr></thead><tbody>"]
    for r in report.results:
        row_class = "" if r.agrees else ' class="mismatch"'
        parts.append(
            f'<tr{row_class}><td><a href="#{anchor(r.claim.id)}"><code>{escape(r.claim.id)}'
            f"</code></a></td><td>{escape(r.claim.expected)}</td>"
            f'<td class="status {escape(r.verdict.status)}">{escape(r.verdict.status)}</td>'
            f"<td>{'yes' if r.agrees else 'NO'}</td>"
            f"<td>{escape(short_summary(r.verdict.summary))}</td></tr>")
    parts.append("</tbody></table>")
    for r in report.results:
        parts += [f'<section id="{anchor(r.claim.id)}">',
                  f"<h2><code>{escape(r.claim.id)}</code></h2>",
                  f"<p><b>Statement.</b> {escape(r.claim.statement)}</p>",
                  f"<p><b>Source.</b> {escape(r.claim.source)}. <b>Scope.</b> "
                  f"{escape(r.claim.scope)}.</p>",
                  f'<p><b>Verdict: <span class="status {escape(r.verdict.status)}">'
                  f"{escape(r.verdict.status)}</span></b> ({r.seconds:.1f} s)"
                  + ("" if r.agrees else " — <b>differs from the documented "
                     f"{escape(r.claim.expected)}</b>") + "</p>", "<ul>"]
        parts += [f"<li>{escape(part)}</li>" for part in sentences(r.verdict.summary)]
        parts.append("</ul>")
        if r.verdict.condition:
            parts.append(f"<p><b>Condition.</b> {escape(round_for_people(r.verdict.condition))}"
                         "</p>")
        for number, path, caption, first in placement.by_claim[r.claim.id]:
            if first:
                parts.append(_figure_html(number, path, caption))
            else:
                parts.append(f'<p>See <a href="#figure-{number}">Figure {number}</a> above.</p>')
        if "table" in r.verdict.evidence:
            parts.append(f"<pre>{escape(str(r.verdict.evidence['table']))}</pre>")
        if r.verdict.counterexample:
            parts.append("<p><b>Counterexample.</b></p><pre>" + escape(dumps(
                r.verdict.counterexample, indent=1)) + "</pre>")
        parts.append("<details><summary>Evidence</summary><pre>" + escape(dumps(
            _abridge(r.verdict.evidence), indent=1)) + "</pre></details>")
        parts.append("</section>")
    if placement.unplaced:
        parts.append('<section id="further-figures"><h2>Further figures</h2>')
        parts += [_figure_html(number, path, caption)
                  for number, path, caption in placement.unplaced]
        parts.append("</section>")
    if report.figure_note:
        parts.append(f"<p>Figures: {escape(report.figure_note)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_html(report: Report, out_dir: Path, quick: bool) -> Path:
    """Write ``out_dir/report.html`` (figures must already be in ``report.figures``)."""
    path = Path(out_dir) / "report.html"
    path.write_text(render_html(report, quick), encoding="utf-8")
    return path
