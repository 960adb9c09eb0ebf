"""Peak memory of `voxcap transcribe` on long files: it must not grow with the file's length.

    python -m benchmarks.bench_long_file                 # 10 minutes and 3 hours, tiny model
    python -m benchmarks.bench_long_file --minutes 10 60 --model DIR

Writes 48 kHz stereo 16-bit WAV files of the given lengths (a chirp with noise, written a block
at a time; 3 hours is 2 GB of disk, removed afterwards), transcribes each in its own process
(`python -m app transcribe FILE --model DIR --format json -o OUT`) and reads that process's peak
resident memory from the kernel (``wait4``). Prints, per file, the peak RSS and the size of the
result; then the difference between the longest and the shortest. Goal: less than 100 MB plus
the growth of the result (its tokens and pieces are kept until written).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

REPO = Path(__file__).resolve().parents[1]
RATE = 48000
PATTERN_S = 10  # the file repeats this many seconds of audio
MB = 1 << 20


def write_long_wav(path: Path, minutes: float) -> Path:
    """``minutes`` of 48 kHz stereo PCM_16, a repeated chirp with noise, in bounded memory."""
    t = np.arange(16000 * PATTERN_S) / 16000
    rng = np.random.default_rng(0)
    tone = 0.3 * np.sin(2 * np.pi * 220 * t * (1 + t % 2)) * (np.sin(2 * np.pi * 1.3 * t) > 0)
    mono = soxr.resample((tone + 0.05 * rng.standard_normal(t.size)).astype(np.float32),
                         16000, RATE)
    block = np.stack([mono, 0.7 * mono], axis=1)
    frames = round(minutes * 60 * RATE)
    with sf.SoundFile(path, "w", RATE, 2, subtype="PCM_16") as out:
        while frames > 0:
            out.write(block[:frames])
            frames -= len(block)
    return path


def peak_rss(argv: list[str]) -> tuple[int, float]:
    """Run ``argv``; (peak resident set size in bytes, seconds). Fails loudly if it fails."""
    began = time.perf_counter()
    child = subprocess.Popen(argv, env={**os.environ, "PYTHONPATH": str(REPO)},
                             stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{child.stderr.read().decode()}")
    return usage.ru_maxrss * 1024, time.perf_counter() - began  # ru_maxrss is KiB on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[10, 180])
    ap.add_argument("--model", type=Path, help="checkpoint folder (default: a tiny random one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="voxcap-long-") as tmp:
        folder = Path(tmp)
        model = args.model
        if model is None:
            from tests.tiny_checkpoint import write_checkpoint

            model = write_checkpoint(folder / "tiny", seed=1)
        results = []
        for minutes in args.minutes:
            audio = write_long_wav(folder / f"{minutes:g}min.wav", minutes)
            out = folder / f"{minutes:g}min.json"
            rss, seconds = peak_rss([sys.executable, "-m", "app", "transcribe", str(audio),
                                     "--model", str(model), "--format", "json", "-o", str(out)])
            results.append((minutes, rss, out.stat().st_size, audio.stat().st_size, seconds))
            audio.unlink()
            print(f"{minutes:6g} min  file {audio_mb(results[-1][3])}  peak RSS {rss / MB:7.1f} MB"
                  f"  result {results[-1][2] / MB:6.1f} MB  {seconds:6.0f} s", flush=True)
        (m0, rss0, res0, *_), (m1, rss1, res1, *_) = results[0], results[-1]
        growth = (rss1 - rss0) / MB
        allowed = 100 + (res1 - res0) / MB
        print(f"peak RSS {m1:g} min - {m0:g} min: {growth:+.1f} MB (goal < {allowed:.1f} MB: "
              f"100 MB + result growth) -> {'ok' if growth < allowed else 'TOO MUCH'}")


def audio_mb(size: int) -> str:
    return f"{size / MB:7.0f} MB"


if __name__ == "__main__":
    main()
