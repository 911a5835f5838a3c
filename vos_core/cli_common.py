"""Shared pieces of the command-line tools (``vos_core.propagate``, ``vos_core.evaluate``).

* :class:`OneLineParser`: argparse whose usage errors are one ``error: ...`` line (exit 2).
* :func:`add_model_args` / :func:`session_config`: ``--arch``, ``--process-height``, ``--threads``,
  ``--adapt/--no-adapt``.
* :func:`staged_output_dir`: outputs go to a sibling ``DIR.partial-XXXX`` renamed to ``DIR`` only on
  success, so a failed or interrupted run never leaves a half-written ``DIR`` (``evaluate``).
* :func:`make_output_dir` / :func:`remove_temp_files`: for tools that write their results into ``DIR``
  one file at a time, each atomically, so an interrupted run keeps every finished file and can be
  resumed (``propagate``).
* :func:`run_cli`: the error wrapper: ``VosError``/``OSError`` -> one line and exit 2, Ctrl-C -> 130,
  anything else -> ``error: internal error: ...`` and exit 1 (traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn

from vos_core.config import AdaptConfig, SessionConfig
from vos_core.errors import VosError, VosInputError

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_INPUT = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A command-line usage problem (bad option value, missing option)."""


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that raises :class:`UsageError` instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def one_line(text: object) -> str:
    """``text`` squeezed onto one line (user messages must never span lines)."""
    return " ".join(str(text).split()) or "unknown error"


def print_error(message: object) -> None:
    print(f"error: {one_line(message)}", file=sys.stderr, flush=True)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def on_off(text: str) -> bool:
    """An ``on``/``off`` switch -> True/False."""
    if text not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"expected on or off, got {text!r}")
    return text == "on"


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """``--arch``, ``--process-height``, ``--threads``, ``--adapt/--no-adapt``, ``--flip/--no-flip``,
    ``--adapt-steps`` and ``--adapt-copies``."""
    from vos_core.models.registry import default_arch

    defaults = SessionConfig()
    parser.add_argument(
        "--arch", default=default_arch(),
        help="architecture (default: %(default)s, the best shipped trained one; --list-archs in evaluate)",
    )
    parser.add_argument(
        "--process-height", type=positive_int, default=defaults.process_height, metavar="N",
        help="process frames at most N pixels tall; outputs keep the original size "
        "(default: the model's own height, from its card; 480 for propagation)",
    )
    parser.add_argument(
        "--threads", type=non_negative_int, default=defaults.threads, metavar="N",
        help="CPU threads (0 = all cores, default)",
    )
    parser.add_argument(
        "--adapt", action=argparse.BooleanOptionalAction, default=defaults.adapt.enabled,
        help="learn from the given masks before propagating (adaptation to the video; default: "
        "%(default)s; up to about 10 s per given mask on 2 CPU cores)",
    )
    parser.add_argument(
        "--flip", action=argparse.BooleanOptionalAction, default=defaults.flip,
        help="test-time augmentation: also read each frame mirrored and average (about half the "
        "fps; default: %(default)s)",
    )
    parser.add_argument(
        "--adapt-steps", type=positive_int, default=defaults.adapt.steps, metavar="N",
        help="optimiser steps per adaptation (default: %(default)s; time grows with it)",
    )
    parser.add_argument(
        "--adapt-copies", type=positive_int, default=defaults.adapt.copies, metavar="N",
        help="augmented copies encoded per given mask for the adaptation (default: %(default)s)",
    )


def add_run_args(parser: argparse.ArgumentParser) -> None:
    """``--overwrite``, ``--quiet`` and ``--debug``."""
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")


def session_config(args: argparse.Namespace) -> SessionConfig:
    """The :class:`SessionConfig` asked for on the command line; unknown arch -> ``VosInputError``."""
    from vos_core.models.registry import arch_names

    if args.arch not in arch_names():
        raise VosInputError(
            f"unknown architecture {args.arch!r} (known: {', '.join(arch_names())})"
        )
    try:
        return SessionConfig(
            arch=args.arch, process_height=args.process_height, threads=args.threads,
            adapt=AdaptConfig(
                enabled=args.adapt, steps=args.adapt_steps, copies=args.adapt_copies,
                threads=args.threads,
            ),
            flip=args.flip,
        )
    except ValueError as error:
        raise VosInputError(str(error)) from error


def arch_lines() -> list[str]:
    """``NAME<TAB>trained|untrained`` for every registered architecture."""
    from vos_core.models.registry import arch_names, get_spec

    return [
        f"{name}\t{'trained' if get_spec(name).trained else 'untrained'}"
        for name in arch_names()
    ]


# ---------------------------------------------------------------------------- output folder
def check_output_dir(out: Path, overwrite: bool) -> None:
    """Fail early (before any work) if ``out`` cannot become the output folder."""
    if out.exists() and not out.is_dir():
        raise VosInputError(f"output {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise VosInputError(f"output folder {out} is not empty (use --overwrite to replace it)")
    for parent in out.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise VosInputError(f"cannot create output folder {out}: {parent} is not a folder")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise VosInputError(f"cannot create output folder {out}: {parent} is not writable")
            break


def _make_parents(folder: Path) -> list[Path]:
    """Create the missing ancestors of ``folder``; return the ones created (deepest first)."""
    missing = [p for p in reversed(folder.parents) if not p.exists()]
    for parent in missing:
        parent.mkdir()
    return list(reversed(missing))


def _commit(partial: Path, out: Path) -> None:
    if not out.exists():
        os.rename(partial, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f"{out.name}.old-", dir=out.parent))
    old.rmdir()
    os.rename(out, old)
    try:
        os.rename(partial, out)
    except OSError:
        os.rename(old, out)  # put the previous folder back
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged_output_dir(out: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a fresh sibling folder ``OUT.partial-XXXX``; on success it becomes ``OUT``.

    A non-empty ``OUT`` is refused unless ``overwrite`` (it is then replaced only after success).
    On any exception (Ctrl-C included) the partial folder and any parent folders created for it are
    removed and ``OUT`` is left as it was.
    """
    target = Path(out).absolute()
    check_output_dir(target, overwrite)
    created: list[Path] = []
    partial: Path | None = None
    try:
        try:
            created = _make_parents(target)
            partial = Path(tempfile.mkdtemp(prefix=f"{target.name}.partial-", dir=target.parent))
        except OSError as error:
            raise VosInputError(f"cannot create output folder {out}: {error.strerror or error}") from error
        yield partial
        try:
            _commit(partial, target)
        except OSError as error:
            raise VosInputError(f"cannot write output folder {out}: {error.strerror or error}") from error
    except BaseException:
        if partial is not None:
            shutil.rmtree(partial, ignore_errors=True)
        for parent in created:
            with contextlib.suppress(OSError):
                parent.rmdir()
        raise



def make_output_dir(out: str | Path, overwrite: bool = False, keep: bool = False) -> Path:
    """Create ``out`` (and its missing parents) for results written into it one file at a time, each
    atomically (:mod:`vos_core.data.atomic`), so an interrupted run leaves only whole files.

    A non-empty ``out`` is refused unless ``overwrite`` (its contents are then deleted) or ``keep``
    (its contents stay: resuming a run). Call it only once every input has been validated: nothing is
    created or deleted before. Returns the absolute folder.
    """
    target = Path(out).absolute()
    if keep and target.is_dir():
        if not os.access(target, os.W_OK | os.X_OK):
            raise VosInputError(f"cannot write output folder {out}: it is not writable")
        return target
    check_output_dir(target, overwrite)
    try:
        if target.is_dir():
            for entry in target.iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        target.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise VosInputError(f"cannot create output folder {out}: {error.strerror or error}") from error
    return target


def remove_temp_files(folder: Path) -> list[Path]:
    """Delete the hidden temporary files (``.NAME.XXXX.tmp.EXT``) that a process killed in the middle
    of an atomic write left in ``folder``; return them."""
    stale = [path for path in folder.glob(".*.tmp*") if path.is_file()]
    for path in stale:
        with contextlib.suppress(OSError):
            path.unlink()
    return stale

# ---------------------------------------------------------------------------- error wrapper
def run_cli(
    parser: argparse.ArgumentParser,
    body: Callable[[argparse.Namespace], int],
    argv: Sequence[str] | None = None,
) -> int:
    """Parse ``argv`` and run ``body(args)``, turning every failure into an exit code and at most one
    ``error:`` line on stderr (plus a traceback for internal errors with ``--debug``)."""
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(None if argv is None else list(argv))
        return body(args)
    except UsageError as error:
        print_error(error)
        return EXIT_INPUT
    except VosError as error:
        print_error(error)
        return EXIT_INPUT
    except OSError as error:
        where = f" ({error.filename})" if getattr(error, "filename", None) else ""
        print_error(f"{error.strerror or error}{where}")
        return EXIT_INPUT
    except KeyboardInterrupt:
        print_error("interrupted")
        return EXIT_INTERRUPTED
    except SystemExit as exit_:  # --help / --version from argparse
        return exit_.code if isinstance(exit_.code, int) else EXIT_OK
    except Exception as error:  # noqa: BLE001 - the last line of defence
        if debug:
            traceback.print_exc()
        print_error(f"internal error: {type(error).__name__}: {error}")
        return EXIT_INTERNAL
