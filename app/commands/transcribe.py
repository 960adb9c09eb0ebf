"""``voxcap transcribe FILE``: a whole sound file through the model, written as text or subtitles."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.commands.common import add_model_options, fail, load_engine, output_format, write_output
from app.commands.server import add_engine_options, engine_choice
from app.transcript import FORMATS, export, segments_from_pieces


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "transcribe",
        help="transcribe a sound file",
        description="Transcribe a sound file (any rate, mono or stereo) and print or save it.",
    )
    p.add_argument("file", help="WAV, FLAC, OGG, Opus or MP3 file")
    add_model_options(p)
    add_engine_options(p)
    p.add_argument(
        "--format", choices=sorted(FORMATS), help="output format (default: from --output, else txt)"
    )
    p.add_argument("--output", "-o", metavar="PATH", help="write here instead of printing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.audio.load import load_audio
    from app.audio.source import SourceUnavailable
    from app.events import SAMPLE_RATE

    # An output file whose suffix names no format gets plain text, like printing does.
    fmt = output_format(args.format, args.output) or "txt"
    try:
        audio = load_audio(args.file)
    except SourceUnavailable as err:
        return fail(str(err), 2)
    choice = engine_choice(args)
    if choice.kind == "local":
        model = load_engine(args)
        if isinstance(model, int):
            return model
        result = model.transcribe(audio, delay_ms=args.delay_ms)
        if result.repairs:
            print(f"voxcap: {args.file}: {result.repairs.message()}", file=sys.stderr)
    else:
        from app.commands.server import transcribe_remote

        result = transcribe_remote(choice, audio, args.delay_ms)
        if isinstance(result, int):
            return result
    label = Path(args.file).name
    if fmt == "json":
        text = json.dumps(
            {
                "file": str(args.file),
                "duration": audio.size / SAMPLE_RATE,
                "delay_ms": args.delay_ms,
                "text": result.text.strip(),
                "tokens": result.tokens,
                "pieces": [{"text": p.text, "start": p.start, "end": p.end} for p in result.pieces],
                "segments": json.loads(export(segments_from_pieces(label, result.pieces), "json")),
            },
            ensure_ascii=False,
            indent=2,
        )
    elif fmt == "txt":
        text = result.text.strip()
    else:
        text = export(segments_from_pieces(label, result.pieces), fmt, labels=False,
                      end=audio.size / SAMPLE_RATE)
    return write_output(text, args.output, sys.stdout)
