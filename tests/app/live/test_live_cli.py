"""`voxcap live` end to end: real system-audio capture, subtitles ffmpeg reads, crash recovery."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import srt

from tests.app.audio.support import play

REPO = Path(__file__).resolve().parents[3]


def voxcap(*args: str, env: dict, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "app", *args], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw,
    )


@pytest.fixture
def env(tmp_path):
    e = dict(os.environ)
    e["VOXCAP_DATA_DIR"] = str(tmp_path / "data")
    e["VOXCAP_CONFIG_DIR"] = str(tmp_path / "config")
    return e


def wait_for_capture_start(proc: subprocess.Popen, env: dict) -> None:
    """Playback must come after capture starts: PulseAudio then lists the child's recording
    stream (the session itself appears only with the first text)."""
    deadline = time.monotonic() + 60
    while not subprocess.run(["pactl", "list", "short", "source-outputs"], capture_output=True,
                             text=True, check=False).stdout.strip():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "voxcap live did not start within a minute"
        time.sleep(0.1)
    time.sleep(0.5)  # the stream is listed just before its first block arrives


def cues_of(path: Path) -> list[srt.Subtitle]:
    cues = list(srt.parse(path.read_text()))
    assert cues, "the subtitles should hold cues"
    return cues


@pytest.mark.audio
def test_system_audio_to_srt(pulse_server, speech_wav, model_dir, env, tmp_path):
    out = tmp_path / "live.srt"
    proc = voxcap("live", "--model", str(model_dir), "--source", "system", "--seconds", "9",
                  "-o", str(out), env=env)
    wait_for_capture_start(proc, env)
    player = play(speech_wav, "voxcap_test")
    assert player.wait(20) == 0
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    if shutil.which("ffmpeg"):
        converted = tmp_path / "live.ass"
        done = subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(out), str(converted)],
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
    cues = cues_of(out)
    first = cues[0].start.total_seconds()
    last = cues[-1].end.total_seconds()
    assert 0 <= first < last <= 9.0 + 2.0
    assert last - first >= 1.0


@pytest.fixture
def mic_is_default(mic_sink):
    """"mic" means the default input: make it the second sink's monitor for the test."""
    before = subprocess.run(["pactl", "get-default-source"], capture_output=True, text=True,
                            check=False)
    subprocess.run(["pactl", "set-default-source", f"{mic_sink}.monitor"], check=True)
    yield mic_sink
    subprocess.run(["pactl", "set-default-source", before.stdout.strip()], check=False)


@pytest.mark.audio
def test_two_sources_labelled_apart(pulse_server, mic_is_default, speech_wav, chirp_files,
                                    model_dir, env, tmp_path):
    out = tmp_path / "both.vtt"
    proc = voxcap("live", "--model", str(model_dir), "--source", "both", "--seconds", "8",
                  "-o", str(out), env=env)
    wait_for_capture_start(proc, env)
    players = [play(speech_wav, "voxcap_test"), play(chirp_files[0][0], mic_is_default)]
    assert all(p.wait(20) == 0 for p in players)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    body = out.read_text()
    assert body.startswith("WEBVTT")
    assert "<v Them>" in body and "<v Me>" in body


def test_sigkill_mid_session_then_restore(chirp_files, model_dir, env):
    path, _ = chirp_files[0]
    long_file = Path(env["VOXCAP_DATA_DIR"]).parent / "long.wav"
    subprocess.run(["sox", str(path), str(long_file), "repeat", "3"], check=True)
    proc = voxcap("live", "--model", str(model_dir), "--source", str(long_file), env=env)
    deadline = time.monotonic() + 30
    journal = None
    while time.monotonic() < deadline:
        found = list(Path(env["VOXCAP_DATA_DIR"]).glob("sessions/*/journal.jsonl"))
        if found and found[0].stat().st_size > 200:
            journal = found[0]
            break
        time.sleep(0.2)
    assert journal is not None, "the session journal should fill while captioning"
    time.sleep(1.5)  # past the one-second flush
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    listed = subprocess.run([sys.executable, "-m", "app", "sessions", "list"], cwd=REPO, env=env,
                            capture_output=True, text=True, check=False)
    assert listed.returncode == 0 and "long.wav" in listed.stdout
    session_id = listed.stdout.splitlines()[1].split()[0]
    shown = subprocess.run([sys.executable, "-m", "app", "sessions", "export", session_id,
                            "--format", "txt"], cwd=REPO, env=env, capture_output=True, text=True, check=False)
    assert shown.returncode == 0 and shown.stdout.strip()
