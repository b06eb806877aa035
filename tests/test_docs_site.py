"""The documentation's shape: a short README front door, a MkDocs nav that lists every page (and
only pages that exist), no internal issue numbers and no first-person notes, and the README's
test command being the one continuous integration runs."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.rglob("*.md"))]

ISSUE_NUMBER = re.compile(r"\bissues?[\s-]*(?:#|no\.?\s*)?\d+", re.I)
# "I" + a verb of a first-person note, "I'm"/"I've", "my"; not the identity matrix
# ("Σ = I take the lean route", "a scalar times I plus a rank-2 part")
_VERBS = ("could|can|cannot|can't|couldn't|did|didn't|do|don't|have|had|was|am|will|would|"
          "think|thought|found|measured|ran|tried|believe|saw|wrote|used|got|added|fixed|"
          "checked|note|noticed|suspect|guess|assume|looked|kept|left|removed|changed|made")
FIRST_PERSON = re.compile(rf"(?<![\w.`])(?:I (?:{_VERBS})\b|I'(?:m|ve|d|ll)\b|[Mm]y )")


def _nav_pages() -> list[str]:
    """The .md paths listed under `nav:` in mkdocs.yml (read as text: PyYAML is not a test
    dependency, and the nav is a plain list of `- Title: path.md` / `- path.md` lines)."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = text.split("\nnav:\n", 1)[1]
    lines = []
    for line in nav.splitlines():
        if line and not line.startswith((" ", "-", "#")):
            break  # the next top-level key
        lines.append(line)
    return re.findall(r"(?:^|:\s|-\s)([\w./-]+\.md)\s*$", "\n".join(lines), re.M)


def test_the_readme_is_a_short_front_door():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines (limit 250)"
    long = [(number, len(line)) for number, line in enumerate(lines, 1) if len(line) > 200]
    assert not long, f"README.md lines over 200 characters (line, length): {long}"


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_no_issue_numbers_and_no_first_person(page):
    text = page.read_text(encoding="utf-8")
    assert not ISSUE_NUMBER.findall(text), f"{page.name}: internal issue references"
    assert not FIRST_PERSON.findall(text), f"{page.name}: first-person text " \
                                           f"{FIRST_PERSON.findall(text)}"


def test_the_patterns_catch_what_they_are_meant_to_catch():
    assert ISSUE_NUMBER.search("see the issue-16 notes")
    assert ISSUE_NUMBER.search("(issue 12)") and ISSUE_NUMBER.search("Issues 12/13")
    assert FIRST_PERSON.search("I could not retrieve the table")
    assert FIRST_PERSON.search("on my machine")
    assert not FIRST_PERSON.search("Σ = I + UUᵀ, (I ⊗ L) H, I_d, u, v, I`")
    assert not FIRST_PERSON.search("at Σ = I take the lean route; a scalar times I plus")


def test_every_nav_entry_exists_and_every_page_is_in_the_nav():
    nav = _nav_pages()
    assert nav, "no pages found under nav: in mkdocs.yml"
    assert len(nav) == len(set(nav)), "a page is listed twice in the nav"
    missing = [page for page in nav if not (DOCS / page).is_file()]
    assert not missing, f"nav entries without a file under docs/: {missing}"
    pages = {path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md")}
    unlisted = sorted(pages - set(nav))
    assert not unlisted, f"pages under docs/ missing from the nav of mkdocs.yml: {unlisted}"


def test_ci_runs_the_readme_test_command():
    """.ci/run runs exactly the README's test command (after its own venv activation)."""
    readme = README.read_text(encoding="utf-8")
    commands = [line for line in re.findall(r"```bash\n(.*?)```", readme, re.S)
                if "pytest" in line]
    assert len(commands) == 1, "the README should show one test command"
    command = commands[0].strip().split(" && ", 2)[-1]  # after `python3 -m venv … && . …`
    assert command.startswith("pip install -e '.[test]'"), command
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_the_readme_links_resolve():
    """README.md is read on the forge, outside MkDocs: its relative links must name files."""
    links = re.findall(r"\]\(([^)\s]+)\)", README.read_text(encoding="utf-8"))
    local = [link.split("#")[0] for link in links if "://" not in link and link[0] != "#"]
    assert local, "the README links to no documentation page"
    missing = [link for link in local if not (ROOT / link).exists()]
    assert not missing, f"README links to missing files: {missing}"
