"""Pieces the model-using commands share: options, model loading, errors, output."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO


def fail(message: str, code: int = 1, command: str | None = None) -> int:
    """One line on stderr, ``voxcap[ COMMAND]: message``; returns the exit code."""
    print(f"voxcap{' ' + command if command else ''}: {message}", file=sys.stderr)
    return code


def output_format(fmt: str | None, output: str | Path | None) -> str | None:
    """The export format: as given, else from the output's suffix, else txt when printing.

    None when an output file's suffix names no format (the caller asks for --format).
    """
    from app.transcript import format_for_path

    if fmt:
        return fmt
    return format_for_path(output) if output is not None else "txt"


def _delay(text: str) -> int:
    from engine import check_delay

    try:
        value = int(text)
        check_delay(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err).split(";")[0]) from None
    return value


def add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", metavar="DIR", help="checkpoint folder (default: the managed model)")
    p.add_argument(
        "--delay-ms", type=_delay, default=480,
        help="transcription delay, 80 to 2400 in steps of 80 (default 480): "
        "lower is faster, higher is more accurate",
    )
    p.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    p.add_argument("--dtype", default=None, help="float32, bfloat16 or float16 (default: per device)")


def load_engine(args: argparse.Namespace):
    """The loaded model, or an exit code after a one-line error."""
    import engine
    from app.commands.model import make_manager
    from app.compute import configure_threads, resolve
    from app.models import not_ready_message

    if args.model:
        folder = Path(args.model)
    else:
        manager = make_manager()
        folder = manager.ready_path()
        if folder is None:  # missing, incomplete, damaged or unverified: say which
            return fail(f"{not_ready_message(manager.status())} Or pass --model DIR.", 1)
    device, dtype = resolve(args.device or "auto", args.dtype or "auto")
    if args.device and args.device != device:
        return fail(f"device {args.device!r} is not available here; use {device}.", 2)
    configure_threads(device)
    try:
        return engine.load_model(folder, device=device, dtype=args.dtype or dtype)
    except engine.EngineError as err:
        return fail(str(err), 2 if args.model else 1)


def write_output(text: str, output: str | None, stdout: TextIO) -> int:
    if not text.endswith("\n"):
        text += "\n"
    if output is None:
        stdout.write(text)
        return 0
    from app.atomic import write_atomic

    try:
        write_atomic(output, text)  # a failure leaves an earlier file there as it was
    except OSError as err:
        return fail(f"cannot write {output}: {err.strerror or err}. Choose another path.", 1)
    return 0
