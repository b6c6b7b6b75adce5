"""`voiceguide serve`: the boot-time mode of the shelf speaker (systemd runs it; see scripts/voiceguide.service)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide.cli import UserError, checks
from voiceguide.cli.run import (
    add_settings_arguments,
    device_probe,
    listener_factory,
    load_settings,
    packs_folder,
    run_settings,
    run_until_stopped,
    transcript_writer,
)

if TYPE_CHECKING:
    from voiceguide.packs.loader import LoadedPack

__all__ = ["EXIT_RESTART", "register", "ConfigFileError", "installed_packs"]

_LOGGER = logging.getLogger(__name__)

EXIT_RESTART = 70
"""EX_SOFTWARE: serve kept failing or crashed; the unit restarts on it (it does not on 1, 2 and 78)."""


class ConfigFileError(UserError):
    """A config file that cannot be used: EX_CONFIG, which the service unit does not restart on."""

    exit_code = 78


def register(sub: argparse._SubParsersAction, groups: dict[str, argparse._SubParsersAction]) -> None:
    """Add `serve`."""
    p = sub.add_parser("serve", help="wait quietly for 'start', guide a routine, wait again (boot-time mode)")
    add_settings_arguments(p)
    p.add_argument("--retry-seconds", type=checks.number(above=0, high=3600, what="a number of seconds"),
                   default=5.0, help="wait between looks for a missing microphone")
    p.add_argument("--once", action="store_true", help="exit after one session")
    p.set_defaults(handler=cmd_serve)


def installed_packs(default: LoadedPack, folder: Path) -> list[LoadedPack]:
    """The default pack first, then every other built-in or user pack in its language (a broken one is logged)."""
    from voiceguide.core.commands import base_language
    from voiceguide.packs.loader import PACK_FILE, PackError, builtin_ids, load_pack

    language = base_language(default.pack.pack.language)
    found = {default.pack.pack.id: default}
    specs: list[str | Path] = [*builtin_ids()]
    if folder.is_dir():
        specs += [p.parent for p in sorted(folder.glob(f"*/{PACK_FILE}"))]
    for spec in specs:
        try:
            loaded = load_pack(spec, folder)
        except PackError as exc:
            _LOGGER.warning("pack %s is not offered: %d problem(s); see `voiceguide pack check %s`",
                            spec, len(exc.problems), spec)
            continue
        if base_language(loaded.pack.pack.language) == language:
            found.setdefault(loaded.pack.pack.id, loaded)
    return list(found.values())


def cmd_serve(args: argparse.Namespace) -> int:
    """Config → packs and their settings → wait/guide loop until SIGTERM (exit 0)."""
    from voiceguide.cli.pack import open_pack
    from voiceguide.cli.session import _open_store
    from voiceguide.packs.vocabulary import pack_vocabulary
    from voiceguide.runtime.retry import RepeatedFailure
    from voiceguide.runtime.server import Guide, IdleGrammar, Server, ServeSettings

    config = load_settings(args, ConfigFileError)
    folder = packs_folder(args)
    default = open_pack(config.pack, folder)
    packs = installed_packs(default, folder)

    def guide(loaded: LoadedPack, notice: bool = False) -> Guide:
        run = run_settings(config, args, loaded)
        vocabulary = pack_vocabulary(loaded.pack)
        return Guide(loaded, run, vocabulary, listener_factory(run, loaded.pack.pack.language, vocabulary,
                                                               notice=notice))

    first = guide(default, notice=True)
    guides = {first.loaded.pack.pack.id: first} | {p.pack.pack.id: guide(p) for p in packs[1:]}
    idle = IdleGrammar.build(first.vocabulary, packs)
    idle_listener = listener_factory(first.run, default.pack.pack.language, idle.vocabulary, idle=True, notice=False)

    store = _open_store(first.run.session.data_dir)
    server = Server(first, ServeSettings(retry_seconds=args.retry_seconds, once=args.once), store,
                    transcript_writer(args.json), idle, idle_listener,
                    guide_for=lambda loaded: guides[loaded.pack.pack.id],
                    speaker_probe=lambda: device_probe("output", first.run.output_device))
    try:
        run_until_stopped(server, store)
    except RepeatedFailure as exc:  # already logged whole, each time: end so that systemd starts us afresh
        _LOGGER.error("%s: exiting so that the service is restarted", exc)
        return EXIT_RESTART
    except UserError:
        raise
    except Exception:  # noqa: BLE001 - an uncaught error would exit 1, which the unit does not restart on
        _LOGGER.exception("serve failed; exiting so that the service is restarted")
        return EXIT_RESTART
    return 0
