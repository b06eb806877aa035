"""`landscape-table` and the landscape command's new options: results, resume, bad input."""

from __future__ import annotations

import json

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
