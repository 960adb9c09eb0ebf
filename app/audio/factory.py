"""From what the user typed to a capture source, and the list of what can be captured.

Specs: ``mic`` (default input), ``mic:NAME`` or ``mic:INDEX``, ``system`` (what the default
output plays), ``system:NAME`` (what that output plays), or the path of an audio file. Names are
matched exactly first, then as a unique case-insensitive part of a name or description.

Where system audio comes from: Linux, the PulseAudio/PipeWire monitor of an output; Windows,
WASAPI loopback (PyAudioWPatch); macOS, a loopback device such as BlackHole, which the user
installs and routes once (``MAC_SETUP``).
"""
from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, TypeVar

from app.audio import pulse, wasapi
from app.audio.device import DeviceSource
from app.audio.file import FileSource
from app.audio.portaudio import sounddevice
from app.audio.source import DEFAULT_BUFFER_S, Source, SourceUnavailable

MAC_LOOPBACK_NAMES = ("blackhole", "soundflower", "loopback audio")
MAC_SETUP = (
    "No loopback device found. To caption what your Mac plays: install BlackHole "
    "(`brew install blackhole-2ch`), open Audio MIDI Setup, create a Multi-Output Device with "
    "your speakers and BlackHole 2ch, and choose it as the sound output. "
    "`voxcap devices` then lists it under system audio."
)
NO_PULSE_DEVICE = (
    "PortAudio has no 'pulse' device, so voxcap cannot reach PulseAudio/PipeWire. Either the "
    "sound server was not running when voxcap started (start it, then voxcap), or the ALSA "
    "PulseAudio plugin is missing: install libasound2-plugins (Debian/Ubuntu), "
    "alsa-plugins-pulseaudio (Fedora/Arch) or pipewire-alsa"
)
USAGE = "a source is mic, mic:NAME, system, system:NAME or the path of an audio file"

T = TypeVar("T")


@dataclass(frozen=True)
class DeviceInfo:
    kind: str  # "mic" or "system"
    spec: str  # what open_source accepts, e.g. "system:alsa_output.pci-0000_00_1f.3.analog-stereo"
    description: str
    default: bool


class Inventory(NamedTuple):
    devices: list[DeviceInfo]
    notes: list[str]  # why some kind of source is missing, and what to do about it


def open_source(
    spec: str,
    *,
    realtime: bool = True,
    buffer_seconds: float = DEFAULT_BUFFER_S,
    wakeup: threading.Event | None = None,
) -> Source:
    """A source for ``spec``, not yet started; SourceUnavailable with advice for bad names.

    ``realtime`` paces a file at real time (False: as fast as it is read); ``buffer_seconds`` is
    how far the consumer may fall behind before audio is dropped; ``wakeup`` is set whenever
    the source has something to read, so one consumer can wait on several sources at once.
    """
    options = {"buffer_seconds": buffer_seconds, "wakeup": wakeup}
    kind, _, name = spec.partition(":")
    if kind == "mic":
        return _mic(name, options)
    if kind == "system":
        return _system(name, options)
    path = Path(spec).expanduser()
    if not path.is_file():
        raise SourceUnavailable(f"{spec!r} is not a file or a known source: {USAGE}")
    return FileSource(path, realtime=realtime, **options)


def _mic(name: str, options: dict) -> Source:
    index = _pulse_index() if sys.platform.startswith("linux") else None
    if name.isdigit() or index is None:
        return _portaudio_input(name, options)
    try:
        default_source = pulse.defaults()[1]
        found = pulse.sources()
    except pulse.PulseUnavailable:
        return _portaudio_input(name, options)
    if name:
        # PortAudio's own inputs ('pulse', 'default', hw:...) are accepted by name too.
        named = [([s.name, s.description], s) for s in found] + [
            ([d["name"]], d) for d in _inputs()
        ]
        chosen = _match(name, named, "microphone")
        if isinstance(chosen, dict):
            return DeviceSource("mic", chosen["name"], chosen["index"], **options)
    else:
        chosen = next((s for s in found if s.name == default_source), None)
        if chosen is None:
            raise SourceUnavailable("the sound server has no default input; pick one: mic:NAME")
    return DeviceSource(
        "mic", f"{chosen.description} ({chosen.name})", index, pulse_source=chosen.name,
        rate=chosen.rate or None, channels=min(2, chosen.channels) or None, **options,
    )


def _portaudio_input(name: str, options: dict) -> Source:
    inputs = _inputs()
    if not inputs:
        raise SourceUnavailable("this system lists no audio input device; connect a microphone, then run "
                                "`voxcap devices` to see it")
    if not name:
        default = sounddevice().default.device[0]
        chosen = next((d for d in inputs if d["index"] == default), inputs[0])
    elif name.isdigit():
        chosen = next((d for d in inputs if d["index"] == int(name)), None)
        if chosen is None:
            listing = ", ".join(f"{d['index']} ({d['name']})" for d in inputs)
            raise SourceUnavailable(f"no input device number {name}; inputs are {listing}")
    else:
        chosen = _match(name, [([d["name"]], d) for d in inputs], "input device")
    return DeviceSource("mic", chosen["name"], chosen["index"], **options)


def _system(name: str, options: dict) -> Source:
    if sys.platform.startswith("linux"):
        return _pulse_monitor(name, options)
    if sys.platform == "win32":
        names, default = wasapi.loopback_devices()
        if not names:
            raise SourceUnavailable("Windows lists no output device to capture from")
        chosen = _match(name, [([n], n) for n in names], "output") if name else default
        return wasapi.WasapiLoopbackSource("system", chosen or names[0], **options)
    if sys.platform == "darwin":
        loopbacks = mac_loopbacks(_inputs())
        if not loopbacks:
            raise SourceUnavailable(MAC_SETUP)
        pool = loopbacks if not name else _inputs()
        chosen = _match(name, [([d["name"]], d) for d in pool], "input") if name else pool[0]
        return DeviceSource("system", chosen["name"], chosen["index"], **options)
    raise SourceUnavailable(f"capturing system audio is not supported on {sys.platform}")


def _pulse_monitor(name: str, options: dict) -> Source:
    index = _pulse_index()
    if index is None:
        raise SourceUnavailable(NO_PULSE_DEVICE)
    try:
        default_sink = pulse.defaults()[0]
        sinks = pulse.sinks()
        sources = {s.name: s for s in pulse.sources()}
    except pulse.PulseUnavailable as err:
        raise SourceUnavailable(f"system audio needs PulseAudio or PipeWire: {err}") from err
    if name:
        named = [([s.name, s.monitor, s.description], s) for s in sinks]
        sink = _match(name, named, "output")
    else:
        sink = next((s for s in sinks if s.name == default_sink), None)
        if sink is None:
            raise SourceUnavailable("the sound server has no default output; pick one: system:NAME")
    monitor = sources.get(sink.monitor)
    if monitor is None:
        raise SourceUnavailable(f"output {sink.name!r} has no monitor source to record from")
    return DeviceSource(
        "system", f"system audio of {sink.description} ({monitor.name})", index,
        pulse_source=monitor.name, rate=monitor.rate or None,
        channels=min(2, monitor.channels) or None, **options,
    )


def list_devices() -> Inventory:
    """Microphones and system-audio sources, each with the spec ``open_source`` accepts."""
    devices: list[DeviceInfo] = []
    notes: list[str] = []
    linux_pulse = False
    if sys.platform.startswith("linux"):
        linux_pulse = _list_pulse(devices, notes)
    default_input = sounddevice().default.device[0]
    for d in _inputs():
        if linux_pulse and d["name"] in ("pulse", "default", "pipewire"):
            continue  # the server's sources above are the same thing, by name
        devices.append(DeviceInfo("mic", f"mic:{d['index']}", d["name"],
                                  not linux_pulse and d["index"] == default_input))
    if sys.platform == "win32":
        try:
            names, default = wasapi.loopback_devices()
            devices += [DeviceInfo("system", f"system:{n}", n, n == default) for n in names]
        except SourceUnavailable as err:
            notes.append(str(err))
    elif sys.platform == "darwin":
        loopbacks = mac_loopbacks(_inputs())
        devices += [DeviceInfo("system", f"system:{d['name']}", d["name"], i == 0)
                    for i, d in enumerate(loopbacks)]
        if not loopbacks:
            notes.append(MAC_SETUP)
    return Inventory(devices, notes)


def _list_pulse(devices: list[DeviceInfo], notes: list[str]) -> bool:
    """Add the sound server's inputs and outputs; False (with a note) when it cannot be used."""
    if _pulse_index() is None:
        notes.append(NO_PULSE_DEVICE)
        return False
    try:
        default_sink, default_source = pulse.defaults()
        sinks, sources = pulse.sinks(), pulse.sources()
    except pulse.PulseUnavailable as err:
        notes.append(f"system audio needs PulseAudio or PipeWire: {err}")
        return False
    devices += [DeviceInfo("mic", f"mic:{s.name}", s.description, s.name == default_source)
                for s in sources if not s.monitor_of]
    devices += [DeviceInfo("system", f"system:{s.name}", s.description, s.name == default_sink)
                for s in sinks]
    return True


def mac_loopbacks(inputs: Sequence[dict]) -> list[dict]:
    """The input devices that carry what macOS plays (BlackHole, Soundflower, Loopback)."""
    return [d for d in inputs if any(k in d["name"].lower() for k in MAC_LOOPBACK_NAMES)]


def _inputs() -> list[dict]:
    return [dict(d) for d in sounddevice().query_devices() if d["max_input_channels"] > 0]


def _pulse_index() -> int | None:
    """PortAudio's index of ALSA's 'pulse' device, None when it is missing."""
    return next((d["index"] for d in _inputs() if d["name"] == "pulse"), None)


def _match(name: str, options: Sequence[tuple[Sequence[str], T]], what: str) -> T:
    """The option one of whose labels is ``name``, else the one that contains it."""
    for test in (lambda label: label == name, lambda label: label.lower() == name.lower(),
                 lambda label: name.lower() in label.lower()):
        hits = [value for labels, value in options if any(test(label) for label in labels)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            shown = ", ".join(repr(labels[0]) for labels, value in options if value in hits)
            raise SourceUnavailable(f"{name!r} matches several: {shown}; use the full name")
    known = ", ".join(repr(labels[0]) for labels, _ in options) or "none"
    raise SourceUnavailable(
        f"no {what} called {name!r}; there are {known}. `voxcap devices` lists them all."
    )
