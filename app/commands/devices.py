"""``voxcap devices``: the microphones and system-audio sources, by the names other commands take."""
from __future__ import annotations

import argparse

from app.audio import DeviceInfo, SourceUnavailable, list_devices
from app.commands.common import fail


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "devices",
        help="list microphones and system-audio sources",
        description="List what voxcap can caption. Pass a name to --source as shown "
        "(mic and system alone mean the defaults, marked *).",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        devices, notes = list_devices()
    except SourceUnavailable as err:  # PortAudio missing: say what to install
        return fail(str(err), 1)
    _section("Microphones", [d for d in devices if d.kind == "mic"])
    print()
    _section("System audio (what an output plays)", [d for d in devices if d.kind == "system"])
    for note in notes:
        print(f"\nnote: {note}")
    return 0 if devices else 1


def _section(title: str, devices: list[DeviceInfo]) -> None:
    print(f"{title}:")
    if not devices:
        print("  (none found)")
        return
    width = max(len(d.spec) for d in devices)
    for d in devices:
        mark = "*" if d.default else " "
        print(f"  {mark} {d.spec:<{width}}  {d.description}")
