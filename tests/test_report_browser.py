"""The real report.html in a real browser (Debian's Chromium driven by Playwright).

The page under test is the report `sobolev-verify check --quick` writes: the folder named by
the environment variable SOBOLEV_VERIFY_REPORT (CI sets it to the report its own check run
wrote), otherwise a fresh `check --quick` into a temporary folder. In the browser: every
image is decoded with a non-zero natural width, every claim has its ``#claim-<id>`` anchor and
navigating to it scrolls to its section, every contents link resolves, the contents entries do
not overlap, no literal backtick is shown, and the console logs no error. A screenshot of the
top of the page is kept in the report folder (browser-top.png).

Chromium: /usr/bin/chromium (or $CHROMIUM). Without it the test is skipped locally and fails
in CI (CI=true), where `.ci/run` installs it. Playwright's own browser download is not used.
The test runs `check --quick` (about a minute) when no report is given, so it is marked slow;
`.ci/run` runs it as its own step after its check.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SCREENSHOT = "browser-top.png"


def chromium_path() -> str | None:
    """The system Chromium: $CHROMIUM, /usr/bin/chromium, or chromium on PATH."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _require_browser() -> str:
    path = chromium_path()
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        if in_ci:
            pytest.fail("CI=true but the playwright package is missing: pip install -e '.[test]'")
        pytest.skip("needs the playwright package (the test extra)")
    if path is None:
        if in_ci:
            pytest.fail("CI=true but Chromium is missing: apt-get install -y chromium")
        pytest.skip("needs Chromium (/usr/bin/chromium or $CHROMIUM)")
    return path


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    given = os.environ.get("SOBOLEV_VERIFY_REPORT")
    if given:
        folder = Path(given)
        assert (folder / "report.html").is_file(), f"no report.html in {folder}"
        return folder
    folder = tmp_path_factory.mktemp("browser") / "report"
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    run = subprocess.run([sys.executable, "-m", "proofs_check.cli", "check", "--quick",
                          "--no-progress", "--out", str(folder)], cwd=root, env=env,
                         capture_output=True, text=True, timeout=1800)
    assert run.returncode in (0, 1), run.stderr[-2000:]
    return folder


def test_real_report_renders_in_chromium(report_dir):
    executable = _require_browser()
    from playwright.sync_api import sync_playwright

    claims = [claim["id"] for claim in
              json.loads((report_dir / "report.json").read_text(encoding="utf-8"))["claims"]]
    url = (report_dir / "report.html").resolve().as_uri()
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda message: errors.append(message.text)
                    if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(url, wait_until="load")
            page.screenshot(path=str(report_dir / SCREENSHOT))

            images = page.evaluate("[...document.images].map(i => ({alt: i.alt, "
                                   "complete: i.complete, width: i.naturalWidth, "
                                   "height: i.naturalHeight}))")
            assert images, "the report embeds no figure"
            broken = [i["alt"] for i in images
                      if not (i["complete"] and i["width"] > 0 and i["height"] > 0)]
            assert not broken, f"figures not decoded: {broken}"

            ids = set(page.evaluate("[...document.querySelectorAll('[id]')].map(e => e.id)"))
            missing = [claim for claim in claims if f"claim-{claim}" not in ids]
            assert not missing, f"claims without a #claim-<id> anchor: {missing}"

            links = page.evaluate("[...document.querySelectorAll('nav a')]"
                                  ".map(a => a.getAttribute('href'))")
            assert len(links) >= len(claims)
            unresolved = [href for href in links
                          if not href.startswith("#") or unquote(href[1:]) not in ids]
            assert not unresolved, f"contents links that resolve to nothing: {unresolved}"
            every_link = page.evaluate("[...document.querySelectorAll('a[href^=\"#\"]')]"
                                       ".map(a => a.getAttribute('href'))")
            assert all(unquote(href[1:]) in ids for href in every_link)

            overlapping = page.evaluate("""() => {
                const boxes = [...document.querySelectorAll('nav li')].map(
                    li => li.getBoundingClientRect());
                const hits = [];
                boxes.forEach((a, i) => boxes.forEach((b, j) => {
                    if (i < j && a.left < b.right - 1 && b.left < a.right - 1
                        && a.top < b.bottom - 1 && b.top < a.bottom - 1) hits.push([i, j]);
                }));
                const spill = [...document.querySelectorAll('nav li')].filter(
                    li => li.scrollWidth > li.clientWidth + 1).length;
                return {hits, spill};
            }""")
            assert overlapping == {"hits": [], "spill": 0}, overlapping

            text = page.evaluate("document.body.innerText")
            assert "`" not in text, "literal backticks on the page"

            for claim in (claims[0], claims[len(claims) // 2], claims[-1]):
                page.goto(f"{url}#claim-{claim}", wait_until="load")
                top, at_bottom = page.evaluate(
                    "id => [document.getElementById(id).getBoundingClientRect().top, "
                    "window.scrollY + window.innerHeight >= "
                    "document.documentElement.scrollHeight - 2]", f"claim-{claim}")
                assert abs(top) < 5 or (top > 0 and at_bottom), (claim, top)
        finally:
            browser.close()
    assert not errors, f"console errors: {errors}"
    assert (report_dir / SCREENSHOT).read_bytes().startswith(b"\x89PNG")
