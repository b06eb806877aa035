"""The `sobolev-verify` command line: a thin layer over the library.

Each subcommand lives in its own module under proofs_check.commands and exposes
``register(subparsers)``, which adds its parser and sets ``func(args) -> int`` as the handler.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import signal
import sys
import threading

from proofs_check import commands
from proofs_check.commands._options import Terminated


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sobolev-verify",
        description="Verify the theory of Sobolev acceleration for shallow ReLU networks.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(subparsers)
    return parser


def _raise_terminated(signum, frame):  # noqa: ARG001 - signal handler signature
    raise Terminated()


def _describe_os_error(exc: OSError) -> str:
    """One line for an environment failure: what failed and on which path or address."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is not None:
        return f"{reason}: {str(exc.filename)!r}"
    return reason


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand. Exit codes: 0 success, 1 a verdict or validation disagrees,
    2 bad input or an environment problem (unwritable path, unreachable scheduler, Ctrl-C or
    SIGTERM, out of memory): one line on stderr naming what went wrong, never a traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    prefix = f"sobolev-verify {args.command}: error:"
    previous_sigterm = None
    if threading.current_thread() is threading.main_thread():
        previous_sigterm = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
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
    except Terminated:
        print(f"sobolev-verify {args.command}: terminated (SIGTERM); stopped", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"sobolev-verify {args.command}: interrupted (Ctrl-C); stopped", file=sys.stderr)
        return 2
    finally:
        if previous_sigterm is not None:
            signal.signal(signal.SIGTERM, previous_sigterm)


if __name__ == "__main__":
    sys.exit(main())
