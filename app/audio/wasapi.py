"""System audio on Windows: WASAPI loopback through PyAudioWPatch (the optional ``windows`` extra).

PortAudio as shipped with sounddevice cannot open WASAPI loopback; PyAudioWPatch is a PortAudio
build that lists every output device a second time as a loopback input ("<name> [Loopback]").
WASAPI sends nothing at all while nothing plays, so ``SilenceClock`` fills those stretches with
zeros by the wall clock and the stream time stays equal to real time.
"""
from __future__ import annotations

import threading
import time
from types import ModuleType

import numpy as np

from app.audio.source import DEFAULT_BUFFER_S, RECONNECT_S, Source, SourceUnavailable

INSTALL_HINT = (
    "System audio on Windows needs PyAudioWPatch: pip install \"voxcap[windows]\" "
    "(or pip install PyAudioWPatch)"
)
FILL_PERIOD_S = 0.05  # how often silence is filled in
SLACK_S = 0.2  # a device quiet this long is silent, not merely between packets


class SilenceClock:
    """Frames delivered against frames the wall clock says should exist since the start."""

    def __init__(self, rate: float, start: float, slack: float = SLACK_S) -> None:
        self.rate = rate
        self._start = start
        self._slack = slack
        self._frames = 0
        self._last_packet = start

    def delivered(self, frames: int, now: float) -> None:
        """The device sent ``frames``."""
        self._frames += frames
        self._last_packet = now

    def filled(self, frames: int) -> None:
        """``frames`` zeros were inserted."""
        self._frames += frames

    def due(self, now: float) -> int:
        """Zeros to insert now: none while packets keep coming, else enough to catch up."""
        if now - self._last_packet < self._slack:
            return 0
        return max(0, int((now - self._start) * self.rate) - self._frames)


def load() -> ModuleType:
    """The pyaudiowpatch module, imported only when Windows system audio is wanted."""
    try:
        import pyaudiowpatch
    except ImportError as err:
        raise SourceUnavailable(INSTALL_HINT) from err
    return pyaudiowpatch


def loopback_devices() -> tuple[list[str], str]:
    """(names of all loopback inputs, name of the default output's loopback or "")."""
    pa = load()
    p = pa.PyAudio()
    try:
        names = [d["name"] for d in p.get_loopback_device_info_generator()]
        try:
            default = p.get_default_wasapi_loopback()["name"]
        except (LookupError, OSError):
            default = ""
        return names, default
    finally:
        p.terminate()


class WasapiLoopbackSource(Source):
    """What a Windows output device plays, via its WASAPI loopback twin."""

    def __init__(
        self,
        source_id: str,
        loopback_name: str,
        *,
        buffer_seconds: float = DEFAULT_BUFFER_S,
        wakeup: threading.Event | None = None,
        reconnect_s: float = RECONNECT_S,
    ) -> None:
        # Each opening asks a new PyAudio for the devices, so an output that comes back is found.
        super().__init__(source_id, loopback_name, buffer_seconds=buffer_seconds, wakeup=wakeup,
                         reconnect_s=reconnect_s)
        self._name = loopback_name
        self._pa: object | None = None
        self._stream: object | None = None
        self._channels = 0
        self._rate = 0
        self._continue = 0  # pyaudio's paContinue, read from the module once loaded
        self._clock = SilenceClock(1.0, 0.0)
        self._write_lock = threading.Lock()  # device callback and filler both feed the ring
        self._stop = threading.Event()
        self._filler: threading.Thread | None = None

    def _open(self) -> tuple[float, int]:
        pa = load()
        self._pa = pa.PyAudio()
        try:
            info = next(
                d for d in self._pa.get_loopback_device_info_generator() if d["name"] == self._name
            )
            self._channels = int(info["maxInputChannels"])
            rate = self._rate = int(info["defaultSampleRate"])
            self._stream = self._pa.open(
                format=pa.paFloat32, channels=self._channels, rate=rate, input=True,
                input_device_index=info["index"], frames_per_buffer=rate // 100,
                stream_callback=self._callback, start=False,
            )
        except (StopIteration, OSError) as err:
            self._pa.terminate()
            raise SourceUnavailable(
                f"cannot open {self._name}: {err or 'it is gone'}. "
                "Run `voxcap devices` to see the outputs there are."
            ) from err
        self._continue = pa.paContinue
        return float(rate), self._channels

    def _begin(self) -> None:
        self._clock = SilenceClock(self._rate, time.monotonic())
        self._stop.clear()
        self._filler = threading.Thread(target=self._fill, name=f"fill {self.id}", daemon=True)
        self._filler.start()
        self._stream.start_stream()

    def _close(self) -> None:
        self._stop.set()
        if self._filler is not None:
            self._filler.join()
        self._stream.stop_stream()
        self._stream.close()
        self._pa.terminate()

    def _callback(self, data: bytes, frames: int, when: object, status: int) -> tuple[None, int]:
        block = np.frombuffer(data, np.float32).reshape(-1, self._channels)
        with self._write_lock:
            self._clock.delivered(len(block), time.monotonic())
            self._push(block)
        return None, self._continue

    def _fill(self) -> None:
        """Insert zeros while WASAPI is silent (producer thread, on the clock)."""
        while not self._stop.wait(FILL_PERIOD_S):
            with self._write_lock:
                n = self._clock.due(time.monotonic())
                if n:
                    self._clock.filled(n)
                    self._push(np.zeros((n, self._channels), np.float32))

    def _check_alive(self) -> str | None:
        if self._stream is not None and not self._stream.is_active():
            return "Windows stopped the loopback stream (output device removed or changed)"
        return None
