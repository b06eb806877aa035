"""Argument helpers shared by subcommands.

One name per idea across commands: ``--width``, ``--teacher-width``, ``--dim``, ``--seed``,
``--at``, ``--radius``, ``--sobolev-weight``, ``--json``. Old spellings stay as deprecated
aliases (:class:`DeprecatedAlias`) that warn once and name the new option.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import select
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from theory.activations import get_activation as closed_form_activation
from theory.configurations import PLACEMENTS, Configuration, make_configuration
from theory.validation import require_memory

#: Seconds a command given SIGTERM or Ctrl-C may take to stop by itself before
#: :func:`exit_after_signal` ends the process.
STOP_GRACE_SECONDS = 2.0


@contextlib.contextmanager
def exit_after_signal(message: str, grace: float = STOP_GRACE_SECONDS) -> Iterator[None]:
    """Make SIGTERM and Ctrl-C end the process within ``grace`` seconds, even while the main
    thread is inside one long numpy/LAPACK call (Python runs signal handlers only between
    bytecodes, so a KeyboardInterrupt can wait minutes for such a call to return).

    The interpreter's C-level handler writes each signal to a wakeup socket at once
    (signal.set_wakeup_fd); a watcher thread reading it waits ``grace`` seconds for the command
    to stop by itself, then prints ``message`` (one line) and calls os._exit(2). What the
    command wrote before stays (a sweep's finished rows; a row cut short is recomputed on
    resume); advisory locks die with the process; local pool workers follow their parent
    (parent-death signal). Only in the main thread; elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    try:
        previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    except ValueError:  # not the main interpreter thread after all
        reader.close()
        writer.close()
        yield
        return
    done = threading.Event()
    stopping = {int(signal.SIGTERM), int(signal.SIGINT)}

    def watch() -> None:
        while not done.is_set():
            ready, _, _ = select.select([reader], [], [], 0.2)
            if not ready:
                continue
            try:
                received = reader.recv(64)
            except OSError:
                return
            if stopping & set(received) and not done.wait(grace):
                sys.stderr.write(message.rstrip("\n") + "\n")
                sys.stderr.flush()
                os._exit(2)

    watcher = threading.Thread(target=watch, name="exit-after-signal", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        signal.set_wakeup_fd(previous)
        watcher.join()
        reader.close()
        writer.close()


class Terminated(KeyboardInterrupt):
    """Raised in the main thread on SIGTERM (proofs_check.cli): commands stop as on Ctrl-C."""

RANGE_HELP = "integers also take START:STOP ranges with an exclusive stop (0:3 = 0 1 2)"


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


class DeprecatedAlias(argparse.Action):
    """Store like the option's main spelling; warn when an old spelling is used.

    ``deprecated``: the old option strings (e.g. ("--teacher",)); the first option string of
    the argument is the current name."""

    def __init__(self, option_strings, dest, deprecated=(), nargs=None, **kwargs):
        self.deprecated = tuple(deprecated)
        super().__init__(option_strings, dest, nargs=nargs, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        if option_string in self.deprecated:
            print(f"{parser.prog}: warning: {option_string} is deprecated; use "
                  f"{self.option_strings[0]}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_configuration_options(parser: argparse.ArgumentParser) -> None:
    """--width --teacher-width --dim --seed --at --radius (see theory.configurations)."""
    group = parser.add_argument_group("configuration")
    group.add_argument("--width", "-K", type=positive_int, default=2, help="student width K")
    group.add_argument("--teacher-width", "--teacher", type=positive_int, default=None,
                       action=DeprecatedAlias, deprecated=("--teacher",),
                       help="teacher width K* (default: K)")
    group.add_argument("--dim", "-d", type=positive_int, default=3, help="input dimension d")
    group.add_argument("--seed", "--seeds", type=int, default=0, action=DeprecatedAlias,
                       deprecated=("--seeds",), help="random seed of the configuration")
    group.add_argument("--at", choices=PLACEMENTS, default=None,
                       help="where to evaluate: teacher (W = W*), perturbed (W* + radius noise), "
                            "random (default: perturbed when K = K*, else random)")
    group.add_argument("--radius", type=float, default=None,
                       help="perturbation size (default 0.1) or random scale (default 1.0); "
                            "not with --at teacher")


#: Peak copies of the (K + K*)×d weights a command holds (measured: about 6 for `cond`
#: --method structured at d = 1e7, K = K* = 2: configuration, validation, scaling, span basis).
WEIGHT_COPIES = 8


def configuration_from_args(args: argparse.Namespace) -> Configuration:
    """The configuration of --width --teacher-width --dim --seed --at --radius, refused before
    allocation (MemoryLimitError, exit 2) when its weights cannot fit in memory."""
    if args.at == "teacher" and args.radius is not None:
        raise ValueError("--radius has no effect with --at teacher (W = W*); drop --radius or "
                         "use --at perturbed")
    teacher_width = args.teacher_width if args.teacher_width is not None else args.width
    require_memory(WEIGHT_COPIES * 8.0 * (args.width + teacher_width) * args.dim,
                   f"--width {args.width} --teacher-width {teacher_width} --dim {args.dim} "
                   f"(about {WEIGHT_COPIES} copies of the weights)",
                   "use a smaller --dim or --width")
    return make_configuration(args.width, teacher_width, args.dim, args.seed,
                              at=args.at, radius=args.radius)


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(".")


def check_output_file(path: str | os.PathLike[str], option: str) -> Path:
    """Refuse, before any work, an output file that cannot be written (ValueError naming option).

    The file may exist (it is then overwritten or resumed by the caller); its folder must exist
    and be writable (no folders are created).
    """
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"{option} {str(target)!r} is a directory; give a file path")
    if target.exists():
        if not os.access(target, os.W_OK):
            raise ValueError(f"{option} {str(target)!r} is not writable (permission denied)")
        return target
    if not target.parent.exists():
        raise ValueError(f"{option} {str(target)!r}: the folder {str(target.parent)!r} does "
                         "not exist; create it first (only the file is created)")
    _check_writable_folder(target.parent, option, target)
    return target


def check_output_dir(path: str | os.PathLike[str], option: str) -> Path:
    """Refuse, before any work, an output folder that cannot be created or written."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise ValueError(f"{option} {str(target)!r} exists and is not a directory; give a "
                         "folder path")
    if not target.exists() and not target.parent.exists():
        raise ValueError(f"{option} {str(target)!r}: the folder {str(target.parent)!r} does "
                         "not exist; create it first (only the last folder is created)")
    _check_writable_folder(target, option, target)
    return target


def _check_writable_folder(folder: Path, option: str, target: Path) -> None:
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        raise ValueError(f"{option} {str(target)!r}: {str(existing)!r} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {str(target)!r}: folder {str(existing)!r} is not writable "
                         "(permission denied)")
def configuration_fields(config: Configuration) -> dict[str, Any]:
    """Numeric fields of a configuration for JSON output: K, K*, d, seed, at, radius."""
    fields = {"K": int(config.W.shape[0]), "K*": int(config.W_star.shape[0]),
              "d": int(config.W.shape[1]), "seed": config.seed, "at": config.at,
              "radius": None if config.at == "teacher" else config.radius}
    if fields["radius"] is None:
        fields["radius_reason"] = "evaluated at the teacher (W = W*): no perturbation"
    return fields


def strict(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (JSON has no inf or NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: strict(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [strict(item) for item in value]
    return value


def dump_json(payload: Any) -> str:
    """Strict JSON (non-finite numbers become null; callers add the reason beside them), with
    Unicode kept as it is (like `check --json`)."""
    return json.dumps(strict(payload), indent=2, allow_nan=False, default=str,
                      ensure_ascii=False)
def add_input_law_options(parser: argparse.ArgumentParser) -> None:
    """--second-order-weight, --input-covariance FILE.npy, --spike STRENGTH:RANK."""
    group = parser.add_argument_group("second-order loss and input law")
    group.add_argument("--second-order-weight", type=float, default=1.0, metavar="MU",
                       help="μ in H2 = L + λJ + μJ₂ (loss h2; default 1, the official code's)")
    law = group.add_mutually_exclusive_group()
    law.add_argument("--input-covariance", metavar="FILE.npy", default=None,
                     help="x ~ N(0, Σ) with Σ read from a (d, d) .npy file (symmetric positive "
                          "definite); default Σ = I")
    law.add_argument("--spike", metavar="STRENGTH:RANK", default=None,
                     help="spiked Σ = I + STRENGTH·Σ_{r<RANK} e_r e_rᵀ: spikes on the first RANK "
                          "coordinate axes (proofs_check.analysis.input_laws.spiked_covariance)")


def input_covariance_from_args(args: argparse.Namespace, d: int):
    """Σ from --input-covariance or --spike (None for Σ = I); ValueError naming the option."""
    if getattr(args, "input_covariance", None) or getattr(args, "spike", None):
        from proofs_check.analysis.input_laws import load_covariance, spiked_covariance
    if getattr(args, "input_covariance", None):
        try:
            return load_covariance(args.input_covariance, d)
        except ValueError as exc:
            raise ValueError(f"--input-covariance: {exc}") from None
    spike = getattr(args, "spike", None)
    if spike:
        try:
            strength, rank = spike.split(":")
            return spiked_covariance(d, float(strength), int(rank))
        except ValueError as exc:
            raise ValueError(f"--spike must be STRENGTH:RANK with STRENGTH > -1 and "
                             f"1 <= RANK <= d = {d} (input_covariance); got {spike!r} ({exc})"
                             ) from None
    return None


def describe_input_law(args: argparse.Namespace) -> str:
    if getattr(args, "input_covariance", None):
        return f"x ~ N(0, Σ), Σ from {args.input_covariance}"
    if getattr(args, "spike", None):
        return f"x ~ N(0, Σ), Σ = I + spike {args.spike} (first coordinate axes)"
    return "x ~ N(0, I)"
def add_activation_option(parser: argparse.ArgumentParser, *, closed_form: bool = True) -> None:
    """--activation NAME: "relu" (default), "leaky_relu(α)", "gelu", "erf", "sine" (and "tanh"
    where only measurements are made, closed_form=False)."""
    names = "relu, leaky_relu(0.1) (any slope 0 <= α < 1), gelu, erf, sine"
    parser.add_argument(
        "--activation", default="relu", metavar="NAME",
        help=f"activation σ: {names}" + (", tanh (measured only)" if not closed_form else
                                         "; tanh has no closed form (use validate)")
        + " (default relu)")


def activation_from_args(args: argparse.Namespace, *, closed_form: bool = True) -> str:
    """The canonical spec of --activation (e.g. "leaky_relu(0.1)"); ValueError naming the option
    for an unknown name, or (closed_form) for one theory has no closed form for, e.g. tanh."""
    try:
        if closed_form:  # its message lists only the activations with closed forms
            closed_form_activation(args.activation)
        from numerics.activations import get_activation  # on use: it imports scipy.special

        name = get_activation(args.activation).name
    except ValueError as exc:
        raise ValueError(f"--activation: {exc}") from None
    return name
