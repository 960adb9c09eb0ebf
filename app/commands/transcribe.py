"""``voxcap transcribe FILE``: a whole sound file through the model, written as text or subtitles.

The file is read a block at a time and each block is fed to one engine stream as it comes, so
memory stays bounded however long the file is (the result itself aside); the tokens equal a
whole-array transcription of the same samples.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from app.commands.common import (
    add_model_options,
    fail,
    load_engine,
    output_format,
    quiet_decoders,
    utf8_stdout,
    write_output,
)
from app.commands.server import add_engine_options, engine_choice
from app.transcript import FORMATS, export_chunks, segments_from_pieces

if TYPE_CHECKING:
    import numpy as np

    from engine import Model, Transcription


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "transcribe",
        help="transcribe a sound file",
        description="Transcribe a sound file (any rate, mono or stereo) and print or save it.",
    )
    p.add_argument("file", help="a sound or video file: WAV, FLAC, OGG, Opus, MP3, M4A, MP4, "
                   "WebM, MKV, MOV ...")
    add_model_options(p)
    add_engine_options(p)
    p.add_argument(
        "--format", choices=sorted(FORMATS), help="output format (default: from --output, else txt)"
    )
    p.add_argument("--output", "-o", metavar="PATH", help="write here instead of printing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.events import SAMPLE_RATE

    try:
        fmt = output_format(args.format, args.output)
    except ValueError as err:
        return fail(str(err), 2, "transcribe")
    with quiet_decoders():
        result = _run(args)
    if isinstance(result, int):
        return result
    result, samples = result
    repairs = getattr(result, "repairs", None)
    if repairs:
        print(f"voxcap transcribe: {args.file}: {repairs.message()}", file=sys.stderr)
    label = Path(args.file).name
    if fmt == "json":
        text = _json_document(args, samples / SAMPLE_RATE, result)
    elif fmt == "txt":
        text = result.text.strip()
    else:
        text = export_chunks(segments_from_pieces(label, result.pieces), fmt, labels=False,
                             end=samples / SAMPLE_RATE)
    return write_output(text, args.output, utf8_stdout(), fmt)


def _run(args: argparse.Namespace) -> tuple[Transcription, int] | int:
    """(transcription, 16 kHz samples read) of ``args.file``, or an exit code."""
    from app.audio.load import FileBlocks
    from app.audio.source import SourceUnavailable

    try:
        blocks = FileBlocks(args.file)  # refuses a file without audio before the model loads
    except SourceUnavailable as err:
        return fail(str(err), 2, "transcribe")
    with blocks:
        choice = engine_choice(args)
        if choice.kind == "local":
            model = load_engine(args)
            if isinstance(model, int):
                return model
            result = _transcribe(model, blocks, args.delay_ms)
        else:
            import numpy as np

            from app.commands.server import transcribe_remote

            result = transcribe_remote(choice, np.concatenate([*blocks, np.zeros(0, np.float32)]),
                                       args.delay_ms)
            if isinstance(result, int):
                return result
    return result, blocks.samples


def _json_document(args: argparse.Namespace, duration: float, result: Transcription
                   ) -> Iterator[str]:
    """The file, its duration (s), the text, every token, the pieces, and the segments.

    Written out a line at a time as the file is written, never held whole: a three-hour file's
    JSON is ~25 MB, and ``json.dumps`` with an indent would hold some ten times that in pieces
    first. Tokens go on one line; each piece on a line of its own; the segments are the
    ``json`` export's document.
    """
    yield "{\n"
    for key, value in (("file", str(args.file)), ("duration", duration),
                       ("delay_ms", args.delay_ms), ("text", result.text.strip()),
                       ("tokens", result.tokens)):
        yield f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},\n"
    yield '  "pieces": ['
    for i, p in enumerate(result.pieces):
        piece = json.dumps({"text": p.text, "start": p.start, "end": p.end}, ensure_ascii=False)
        yield f"{',' if i else ''}\n    {piece}"
    yield '\n  ],\n  "segments": '
    last = ""  # the segments' document, its closing line without the newline
    for chunk in export_chunks(segments_from_pieces(Path(args.file).name, result.pieces), "json"):
        if last:
            yield last
        last = chunk
    yield last.rstrip() + "\n}\n"


def _transcribe(model: Model, blocks: Iterable[np.ndarray], delay_ms: int) -> Transcription:
    """Feed each 16 kHz block to one stream as it is read; what ``model.transcribe`` returns."""
    from engine import Transcription  # torch loads only once a file is known to hold audio

    stream = model.stream(delay_ms)
    pieces = [piece for block in blocks for piece in stream.feed(block)]
    pieces += stream.finish()
    return Transcription("".join(p.text for p in pieces), stream.tokens, pieces, stream.repairs)
