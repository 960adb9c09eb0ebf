"""Ctrl-C in `voxcap live`: within 2 s, session closed, --output written; twice quits at once.

Each test runs the real command on a private PulseAudio null sink and sends SIGINT at a chosen
moment: in silence, while speech is being captioned, and while decoding has fallen behind and
audio is being skipped to catch up (the child's decoding is slowed to half real time).
"""
from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.app.audio.support import load_null_sink, play, unload

REPO = Path(__file__).resolve().parents[3]
STOP_WITHIN_S = 2.0

# Imported by the child when on its path: each 80 ms the model gets costs 160 ms more, so
# decoding runs at half real time, as on a machine too slow for the model.
SLOW_DECODING = """
import threading
import app.live.local

_push = app.live.local.LocalBackend.push

def push(self, stream, samples):
    _push(self, stream, samples)
    threading.Event().wait(2 * len(samples) / 16000)

_finish = app.live.local.LocalBackend.finish

def finish(self, stream):  # the last words take long: a second Ctrl-C lands while they decode
    threading.Event().wait(3.0)
    _finish(self, stream)

app.live.local.LocalBackend.push = push
app.live.local.LocalBackend.finish = finish
"""


@pytest.fixture
def sink(pulse_server) -> Iterator[str]:
    name = f"voxcap_interrupt_{uuid.uuid4().hex[:8]}"  # no clash with a sink left by a crash
    module = load_null_sink(name)
    yield name
    unload(module)


@pytest.fixture
def env(tmp_path) -> dict:
    e = dict(os.environ)
    e["VOXCAP_DATA_DIR"] = str(tmp_path / "data")
    e["VOXCAP_CONFIG_DIR"] = str(tmp_path / "config")
    e["PYTHONPATH"] = str(REPO)
    return e


class Live:
    """`voxcap live` as a child process, its stderr read line by line."""

    def __init__(self, args: list[str], env: dict) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app", "live", *args], cwd=REPO, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            # The test runner may ignore SIGINT; the child must see it as a terminal sends it.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
        )
        self.err = ""
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.proc.stderr, selectors.EVENT_READ)

    def wait_for_stderr(self, text: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.err:
            assert self.proc.poll() is None, f"voxcap live ended early:\n{self.err}"
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} on stderr:\n{self.err}"
            if self._sel.select(left):
                # Raw reads: a buffered readline would keep lines that select() no longer sees.
                self.err += os.read(self.proc.stderr.fileno(), 65536).decode(errors="replace")

    def interrupt(self) -> float:
        """SIGINT now; returns the moment it was sent."""
        self.proc.send_signal(signal.SIGINT)
        return time.monotonic()

    def finish(self, timeout: float) -> tuple[int, str, str]:
        out, rest = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, self.err + rest


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def journal_records(env: dict, skip: int = 0) -> list[dict]:
    """The records of the newest session's journal, once there are more than ``skip``."""
    found = sorted(Path(env["VOXCAP_DATA_DIR"]).glob("sessions/*/journal.jsonl"),
                   key=lambda p: p.stat().st_mtime_ns)
    if len(found) <= skip:
        return []
    lines = found[-1].read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]


def assert_closed_session(env: dict) -> None:
    listed = subprocess.run([sys.executable, "-m", "app", "sessions", "list"], cwd=REPO,
                            env=env, capture_output=True, text=True, check=False)
    session_id = listed.stdout.splitlines()[1].split()[0]
    shown = subprocess.run([sys.executable, "-m", "app", "sessions", "show", session_id],
                           cwd=REPO, env=env, capture_output=True, text=True, check=False)
    assert "state:    closed" in shown.stdout, shown.stdout + shown.stderr


def stop_and_check(live: Live, env: dict, out: Path) -> str:
    sent = live.interrupt()
    try:
        code, _, err = live.finish(timeout=STOP_WITHIN_S)
    except subprocess.TimeoutExpired:
        live.proc.kill()
        pytest.fail(f"voxcap live did not end within {STOP_WITHIN_S} s of Ctrl-C:\n{live.err}")
    assert time.monotonic() - sent <= STOP_WITHIN_S
    assert code == 0, err
    assert "terminate called" not in err and "Traceback" not in err, err
    assert out.is_file(), err
    assert_closed_session(env)
    return out.read_text(encoding="utf-8")


@pytest.mark.audio
def test_ctrl_c_in_silence(sink, model_dir, env, tmp_path):
    out = tmp_path / "silence.srt"
    live = Live(["--model", str(model_dir), "--source", f"system:{sink}", "-o", str(out)], env)
    live.wait_for_stderr("listening")
    stop_and_check(live, env, out)


@pytest.mark.audio
def test_ctrl_c_mid_speech(sink, model_dir, speech_wav, env, tmp_path):
    out = tmp_path / "speech.txt"
    live = Live(["--model", str(model_dir), "--source", f"system:{sink}", "-o", str(out)], env)
    live.wait_for_stderr("listening")
    player = play(speech_wav, sink)
    wait_until(lambda: any(r.get("type") == "text" for r in journal_records(env)),
               "the first words in the journal")
    text = stop_and_check(live, env, out)
    player.kill()
    assert text.strip(), "the words captioned before Ctrl-C belong in --output"


@pytest.mark.audio
def test_ctrl_c_during_catch_up_then_twice(sink, model_dir, speech_wav, env, tmp_path):
    slow = tmp_path / "slow"
    slow.mkdir()
    (slow / "sitecustomize.py").write_text(SLOW_DECODING)
    env["PYTHONPATH"] = f"{slow}{os.pathsep}{REPO}"
    long_speech = tmp_path / "long.wav"
    subprocess.run(["sox", str(speech_wav), str(long_speech), "repeat", "6"], check=True)
    out = tmp_path / "behind.vtt"
    args = ["--model", str(model_dir), "--source", f"system:{sink}", "--max-lag", "1", "-o",
            str(out)]
    live = Live(args, env)
    live.wait_for_stderr("listening")
    player = play(long_speech, sink)
    wait_until(lambda: any(r.get("reason") == "skip" for r in journal_records(env)),
               "audio skipped to catch up")
    stop_and_check(live, env, out)
    player.kill()

    # Twice: the second Ctrl-C ends it at once, whatever the first was waiting for.
    live = Live(args, env)
    live.wait_for_stderr("listening")
    player = play(long_speech, sink)
    wait_until(lambda: any(r.get("reason") == "skip" for r in journal_records(env, skip=1)),
               "audio skipped in the second session")
    live.interrupt()
    live.wait_for_stderr("stopping")
    live.interrupt()
    code, _, err = live.finish(timeout=STOP_WITHIN_S)
    player.kill()
    assert code == 130, err
    assert "stopped at once" in err
