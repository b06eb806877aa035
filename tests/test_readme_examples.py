"""README examples: every Python block runs on its own, and the printed command-line outputs
shown for `cond`, `derive` and `flow` are what those commands print."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from proofs_check.cli import main

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)
# "$ sobolev-verify ARGS" followed by its output, inside an indented ``` block
SHELL_EXAMPLES = re.findall(r"\n( *)```\n\1\$ sobolev-verify ([^\n]*)\n(.*?)\n\1```", README, re.S)


@pytest.mark.parametrize("block", PYTHON_BLOCKS,
                         ids=[b.splitlines()[0][:40] for b in PYTHON_BLOCKS])
def test_python_example_is_self_contained(block):
    result = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True,
                            cwd=Path(__file__).parents[1], timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("indent, argv, shown",
                         [e for e in SHELL_EXAMPLES
                          if e[1].split()[0] in ("cond", "derive", "flow")])
def test_shown_output_is_the_printed_output(indent, argv, shown, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SOBOLEV_VERIFY_CACHE", str(tmp_path))
    assert main(shlex.split(argv)) == 0
    printed = capsys.readouterr().out.rstrip("\n")
    expected = "\n".join(line[len(indent):] for line in shown.splitlines())
    assert printed == expected


def test_the_readme_has_shell_examples_to_check():
    assert {e[1].split()[0] for e in SHELL_EXAMPLES} >= {"cond", "derive", "flow"}
