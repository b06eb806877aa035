"""`landscape-table` and the landscape command's new options: results, resume, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from proofs_check.cli import main


@pytest.mark.parametrize("argv", [
    ["landscape-table", "--k", "6:x", "--starts", "3", "--out", "{tmp}"],
    ["landscape-table", "--k", "9:6", "--starts", "3", "--out", "{tmp}"],
    ["landscape-table", "--k", "1", "--starts", "3", "--out", "{tmp}"],
    ["landscape-table", "--k", "6", "--starts", "0", "--out", "{tmp}"],
    ["landscape-table", "--k", "6", "--starts", "3", "--out", "{tmp}", "--protocol", "x"],
    ["landscape-table", "--k", "6", "--starts", "3", "--out", "{tmp}", "--max-steps", "-2"],
    ["landscape-table", "--k", "6", "--starts", "3", "--out", "{tmp}", "--seed", "-1"],
    ["landscape-table", "--k", "6", "--starts", "3", "--out", "{tmp}",
     "--sobolev-weight", "nan"],
    ["landscape-table", "--k", "6", "--starts", "3", "--out", "{tmp}/missing",
     "--report-only"],
    ["landscape-table", "--k", "6", "--starts", "3", "--out", "{tmp}", "--workers", "2",
     "--scheduler", "tcp://127.0.0.1:9"],
    ["landscape", "-K", "3", "--starts", "2", "--step", "0"],
    ["landscape", "-K", "3", "--starts", "2", "--step", "inf"],
    ["landscape", "-K", "3", "--starts", "2", "--step", "x"],
    ["landscape", "-K", "3", "--starts", "2", "--step", "0.1", "0.1"],
    ["landscape", "-K", "3", "--starts", "2", "--protocol", "matlab"],
    ["landscape", "-K", "3", "--starts", "2", "--activation", "tanh"],
    ["landscape", "-K", "3", "--starts", "2", "--activation", "softplus"],
    ["landscape", "-K", "3", "--starts", "2", "--activation", "leaky_relu(1.5)"],
    ["landscape", "-K", "3", "--starts", "2", "--normalised"],
    ["landscape", "-K", "3", "--starts", "2", "--protocol", "safran-shamir", "--normalised",
     "--step", "0.1"],
])
def test_bad_input_is_one_line_and_exit_two(argv, tmp_path, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exc:  # option errors from the parser
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]


def test_table_runs_resumes_and_reports(tmp_path, capsys):
    argv = ["landscape-table", "--k", "6", "--starts", "3", "--overparam", "--max-steps", "3000",
            "--out", str(tmp_path), "--json"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    rows = {(row["k"], row["n"]): row for row in first["rows"]}
    assert set(rows) == {(6, 6), (6, 7)}
    assert rows[(6, 6)]["published"]["bad"] == 3 and rows[(6, 6)]["published"]["runs"] == 1000
    assert rows[(6, 7)]["published"]["inferred"] is True
    for row in rows.values():
        for variant in ("l2", "h1"):
            assert 0 <= row[variant]["bad"] <= 3
            low, high = row[variant]["wilson95"]
            assert low <= row[variant]["fraction"] <= high
        assert 0 < row["l2"]["fisher_p"] <= 1 and 0 < row["paired"]["mcnemar_p"] <= 1
    lines = (tmp_path / "k06.jsonl").read_text().splitlines()
    assert len(lines) == 12  # 2 widths × 2 losses × 3 starts
    # resumed: nothing recomputed, same table; --report-only prints it without writing
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == first["rows"]
    assert (tmp_path / "k06.jsonl").read_text().splitlines() == lines
    table = (tmp_path / "table.txt").read_text()
    assert main(["landscape-table", "--k", "6", "--starts", "3", "--overparam", "--max-steps",
                 "3000", "--out", str(tmp_path), "--report-only"]) == 0
    assert capsys.readouterr().out == table
    # the compact outcomes file alone gives the same table
    (tmp_path / "k06.jsonl").unlink()
    assert main(["landscape-table", "--k", "6", "--starts", "3", "--overparam", "--max-steps",
                 "3000", "--out", str(tmp_path), "--report-only"]) == 0
    assert capsys.readouterr().out == table


def test_table_figure_draws_markers_only(tmp_path, capsys):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from proofs_check.report.figures import landscape

    assert main(["landscape-table", "--k", "6", "--starts", "2", "--out", str(tmp_path),
                 "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    drawn = []
    original = plt.Figure.savefig

    def record(fig, *args, **kwargs):
        drawn.extend(line.get_linestyle() for ax in fig.axes for line in ax.get_lines()
                     if len(line.get_xdata()) > 0 and line.get_marker() not in ("", "None"))
        return original(fig, *args, **kwargs)

    plt.Figure.savefig = record
    try:
        out = landscape.figure_landscape_table(tmp_path / "table.png", table)
    finally:
        plt.Figure.savefig = original
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert drawn and set(drawn) == {"None"}  # no line joins values at different k


def test_levels_match_published_values_not_rounded_strings():
    from types import SimpleNamespace

    from proofs_check.commands.landscape_table import summarise
    from proofs_check.data import safran_shamir

    published = safran_shamir.experiment(9, 9)["levels"]  # 0.020014… (213), 0.037490… (5)
    low = published[0]["loss"]

    def point(i, l2, cls="spurious_minimum"):
        return SimpleNamespace(start=i, cls=cls, capped=False, l2_loss=l2, objective=l2)

    # one level straddling a 4-digit rounding boundary stays one level; a published level
    # absent here with 5/1000 published hits over 20 starts is "rare", one with 213 "MISSING"
    boundary = 0.0542249999
    points = {i: point(i, 0.0, "global") for i in range(20)}
    points.update({0: point(0, boundary * (1 - 1e-9)), 1: point(1, boundary * (1 + 1e-9))})
    row = summarise(9, 9, {"l2": points}, 20, 1e-3)
    assert row["new_levels"] == {"0.05422": 2}
    assert [lv["status"] for lv in row["levels"]] == ["MISSING", "rare"]
    points[2] = point(2, low * (1 + 1e-8))
    row = summarise(9, 9, {"l2": points}, 20, 1e-3)
    assert row["levels"][0]["here"] == 1 and row["levels"][0]["status"] == "found"



@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_an_out_folder_that_cannot_be_created_names_out(capsys):
    """/proc accepts no new folder: the name passes the path checks, mkdir itself fails."""
    assert main(["landscape-table", "--k", "6", "--starts", "3", "--out", "/proc/results"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--out" in err[0] and "Traceback" not in err[0], err
