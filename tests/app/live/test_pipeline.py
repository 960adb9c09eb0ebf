"""The live pipeline: exact text from sources, labels, gaps, bounded lag, live changes."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from app.audio.level import SILENT
from app.audio.source import EndOfStream, SourceError
from app.events import AudioChunk, Gap, GapReason, SourceState
from app.live.pipeline import LivePipeline, SourceConfig
from tests.app.live.conftest import Recorder
from tests.app.live.fakes import SlowBackend
from tests.engine.conftest import chirp


def run_files(backend, configs, rec: Recorder, **options) -> LivePipeline:
    pipeline = LivePipeline(backend, configs, realtime_files=False, **rec.callbacks(), **options)
    pipeline.start()
    assert pipeline.wait(120), "the pipeline should end when its files are played out"
    assert rec.finished.is_set()
    return pipeline


def test_file_text_equals_whole_file_transcription(model, backend, chirp_files, rec):
    (path, audio), _ = chirp_files
    run_files(backend, [SourceConfig(str(path), "File")], rec)
    expect = model.transcribe(audio, delay_ms=480)
    assert expect.text, "the tiny model should write text for this file"
    assert rec.joined("File") == expect.text
    times = [t for e in rec.text for t in (e.start, e.end)]
    assert times == pytest.approx([t for p in expect.pieces if p.text for t in (p.start, p.end)])
    assert not rec.gaps and not rec.errors
    assert {(e.source_id, e.label) for e in rec.text} == {(path.name, "File")}


def test_two_sources_share_one_model_and_stay_apart(model, backend, chirp_files, rec):
    (a, audio_a), (b, audio_b) = chirp_files
    run_files(backend, [SourceConfig(str(a), "Me"), SourceConfig(str(b), "Them")], rec,
              delay_ms=160)
    assert rec.joined("Me") == model.transcribe(audio_a, delay_ms=160).text
    assert rec.joined("Them") == model.transcribe(audio_b, delay_ms=160).text
    assert {e.label for e in rec.text} == {"Me", "Them"}


def test_slow_worker_skips_audio_and_records_gaps(backend, chirp_files, rec):
    path, _ = chirp_files[0]
    slow = SlowBackend(backend, 1.5)  # every advance takes 1.5 times its audio
    pipeline = LivePipeline(
        slow, [SourceConfig(str(path), "Slow")], max_lag_s=0.6,
        realtime_files=True, **rec.callbacks(),
    )
    pipeline.start()
    assert pipeline.wait(60)
    skips = [g for g in rec.gaps if g.reason == "skip"]
    assert skips, "falling behind must skip audio and say so"
    assert all(g.label == "Slow" and g.duration > 0 for g in skips)
    # Lag never grows past the bound plus what arrives during one decode turn.
    assert max(s.lag for s in rec.status) <= 0.6 + 1.0 + 0.1
    assert all(s.rtf > 1.0 for s in rec.status if s.rtf)
    # Skipped audio was never decoded: the stream saw the file minus the skips.
    skipped = sum(g.duration for g in skips)
    assert slow.audio_seconds == pytest.approx(3.0 - skipped, abs=0.05)


def test_set_delay_restarts_streams_and_keeps_text(backend, chirp_files, rec):
    path, _ = chirp_files[0]
    pipeline = LivePipeline(backend, [SourceConfig(str(path), "File")], realtime_files=True,
                            **rec.callbacks())
    pipeline.start()
    rec.wait_for(lambda: rec.text)
    before = len(rec.text)
    pipeline.set_delay(160)
    assert pipeline.delay_ms == 160
    assert pipeline.wait(30)
    assert len(rec.text) > before
    starts = [e.start for e in rec.text]
    assert starts[before:] and min(starts[before:]) >= starts[before - 1] - 0.5
    assert max(e.end for e in rec.text) <= 3.0 + 2.0  # all on the file's own clock


def test_pause_and_resume(backend, chirp_files, rec):
    path, _ = chirp_files[0]
    pipeline = LivePipeline(backend, [SourceConfig(str(path), "File")], realtime_files=True,
                            **rec.callbacks())
    pipeline.start()
    pipeline.pause()
    assert pipeline.paused
    rec.wait_for(lambda: any(s.state == SourceState.PAUSED for s in rec.status))
    pipeline.resume()
    assert not pipeline.paused
    assert pipeline.wait(30)
    assert rec.text
    assert not [g for g in rec.gaps if g.reason == "paused"]


def test_no_source_opens(backend, rec):
    pipeline = LivePipeline(backend, [SourceConfig("/nonexistent/file.wav", "X")],
                            **rec.callbacks())
    with pytest.raises(Exception, match="no audio source"):
        pipeline.start()
    assert rec.errors and rec.errors[0][0] == "X" and "file.wav" in rec.errors[0][1]


def test_failing_callback_does_not_stop_captioning(model, backend, chirp_files):
    path, audio = chirp_files[0]
    seen, errors = [], []

    def full_disk(event):
        seen.append(event)
        raise OSError(28, "No space left on device")

    pipeline = LivePipeline(backend, [SourceConfig(str(path), "F")], realtime_files=False,
                            on_text=full_disk, on_error=lambda label, m: errors.append(m))
    pipeline.start()
    assert pipeline.wait(60)
    assert "".join(e.text for e in seen) == model.transcribe(audio).text
    assert len(errors) == 1 and "No space" in errors[0]


def test_bad_delay(backend):
    with pytest.raises(ValueError):
        LivePipeline(backend, [], delay_ms=100)


def test_source_added_later_starts_at_the_sessions_now(model, backend, chirp_files, rec):
    (a, _), (b, audio_b) = chirp_files
    pipeline = LivePipeline(backend, [SourceConfig(str(a), "Me")], realtime_files=True,
                            **rec.callbacks())
    pipeline.start()
    rec.wait_for(lambda: any(e.end >= 1.0 for e in rec.text))  # the session is a second old
    pipeline.set_sources([SourceConfig(str(a), "Me"), SourceConfig(str(b), "Them")])
    assert pipeline.wait(30)
    late = [e for e in rec.text if e.label == "Them"]
    assert late, "the added source should be captioned"
    assert min(e.start for e in late) >= 1.0
    assert rec.joined("Them") == model.transcribe(audio_b).text


def test_source_added_later_shares_the_running_sources_decoder_steps(
    model, backend, chirp_files, rec, monkeypatch, tmp_path
):
    long_path, long_audio = tmp_path / "long.wav", chirp(6.0, seed=13)
    sf.write(long_path, long_audio, 16000, subtype="FLOAT")
    b, audio_b = chirp_files[1]
    widths = []
    forward = model.net.decoder.forward

    def spy(tokens, *args, **kw):
        widths.append(tokens.shape[0])
        return forward(tokens, *args, **kw)

    monkeypatch.setattr(model.net.decoder, "forward", spy)
    pipeline = LivePipeline(backend, [SourceConfig(str(long_path), "Me")], realtime_files=True,
                            **rec.callbacks())
    pipeline.start()
    rec.wait_for(lambda: rec.status)  # running
    pipeline.set_sources([SourceConfig(str(long_path), "Me"), SourceConfig(str(b), "Them")])
    assert pipeline.wait(30)
    monkeypatch.undo()
    # Nearly all of the added source's 3 s (37 steps) ran in the running source's batch.
    assert widths.count(2) >= 25, f"the two sources should step as one batch: {widths}"
    assert rec.joined("Me") == model.transcribe(long_audio).text
    assert rec.joined("Them") == model.transcribe(audio_b).text


def test_damaged_samples_are_repaired_and_reported_once(model, backend, tmp_path, rec):
    audio = chirp(3.0, seed=14)
    audio[[5, 6000, 30000]] = [np.nan, -np.inf, 1e30]
    path = tmp_path / "damaged.wav"
    sf.write(path, audio, 16000, subtype="FLOAT")
    run_files(backend, [SourceConfig(str(path), "F")], rec)
    repaired = np.clip(np.where(np.isfinite(audio), audio, 0.0), -1, 1).astype(np.float32)
    assert rec.joined("F") == model.transcribe(repaired).text
    assert [label for label, _ in rec.errors] == ["F"]
    assert "2 samples were not numbers" in rec.errors[0][1]



class ComesBack:
    """A device that fails (the source retries), is away 0.5 s, then delivers audio again."""

    def __init__(self, spec: str, **_: object) -> None:
        lost = SourceError(spec, "test mic", "no audio from the device for 3.0 s", 0.0,
                           retrying=True)
        back = [Gap(spec, 0.0, 0.5, GapReason.DEVICE_LOST),
                AudioChunk(spec, np.zeros(16000, np.float32), 0.5)]
        self._batches = [[lost], back]
        self.id, self.level = spec, SILENT

    def start(self) -> None:
        return None

    def stop(self) -> None:
        self._batches.append([EndOfStream("mic", 1.5)])

    def read(self, timeout: float = 0.0) -> list:
        return self._batches.pop(0) if self._batches else []


def test_a_device_that_comes_back_clears_its_error(backend, rec):
    pipeline = LivePipeline(backend, [SourceConfig("mic", "Me")], source_factory=ComesBack,
                            **rec.callbacks())
    pipeline.start()
    try:
        rec.wait_for(lambda: any(s.state == SourceState.ERROR for s in rec.status))
        rec.wait_for(lambda: rec.status[-1].state == SourceState.RUNNING)
    finally:
        pipeline.stop()
    assert rec.status[-1].error == ""
    assert [g.reason for g in rec.gaps] == [GapReason.DEVICE_LOST]
