"""The `sobolev-verify` command line: a thin layer over the library.

Each subcommand lives in its own module under proofs_check.commands and exposes
``register(subparsers)``, which adds its parser and sets ``func(args) -> int`` as the handler.
Only the module of the subcommand being run is imported (``sobolev-verify --help`` imports none),
so the command line starts fast; :data:`COMMANDS` lists them with their one-line help.
"""

from __future__ import annotations

import argparse
import importlib
import re
import signal
import sys
import threading
from collections.abc import Sequence

from proofs_check import __version__

#: subcommand -> one-line help shown by `sobolev-verify --help` (the module adds the full parser).
COMMANDS: dict[str, str] = {
    "check": "the main job: settle every claim, write report.md, report.html and figures",
    "certify-minimum": "prove a spurious l2 minimum and its h1 trap (ball arithmetic)",
    "cond": "condition numbers of the population Hessian (l2 and h1, both conventions)",
    "derive": "print the SymPy-derived one-neuron formulas",
    "flow": "integrate the L2 and H1 gradient flows and compare rates",
    "landscape": "census of spurious minima: l2 vs h1 descent from many random starts",
    "landscape-table": "Safran & Shamir's table of spurious minima, rerun, with h1 columns",
    "sweep": "κ and spectra over a grid of configurations (resumable CSV; local or Dask)",
    "validate": "closed form vs quadrature vs Monte-Carlo for loss, gradient, Hessian",
}

DESCRIPTION = ("Verify the theory of Sobolev acceleration for shallow ReLU networks "
               "(Oh, Lyu & Son 2025). Run `sobolev-verify COMMAND --help` for a command's "
               "options. Exit status: 0 success, 1 a verdict or validation disagrees, "
               "2 bad input or environment problem.")


def _selected_command(argv: Sequence[str]) -> str | None:
    """The subcommand named in argv (the first argument that is not an option), if any."""
    for token in argv:
        if token == "--":
            return None
        if not token.startswith("-"):
            return token if token in COMMANDS else None
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with ``argv``, only the subcommand named in it gets its full parser (the
    others are listed with their help line), so that only its module is imported."""
    parser = argparse.ArgumentParser(prog="sobolev-verify", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    selected = _selected_command(argv) if argv is not None else None
    for name, help_text in COMMANDS.items():
        if argv is None or name == selected:
            module = importlib.import_module(f"proofs_check.commands.{name.replace('-', '_')}")
            module.register(subparsers)
        else:
            subparsers.add_parser(name, help=help_text)
    for command_parser in (parser, *subparsers.choices.values()):
        # a value such as "-0.5:1" (--spike STRENGTH:RANK) or "-1e-3" is a value, not an option
        command_parser._negative_number_matcher = _NEGATIVE_VALUE
    return parser


#: Arguments that start with "-" but are values: negative numbers in any float notation and
#: negative STRENGTH:RANK spikes (no option of the tool looks like this).
_NEGATIVE_VALUE = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?(:\d+)?$")


def _foreign_digits(token: str) -> bool:
    """A number (or STRENGTH:RANK, or --opt=number) that Python would read although it uses
    non-ASCII digits ('٣' is 3 to int() and float())."""
    value = token.split("=", 1)[1] if token.startswith("--") and "=" in token else token
    if value.isascii() or not any(ch.isdecimal() for ch in value):
        return False
    for part in value.split(":"):
        try:
            float(part)
        except ValueError:
            return False
    return True


def _raise_terminated(signum, frame):  # noqa: ARG001 - signal handler signature
    from proofs_check.commands._options import Terminated  # lazily: --help imports no command

    raise Terminated()


def _describe_os_error(exc: OSError) -> str:
    """One line for an environment failure: what failed and on which path or address."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is not None:
        return f"{reason}: {str(exc.filename)!r}"
    return reason


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand (with theory.threads.TOOLKIT_BLAS_THREADS = 1 BLAS thread in this
    process unless the user set OPENBLAS_NUM_THREADS, OMP_NUM_THREADS or MKL_NUM_THREADS: the
    toolkit's products are small, and on a busy machine OpenBLAS's idle threads spin). Exit
    codes: 0 success, 1 a verdict or validation disagrees, 2 bad input or an environment
    problem (unwritable path, unreachable scheduler, Ctrl-C or SIGTERM, out of memory): one
    line on stderr naming what went wrong, never a traceback."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    if not argv:  # usage and one line on stderr, like git or pip without arguments
        parser.print_usage(sys.stderr)
        print("sobolev-verify: error: a COMMAND is required (one of "
              f"{', '.join(COMMANDS)}); see `sobolev-verify --help`", file=sys.stderr)
        return 2
    foreign = next((token for token in argv if _foreign_digits(token)), None)
    if foreign is not None:
        parser.print_usage(sys.stderr)
        print(f"sobolev-verify: error: {foreign!r} is a number written with non-ASCII digits; "
              "write numbers with the digits 0-9", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_usage(sys.stderr)
        print("sobolev-verify: error: a COMMAND is required", file=sys.stderr)
        return 2
    prefix = f"sobolev-verify {args.command}: error:"
    previous_sigterm = None
    if threading.current_thread() is threading.main_thread():
        previous_sigterm = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        from theory.threads import blas_threads  # one BLAS thread unless the user chose

        with blas_threads():
            return int(args.func(args) or 0)
    except ValueError as exc:  # bad input: a message and a non-zero exit, never a traceback
        print(f"{prefix} {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early
        sys.stderr.close()
        return 0
    except OSError as exc:  # unwritable path, directory given as a file, unreachable scheduler
        print(f"{prefix} {_describe_os_error(exc)}", file=sys.stderr)
        return 2
    except ImportError as exc:  # an optional extra is missing
        print(f"{prefix} {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"{prefix} out of memory: the request is too large for this machine; use a "
              "smaller width/dim, fewer samples or the structured method", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM raised as Terminated (a subclass)
        what = ("terminated (SIGTERM)" if type(exc).__name__ == "Terminated"
                else "interrupted (Ctrl-C)")
        print(f"sobolev-verify {args.command}: {what}; stopped", file=sys.stderr)
        return 2
    finally:
        if previous_sigterm is not None:
            signal.signal(signal.SIGTERM, previous_sigterm)


if __name__ == "__main__":
    sys.exit(main())
