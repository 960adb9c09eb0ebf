"""Read a whole sound file as 16 kHz mono float32, for file transcription."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from app.audio.source import SourceUnavailable
from app.events import SAMPLE_RATE


def load_audio(path: str | Path) -> np.ndarray:
    """Any file libsndfile reads, any rate, any channel count -> (n,) float32 at 16 kHz."""
    path = Path(path)
    if not path.is_file():
        raise SourceUnavailable(f"{path}: no such file.")
    if path.stat().st_size == 0:
        raise SourceUnavailable(f"{path} is empty (0 bytes); nothing to transcribe.")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as err:
        raise SourceUnavailable(
            f"{path} cannot be read as audio ({err}). voxcap reads WAV, FLAC, OGG, Opus and MP3; "
            "convert other formats first, e.g. with ffmpeg."
        ) from None
    mono = data.mean(axis=1, dtype=np.float32)
    if rate != SAMPLE_RATE and mono.size:
        mono = soxr.resample(mono, rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
    return mono
