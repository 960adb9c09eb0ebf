"""libmpg123's warnings about a damaged MP3 stay off the terminal in `live` and `transcribe`."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.tiny_checkpoint import write_checkpoint

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def damaged_mp3(tmp_path_factory) -> Path:
    """Two MP3 files back to back with junk between: libmpg123 complains, audio still decodes."""
    folder = tmp_path_factory.mktemp("mp3")
    one = folder / "one.mp3"
    t = np.arange(32000) / 16000
    sf.write(one, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000, format="MP3")
    path = folder / "damaged.mp3"
    path.write_bytes(one.read_bytes() + b"garbage" * 300 + one.read_bytes())
    return path


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("chatter")
    e = dict(os.environ, PYTHONPATH=str(REPO))
    e["VOXCAP_DATA_DIR"] = str(root / "data")
    e["VOXCAP_CONFIG_DIR"] = str(root / "config")
    return e


def stderr_of(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_the_file_makes_the_decoder_talk(damaged_mp3, env):
    err = stderr_of(env, "-c", f"import soundfile; soundfile.read({str(damaged_mp3)!r})")
    assert "libmpg123" in err or "Xing" in err


@pytest.mark.parametrize("command", ["live", "transcribe"])
def test_commands_keep_it_out(command, damaged_mp3, env, tmp_path):
    model = write_checkpoint(tmp_path / "tiny", seed=1)
    args = ["--source", str(damaged_mp3), "--fast"] if command == "live" else [str(damaged_mp3)]
    err = stderr_of(env, "-m", "app", command, *args, "--model", str(model))
    assert "libmpg123" not in err and "Xing" not in err, err
