"""PulseAudio / PipeWire on Linux: name the sources and sinks, and route a stream to one of them.

PortAudio reaches the sound server through ALSA's ``pulse`` device (libasound2-plugins), which
always records from the server's default source. libpulse reads the ``PULSE_SOURCE`` environment
variable when a connection is created, i.e. while the stream is being opened, so ``routed``
sets it for exactly that moment (under a lock, since the environment is process-wide). Names and
defaults come from ``pactl`` (pulseaudio-utils; pipewire-pulse uses the same tool), run with
``LC_ALL=C`` because its labels are translated.

When a source goes away the server quietly moves its recordings to the default source -- which
may be the microphone -- so ``watch`` listens to ``pactl subscribe`` and says so at once.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

PACTL_TIMEOUT_S = 5.0
_env_lock = threading.Lock()


class PulseUnavailable(Exception):
    """pactl is missing or the sound server does not answer; the message says which."""


@dataclass(frozen=True)
class PulseSource:
    name: str
    description: str
    monitor_of: str  # sink whose output this source monitors; "" for a real input
    rate: int  # native sample rate, Hz
    channels: int


@dataclass(frozen=True)
class PulseSink:
    name: str
    description: str
    monitor: str  # name of the source that carries what this sink plays


def _command(*args: str) -> list[str]:
    exe = shutil.which("pactl")
    if exe is None:
        raise PulseUnavailable(
            "pactl was not found: install pulseaudio-utils (it also works with PipeWire)"
        )
    return [exe, *args]


def _c_locale() -> dict[str, str]:
    return dict(os.environ, LC_ALL="C")


def pactl(*args: str) -> str:
    """Run pactl; PulseUnavailable when it is missing or the server does not answer."""
    try:
        done = subprocess.run(
            _command(*args), capture_output=True, text=True, env=_c_locale(),
            timeout=PACTL_TIMEOUT_S, check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise PulseUnavailable("the sound server did not answer within 5 s") from err
    if done.returncode != 0:
        why = done.stderr.strip() or f"pactl {' '.join(args)} failed"
        raise PulseUnavailable(f"no PulseAudio/PipeWire server to talk to ({why})")
    return done.stdout


def defaults() -> tuple[str, str]:
    """(default sink, default source) names."""
    found = _fields(pactl("info"), ("Default Sink", "Default Source"))
    return found.get("Default Sink", ""), found.get("Default Source", "")


def sources() -> list[PulseSource]:
    out = []
    for block in _blocks(pactl("list", "sources"), "Source #"):
        f = _fields(block, ("Name", "Description", "Monitor of Sink", "Sample Specification"))
        rate, channels = _spec(f.get("Sample Specification", ""))
        monitor_of = f.get("Monitor of Sink", "n/a")
        out.append(
            PulseSource(
                f.get("Name", ""), f.get("Description", ""),
                "" if monitor_of == "n/a" else monitor_of, rate, channels,
            )
        )
    return out


def sinks() -> list[PulseSink]:
    out = []
    for block in _blocks(pactl("list", "sinks"), "Sink #"):
        f = _fields(block, ("Name", "Description", "Monitor Source"))
        out.append(PulseSink(f.get("Name", ""), f.get("Description", ""), f.get("Monitor Source", "")))
    return out


def source_exists(name: str) -> bool:
    """Whether the server still lists ``name``; False when the server is gone too."""
    try:
        listing = pactl("list", "short", "sources")
    except PulseUnavailable:
        return False
    return any(line.split("\t")[1:2] == [name] for line in listing.splitlines())


@contextmanager
def routed(source: str | None) -> Iterator[None]:
    """Open streams inside this block to record from ``source`` (None: the server's default).

    Every stream opening in the process should go through here, so that none of them picks up
    another one's choice from the shared environment.
    """
    with _env_lock:
        before = os.environ.get("PULSE_SOURCE")
        if source is None:
            os.environ.pop("PULSE_SOURCE", None)
        else:
            os.environ["PULSE_SOURCE"] = source
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("PULSE_SOURCE", None)
            else:
                os.environ["PULSE_SOURCE"] = before


class _Watcher:
    """One ``pactl subscribe`` for the whole process, running while anything is watched."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watching: dict[int, tuple[str, Callable[[str], None]]] = {}
        self._next = 0
        self._process: subprocess.Popen | None = None

    def watch(self, source: str, on_lost: Callable[[str], None]) -> Callable[[], None]:
        """Call ``on_lost(reason)`` (from a helper thread) if ``source`` disappears.

        Returns the function that stops watching. PulseUnavailable if the source is already gone.
        """
        command = _command("subscribe")
        with self._lock:
            key = self._next
            self._next += 1
            self._watching[key] = (source, on_lost)
            if self._process is None or self._process.poll() is not None:
                self._process = subprocess.Popen(
                    command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                    text=True, env=_c_locale(),
                )
                threading.Thread(
                    target=self._listen, args=(self._process,), name="pactl subscribe", daemon=True
                ).start()
        unwatch = functools.partial(self._unwatch, key)
        if not source_exists(source):  # gone before the subscription could see it go
            unwatch()
            raise PulseUnavailable(f"the sound server has no source {source!r}")
        return unwatch

    def _unwatch(self, key: int) -> None:
        with self._lock:
            self._watching.pop(key, None)
            if not self._watching and self._process is not None:
                self._process.terminate()
                self._process = None

    def _listen(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            if line.startswith("Event 'remove' on source #"):
                self._check(lambda name: not source_exists(name), "")
        process.wait()
        with self._lock:
            mine = self._process is process  # not one we terminated on purpose
        if mine:
            self._check(lambda name: True, "the sound server stopped")

    def _check(self, lost: Callable[[str], bool], reason: str) -> None:
        with self._lock:
            watching = list(self._watching.values())
        for source, on_lost in watching:
            if lost(source):
                on_lost(reason or f"the sound server no longer lists {source!r}")


watch = _Watcher().watch


def _blocks(text: str, header: str) -> list[str]:
    parts = text.split("\n" + header)
    if parts and not parts[0].startswith(header):
        parts = parts[1:]
    return parts


def _fields(block: str, keys: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in block.splitlines():
        key, sep, value = line.strip().partition(": ")
        if sep and key in keys and key not in found:
            found[key] = value.strip()
    return found


def _spec(text: str) -> tuple[int, int]:
    """'s16le 2ch 44100Hz' -> (44100, 2); zeros when it cannot be read."""
    rate = channels = 0
    for word in text.split():
        if word.endswith("Hz") and word[:-2].isdigit():
            rate = int(word[:-2])
        elif word.endswith("ch") and word[:-2].isdigit():
            channels = int(word[:-2])
    return rate, channels
