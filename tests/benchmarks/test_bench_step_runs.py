"""The step benchmark still measures what it says: each engine step encodes and decodes, and
both sides print a row. (It times nothing here; the numbers come from running it.)"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_step_times_encoder_and_decoder_of_each_side(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_step", "--shape", "tiny", "--modes", "bf16",
         "--peers", "bf16", "--seconds", "2", "--dir", str(tmp_path / "ck")],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "failed" not in out.stdout + out.stderr
    rows = {line[:26].strip(): line[26:].split() for line in out.stdout.splitlines()
            if line.startswith(("engine ", "transformers "))}
    assert set(rows) == {"engine bf16 batch 1", "transformers bf16"}
    enc, dec = rows["engine bf16 batch 1"][5:7]
    assert float(enc) > 0 and float(dec) > 0  # a step that never decodes would show 0.0
    assert "bf16: engine is" in out.stdout
