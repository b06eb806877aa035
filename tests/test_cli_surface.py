"""The command line as one tool: usage without a command, --version, lazy subcommand imports."""

import pkgutil
import subprocess
import sys

import pytest

import proofs_check
from proofs_check import cli, commands


def test_every_command_module_is_listed_and_every_listed_command_exists():
    modules = {m.name for m in pkgutil.iter_modules(commands.__path__)
               if not m.name.startswith("_")}
    assert modules == set(cli.COMMANDS)


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
