"""Output to a terminal or pipe that is not UTF-8 (a Windows code page, the C locale) is written as
UTF-8 bytes by `sessions show`, `sessions export` and `transcribe`: no UnicodeEncodeError, no
empty or truncated file."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.events import TextEvent
from app.transcript import create_session
from tests.engine.conftest import chirp
from tests.tiny_checkpoint import write_checkpoint

REPO = Path(__file__).resolve().parents[3]
WORDS = ["Grüße", "–", "日本語", "✓", "Ωmega"]  # only the first is in cp1252
ENCODINGS = {  # how a process can come to have a stdout that cannot encode them
    "cp1252": {"PYTHONIOENCODING": "cp1252"},
    "C locale": {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0",
                 "PYTHONIOENCODING": ""},
}


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VOXCAP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOXCAP_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "data"


def voxcap(tmp_path: Path, env: dict[str, str], *argv: str) -> str:
    """Run voxcap with stdout redirected to a file (a pipe would do the same); its bytes."""
    out = tmp_path / "stdout.txt"
    with out.open("wb") as stdout:
        done = subprocess.run(
            [sys.executable, "-m", "app", *argv], stdout=stdout, stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(REPO), **env}, timeout=300, check=False,
        )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert b"Traceback" not in done.stderr
    return out.read_bytes().decode("utf-8")  # UTF-8, whole


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_sessions_show_and_export(data_dir: Path, tmp_path: Path, encoding: str) -> None:
    with create_session("Réunion 会議") as transcript:
        for i, word in enumerate(WORDS):
            transcript.add_event(TextEvent("mic", "mic", " " + word, i * 0.5, i * 0.5 + 0.4, 0.0))
    sid = transcript.session_id
    env = ENCODINGS[encoding]
    shown = voxcap(tmp_path, env, "sessions", "show", sid)
    assert "name:     Réunion 会議" in shown and " ".join(WORDS) in shown
    assert "Réunion 会議" in voxcap(tmp_path, env, "sessions", "list")
    exported = voxcap(tmp_path, env, "sessions", "export", sid, "--format", "md")
    assert " ".join(WORDS) in exported


def test_transcribe_json_to_a_cp1252_pipe(tmp_path: Path) -> None:
    model = write_checkpoint(tmp_path / "tiny", seed=1)
    audio = tmp_path / "会議 – ✓.wav"  # the JSON names the file as it is
    sf.write(audio, chirp(1.0, seed=5), 16000)
    out = voxcap(tmp_path, ENCODINGS["cp1252"], "transcribe", str(audio), "--model", str(model),
                 "--format", "json")
    assert json.loads(out)["file"] == str(audio)
    assert np.isclose(json.loads(out)["duration"], 1.0)
