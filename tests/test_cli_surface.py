"""The command line as one tool: usage without a command, --version, lazy subcommand imports."""

import json
import pkgutil
import subprocess
import sys

import pytest

import proofs_check
from proofs_check import cli, commands


def test_every_command_module_is_listed_and_every_listed_command_exists():
    modules = {m.name for m in pkgutil.iter_modules(commands.__path__)
               if not m.name.startswith("_")}
    assert modules == {name.replace("-", "_") for name in cli.COMMANDS}  # certify-minimum


def test_no_arguments_prints_usage_to_stderr_and_exits_2(capsys):
    assert cli.main([]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("usage: sobolev-verify")
    assert len(err.strip().splitlines()) == 2


def test_version_matches_package_version(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"sobolev-verify {proofs_check.__version__}"
    assert proofs_check.__version__[0].isdigit()


def test_top_level_help_imports_no_subcommand_module_and_no_numerics():
    code = ("import sys\nfrom proofs_check import cli\n"
            "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "loaded = sorted(m for m in sys.modules if m.startswith(('proofs_check.commands.', "
            "'numerics', 'scipy', 'sympy', 'matplotlib')))\nprint('LOADED', loaded)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "LOADED []" in out


def test_sweep_json_summary_is_strict_and_counts_the_points(tmp_path, capsys):
    out = tmp_path / "s.csv"
    code = cli.main(["sweep", "--width", "1", "2", "--seed", "0:2", "--workers", "1",
                     "--out", str(out), "--json"])
    captured = capsys.readouterr()
    payload = json.loads(captured.out, parse_constant=lambda c: pytest.fail(f"non-strict {c}"))
    assert code == 0
    assert (payload["points"], payload["computed"], payload["failed"]) == (4, 4, 0)
    assert out.read_text().count("\n") == 5  # header + one row per point


def test_sweep_old_spelling_warns_and_names_the_new_one(tmp_path, capsys):
    code = cli.main(["sweep", "--seeds", "0", "--workers", "1", "--no-progress",
                     "--out", str(tmp_path / "s.csv")])
    assert code == 0
    assert "--seeds is deprecated; use --seed" in capsys.readouterr().err


def test_sweep_help_documents_the_range_syntax(capsys):
    with pytest.raises(SystemExit):
        cli.main(["sweep", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "exclusive stop (0:3 = 0 1 2)" in text


def test_grid_file_unknown_key_suggests_the_closest(tmp_path, capsys):
    grid = tmp_path / "g.toml"
    grid.write_text("[grid]\nwidth = [1]\nsobolev_wieght = [1.0]\n")
    assert cli.main(["sweep", "--grid", str(grid), "--out", str(tmp_path / "s.csv")]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'sobolev_wieght' (did you mean 'sobolev_weight'?)" in err


def test_hypothesis_is_a_runtime_dependency():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert any(dep.startswith("hypothesis") for dep in project["project"]["dependencies"])


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_every_subcommand_takes_json(command, capsys):
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    assert "--json" in capsys.readouterr().out
