"""The report folder and its pages: atomic replacement, figures next to their claims, a
self-contained report.html that a browser renders with every figure, numbers rounded for
people (exact in report.json)."""

import base64
import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from proofs_check.claims import Verdict, get_claim
from proofs_check.report.figures import FIGURES, draw_figures, figures_for
from proofs_check.report.html import write_html
from proofs_check.report.markdown import (
    MANIFEST,
    ClaimResult,
    Report,
    report_folder,
    round_for_people,
    short_summary,
    write_markdown,
)


def test_round_for_people_rounds_long_decimals_only():
    text = "θ ∈ [0.001, 3.1405926535897932], ratio 1.4384256923860417, 62 of 81, 2.5e-10"
    assert round_for_people(text) == "θ ∈ [0.001, 3.141], ratio 1.438, 62 of 81, 2.5e-10"
    assert round_for_people("x = -0.123456789e-05 and v1.23456") == "x = -1.235e-06 and v1.23456"


def test_short_summary_keeps_the_first_part_and_marks_the_cut():
    long = "proved on box ρ ∈ [0.1, 10.0]: " + "word " * 60 + "; second part"
    short = short_summary(long)
    assert short.endswith(" …") and len(short) <= 165
    assert short_summary("holds at 3 points") == "holds at 3 points"


def _report(tmp_path: Path, fmt: str = "png") -> Report:
    results = [
        ClaimResult(get_claim("lambda-min-grows-lambda-max-barely-changes"),
                    Verdict("holds", "holds at 3.1405926535897932; second part"), 0.1),
        ClaimResult(get_claim("certified-h1-normalised-raises-min-keeps-max"),
                    Verdict("proved", "proved"), 0.2),
    ]
    spectra = next(spec for spec in FIGURES if spec.name == "spectra")
    figure = spectra.draw(tmp_path / f"spectra.{fmt}", True)
    return Report(results, figures=[figure])


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.ids, self.links = [], set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "img":
            self.images.append(attrs["src"])
        if tag == "a" and attrs.get("href", "").startswith("#"):
            self.links.append(attrs["href"][1:])


@pytest.mark.parametrize("fmt, magic", [("png", b"\x89PNG"), ("svg", b"<?xml")])
def test_html_embeds_every_figure_once_and_every_internal_link_resolves(tmp_path, fmt, magic):
    report = _report(tmp_path, fmt)
    page = write_html(report, tmp_path, quick=True).read_text()
    parser = _Collector()
    parser.feed(page)
    # the figure supports both claims: embedded once, referred to from the second
    assert len(parser.images) == 1
    header, data = parser.images[0].split(",", 1)
    assert header.startswith("data:image/") and header.endswith(";base64")
    assert base64.b64decode(data).startswith(magic)
    assert set(parser.links) <= parser.ids
    assert "claim-lambda-min-grows-lambda-max-barely-changes" in parser.ids
    assert "3.141" in page and "3.1405926535897932" not in page.split("<details>")[0]
    assert "http://" not in page and "https://" not in page  # nothing fetched


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or \
        shutil.which("google-chrome")


@pytest.mark.skipif(_chromium() is None, reason="needs headless Chromium")
def test_html_figures_load_in_headless_chromium(tmp_path):
    report = _report(tmp_path)
    page = write_html(report, tmp_path, quick=True).read_text()
    probe = """<script>window.addEventListener('load', () => {
      const imgs = [...document.images];
      const ok = imgs.filter(i => i.complete && i.naturalWidth > 100).length;
      document.body.setAttribute('data-probe', ok + '/' + imgs.length);
    });</script>"""
    copy = tmp_path / "probe.html"  # the report itself carries no script
    copy.write_text(page.replace("</body>", probe + "</body>"))
    dom = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
         "--virtual-time-budget=5000", "--dump-dom", copy.as_uri()],
        capture_output=True, text=True, timeout=120).stdout
    assert 'data-probe="1/1"' in dom


def test_markdown_puts_each_figure_with_its_first_claim_and_caption(tmp_path):
    report = _report(tmp_path)
    text = write_markdown(report, tmp_path, quick=True).read_text()
    first, second = text.split("## `certified-h1-normalised-raises-min-keeps-max`")
    assert "![Figure 1: spectra](spectra.png)" in first and "*Figure 1.* Eigenvalues" in first
    assert "See Figure 1" in second and "![" not in second
    assert "- holds at 3.141\n- second part" in first


def test_report_folder_is_replaced_only_when_complete(tmp_path):
    target = tmp_path / "report"
    with report_folder(target) as staging:
        (staging / "report.md").write_text("first")
        (staging / "old.png").write_text("x")
    (target / "notes.txt").write_text("mine")  # a file the user added
    with pytest.raises(KeyboardInterrupt), report_folder(target) as staging:
        (staging / "report.md").write_text("second, interrupted")
        raise KeyboardInterrupt
    assert (target / "report.md").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # no staging left
    with report_folder(target) as staging:
        (staging / "report.md").write_text("third")
    assert (target / "report.md").read_text() == "third"
    assert not (target / "old.png").exists()  # a figure of the previous run does not linger
    assert (target / "notes.txt").read_text() == "mine"  # the user's file is kept
    assert json.loads((target / MANIFEST).read_text())["files"] == ["report.md"]


def test_report_folder_refuses_foreign_folders_and_files_before_any_work(tmp_path):
    (tmp_path / "data.csv").write_text("precious")
    ran = []
    with pytest.raises(ValueError, match="did not write"), report_folder(tmp_path):
        ran.append(True)
    assert not ran and (tmp_path / "data.csv").read_text() == "precious"
    with pytest.raises(ValueError, match="is a file"), report_folder(tmp_path / "data.csv"):
        ran.append(True)
    assert not ran


def test_figures_for_a_claim_are_the_ones_that_name_it(tmp_path):
    names = [spec.name for spec in figures_for(["flow-h1-faster-than-l2"])]
    assert names == ["flow"]
    assert figures_for([]) == []
    with pytest.raises(ValueError, match="format"):
        draw_figures(tmp_path, True, fmt="jpg")


class _Stream:
    def __init__(self, tty):
        self.tty, self.text = tty, ""

    def isatty(self):
        return self.tty

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def test_check_progress_prints_claim_i_of_n_and_no_time_left_without_timings():
    """Claims differ in cost by orders of magnitude: the mean so far predicts nothing, so
    without measured durations no estimate is printed."""
    from proofs_check.commands.check import Progress

    stream = _Stream(tty=False)
    progress = Progress(["a", "b", "c"], enabled=True, stream=stream)
    for claim_id in ("a", "b", "c"):
        progress(type("C", (), {"id": claim_id})())
    progress.close()
    lines = stream.text.splitlines()
    assert lines[0].startswith("[1/3] a (elapsed ")
    assert lines[1].startswith("[2/3] b (elapsed ") and "left" not in stream.text
    assert lines[3].startswith("claims done in ")


def test_check_progress_estimates_time_left_from_the_last_runs_durations():
    from proofs_check.commands.check import Progress

    stream = _Stream(tty=False)
    progress = Progress(["a", "b", "c"], enabled=True, stream=stream,
                        expected={"a": 10.0, "b": 30.0, "c": 60.0})
    assert progress.estimate(0.0) == pytest.approx(100.0)  # nothing run yet: the last timings
    progress(type("C", (), {"id": "a"})())
    # a took 20 s now against 10 s then: this run is twice as slow, b and c need 2·90 s
    assert progress.estimate(20.0) == pytest.approx(180.0)
    assert "about 100 s left by the last run's timings" in stream.text
    partial = Progress(["a", "b"], enabled=True, stream=_Stream(tty=False),
                       expected={"a": 10.0})
    assert partial.estimate(0.0) is None  # a claim without a timing: no estimate at all


def test_check_reads_the_durations_of_an_earlier_report_of_the_same_mode(tmp_path):
    from proofs_check.commands.check import previous_durations

    (tmp_path / "report.json").write_text(json.dumps(
        {"provenance": {"mode": "quick"}, "claims": [
            {"id": "a", "seconds": 1.5, "error": None},
            {"id": "b", "seconds": 2.0, "error": "ValueError: x"}]}))
    assert previous_durations(tmp_path, quick=True) == {"a": 1.5}
    assert previous_durations(tmp_path, quick=False) == {}
    assert previous_durations(tmp_path / "missing", quick=True) == {}


def test_check_progress_uses_a_bar_in_a_terminal_and_nothing_when_disabled():
    from proofs_check.commands.check import Progress

    stream = _Stream(tty=True)
    progress = Progress(["first-claim", "second"], enabled=True, stream=stream,
                        expected={"first-claim": 1.0, "second": 2.0})
    progress(type("C", (), {"id": "first-claim"})())
    progress.close()
    assert "first-claim" in stream.text and "claims [" in stream.text
    assert "left by the last run's timings" in stream.text
    quiet = _Stream(tty=False)
    silent = Progress(["x", "y"], enabled=False, stream=quiet)
    silent(type("C", (), {"id": "x"})())
    silent.close()
    assert quiet.text == ""


def test_report_folder_refuses_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for target in (".", str(tmp_path.parent)):
        with pytest.raises(ValueError, match="current folder"), report_folder(target):
            pytest.fail("ran despite the refusal")


def test_sentences_split_only_at_top_level_semicolons():
    from proofs_check.report.markdown import sentences

    assert sentences("a; b (c; d) [e; f]; g") == ["a", "b (c; d) [e; f]", "g"]
    assert sentences("x = 0.12345678") == ["x = 0.1235"]


def test_a_report_written_before_the_manifest_is_recognised_by_its_file_names(tmp_path):
    target = tmp_path / "old-report"
    target.mkdir()
    (target / "report.md").write_text("old")
    (target / "spectra.png").write_text("old figure")
    with report_folder(target) as staging:
        (staging / "report.md").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == [MANIFEST, "report.md"]
    assert (target / "report.md").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old-report"]  # nothing left over


def test_sigterm_during_check_keeps_the_previous_report_and_leaves_no_staging(tmp_path):
    import signal
    import sys
    import time

    target = tmp_path / "report"
    with report_folder(target) as staging:
        (staging / "report.md").write_text("previous, complete")
    process = subprocess.Popen(
        [sys.executable, "-m", "proofs_check.cli", "check", "--quick", "--no-progress",
         "--out", str(target)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        cwd=Path(__file__).parents[1])
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".report.partial-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(tmp_path.glob(".report.partial-*")), "the run never started staging"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2  # an interruption is an environment stop (exit 2)
    assert "keeps its previous report" in err and "Traceback" not in err
    assert (target / "report.md").read_text() == "previous, complete"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
