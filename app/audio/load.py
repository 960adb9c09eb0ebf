"""A sound file as 16 kHz mono blocks, read and converted a block at a time (file transcription).

The file is decoded (``app.audio.decode``), mixed down and resampled by the same ``Converter``
that live capture uses, one ``FILE_BLOCK_S`` block at a time, so memory stays bounded however
long the file is, and the samples equal what the file source hands out.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Self

import numpy as np

from app.audio.convert import Converter
from app.audio.decode import FILE_BLOCK_S, open_audio


class FileBlocks:
    """Iterate once over ``path``'s audio: float32 (n,) blocks at 16 kHz, about 1 s each.

    Opening raises SourceUnavailable (or NoAudio) at once, so a caller can refuse a file before
    it loads a model for it.
    """

    def __init__(self, path: str | Path) -> None:
        self._file = open_audio(path)
        self._converter = Converter(Path(path).name)
        self._converter.begin(self._file.rate)

    @property
    def samples(self) -> int:
        """16 kHz samples handed out so far (all of them once iterated)."""
        return self._converter.position

    def __iter__(self) -> Iterator[np.ndarray]:
        want = max(1, round(self._file.rate * FILE_BLOCK_S))
        while True:
            frames = self._file.read(want)
            if len(frames):
                yield from (chunk.samples for chunk in self._converter.feed(frames))
            if len(frames) < want:
                break
        yield from (chunk.samples for chunk in self._converter.flush())

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
