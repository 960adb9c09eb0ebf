"""Against a real vLLM realtime server (one per test session, tiny checkpoint, CPU).

Marked ``vllm``: they need ``scripts/install-vllm.sh`` to have run. The server is started with
an API key, so every test also proves that the key travels as the server expects. The test
that stops the server is the last one in this file: it ends the session's server.
"""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
from websockets.sync.client import connect

from app.cli import main
from app.live.remote_backend import vllm_backend
from app.live.remote_check import check_server
from tests.app.audio.conftest import mic_sink, pulse_server, speech_wav  # noqa: F401
from tests.app.audio.support import play
from tests.app.live.test_live_cli import (  # noqa: F401
    cues_of,
    env,
    mic_is_default,
    voxcap,
    wait_for_capture_start,
)
from tests.app.remote.helpers import push_all
from tests.app.remote.vllm_server import API_KEY, MODEL_NAME

pytestmark = pytest.mark.vllm


@pytest.fixture(scope="module")
def speech(speech_wav):  # noqa: F811
    from app.audio.load import FileBlocks

    with FileBlocks(speech_wav) as blocks:
        return np.concatenate(list(blocks))


def bare_client_text(url: str, audio: np.ndarray, key: str = API_KEY) -> str:
    """The protocol by hand, as vLLM's own example does it: the concatenated deltas."""
    pcm = np.round(np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    deltas = []
    with connect(f"{url}/v1/realtime", additional_headers={"Authorization": f"Bearer {key}"},
                 open_timeout=30) as ws:
        assert json.loads(ws.recv(30))["type"] == "session.created"
        ws.send(json.dumps({"type": "session.update", "model": MODEL_NAME}))
        ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        ws.send(json.dumps({"type": "input_audio_buffer.append",
                            "audio": base64.b64encode(pcm).decode()}))
        ws.send(json.dumps({"type": "input_audio_buffer.commit", "final": True}))
        while True:
            message = json.loads(ws.recv(120))
            if message["type"] == "transcription.done":
                return "".join(deltas)
            assert message["type"] == "transcription.delta", message
            deltas.append(message["delta"])


def test_voxcaps_text_equals_a_bare_clients_deltas(vllm_server, speech_wav, speech,  # noqa: F811
                                                     capsys, monkeypatch):
    bare = bare_client_text(vllm_server.url, speech)
    assert bare.strip(), "the tiny model writes something for speech"
    monkeypatch.setenv("VOXCAP_API_KEY", API_KEY)
    code = main(["transcribe", str(speech_wav), "--server", vllm_server.url, "--format", "json"])
    assert code == 0, capsys.readouterr().err
    data = json.loads(capsys.readouterr().out)
    assert "".join(p["text"] for p in data["pieces"]) == bare
    steps = [round(p["start"] / 0.08, 6) for p in data["pieces"]]
    assert steps == [round(s) for s in steps]  # every piece starts on an 80 ms step


def test_a_required_key_a_wrong_one_and_the_right_one(vllm_server):
    missing = check_server(vllm_server.url, MODEL_NAME, None)
    assert missing.reachable and missing.key_accepted is False
    assert missing.lines[-1] == "The server needs an API key: enter it and try again."
    wrong = check_server(vllm_server.url, MODEL_NAME, "not-the-key")
    assert wrong.lines[-1].startswith("API key refused")
    right = check_server(vllm_server.url, None, API_KEY)
    assert right.ok and right.model == MODEL_NAME
    assert right.delay_ms == 480  # the tiny checkpoint's tekken.json says 480
    unknown = check_server(vllm_server.url, "no-such-model", API_KEY)
    assert unknown.lines[-1] == f"Model 'no-such-model' not found; the server has: {MODEL_NAME}."


def test_two_streams_are_two_sessions_with_their_own_text(vllm_server, speech):
    wakeup = threading.Event()
    backend = vllm_backend(vllm_server.url, MODEL_NAME, API_KEY, max_lag_s=float("inf"),
                           wakeup=wakeup, finish_timeout_s=120)
    a, b = backend.open(480), backend.open(480)
    push_all(backend, a, speech)
    push_all(backend, b, np.zeros_like(speech))
    backend.finish(a)
    backend.finish(b)
    text_a = "".join(p.text for p in backend.take(a).pieces)
    assert text_a == bare_client_text(vllm_server.url, speech)
    assert "".join(p.text for p in backend.take(b).pieces) == bare_client_text(
        vllm_server.url, np.zeros_like(speech))


@pytest.mark.audio
def test_live_system_audio_through_the_server_to_srt(vllm_server, pulse_server,  # noqa: F811
                                                     speech_wav, env, tmp_path):  # noqa: F811
    out = tmp_path / "live.srt"
    env["VOXCAP_API_KEY"] = API_KEY
    proc = voxcap("live", "--server", vllm_server.url, "--source", "system", "--seconds", "10",
                  "-o", str(out), env=env)
    wait_for_capture_start(proc, env)
    assert play(speech_wav, "voxcap_test").wait(20) == 0
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    assert API_KEY not in err
    if shutil.which("ffmpeg"):
        done = subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(out),
                               str(tmp_path / "live.ass")], capture_output=True, text=True,
                              check=False)
        assert done.returncode == 0, done.stderr
    cues = cues_of(out)
    assert 0 <= cues[0].start.total_seconds() < cues[-1].end.total_seconds() <= 10.0 + 2.0


@pytest.mark.audio
def test_live_two_sources_are_two_labelled_streams(vllm_server, pulse_server,  # noqa: F811
                                                   mic_is_default, speech_wav,  # noqa: F811
                                                   env, tmp_path):  # noqa: F811
    out = tmp_path / "both.vtt"
    env["VOXCAP_API_KEY"] = API_KEY
    proc = voxcap("live", "--server", vllm_server.url, "--source", "both", "--seconds", "9",
                  "-o", str(out), env=env)
    wait_for_capture_start(proc, env)
    players = [play(speech_wav, "voxcap_test"), play(speech_wav, mic_is_default)]
    assert all(p.wait(20) == 0 for p in players)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    body = out.read_text()
    assert "<v Them>" in body and "<v Me>" in body


def test_zz_server_stopped_mid_session(vllm_server, speech, env, tmp_path):  # noqa: F811
    """Last: stops the session's server under a running ``voxcap live``. The text so far is
    kept, the loss is a gap, the error is one plain line, and the command ends cleanly."""
    import soundfile as sf

    long_file = tmp_path / "long.wav"
    sf.write(long_file, np.tile(speech, 6), 16000, subtype="PCM_16")
    out = tmp_path / "live.json"
    env["VOXCAP_API_KEY"] = API_KEY
    proc = voxcap("live", "--server", vllm_server.url, "--source", str(long_file),
                  "--seconds", "14", "-o", str(out), env=env)
    journal = wait_for_text_in_journal(proc, env)
    vllm_server.stop()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and API_KEY not in err
    assert "reconnecting" in err
    segments = json.loads(out.read_text())["segments"]
    speech_segments = [s for s in segments if s.get("kind", "speech") == "speech"]
    assert speech_segments, "what was transcribed before the stop is kept"
    assert any(s.get("kind") == "gap" for s in segments), "the lost audio is a gap"
    assert journal.stat().st_size > 0


def wait_for_text_in_journal(proc, child_env: dict) -> Path:
    """The child's journal, once it holds some text (the server is answering)."""
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        for journal in Path(child_env["VOXCAP_DATA_DIR"]).glob("sessions/*/journal.jsonl"):
            if '"text"' in journal.read_text():
                return journal
        try:
            proc.wait(0.2)  # wakes at once should the child end early
        except subprocess.TimeoutExpired:
            pass
    raise AssertionError("no text in the journal within two minutes")
