"""Start-up times a user feels: the first window of ``voxcap``, and "listening" in ``voxcap live``.

Runs the app on a tiny random checkpoint under its own Xvfb display and prints, in seconds from
the process start: when the first voxcap window is mapped (seen with ``xwininfo``), and when
``voxcap live --source FILE`` says it listens. ``--repo DIR`` measures another checkout (for a
before/after comparison); the default is this one. Needs Xvfb and x11-utils.

    PYTHONPATH=. python -m benchmarks.bench_startup [--repo DIR] [--runs 3]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.tiny_checkpoint import write_checkpoint

DISPLAY = ":73"


def first_window_s(repo: Path, model: Path, env: dict) -> float:
    """Seconds until a voxcap window is mapped on the display."""
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "app", "--model", str(model)], cwd=repo,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            tree = subprocess.run(["xwininfo", "-root", "-tree"], env=env, capture_output=True,
                                  text=True, check=False).stdout
            if any("voxcap" in line.lower() or "captions" in line.lower()
                   for line in tree.splitlines() if "has no name" not in line):
                return time.monotonic() - t0
            if proc.poll() is not None or time.monotonic() - t0 > 120:
                raise RuntimeError("no voxcap window appeared")
            time.sleep(0.02)  # polling the X server; this is a benchmark, not a test
    finally:
        proc.kill()
        proc.wait()


def listening_s(repo: Path, model: Path, wav: Path, env: dict) -> float:
    """Seconds until ``voxcap live`` says it listens (the old wording: its first output)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "live", "--model", str(model), "--source", str(wav)],
        cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in proc.stdout:
            if "listening" in line or "]" in line:
                return time.monotonic() - t0
        raise RuntimeError("voxcap live ended without listening")
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="voxcap-startup-"))
    model = write_checkpoint(work / "tiny", seed=1)
    wav = work / "tone.wav"
    sf.write(wav, (0.3 * np.sin(np.arange(16000 * 5) * 0.1)).astype(np.float32), 16000)
    env = dict(os.environ, DISPLAY=DISPLAY, PYTHONPATH=str(args.repo),
               VOXCAP_DATA_DIR=str(work / "data"), VOXCAP_CONFIG_DIR=str(work / "config"),
               QT_QPA_PLATFORM="xcb")
    xvfb = subprocess.Popen(["Xvfb", DISPLAY, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stderr=subprocess.DEVNULL)
    try:
        while subprocess.run(["xwininfo", "-root"], env=env, capture_output=True,
                             check=False).returncode != 0:
            time.sleep(0.05)
        window = [first_window_s(args.repo, model, env) for _ in range(args.runs)]
        listen = [listening_s(args.repo, model, wav, env) for _ in range(args.runs)]
    finally:
        xvfb.kill()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.repo}: first window {statistics.median(window):.2f} s "
          f"(runs {', '.join(f'{t:.2f}' for t in window)}); listening "
          f"{statistics.median(listen):.2f} s (runs {', '.join(f'{t:.2f}' for t in listen)})")


if __name__ == "__main__":
    main()
