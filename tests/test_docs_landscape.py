"""docs/findings/landscape.md: its table is what `landscape-table --report-only` prints from the
committed results (docs/results/landscape_table)."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest

from proofs_check.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "findings" / "landscape.md"


def _command_blocks(text: str) -> list[tuple[list[str], str]]:
    blocks = []
    for body in re.findall(r"^```\n(.*?)^```$", text, flags=re.S | re.M):
        first, _, output = body.partition("\n")
        if first.startswith("$ sobolev-verify landscape-table"):
            blocks.append((shlex.split(first[2:])[1:], output))
    return blocks


def test_the_page_shows_the_table_command():
    assert _command_blocks(PAGE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("argv,output", _command_blocks(PAGE.read_text(encoding="utf-8")))
def test_the_page_table_is_what_the_command_prints(argv, output, capsys, monkeypatch):
    assert "--report-only" in argv  # reads the committed files, computes and writes nothing
    monkeypatch.chdir(ROOT)
    before = sorted(os.listdir(ROOT / "docs" / "results" / "landscape_table"))
    assert main(argv) == 0
    assert capsys.readouterr().out == output
    assert sorted(os.listdir(ROOT / "docs" / "results" / "landscape_table")) == before
