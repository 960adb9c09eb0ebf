"""Capture through a real PulseAudio server: system audio, a microphone, both, overflow, loss."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from app.audio import EndOfStream, Source, SourceError, SourceUnavailable, open_source
from tests.app.audio.support import (
    assert_contiguous,
    chunks,
    gaps,
    gather,
    has_audio,
    has_end,
    load_null_sink,
    play,
    samples,
    unload,
    write_tone,
)

pytestmark = [pytest.mark.audio, pytest.mark.usefixtures("pulse_server")]
FIRST_AUDIO_S = 10.0  # a null sink's monitor takes ~1.5 s to deliver its first block


def reference(path: Path) -> np.ndarray:
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    return soxr.resample(data.mean(axis=1), rate, 16000)


def align(captured: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, float]:
    """The stretch of ``captured`` that best matches ``ref``, and their correlation (0..1)."""
    n = len(captured) + len(ref)
    xc = np.fft.irfft(np.fft.rfft(captured, n) * np.conj(np.fft.rfft(ref, n)), n)
    lag = int(np.argmax(xc[: len(captured) - len(ref) + 1]))
    seg = captured[lag : lag + len(ref)]
    return seg, float(np.dot(seg, ref) / (np.linalg.norm(seg) * np.linalg.norm(ref)))


def rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(max(np.sqrt(np.mean(x.astype(np.float64) ** 2)), 1e-10)))


def tone_share(x: np.ndarray, freq: float) -> float:
    """Fraction of the signal's energy within 20 Hz of ``freq``."""
    power = np.abs(np.fft.rfft(x)) ** 2
    bins = np.fft.rfftfreq(len(x), 1 / 16000)
    return float(power[np.abs(bins - freq) < 20].sum() / power.sum())


def capture_while(source: Source, players: list[subprocess.Popen], tail: float = 0.4) -> list:
    """Read until every player is done, then ``tail`` more seconds of stream time."""
    items: list = []
    while any(p.poll() is None for p in players):
        items += source.read(0.2)
    until = source.time + tail
    return items + gather(source, lambda _: source.time >= until)


def test_system_audio_is_what_the_default_output_plays(speech_wav: Path) -> None:
    src = open_source("system")
    assert src.id == "system" and "voxcap_test.monitor" in src.device
    ref = reference(speech_wav)
    with src:
        items = gather(src, has_audio, timeout=FIRST_AUDIO_S)
        wall0, t0 = time.monotonic(), src.time
        player = play(speech_wav, "voxcap_test")
        loud = -100.0
        while player.poll() is None:
            items += src.read(0.05)
            loud = max(loud, src.level.rms_db)
        items += capture_while(src, [])
        wall1, t1 = time.monotonic(), src.time
    items += gather(src, has_end)
    assert player.returncode == 0, player.stderr.read()
    assert_contiguous(items)
    assert chunks(items)[0].t == 0.0
    speech, corr = align(samples(items), ref)
    assert corr > 0.9
    assert rms_db(speech) == pytest.approx(rms_db(ref), abs=2.0)
    # The stream clock runs at the wall clock's pace: 16 kHz, nothing lost, nothing added.
    assert t1 - t0 == pytest.approx(wall1 - wall0, abs=0.25)
    windows = ref[: len(ref) // 800 * 800].reshape(-1, 800)  # the meter's 50 ms windows
    loudest = max(rms_db(w) for w in windows)
    assert loudest - 8.0 < loud < loudest + 1.0


def test_microphone_on_a_pulse_source(mic_sink: str, tmp_path: Path) -> None:
    tone = write_tone(tmp_path / "tone.wav", 1000, seconds=1.5, amplitude=0.5)
    src = open_source(f"mic:{mic_sink}.monitor")
    with src:
        items = gather(src, has_audio, timeout=FIRST_AUDIO_S)
        player = play(tone, mic_sink)
        levels = []
        while player.poll() is None:
            items += src.read(0.1)
            levels.append(src.level)
        items += capture_while(src, [], tail=0.1)
    x = samples(items)
    on = x[np.abs(x) > 0.05]
    assert tone_share(x, 1000) > 0.95
    assert rms_db(on) == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=1.0)
    # Mid-tone readings of the meter agree with the samples.
    assert any(abs(lv.rms_db + 9.03) < 1.0 and abs(lv.peak_db + 6.02) < 1.0 for lv in levels)


def test_two_sources_at_once_each_with_its_own_clock(
    mic_sink: str, speech_wav: Path, tmp_path: Path
) -> None:
    tone = write_tone(tmp_path / "tone.wav", 1000, seconds=1.0, amplitude=0.3)
    wakeup = threading.Event()
    mic = open_source(f"mic:{mic_sink}", wakeup=wakeup)
    system = open_source("system", wakeup=wakeup)
    got: dict[str, list] = {"mic": [], "system": []}

    def serve(until: float) -> None:
        """The pipeline's loop: one event for both sources, then read each without waiting."""
        while time.monotonic() < until or any(p.poll() is None for p in players):
            wakeup.wait(0.5)
            wakeup.clear()
            for src in (mic, system):
                got[src.id] += src.read(0)

    players: list[subprocess.Popen] = []
    mic.start()
    system.start()
    try:
        gather(mic, has_audio, timeout=FIRST_AUDIO_S)  # both monitors are flowing now
        gather(system, has_audio, timeout=FIRST_AUDIO_S)
        players = [play(tone, mic_sink), play(speech_wav, "voxcap_test")]
        serve(time.monotonic() + 1.0)
    finally:
        mic.stop()
        system.stop()
    for src in (mic, system):
        got[src.id] += gather(src, has_end)
        assert_contiguous(got[src.id])
        assert {i.source_id for i in got[src.id]} == {src.id}
    assert tone_share(samples(got["mic"]), 1000) > 0.95
    _, corr = align(samples(got["system"]), reference(speech_wav))
    assert corr > 0.9
    assert tone_share(samples(got["system"]), 1000) < 0.05


def test_overflow_is_counted_when_the_consumer_stalls() -> None:
    src = open_source("system", buffer_seconds=0.5)
    with src:
        items = gather(src, has_audio, timeout=FIRST_AUDIO_S)
        time.sleep(1.5)  # the consumer stalls: this is the behaviour under test
        items += src.read(0)
        items += gather(src, lambda _: src.time > 2.5)  # and it recovers
    assert_contiguous(items)
    lost = gaps(items)
    assert [g.reason for g in lost] == ["overflow"]
    assert src.dropped_seconds == pytest.approx(lost[0].duration)
    assert 0.6 < src.dropped_seconds < 1.4  # ~1.5 s stalled minus the 0.5 s buffer


@pytest.fixture
def doomed_sink() -> str:
    name = "voxcap_gone"
    module = load_null_sink(name)
    yield name
    unload(module)
    for line in subprocess.run(["pactl", "list", "short", "modules"], capture_output=True,
                               text=True, check=True).stdout.splitlines():
        if f"sink_name={name}" in line:  # the copy the test loaded again
            unload(line.split()[0])


def module_of(sink: str) -> str:
    return next(line.split()[0] for line in subprocess.run(
        ["pactl", "list", "short", "modules"], capture_output=True, text=True, check=True
    ).stdout.splitlines() if f"sink_name={sink}" in line)


def has_error(items: list) -> bool:
    return any(isinstance(i, SourceError) for i in items)


def audio_after_gap(items: list) -> bool:
    found = gaps(items)
    return bool(found) and has_audio(items[items.index(found[0]):])


def test_an_unplugged_microphone_comes_back_by_itself(doomed_sink: str) -> None:
    src = open_source(f"mic:{doomed_sink}.monitor")  # the null sink's monitor as a microphone
    src.start()
    items = gather(src, has_audio, timeout=FIRST_AUDIO_S)
    items += gather(src, lambda _: src.time > 0.5)
    unload(module_of(doomed_sink))  # unplugged
    lost_at = time.monotonic()
    items += gather(src, has_error, timeout=10)
    assert time.monotonic() - lost_at < 6
    error = items[-1]
    assert isinstance(error, SourceError) and error.retrying
    assert f"{doomed_sink}.monitor" in error.device and "no longer" in error.reason
    assert error.t == pytest.approx(len(samples(items)) / 16000)  # all audio before it kept
    assert not src.running and not src.finished  # the run goes on, waiting for the device

    load_null_sink(doomed_sink)  # plugged back in; nobody calls start()
    plugged_at = time.monotonic()
    again = gather(src, audio_after_gap, timeout=FIRST_AUDIO_S)
    back_at = time.monotonic()
    assert back_at - plugged_at < 8  # a retry each second, then the monitor's slow first block
    hole = gaps(again)[0]
    assert hole.reason == "device-lost" and hole.t == pytest.approx(error.t)
    # The clock skips the time the device was away: at least until it was plugged back, at
    # most until audio was back (plus the latency of the last block before the loss).
    assert plugged_at - lost_at - 0.05 < hole.duration < back_at - lost_at + 0.3
    assert_contiguous(items + again)
    assert src.running
    src.stop()
    assert isinstance(gather(src, has_end)[-1], EndOfStream) and src.finished


def test_stop_while_a_device_is_away_ends_the_run(doomed_sink: str) -> None:
    src = open_source(f"system:{doomed_sink}")
    src.start()
    gather(src, has_audio, timeout=FIRST_AUDIO_S)
    unload(module_of(doomed_sink))
    gather(src, has_error, timeout=10)
    began = time.monotonic()
    src.stop()
    assert time.monotonic() - began < 0.5
    assert isinstance(gather(src, has_end)[-1], EndOfStream)
    assert not src.running and src.finished
    with pytest.raises(SourceUnavailable, match=f"no source '{doomed_sink}.monitor'"):
        src.start()  # still gone
    load_null_sink(doomed_sink)
    with src:
        again = gather(src, has_audio, timeout=FIRST_AUDIO_S)
    assert gaps(again)[0].reason == "paused"  # the user stopped it; no audio was lost after


class PrivateServer:
    """A PulseAudio of the test's own (the shared one keeps serving the other tests)."""

    def __init__(self) -> None:
        self.runtime = Path(tempfile.mkdtemp(prefix="pa-"))  # short: it holds a unix socket

    def start(self) -> None:
        subprocess.run(
            ["pulseaudio", "--daemonize=yes", "--exit-idle-time=-1", "-n", "--use-pid-file=yes",
             "--load=module-native-protocol-unix", "--load=module-null-sink sink_name=private"],
            env={"PATH": "/usr/bin:/bin", "PULSE_RUNTIME_PATH": str(self.runtime)},
            capture_output=True, check=True,
        )

    def kill(self) -> None:
        pid = self.runtime / "pid"
        if pid.exists():
            subprocess.run(["kill", pid.read_text().strip()], check=False)


@pytest.fixture
def private_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivateServer]:
    server = PrivateServer()
    server.start()
    monkeypatch.setenv("PULSE_RUNTIME_PATH", str(server.runtime))  # for libpulse and pactl
    yield server
    server.kill()
    shutil.rmtree(server.runtime, ignore_errors=True)


def test_capture_comes_back_after_the_sound_server_restarts(
    private_server: PrivateServer,
) -> None:
    src = open_source("system")
    assert "private.monitor" in src.device
    src.start()
    items = gather(src, has_audio, timeout=FIRST_AUDIO_S)
    private_server.kill()
    killed_at = time.monotonic()
    items += gather(src, has_error, timeout=10)
    assert time.monotonic() - killed_at < 4
    assert isinstance(items[-1], SourceError) and "private.monitor" in items[-1].device
    private_server.start()  # nobody calls start()
    try:
        again = gather(src, audio_after_gap, timeout=FIRST_AUDIO_S)
    finally:
        src.stop()
    assert gaps(again)[0].reason == "device-lost"
    assert_contiguous(items + again)
