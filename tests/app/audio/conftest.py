"""Fixtures for the capture tests: a real PulseAudio server, test sinks, speech and tones."""
from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.audio.support import load_null_sink, unload

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXCAP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOXCAP_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture(scope="session")
def pulse_server() -> None:
    """A running PulseAudio with the null sink ``voxcap_test`` as default output."""
    if shutil.which("pulseaudio") is None and not _pactl_ok():
        pytest.skip("PulseAudio is not installed (apt-get install pulseaudio pulseaudio-utils)")
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "start-pulseaudio.sh")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    if done.returncode != 0 or not _pactl_ok():
        pytest.fail(f"could not start PulseAudio: {done.stdout}{done.stderr}")


def _pactl_ok() -> bool:
    if shutil.which("pactl") is None:
        return False
    return subprocess.run(["pactl", "info"], capture_output=True, check=False).returncode == 0


@pytest.fixture
def mic_sink(pulse_server: None) -> Iterator[str]:
    """A second null sink whose monitor plays the part of a microphone."""
    module = load_null_sink("voxcap_mic")
    yield "voxcap_mic"
    unload(module)


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About two seconds of synthetic speech (espeak-ng, 22.05 kHz mono)."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    subprocess.run(
        ["espeak-ng", "-w", str(path), "The quick brown fox jumps over the lazy dog."],
        check=True, capture_output=True,
    )
    return path
