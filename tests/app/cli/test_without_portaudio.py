"""Without the PortAudio library: what needs no device works, what needs one says what to install.

The child gets a ``sitecustomize`` that makes ``import sounddevice`` raise the OSError the real
module raises when libportaudio2 is missing.
"""
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

NO_PORTAUDIO = """
import sys

class _NoPortAudio:
    def find_spec(self, name, path=None, target=None):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return None

sys.meta_path.insert(0, _NoPortAudio())
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("no-portaudio")
    (root / "site").mkdir()
    (root / "site" / "sitecustomize.py").write_text(NO_PORTAUDIO)
    e = dict(os.environ)
    e["PYTHONPATH"] = f"{root / 'site'}{os.pathsep}{REPO}"
    e["VOXCAP_DATA_DIR"] = str(root / "data")
    e["VOXCAP_CONFIG_DIR"] = str(root / "config")
    return e


def voxcap(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_the_stand_in_fails_like_a_missing_library(env):
    done = subprocess.run([sys.executable, "-c", "import sounddevice"], env=env,
                          capture_output=True, text=True, check=False)
    assert "OSError: PortAudio library not found" in done.stderr


@pytest.mark.parametrize("args", [["--help"], ["live", "--help"], ["sessions", "list"],
                                  ["model", "path"], ["model", "status"]])
def test_commands_without_devices_work(env, args):
    done = voxcap(env, *args)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 1), done.stderr  # model status: 1 = not downloaded


def test_transcribe_works(env, tmp_path):
    model = write_checkpoint(tmp_path / "tiny", seed=1)
    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(16000, np.float32), 16000)
    done = voxcap(env, "transcribe", str(wav), "--model", str(model))
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("args", [["devices"], ["live", "--source", "mic", "--model", "."]])
def test_device_commands_say_what_to_install(env, args):
    done = voxcap(env, *args)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    assert "libportaudio2" in done.stderr and "portaudio" in done.stderr, done.stderr
