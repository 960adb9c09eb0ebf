"""Shared fixtures for the engine tests: tiny checkpoints and test signals."""
from __future__ import annotations

import numpy as np
import pytest

import engine
from tests.tiny_checkpoint import write_checkpoint


def chirp(seconds: float, seed: int = 0) -> np.ndarray:
    """A gated rising tone plus a little noise: audio whose features change every token."""
    t = np.arange(int(16000 * seconds)) / 16000
    rng = np.random.default_rng(seed)
    tone = 0.3 * np.sin(2 * np.pi * 220 * t * (1 + t)) * (np.sin(2 * np.pi * 1.3 * t) > 0)
    return (tone + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    return write_checkpoint(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def tiny_model(tiny_dir):
    return engine.load_model(tiny_dir)
