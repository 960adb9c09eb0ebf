"""Pieces the model-using commands share: options, model loading, errors, output."""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TextIO

from engine.delay import DEFAULT_DELAY_MS, DELAY_STEP_MS, MAX_DELAY_MS, MIN_DELAY_MS, check_delay

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
    try:
        value = int(text)
        check_delay(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err).split(";")[0]) from None
    return value


def add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", metavar="DIR", help="checkpoint folder (default: the managed model)")
    p.add_argument(
        "--delay-ms", type=_delay, default=DEFAULT_DELAY_MS,
        help=f"transcription delay, {MIN_DELAY_MS} to {MAX_DELAY_MS} in steps of {DELAY_STEP_MS} "
        f"(default {DEFAULT_DELAY_MS}): "
        "lower is faster, higher is more accurate",
    )
    p.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    p.add_argument("--dtype", default=None,
                   help="float32, bfloat16, float16, int8 or int4 (default: the best that fits)")


def load_engine(args: argparse.Namespace):
    """The loaded model, or an exit code after a one-line error."""
    import engine
    from app.compute import NotEnoughMemory, choose, configure_threads, resolve
    from app.models import ModelManager, not_ready_message

    command = getattr(args, "command", None)
    if args.model:
        folder = Path(args.model)
    else:
        manager = ModelManager()
        folder = manager.ready_path()
        if folder is None:  # missing, incomplete, damaged or unverified: say which
            return fail(f"{not_ready_message(manager.status())} Or pass --model DIR.", 1, command)
    device, _ = resolve(args.device or "auto", "auto")
    if args.device and args.device != device:
        return fail(f"device {args.device!r} is not available here; use {device}.", 2, command)
    configure_threads(device)
    try:
        choice = choose(device, args.dtype or "auto", folder)
        print(f"voxcap: {choice.reason}", file=sys.stderr)
        return engine.load_model(folder, device=device, dtype=choice.dtype,
                                 quantize=choice.quantize, source_sha256=_verified(args),
                                 progress=loading_progress(sys.stderr))
    except NotEnoughMemory as err:
        return fail(str(err), 1)
    except ValueError as err:
        return fail(str(err), 2)
    except engine.EngineError as err:
        return fail(str(err), 2 if args.model else 1, command)


def loading_progress(stream: TextIO) -> Callable[[float], None] | None:
    """On a terminal, a line that counts the model's loading up to 100% (float32 on a CPU
    takes a while to pack); None elsewhere, so logs and pipes get no carriage returns."""
    if not stream.isatty():
        return None

    def show(fraction: float) -> None:
        end = "\n" if fraction >= 1 else ""
        print(f"\rvoxcap: loading the speech model… {round(100 * fraction)}%", end=end,
              file=stream, flush=True)

    return show


def _verified(args: argparse.Namespace) -> str | None:
    """The managed model's verified weights sha256 (quantised weights are stored beside them
    once and mapped later); None for a folder given with --model, which nobody verified."""
    if args.model:
        return None
    from app.models import ModelManager
    from engine.weights import WEIGHTS

    return ModelManager().verified_sha256(WEIGHTS)


def write_output(text: str | Iterable[str], output: str | None, stdout: TextIO, fmt: str) -> int:
    """Print ``text`` (a string, or its chunks in order), or write it to ``output`` and say so;
    the exit code. The text ends with a newline either way."""
    chunks = _ending_in_newline([text] if isinstance(text, str) else text)
    if output is None:
        stdout.writelines(chunks)
        return 0
    from app.atomic import write_atomic

    try:
        write_atomic(output, chunks)  # a failure leaves an earlier file there as it was
    except OSError as err:
        return fail(f"cannot write {output}: {err.strerror or err}. Choose another path.", 1)
    done(f"Wrote {output} ({fmt}).")
    return 0


def _ending_in_newline(chunks: Iterable[str]) -> Iterator[str]:
    last = ""
    for chunk in chunks:
        if chunk:
            yield chunk
            last = chunk
    if not last.endswith("\n"):
        yield "\n"


def utf8_stdout() -> TextIO:
    """Standard output, set to write UTF-8 whatever encoding the terminal or pipe was given.

    Transcripts hold any script; a Windows code page (``PYTHONIOENCODING=cp1252``, a console
    redirected to a file) cannot encode most of them, and a UnicodeEncodeError halfway would
    leave a truncated or empty file. UTF-8 bytes are what a reader of the file expects.
    """
    out = sys.stdout
    if (getattr(out, "encoding", None) or "").lower().replace("-", "") != "utf8":
        try:
            out.reconfigure(encoding="utf-8", errors="strict")
        except (AttributeError, ValueError):  # not a TextIOWrapper: wrap its bytes instead
            out.flush()
            out = io.TextIOWrapper(out.buffer, encoding="utf-8", line_buffering=True)
            sys.stdout = out
    return out


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
    if previous is sys.__stderr__:  # writes to fd 2: keep them on the terminal, unfiltered
        sys.stderr = open(os.dup(terminal), "w", encoding=previous.encoding or "utf-8",  # noqa: SIM115
                          errors="backslashreplace", buffering=1)
    pump = threading.Thread(target=_pass_on, args=(read_end, terminal), daemon=True,
                            name="stderr-filter")
    pump.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        if sys.stderr is not previous:
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
