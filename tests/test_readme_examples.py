"""Examples on every documentation page (README.md and docs/**/*.md): every ```python block runs
on its own in a fresh interpreter (in a scratch folder, so it cannot write into the repository),
and a plain ``` block whose first line is `$ sobolev-verify ARGS` shows exactly what that
command prints (for `cond`, `derive` and `flow`; an example that exits 2 shows its stderr line).
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from proofs_check.cli import main

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
#: Commands whose shown output is replayed (cheap and deterministic on any machine).
REPLAYED = ("cond", "derive", "flow")


def _name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def _python_blocks() -> list:
    blocks = []
    for page in PAGES:
        for block in re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            blocks.append(pytest.param(block, id=f"{_name(page)}:{block.splitlines()[0][:40]}"))
    return blocks


def _shell_examples() -> list:
    """(page, indent, argv, shown) of each plain ``` block starting with `$ sobolev-verify`."""
    examples = []
    pattern = re.compile(r"\n( *)```\n\1\$ sobolev-verify ([^\n]*)\n(.*?)\n\1```", re.S)
    for page in PAGES:
        for indent, argv, shown in pattern.findall(page.read_text(encoding="utf-8")):
            examples.append((_name(page), indent, argv, shown))
    return examples


SHELL_EXAMPLES = _shell_examples()


@pytest.mark.parametrize("block", _python_blocks())
def test_python_example_is_self_contained(block, tmp_path):
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True,
                            cwd=tmp_path, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("page, indent, argv, shown",
                         [e for e in SHELL_EXAMPLES if e[2].split()[0] in REPLAYED],
                         ids=lambda value: value if "\n" not in str(value) else "")
def test_shown_output_is_the_printed_output(page, indent, argv, shown, capsys, tmp_path,
                                            monkeypatch):
    monkeypatch.setenv("SOBOLEV_VERIFY_CACHE", str(tmp_path))
    try:
        code = main(shlex.split(argv))
    except SystemExit as exc:  # argparse errors
        code = exc.code
    captured = capsys.readouterr()
    assert code in (0, 2), f"{page}: `sobolev-verify {argv}` exited {code}"
    printed = (captured.out if code == 0 else captured.err).rstrip("\n")
    expected = "\n".join(line[len(indent):] for line in shown.splitlines())
    assert printed == expected


def test_the_pages_have_shell_examples_to_check():
    assert {e[2].split()[0] for e in SHELL_EXAMPLES} >= set(REPLAYED)
