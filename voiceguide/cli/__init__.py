"""The `voiceguide` command line: parse → settings → check → build → run. Printing lives here only."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import Protocol

from voiceguide import __version__

__all__ = ["main", "UsageError", "UserError", "build_parser"]

# Each module registers its own subcommands; one job per module.
_COMMAND_MODULES = (
    "voiceguide.cli.pack",
    "voiceguide.cli.audio",
    "voiceguide.cli.session",
    "voiceguide.cli.run",
    "voiceguide.cli.serve",
    "voiceguide.cli.speech",
    "voiceguide.cli.doctor",
)


class UserError(Exception):
    """A problem the user can fix (bad input, missing device or model): one message, no traceback."""

    exit_code = 1


class UsageError(UserError):
    """The command line itself is wrong."""

    exit_code = 2


class _Registrar(Protocol):
    def __call__(self, sub: argparse._SubParsersAction, groups: dict[str, argparse._SubParsersAction]) -> None: ...


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors with exit code 2 and one line, as the rest of the CLI does."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        raise UsageError(message)

    def _get_value(self, action: argparse.Action, arg_string: str) -> object:
        """A type that raises UserError (a bad path: exit 1) keeps its exit code; the message names the flag."""
        try:
            return super()._get_value(action, arg_string)
        except UserError as exc:
            name = "/".join(action.option_strings) or action.metavar or action.dest
            raise type(exc)(f"argument {name}: {exc}") from None


def build_parser() -> argparse.ArgumentParser:
    """The full parser: common options, then each module's subcommands."""
    parser = _Parser(prog="voiceguide", description="Offline, hands-free, voice-guided routines.")
    parser.add_argument("--version", action="version", version=f"voiceguide {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    groups: dict[str, argparse._SubParsersAction] = {}
    for name in _COMMAND_MODULES:
        module = importlib.import_module(name)
        register: _Registrar = module.register
        register(sub, groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script and of `python -m voiceguide`."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        logging.basicConfig(
            level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
            format="%(levelname)s %(name)s: %(message)s",
        )
        if args.verbose < 2:  # transitions logs every callback at INFO: only worth it when debugging
            logging.getLogger("transitions").setLevel(logging.WARNING)
        handler = getattr(args, "handler", None)
        if handler is None:
            parser.print_help()
            return 2
        return int(handler(args) or 0)
    except UserError as exc:
        print(f"voiceguide: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("voiceguide: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`voiceguide pack schema | head`): stop quietly, as other tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:  # a path the checks could not foresee (disk full, a folder removed meanwhile)
        logging.getLogger(__name__).debug("uncaught OSError", exc_info=True)
        from voiceguide.cli.checks import os_error_message

        print(f"voiceguide: {os_error_message(exc)}", file=sys.stderr)
        return 1
