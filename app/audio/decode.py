"""Open a sound or video file and read its audio in blocks, at its own rate and channel count.

libsndfile (soundfile) reads WAV, FLAC, OGG/Vorbis/Opus and MP3 exactly and fast; everything it
cannot read -- MP4/M4A (AAC), WebM, MKV, MOV, any video with an audio track -- and a WAV whose
size fields are 0 (a recorder that crashed before it could write them: libsndfile sees no
frames, the samples are all there) are decoded by FFmpeg through PyAV. A file with no audio at
all (a bare header, a video without sound) raises ``NoAudio`` when it is opened, before anyone
loads a model for it.

Both readers hand out float32 frames shaped (n, channels), fewer than asked only at the end, so
a file of any length is read in bounded memory.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
import soundfile as sf

from app.audio.source import SourceUnavailable

FILE_BLOCK_S = 1.0  # seconds of a file read, converted and handed on at a time
READABLE = "WAV, FLAC, OGG, Opus, MP3, M4A/MP4 (AAC), WebM, MKV, MOV and other video files"


class NoAudio(SourceUnavailable):
    """The file is readable but holds no audio; the message says so."""


class AudioFile(Protocol):
    """An open file's audio: ``rate`` (Hz), ``channels``, and ``read`` in blocks."""

    rate: float
    channels: int

    @property
    def closed(self) -> bool: ...

    def read(self, frames: int) -> np.ndarray:
        """Up to ``frames`` frames, float32 shaped (n, channels); n < frames only at the end."""
        ...

    def close(self) -> None: ...


def open_audio(path: str | Path, start: int = 0) -> AudioFile:
    """Open ``path`` positioned at frame ``start``.

    Raises SourceUnavailable (missing, empty, unreadable file; the message says what voxcap
    reads) or its subclass NoAudio (readable, but no audio in it).
    """
    path = Path(path)
    if not path.is_file():
        raise SourceUnavailable(f"{path}: no such file.")
    if path.stat().st_size == 0:
        raise SourceUnavailable(f"{path} is empty (0 bytes); nothing to transcribe.")
    try:
        snd = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError):
        snd = None  # not a format libsndfile knows: FFmpeg may
    if snd is not None and snd.frames > 0:
        if start:
            snd.seek(start)
        return _SndFile(snd)
    if snd is not None:
        snd.close()  # no frames as far as libsndfile can tell: let FFmpeg look at the data
    audio = _AvFile(path)
    audio.skip(start)
    return audio


class _SndFile:
    """libsndfile's reader, as it is."""

    def __init__(self, snd: sf.SoundFile) -> None:
        self._snd = snd
        self.rate = float(snd.samplerate)
        self.channels = snd.channels

    @property
    def closed(self) -> bool:
        return self._snd.closed

    def read(self, frames: int) -> np.ndarray:
        return self._snd.read(frames, dtype="float32", always_2d=True)

    def close(self) -> None:
        self._snd.close()


class _AvFile:
    """FFmpeg's decoder for the first audio track, converted to packed float32 frames.

    Every decoded frame is converted to the first frame's rate and channel layout, so a stream
    that changes either midway still reads as one. Packets that fail to decode are skipped
    (a damaged stretch becomes shorter, not fatal); ``damaged`` counts them.
    """

    def __init__(self, path: Path) -> None:
        import av  # only files that libsndfile cannot read need FFmpeg

        self._av = av
        try:
            self._container = av.open(str(path))
        except (av.FFmpegError, OSError, UnicodeDecodeError) as err:
            why = getattr(err, "strerror", None) or type(err).__name__
            raise SourceUnavailable(
                f"{path} cannot be read as audio ({why}). voxcap reads {READABLE}; "
                "neither libsndfile nor FFmpeg could open it"
            ) from None
        tracks = self._container.streams.audio
        if not tracks:
            self._container.close()
            raise NoAudio(f"{path} has no audio track (a video without sound?); nothing to "
                          "transcribe.")
        self._track = tracks[0]
        self.rate, self.channels = 0.0, 0  # the first decoded frame's; set by _convert
        self._resampler = None
        self._blocks: deque[np.ndarray] = deque()
        self._held = 0  # frames in _blocks
        self.damaged = 0
        self._decoded = self._decode()
        first = next(self._decoded, None)  # the rate and layout to read at; NoAudio if none
        if first is None:
            self._container.close()
            raise NoAudio(f"{path} holds no audio (it ends after its header, or its audio "
                          "track is empty); nothing to transcribe.")
        self._keep(first)

    @property
    def closed(self) -> bool:
        return self._decoded is None

    def read(self, frames: int) -> np.ndarray:
        while self._held < frames and self._decoded is not None:
            block = next(self._decoded, None)
            if block is None:
                break
            self._keep(block)
        return self._take(min(frames, self._held))

    def skip(self, frames: int) -> None:
        """Move ``frames`` frames on (FFmpeg's seeking is not sample-exact: decode and drop)."""
        while frames > 0:
            got = len(self.read(min(frames, 1 << 16)))
            if not got:
                return
            frames -= got

    def close(self) -> None:
        if self._decoded is not None:
            self._decoded.close()
            self._decoded = None
            self._container.close()

    def _keep(self, block: np.ndarray) -> None:
        self._blocks.append(block)
        self._held += len(block)

    def _take(self, n: int) -> np.ndarray:
        out = np.empty((n, self.channels), np.float32)
        filled = 0
        while filled < n:
            block = self._blocks.popleft()
            used = min(len(block), n - filled)
            out[filled : filled + used] = block[:used]
            if used < len(block):
                self._blocks.appendleft(block[used:])
            filled += used
        self._held -= n
        return out

    def _decode(self) -> Iterator[np.ndarray]:
        """Packed float32 blocks (n, channels) of the track, to its end."""
        av = self._av
        for packet in self._container.demux(self._track):
            try:
                frames = packet.decode()  # the final (empty) packet flushes the decoder
            except av.FFmpegError:
                self.damaged += 1
                continue
            for frame in frames:
                yield from self._convert(frame)
        if self._resampler is not None:
            yield from self._convert(None)

    def _convert(self, frame: object | None) -> Iterator[np.ndarray]:
        if self._resampler is None:
            self.rate = float(frame.sample_rate)
            self.channels = frame.layout.nb_channels
            self._resampler = self._av.AudioResampler(
                format="flt", layout=frame.layout.name, rate=frame.sample_rate
            )
        for out in self._resampler.resample(frame):
            block = out.to_ndarray().reshape(-1, self.channels)
            if len(block):
                yield block
