"""Long files in bounded memory: `voxcap transcribe` reads and feeds the engine a block at a time.

Python-side allocations (numpy buffers included, which is where decoded audio lives) are traced
with tracemalloc while two files, one six times as long as the other (after a first run that
loads what stays loaded), are transcribed: their peaks
must be alike. Loading a whole file would make the longer one peak higher (25 s of
48 kHz stereo float32 is 9.6 MB), and so would any buffer that grows with the audio.
"""
from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from app.cli import main
from tests.engine.conftest import chirp
from tests.tiny_checkpoint import write_checkpoint

RATE = 48000


def long_file(path: Path, seconds: int) -> Path:
    block = soxr.resample(chirp(10.0, seed=4), 16000, RATE).astype(np.float32)
    with sf.SoundFile(path, "w", RATE, 2, subtype="PCM_16") as out:
        for _ in range(seconds // 10):  # 10 s blocks
            out.write(np.stack([block, -0.5 * block], axis=1))
    return path


def peak_bytes(argv: list[str]) -> int:
    tracemalloc.start()
    try:
        assert main(argv) == 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    model = write_checkpoint(tmp_path / "tiny", seed=1)
    argv = {s: ["transcribe", str(long_file(tmp_path / f"{s}.wav", s)), "--model", str(model),
                "-o", str(tmp_path / f"{s}.txt")] for s in (10, 30)}
    assert main(argv[10]) == 0  # tokenizer, torch and the like stay loaded after this
    short, long = peak_bytes(argv[10]), peak_bytes(argv[30])
    assert long - short < 2 * 2**20, f"peak grew from {short / 2**20:.1f} MB to {long / 2**20:.1f} MB"
