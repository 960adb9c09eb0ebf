"""``voxcap transcribe --server`` / ``--engine mistral`` against local fake servers."""
from __future__ import annotations

import json

import pytest
import soundfile as sf

from app.cli import main
from tests.app.remote.fake_server import DELAY_STEPS, FakeServer, word
from tests.app.remote.helpers import noise


@pytest.fixture
def wav(tmp_path):
    path = tmp_path / "talk.wav"
    sf.write(path, noise(3.0), 16000, subtype="PCM_16")
    return path


def test_transcribe_on_a_server_gives_timed_json(fake_vllm, wav, capsys):
    assert main(["transcribe", str(wav), "--server", fake_vllm.url, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    steps = 38 + DELAY_STEPS
    assert data["text"] == "".join(word(k) for k in range(steps)).strip()
    assert [p["start"] for p in data["pieces"]] == pytest.approx(
        [k * 0.08 for k in range(steps) if word(k)])
    assert data["segments"]


def test_transcribe_srt_on_a_server_with_a_key_from_the_environment(wav, tmp_path, monkeypatch):
    import srt

    monkeypatch.setenv("VOXCAP_API_KEY", "k-1")
    with FakeServer(api_key="k-1") as server:
        out = tmp_path / "talk.srt"
        assert main(["transcribe", str(wav), "--server", server.url, "-o", str(out)]) == 0
    cues = list(srt.parse(out.read_text()))
    assert cues and "w4" in cues[0].content


def test_an_unreachable_server_is_one_line_and_exit_1(wav, capsys):
    with FakeServer() as server:
        url = server.url
    assert main(["transcribe", str(wav), "--server", url]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Not reachable: cannot reach 127.0.0.1" in err[0]


def test_a_wrong_key_is_one_line_without_the_key(wav, capsys, monkeypatch):
    monkeypatch.setenv("VOXCAP_API_KEY", "bad-k")
    with FakeServer(api_key="good-k") as server:
        assert main(["transcribe", str(wav), "--server", server.url]) == 1
    err = capsys.readouterr().err
    assert "API key refused" in err and "bad-k" not in err and "good-k" not in err


def test_transcribe_with_mistral(wav, capsys, monkeypatch):
    with FakeServer(flavour="mistral", api_key="m-1") as server:
        monkeypatch.setenv("VOXCAP_MISTRAL_URL", f"{server.url}/v1/audio/transcriptions/realtime")
        monkeypatch.setenv("VOXCAP_API_KEY", "m-1")
        assert main(["transcribe", str(wav), "--engine", "mistral", "--delay-ms", "960"]) == 0
        assert server.session_updates[0]["session"]["target_streaming_delay_ms"] == 960
    assert capsys.readouterr().out.split() == [word(k).strip() for k in range(38 + DELAY_STEPS)
                                               if word(k)]


def test_mistral_without_a_key_says_where_to_put_one(wav, capsys, memory_keyring):
    assert main(["transcribe", str(wav), "--engine", "mistral"]) == 1
    assert "needs an API key" in capsys.readouterr().err
