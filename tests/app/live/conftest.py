"""Fixtures for the live pipeline tests: a tiny model that writes text, sound files, PulseAudio."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import soundfile as sf

import engine
from app.live.local import LocalBackend
from tests.app.audio.conftest import _private_dirs, mic_sink, pulse_server, speech_wav  # noqa: F401
from tests.engine.conftest import chirp
from tests.tiny_checkpoint import write_checkpoint


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    return write_checkpoint(tmp_path_factory.mktemp("tiny"), seed=1)  # writes text for chirps


@pytest.fixture(scope="session")
def model(model_dir):
    return engine.load_model(model_dir)


@pytest.fixture
def backend(model):
    return LocalBackend(model)


@pytest.fixture(scope="session")
def chirp_files(tmp_path_factory):
    """Two different 3 s sound files at 16 kHz, with their samples."""
    folder = tmp_path_factory.mktemp("files")
    out = []
    for seed in (11, 12):
        audio = chirp(3.0, seed=seed)
        path = folder / f"chirp{seed}.wav"
        sf.write(path, audio, 16000, subtype="FLOAT")
        out.append((path, audio))
    return out


class Recorder:
    """Collects everything a pipeline reports, from its threads; tests wait on conditions."""

    def __init__(self) -> None:
        self.text, self.gaps, self.status, self.errors = [], [], [], []
        self.finished = threading.Event()
        self._changed = threading.Condition()

    def callbacks(self) -> dict:
        return {
            "on_text": self._adder(self.text),
            "on_gap": self._adder(self.gaps),
            "on_status": self._adder(self.status),
            "on_error": lambda label, msg: self._adder(self.errors)((label, msg)),
            "on_finished": self.finished.set,
        }

    def _adder(self, into: list):
        def add(item) -> None:
            with self._changed:
                into.append(item)
                self._changed.notify_all()
        return add

    def wait_for(self, condition, timeout: float = 30.0) -> None:
        """Block until ``condition()`` holds for what was reported; fail after ``timeout`` s."""
        with self._changed:
            assert self._changed.wait_for(condition, timeout), "the pipeline never reported it"

    def joined(self, label: str) -> str:
        return "".join(e.text for e in self.text if e.label == label)


@pytest.fixture
def rec():
    return Recorder()


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(16000 * seconds), np.float32)
