"""Capture from a PortAudio input device through sounddevice.

Covers microphones everywhere, macOS loopback devices (BlackHole and the like), and on Linux
any PulseAudio/PipeWire source -- sink monitors included, which is how system audio is
captured there -- through ALSA's ``pulse`` device routed with ``pulse.routed``.

PulseAudio sources are watched (``pulse.watch``): when one goes away the server would silently
move the recording elsewhere. Other devices: PortAudio may not report a vanished device, whose
callbacks then simply stop. So a device
that has sent nothing at all (no callbacks, not merely quiet audio) for STALL_S is declared
lost. Either way the source reports the loss and reopens the device by itself once it is back
(``RECONNECT_S``), the time away becoming a "device-lost" gap. Some sources start slowly -- a PulseAudio null sink's monitor first delivers after about
1.5 s -- hence the longer allowance before the first callback.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from app.audio import pulse
from app.audio.portaudio import sounddevice
from app.audio.source import DEFAULT_BUFFER_S, RECONNECT_S, Source, SourceUnavailable

STALL_S = 3.0  # devices call back every few ms; this long without a callback means it is gone
STARTUP_S = 6.0  # the same, before the first callback


class DeviceSource(Source):
    """One sounddevice InputStream feeding the ring from its callback."""

    def __init__(
        self,
        source_id: str,
        device: str,
        portaudio_index: int,
        *,
        pulse_source: str | None = None,
        rate: float | None = None,
        channels: int | None = None,
        buffer_seconds: float = DEFAULT_BUFFER_S,
        wakeup: threading.Event | None = None,
        reconnect_s: float = RECONNECT_S,
    ) -> None:
        """``device`` names it for people; ``pulse_source`` routes the ``pulse`` device.

        A device that fails (unplugged, the server restarted) is looked for every
        ``reconnect_s`` and reopened once it is back; the time away becomes a gap.
        """
        super().__init__(source_id, device, buffer_seconds=buffer_seconds, wakeup=wakeup,
                         reconnect_s=reconnect_s)
        self._index = portaudio_index
        self._pulse_source = pulse_source
        self._rate = rate
        self._channels = channels
        self._stream = None  # sounddevice.InputStream while open
        self._closing = False
        self._heard = False  # a callback arrived in this run
        self._unwatch: Callable[[], None] | None = None

    def _open(self) -> tuple[float, int]:
        if self._pulse_source and not pulse.source_exists(self._pulse_source):
            # PortAudio would only say "Input/output error".
            raise SourceUnavailable(
                f"the sound server lists no source {self._pulse_source!r}; "
                "run `voxcap devices` to see what is there"
            )
        sd = sounddevice()
        try:
            info = sd.query_devices(self._index, "input")
            channels = self._channels or min(2, int(info["max_input_channels"]))
            rate = self._rate or float(info["default_samplerate"])
            self._closing = self._heard = False
            with pulse.routed(self._pulse_source):
                self._stream = sd.InputStream(
                    device=self._index,
                    channels=channels,
                    samplerate=rate,
                    dtype="float32",
                    callback=self._callback,
                    finished_callback=self._finished,
                )
        except (sd.PortAudioError, ValueError) as err:
            raise SourceUnavailable(
                f"cannot open {self.device}: {err}. Run `voxcap devices` to see what is there."
            ) from err
        return float(self._stream.samplerate), channels

    def _begin(self) -> None:
        if self._pulse_source:
            try:
                self._unwatch = pulse.watch(self._pulse_source, self._fail)
            except pulse.PulseUnavailable as err:
                raise SourceUnavailable(f"{err}; run `voxcap devices` to see what is there") from err
        self._stream.start()

    def _close(self) -> None:
        self._closing = True
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        self._stream.abort()
        self._stream.close()

    def _callback(self, indata: np.ndarray, frames: int, when: object, status: object) -> None:
        self._heard = True
        self._push(indata)

    def _finished(self) -> None:
        if not self._closing:
            self._fail("the audio stream ended without being asked to")

    def _present(self) -> bool:
        # A sound server source is back when the server lists it again. PortAudio's own list
        # of devices is fixed when it starts, so other devices are simply tried again.
        return not self._pulse_source or pulse.source_exists(self._pulse_source)

    def _check_alive(self) -> str | None:
        quiet = time.monotonic() - self._last_push
        if quiet < (STALL_S if self._heard else STARTUP_S):
            return None
        return f"no audio from the device for {quiet:.1f} s"
