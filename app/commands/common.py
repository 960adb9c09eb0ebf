"""Pieces the model-using commands share: options, model loading, errors, output."""
from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

# What libmpg123 (inside libsndfile) writes straight to file descriptor 2 while decoding an MP3:
# "[src/libmpg123/layer3.c:...] error: ...", "Note: Illegal Audio-MPEG-Header ...",
# "Warning: Xing stream size off ...". Harmless to the audio, alarming in a terminal.
DECODER_CHATTER = re.compile(rb"^(\[src/libmpg123/|Note: |Warning: .*(Xing|MPEG|mpg123))")


def fail(message: str, code: int = 1, command: str | None = None) -> int:
    """One line on stderr, ``voxcap[ COMMAND]: message``; returns the exit code."""
    print(f"voxcap{' ' + command if command else ''}: {message}", file=sys.stderr)
    return code


def done(message: str) -> None:
    """A success line: one sentence on stderr ("Wrote notes.srt (srt)."), so stdout keeps data."""
    print(message, file=sys.stderr, flush=True)


def output_format(fmt: str | None, output: str | Path | None) -> str:
    """The export format: as given, else from the output's suffix, else txt when printing.

    The same rule for every command that writes a transcript. Raises ValueError, with the
    formats there are, when an output file's suffix names none of them.
    """
    from app.transcript import FORMATS, format_for_path

    if fmt:
        return fmt
    if output is None:
        return "txt"
    found = format_for_path(output)
    if found is None:
        known = ", ".join(f".{f}" for f in FORMATS)
        raise ValueError(f"cannot tell the format of {Path(output).name}: name the file with "
                         f"one of {known}, or add --format.")
    return found


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
    from app.compute import configure_threads, resolve
    from app.models import resolve_model_dir

    command = getattr(args, "command", None)
    folder = Path(args.model) if args.model else resolve_model_dir()
    if folder is None:
        return fail("no model yet: run 'voxcap model download' or pass --model DIR.", 1, command)
    device, dtype = resolve(args.device or "auto", args.dtype or "auto")
    if args.device and args.device != device:
        return fail(f"device {args.device!r} is not available here; use {device}.", 2, command)
    configure_threads(device)
    try:
        return engine.load_model(folder, device=device, dtype=args.dtype or dtype)
    except engine.EngineError as err:
        return fail(str(err), 2 if args.model else 1, command)


def write_output(text: str, output: str | None, stdout: TextIO, fmt: str) -> int:
    """Print ``text``, or write it to ``output`` and say so; the exit code."""
    if not text.endswith("\n"):
        text += "\n"
    if output is None:
        stdout.write(text)
        return 0
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as err:
        return fail(f"cannot write {output}: {err.strerror or err}. Choose another path.", 1)
    done(f"Wrote {output} ({fmt}).")
    return 0


@contextlib.contextmanager
def quiet_decoders() -> Iterator[None]:
    """Keep C libraries' decoder chatter off the terminal; everything else still reaches it.

    The C side's file descriptor 2 becomes a pipe whose lines are passed on unless they are
    decoder chatter; Python's own ``sys.stderr`` keeps writing to the terminal directly.
    """
    try:
        sys.stderr.flush()
        terminal = os.dup(2)
    except (OSError, ValueError):  # no real stderr (a GUI bundle): nothing to protect
        yield
        return
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    previous = sys.stderr
    sys.stderr = open(os.dup(terminal), "w", encoding=previous.encoding or "utf-8",  # noqa: SIM115
                      errors="backslashreplace", buffering=1)
    pump = threading.Thread(target=_pass_on, args=(read_end, terminal), daemon=True,
                            name="stderr-filter")
    pump.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        sys.stderr.close()
        sys.stderr = previous
        os.dup2(terminal, 2)  # closes the pipe's last write end: the pump sees its end
        pump.join(1.0)
        os.close(terminal)


def _pass_on(read_end: int, terminal: int) -> None:
    with open(read_end, "rb") as lines:
        for line in lines:
            if not DECODER_CHATTER.match(line):
                os.write(terminal, line)
