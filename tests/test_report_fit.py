"""Outputs a researcher reads in minutes: the terminal verdict table fits 100 columns and shows
text, not Python reprs; report.html has a header, provenance, anchors ``#claim-<id>``,
evidence as tables with rounded numbers and no whole weight matrices, and no literal
backticks."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from proofs_check.claims import Verdict, all_claims, get_claim
from proofs_check.report.evidence import value_html
from proofs_check.report.html import render_html
from proofs_check.report.markdown import ClaimResult, Report, anchor, provenance
from proofs_check.report.terminal import TABLE_WIDTH, verdict_table
from tests.verdict_cases import all_cases

LONG = ("fails at 5 of 92 compared configurations: K ∈ {2, 3}, K* ∈ {2, 3}, d ∈ {2, 3}, "
        "relative distance ∈ [1e-07, 0.183], largest row angle (°) ∈ [1.06e-05, 30.1]; worst "
        "κ(h1)/κ(l2) = 288/201 (K = 2, K* = 2, d = 2, relative distance 0.0452)") * 3


def _results(summary: str = LONG, **verdict_fields) -> list[ClaimResult]:
    out = []
    for claim in all_claims():
        status = claim.expected
        fields = dict(verdict_fields)
        if status == "fails":
            fields.setdefault("counterexample", {"W": [[0.123456789, 1.0, 2.0, 3.0]] * 3})
        if status == "conditional":
            fields.setdefault("condition", "K < 2 (holds strictly at 34 of 35)")
        out.append(ClaimResult(claim, Verdict(status, summary, **fields), 1.25))
    return out


def test_terminal_table_fits_100_columns_for_every_claim():
    table = verdict_table(_results())
    lines = table.splitlines()
    assert max(len(line) for line in lines) <= TABLE_WIDTH == 100
    for claim in all_claims():
        assert any(line.startswith(claim.id + " ") for line in lines)
    assert "…" in table  # the long summary is cut, and says so


def test_terminal_table_uses_the_headline_when_the_verdict_has_one():
    results = _results()
    for r in results:
        r.verdict.headline = "short clause"
    table = verdict_table(results)
    assert table.count("short clause") == len(results) and LONG[:40] not in table


def test_verbose_table_has_the_whole_summary_wrapped_to_the_width():
    table = verdict_table(_results()[:2], verbose=True)
    assert max(len(line) for line in table.splitlines()) <= TABLE_WIDTH
    assert "288/201" in table and "expected" in table


def test_mismatched_verdicts_are_marked_in_the_table():
    claim = get_claim("kappa-h1-below-l2")
    other = "holds" if claim.expected != "holds" else "fails"
    fields = {"counterexample": {"x": 1}} if other == "fails" else {}
    table = verdict_table([ClaimResult(claim, Verdict(other, "x", **fields), 0.1)])
    assert f"≠ expected {claim.expected}" in table


_REPR = re.compile(r"[\[{(]'|'\s*:|\bnp\.\w|array\(|\bTrue\b|\bFalse\b|\bNone\b")


@pytest.mark.parametrize("case", all_cases(), ids=str)
def test_summaries_and_conditions_are_text_not_python_reprs(case):
    verdict = get_claim(case.claim_id).decide(case.evidence())
    for text in (verdict.summary, verdict.condition or ""):
        assert not _REPR.search(text), text


# ------------------------------------------------------------------------------- report.html

class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links, self.text, self.stack = set(), [], [], []
        self.pre_depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href", "").startswith("#"):
            self.links.append(attrs["href"][1:])

    def handle_data(self, data):
        self.text.append(data)


def _page(report: Report) -> tuple[str, _Page]:
    html = render_html(report, quick=True)
    parser = _Page()
    parser.feed(html)
    return html, parser


def test_html_header_provenance_and_exact_anchors():
    results = _results("holds at 3.1415926535897932; second part with `code`")
    report = Report(results, provenance=provenance(True, results))
    html, page = _page(report)
    head = html.split('id="contents"')[0]
    assert "arXiv:2509.19773" in head and "Oh, Lyu, Son" in head
    assert report.provenance["date_utc"] in head
    assert (report.provenance.get("package_version") or "from source") in head
    assert "provenance" in page.ids
    for r in results:
        assert anchor(r.claim.id) == f"claim-{r.claim.id}"
        assert f"claim-{r.claim.id}" in page.ids
    assert set(page.links) <= page.ids
    text = "".join(page.text)
    assert "`" not in text
    assert "3.1415926535897932" not in html and "3.142" in text


def test_html_evidence_is_tables_with_rounded_numbers_and_no_whole_matrices():
    matrix = [[0.123456789 + i + 0.01 * j for j in range(5)] for i in range(4)]
    evidence = {"method": "closed forms", "rtol": 1e-9, "W": matrix,
                "rows": [{"K": k, "kappa": 1.0 / 3.0 + k} for k in range(30)],
                "counts": {"global": 26, "spurious": 4}}
    claim = get_claim("kappa-h1-below-l2")
    report = Report([ClaimResult(claim, Verdict(claim.expected, "x", evidence,
                                                condition="K < 2"), 0.1)])
    html, page = _page(report)
    details = html.split("<details>")[1].split("</details>")[0]
    assert "<table" in details and "<pre>" not in details and "{" not in details
    assert "0.1235" not in details and "0.123456789" not in html  # no entry of W
    assert "4×5 matrix" in details
    assert "0.3333" in details and "0.3333333" not in details  # rounded to 4 digits
    assert "18 more rows in report.json" in details  # 30 rows, 12 shown


def test_value_html_summarises_matrices_and_keeps_small_lists_inline():
    assert "2×2 matrix" in value_html([[1.0, 0.0], [0.0, 2.0]])
    assert value_html([1, 2.5, 3]) == "[1, 2.5, 3]"
    assert value_html(float("inf")) == "∞"
    assert "more" in value_html(list(range(40)))


def test_check_prints_a_table_that_fits_and_verbose_adds_the_rest(tmp_path, capsys):
    from proofs_check.cli import main

    out = tmp_path / "report"
    claim = "tian2017-l2-gradient"
    assert main(["check", "--claim", claim, "--no-figures", "--no-progress", "--out",
                 str(out)]) == 0
    short = capsys.readouterr().out
    assert f"report in {out}:" in short  # the one line holding a path (here a long one)
    assert max(len(line) for line in short.splitlines() if str(out) not in line) <= TABLE_WIDTH
    assert main(["check", "--claim", claim, "--no-figures", "--no-progress", "--verbose",
                 "--out", str(out)]) == 0
    verbose = capsys.readouterr().out
    assert max(len(line) for line in verbose.splitlines() if str(out) not in line) <= TABLE_WIDTH
    assert len(verbose.splitlines()) > len(short.splitlines())


def test_browser_test_fails_in_ci_without_chromium_and_skips_locally(monkeypatch):
    import tests.test_report_browser as browser

    monkeypatch.setattr(browser, "chromium_path", lambda: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="Chromium is missing"):
        browser._require_browser()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        browser._require_browser()


def test_markdown_evidence_is_rounded_and_summarises_matrices(tmp_path):
    from proofs_check.report.markdown import write_markdown

    matrix = [[0.123456789 + i + 0.01 * j for j in range(5)] for i in range(4)]
    claim = get_claim("certified-kappa-h1-exact-below-l2")
    verdict = Verdict("fails", "x", {"ratio": 1.0 / 3.0, "W": matrix},
                      counterexample={"W_star": matrix, "kappa": 2.0 / 3.0})
    text = write_markdown(Report([ClaimResult(claim, verdict, 0.1)]), tmp_path,
                          quick=True).read_text()
    assert "0.123456789" not in text and "4×5 matrix" in text
    assert "0.3333" in text and "0.33333" not in text and "0.6667" in text


def test_check_estimates_time_left_only_from_an_earlier_reports_timings(tmp_path, capsys):
    from proofs_check.cli import main

    out = tmp_path / "report"
    argv = ["check", "--claim", "tian2017-l2-gradient", "--no-figures", "--out", str(out)]
    assert main(argv) == 0
    assert "left" not in capsys.readouterr().err  # nothing measured yet: no estimate
    assert main(argv) == 0
    assert "left by the last run's timings" in capsys.readouterr().err


def test_claim_texts_shown_in_reports_hold_no_internal_issue_numbers():
    for claim in all_claims():
        for text in (claim.statement, claim.source, claim.scope):
            assert not re.search(r"\bissues? \d", text), (claim.id, text)
