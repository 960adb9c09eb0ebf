"""The live pipeline: exact text from sources, labels, gaps, bounded lag, live changes."""
from __future__ import annotations

import time

import pytest

from app.pipeline import LivePipeline, SourceConfig
from tests.app.pipeline.conftest import Recorder


def run_files(model, configs, rec: Recorder, **options) -> LivePipeline:
    pipeline = LivePipeline(model, configs, realtime_files=False, **rec.callbacks(), **options)
    pipeline.start()
    assert pipeline.wait(120), "the pipeline should end when its files are played out"
    assert rec.finished.is_set()
    return pipeline


def test_file_text_equals_whole_file_transcription(model, chirp_files, rec):
    (path, audio), _ = chirp_files
    run_files(model, [SourceConfig(str(path), "File")], rec)
    expect = model.transcribe(audio, delay_ms=480)
    assert expect.text, "the tiny model should write text for this file"
    assert rec.joined("File") == expect.text
    times = [t for e in rec.text for t in (e.start, e.end)]
    assert times == pytest.approx([t for p in expect.pieces if p.text for t in (p.start, p.end)])
    assert not rec.gaps and not rec.errors


def test_two_sources_share_one_model_and_stay_apart(model, chirp_files, rec):
    (a, audio_a), (b, audio_b) = chirp_files
    run_files(model, [SourceConfig(str(a), "Me"), SourceConfig(str(b), "Them")], rec, delay_ms=160)
    assert rec.joined("Me") == model.transcribe(audio_a, delay_ms=160).text
    assert rec.joined("Them") == model.transcribe(audio_b, delay_ms=160).text
    assert {e.source for e in rec.text} == {"Me", "Them"}


class SlowModel:
    """The tiny model, but every run takes 1.5 times as long as the audio it decodes."""

    def __init__(self, model) -> None:
        self._model = model
        self.tokenizer = model.tokenizer

    def streams(self, delays):
        streams = self._model.streams(delays)
        group, run = streams[0].group, streams[0].group.run
        seen = [0.0]

        def slow_run():
            fed = sum(s.audio_time for s in streams)
            time.sleep(1.5 * (fed - seen[0]))
            seen[0] = fed
            run()

        group.run = slow_run
        self.last = streams[0]
        return streams


def test_slow_worker_skips_audio_and_records_gaps(model, chirp_files, rec):
    path, _ = chirp_files[0]
    pipeline = LivePipeline(
        SlowModel(model), [SourceConfig(str(path), "Slow")], max_lag_s=0.6,
        realtime_files=True, **rec.callbacks(),
    )
    pipeline.start()
    assert pipeline.wait(60)
    skips = [g for g in rec.gaps if g.reason == "skip"]
    assert skips, "falling behind must skip audio and say so"
    assert all(g.source == "Slow" and g.duration > 0 for g in skips)
    # Lag never grows past the bound plus what arrives during one decode turn.
    assert max(s.lag for s in rec.status) <= 0.6 + 1.0 + 0.1
    assert all(s.rtf > 1.0 for s in rec.status if s.rtf)
    # Skipped audio was never decoded: the stream saw the file minus the skips.
    skipped = sum(g.duration for g in skips)
    assert pipeline.model.last.audio_time == pytest.approx(3.0 - skipped, abs=0.05)


def test_set_delay_restarts_streams_and_keeps_text(model, chirp_files, rec):
    path, _ = chirp_files[0]
    pipeline = LivePipeline(model, [SourceConfig(str(path), "File")], realtime_files=True,
                            **rec.callbacks())
    pipeline.start()
    deadline = time.monotonic() + 10
    while not rec.text and time.monotonic() < deadline:
        time.sleep(0.05)
    before = len(rec.text)
    assert before, "text should have arrived before the change"
    pipeline.set_delay(160)
    assert pipeline.delay_ms == 160
    assert pipeline.wait(30)
    assert len(rec.text) > before
    starts = [e.start for e in rec.text]
    assert starts[before:] and min(starts[before:]) >= starts[before - 1] - 0.5
    assert max(e.end for e in rec.text) <= 3.0 + 2.0  # all on the file's own clock


def test_pause_and_resume(model, chirp_files, rec):
    path, _ = chirp_files[0]
    pipeline = LivePipeline(model, [SourceConfig(str(path), "File")], realtime_files=True,
                            **rec.callbacks())
    pipeline.start()
    pipeline.pause()
    assert pipeline.paused
    time.sleep(0.5)
    pipeline.resume()
    assert not pipeline.paused
    assert pipeline.wait(30)
    assert rec.text
    assert not [g for g in rec.gaps if g.reason == "paused"]


def test_no_source_opens(model, rec):
    pipeline = LivePipeline(model, [SourceConfig("/nonexistent/file.wav", "X")], **rec.callbacks())
    with pytest.raises(Exception, match="no audio source"):
        pipeline.start()
    assert rec.errors and rec.errors[0][0] == "X" and "file.wav" in rec.errors[0][1]


def test_failing_callback_does_not_stop_captioning(model, chirp_files):
    path, audio = chirp_files[0]
    seen, errors = [], []

    def full_disk(event):
        seen.append(event)
        raise OSError(28, "No space left on device")

    pipeline = LivePipeline(model, [SourceConfig(str(path), "F")], realtime_files=False,
                            on_text=full_disk, on_error=lambda label, m: errors.append(m))
    pipeline.start()
    assert pipeline.wait(60)
    assert "".join(e.text for e in seen) == model.transcribe(audio).text
    assert len(errors) == 1 and "No space" in errors[0]


def test_bad_delay(model):
    with pytest.raises(ValueError):
        LivePipeline(model, [], delay_ms=100)


def test_source_added_later_starts_at_the_sessions_now(model, chirp_files, rec):
    (a, _), (b, audio_b) = chirp_files
    pipeline = LivePipeline(model, [SourceConfig(str(a), "Me")], realtime_files=True,
                            **rec.callbacks())
    pipeline.start()
    time.sleep(1.0)
    pipeline.set_sources([SourceConfig(str(a), "Me"), SourceConfig(str(b), "Them")])
    assert pipeline.wait(30)
    late = [e for e in rec.text if e.source == "Them"]
    assert late, "the added source should be captioned"
    assert min(e.start for e in late) >= 1.0
    assert rec.joined("Them") == model.transcribe(audio_b).text
