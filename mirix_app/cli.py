"""`mirix ...`: the command-line face of the memory core (and, through plugins, capture and agent)."""

from __future__ import annotations

import argparse
import getpass
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from mirix_app import __version__
from mirix_app.errors import InvalidInput, MirixError
from mirix_app.logs import setup_logging
from mirix_app.paths import Paths, set_home

log = logging.getLogger(__name__)

# Modules that add their own subcommands: each has `register(subparsers) -> None` and sets
# `func=callable(args) -> int` on its parsers. Every one is part of the app: a missing one is a
# broken install, reported as such (not skipped).
COMMAND_MODULES = (
    "mirix_app.memory.commands",
    "mirix_app.capture.commands",
    "mirix_app.agent.commands",
    "mirix_app.agent.digest",
    "mirix_app.commands_extra",
)


class BrokenInstall(MirixError):
    """A module the command line lists is missing."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mirix",
        description="Your local memory: add, search and manage what you have seen and said.",
    )
    parser.add_argument("--version", action="version", version=f"mirix {__version__}")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="keep all data, settings, cache and logs here (same as MIRIX_HOME)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log to stderr too")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name and name.startswith(e.name):
                raise BrokenInstall(
                    f"the command module {name} is missing: this install of mirix is incomplete",
                    "reinstall mirix-app (pip install --force-reinstall mirix-app)",
                ) from e
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
    except BrokenInstall as e:
        return _report(e)
    args = parser.parse_args(argv)
    if args.data_dir:
        set_home(args.data_dir)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    from mirix_app.memory.keys import PassphraseNeeded, set_session_passphrase

    try:
        setup_logging(Paths.default(), args.verbose)
        try:
            return int(func(args) or 0)
        except PassphraseNeeded as e:
            if not sys.stdin.isatty():
                raise
            set_session_passphrase(ask_passphrase(new=e.new))
            return int(func(args) or 0)
    except MirixError as e:
        return _report(e)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _report(e: MirixError) -> int:
    print(f"error: {e.message}", file=sys.stderr)
    if e.hint:
        print(f"  hint: {e.hint}", file=sys.stderr)
    return 1


def ask_passphrase(*, new: bool) -> str:
    print(
        "No OS keyring is available: mirix encrypts your data with a passphrase instead.",
        file=sys.stderr,
    )
    phrase = getpass.getpass("Passphrase: ")
    if new:
        if len(phrase) < 8:
            raise InvalidInput("the passphrase must have at least 8 characters")
        if getpass.getpass("Again: ") != phrase:
            raise InvalidInput("the two passphrases differ; nothing was created")
    if not phrase:
        raise InvalidInput("no passphrase given")
    return phrase


if __name__ == "__main__":
    sys.exit(main())
