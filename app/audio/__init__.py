"""Audio capture: microphones, system audio (loopback) and files, as 16 kHz mono with a clock.

The contract the live pipeline relies on
----------------------------------------
``open_source(spec, *, realtime=True, buffer_seconds=30.0, wakeup=None) -> Source``
    ``spec`` is ``"mic"``, ``"mic:NAME"``, ``"mic:INDEX"``, ``"system"``, ``"system:NAME"`` or a
    file path (``voxcap devices`` prints the names). Bad names raise ``SourceUnavailable``
    whose message says what to do. The source is returned unstarted.

``Source``
    ``id``            "mic", "system" or the file's name; stamped on every item.
    ``device``        what is being captured, in words for people.
    ``start()``       open the device and capture (``SourceUnavailable`` if it cannot). After a
                      stop or an error it reopens; a live source's clock then jumps by the time
                      it was away, reported as a ``Gap`` ("device-lost" or "paused").
    ``stop()``        idempotent, returns within about 2 s whatever the device does.
    ``read(timeout)`` everything pending, in order, waiting up to ``timeout`` seconds when
                      there is nothing yet; ``[]`` on timeout. Single consumer thread.
    ``level``         ``Level(rms_db, peak_db)`` in dBFS, ~20 updates/s, -100 when silent.
    ``running``, ``finished``, ``time`` (stream seconds handed out), ``dropped_seconds``.

Items ``read`` returns
    ``AudioChunk``  float32 16 kHz mono; ``t`` is sample-exact on the source's own clock
                    (0 at the first start); consecutive chunks are contiguous unless a
                    ``Gap`` lies between them.
    ``Gap``         audio that will never come: ``"overflow"`` (the consumer fell more than
                    ``buffer_seconds`` behind; also counted in ``dropped_seconds``),
                    ``"device-lost"`` or ``"paused"`` (time the source was closed).
    ``SourceError`` the device failed (unplugged, server restarted); names the device and
                    why, after all audio captured before it. A device source keeps its run
                    (``retrying=True``): it looks for the device every second and reopens it
                    once it is back, with a ``"device-lost"`` gap for the time away, with no
                    ``start()`` needed. Otherwise (``retrying=False``) it ends the run.
    ``EndOfStream`` the run ended cleanly: a file played out, or ``stop()``.
    Every run ends with exactly one ``EndOfStream`` or non-retrying ``SourceError``; after it
    ``finished`` is True and ``read`` returns ``[]`` at once until ``start()`` is called again.
    ``stop()`` while a device is away ends the run with ``EndOfStream``.

Several sources run at once, each with its own clock. To wait on all of them, pass one
``threading.Event`` as ``wakeup`` to each: it is set whenever any has something to read;
clear it, then ``read(0)`` each source.

Threads: a device's own callback (or a pacing thread for files) only copies into a
preallocated ring and counts what it had to drop; mixing down, soxr resampling and clock
stamping happen in ``read``.
"""
from __future__ import annotations

from app.audio.factory import DeviceInfo, Inventory, list_devices, open_source
from app.audio.level import Level
from app.audio.source import EndOfStream, Item, Source, SourceError, SourceUnavailable
from app.events import SAMPLE_RATE

__all__ = [
    "SAMPLE_RATE",
    "DeviceInfo",
    "EndOfStream",
    "Inventory",
    "Item",
    "Level",
    "Source",
    "SourceError",
    "SourceUnavailable",
    "list_devices",
    "open_source",
]
