"""The ``voxcap`` command: the GUI when run bare, headless subcommands otherwise.

Each subcommand lives in ``app/commands/<name>.py`` and exposes ``register(subparsers)``, which
adds its parser and sets ``func`` (``args -> exit code``). Exit codes: 0 ok, 1 failure, 2 bad
usage or bad input.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# Subcommand modules under app.commands, in the order `voxcap --help` lists them.
COMMANDS = ["transcribe", "live", "devices", "sessions", "model", "server"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voxcap",
        description="Live, private captions of what your computer hears. "
        "Run without a command to open the app.",
    )
    parser.add_argument("--version", action="store_true",
                        help="show the version, the model revision and the licenses, then exit")
    entry = parser.add_mutually_exclusive_group()
    entry.add_argument("--install-desktop-entry", action="store_true",
                       help="add voxcap to the app menu of a Linux desktop, then exit")
    entry.add_argument("--uninstall-desktop-entry", action="store_true",
                       help="remove voxcap from the app menu, then exit")
    parser.add_argument("--model", metavar="DIR", help="open the app on this checkpoint folder")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"app.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from app.about import version_text

        print(version_text())
        return 0
    if args.install_desktop_entry or args.uninstall_desktop_entry:
        from app import desktop_entry

        return desktop_entry.run(remove=args.uninstall_desktop_entry)
    if args.command is None:
        from app.ui.preflight import gui_problem

        problem = gui_problem()  # before Qt and torch load: the answer comes at once
        if problem:
            print(f"voxcap: {problem}", file=sys.stderr)
            return 1
        from app.ui.main import run_app  # Qt only when the GUI is wanted

        return run_app(model_dir=args.model)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
