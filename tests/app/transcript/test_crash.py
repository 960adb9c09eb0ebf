"""A recording process killed outright (SIGKILL) loses at most its last second of transcript."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from app.transcript import list_sessions, load_segments

REPO = Path(__file__).resolve().parents[3]

# Records a word every few milliseconds, forever, and reports each one once add_event returned.
RECORDER = """
import sys, threading
from app.events import TextEvent
from app.transcript import create_session

transcript = create_session("killed")
print(transcript.session_id, flush=True)
tick = threading.Event()
i = 0
while True:
    text = f" w{i}." if i % 10 == 9 else f" w{i}"
    transcript.add_event(TextEvent("mic", "Me", text, i * 0.1, i * 0.1 + 0.08, 0.0))
    print(i, flush=True)
    i += 1
    tick.wait(0.003)
"""


def test_sigkill_loses_at_most_the_last_second_and_the_session_is_restored():
    proc = subprocess.Popen([sys.executable, "-c", RECORDER], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        session_id = proc.stdout.readline().strip()
        acked: list[tuple[int, float]] = []  # (word number, when the recorder said it was added)
        first = time.monotonic()
        while time.monotonic() - first < 2.5:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            acked.append((int(line), time.monotonic()))
        proc.kill()  # SIGKILL on POSIX: no handlers, no flushing, no atexit
        killed_at = time.monotonic()
    finally:
        proc.kill()
        proc.wait(timeout=30)

    (info,) = list_sessions()
    assert (info.id, info.name, info.closed) == (session_id, "killed", False)
    words = " ".join(seg.text for seg in load_segments(session_id)).replace(".", "").split()
    assert words == [f"w{i}" for i in range(len(words))]  # an unbroken prefix, nothing garbled
    must_have = max(i for i, t in acked if t <= killed_at - 1.0)
    assert len(words) > must_have
    assert info.duration >= must_have * 0.1
