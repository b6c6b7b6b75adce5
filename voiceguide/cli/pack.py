"""`voiceguide pack …`: list, check, show, schema, new."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, groups: dict[str, argparse._SubParsersAction]) -> None:
    """Add the `pack` group."""
    p = sub.add_parser("pack", help="narration packs: list, check, show, schema, new")
    groups["pack"] = p.add_subparsers(dest="pack_command", metavar="PACK_COMMAND")
