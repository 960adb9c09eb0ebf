"""``voxcap live --server``: the live pipeline on a remote backend (fake vLLM server, file source)."""
from __future__ import annotations

import json
import threading

import pytest
import soundfile as sf

from app.cli import main
from app.events import GapReason
from app.live.pipeline import LivePipeline, SourceConfig
from app.live.remote_backend import vllm_backend
from tests.app.remote.fake_server import FakeServer, Faults, word
from tests.app.remote.helpers import noise


@pytest.fixture
def talk(tmp_path):
    path = tmp_path / "talk.wav"
    sf.write(path, noise(3.0), 16000, subtype="PCM_16")
    return path


def test_live_on_a_server_writes_timed_subtitles(fake_vllm, talk, tmp_path, capsys):
    out = tmp_path / "live.json"
    code = main(["live", "--server", fake_vllm.url, "--source", str(talk), "--fast", "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    segments = json.loads(out.read_text())["segments"]
    text = "".join(s["text"] for s in segments).split()
    assert text == [word(k).strip() for k in range(38 + 6) if word(k)]
    assert segments[0]["source"] == "talk.wav"
    assert segments[0]["start"] == pytest.approx(4 * 0.08)


def test_an_unreachable_server_at_start_is_one_line_and_no_session(talk, tmp_path, capsys):
    with FakeServer() as server:
        url = server.url
    assert main(["live", "--server", url, "--source", str(talk), "--fast"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Not reachable" in err[0]
    assert not list(tmp_path.glob("data/sessions/*"))


def test_a_drop_mid_session_is_a_gap_and_captions_resume(talk):
    faults = Faults(drop_at_step=12)
    texts, gaps, finished = [], [], threading.Event()
    with FakeServer(faults=faults) as server:
        backend = vllm_backend(server.url, "tiny", None)
        pipeline = LivePipeline(backend, [SourceConfig(str(talk), "talk")], 480,
                                on_text=texts.append, on_gap=gaps.append,
                                on_finished=finished.set, realtime_files=False)
        pipeline.start()
        assert pipeline.wait(60)
    assert finished.is_set()
    engine_gaps = [g for g in gaps if g.reason == GapReason.ENGINE]
    assert engine_gaps and engine_gaps[0].t <= 12 * 0.08 + 1e-9  # from the last answered step
    resumed = [e for e in texts if e.start > engine_gaps[0].t + engine_gaps[0].duration]
    assert resumed, "captions resume on their own after the reconnect"
    assert all(e.label == "talk" for e in texts)
