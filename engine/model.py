"""Public API: a loaded model, its streams, and whole-file transcription.

    model = engine.load_model(path, device="cpu", dtype=torch.float32)
    result = model.transcribe(audio, delay_ms=480)     # 1-D float32, 16 kHz mono
    stream = model.stream(delay_ms=480)
    pieces = stream.feed(samples) + stream.finish()
    a, b = model.streams([480, 480])                   # two streams, one batched step

Whole-file transcription is the streaming loop of :mod:`engine.group` run over the array, so any
chunking of the audio gives the same tokens.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.config import ModelConfig
from engine.delay import DEFAULT_DELAY_MS
from engine.group import Stream, StreamGroup
from engine.mel import LogMel
from engine.parts import Parts, load_parts
from engine.stream import Piece
from engine.tokenizer import Tokenizer
from engine.weights import VoxtralNet


@dataclass(frozen=True)
class Transcription:
    text: str
    tokens: list[int]  # one id per decoder step, specials included
    pieces: list[Piece]  # the text in pieces, each with its start and end in seconds


class Model:
    """A loaded Voxtral Realtime checkpoint: weights on one device, tokenizer, features."""

    def __init__(self, parts: Parts, path: Path | None = None) -> None:
        self.parts = parts
        self.path = path  # the checkpoint folder it was loaded from

    @property
    def config(self) -> ModelConfig:
        return self.parts.config

    @property
    def tokenizer(self) -> Tokenizer:
        return self.parts.tokenizer

    @property
    def net(self) -> VoxtralNet:
        return self.parts.net

    @property
    def device(self) -> torch.device:
        return self.parts.device

    @property
    def dtype(self) -> torch.dtype:
        return self.parts.dtype

    @property
    def mel(self) -> LogMel:
        return self.parts.mel

    def stream(self, delay_ms: int = DEFAULT_DELAY_MS) -> Stream:
        """A stream of its own (see :meth:`Stream.feed`); ValueError for a delay not allowed."""
        return self.streams([delay_ms])[0]

    def streams(self, delays_ms: Sequence[int]) -> list[Stream]:
        """Streams that share batched device state: steps they can take together, they do.

        More can join later with ``streams[0].group.open(delay_ms)``.
        """
        return StreamGroup(self.parts, list(delays_ms)).streams

    def group(self) -> StreamGroup:
        """An empty group; each ``group.open(delay_ms)`` adds a stream to its batch."""
        return StreamGroup(self.parts)

    def transcribe(
        self, audio: np.ndarray | Sequence[np.ndarray], delay_ms: int = DEFAULT_DELAY_MS
    ) -> Transcription | list[Transcription]:
        """Transcribe whole audio: float32 samples, shape (n,), 16 kHz mono, in [-1, 1].

        One array gives a :class:`Transcription` (text, token ids, pieces with start and end in
        seconds from the first sample); a list of arrays gives a list, decoded as one batch.
        Raises ValueError for a shape other than (n,) or a delay not allowed.
        """
        if isinstance(audio, (list, tuple)):
            streams = self.streams([delay_ms] * len(audio))
            group = streams[0].group
            outputs = group.feed(list(audio))
            outputs = [a + b for a, b in zip(outputs, group.finish(), strict=True)]
            return [_transcription(s, p) for s, p in zip(streams, outputs, strict=True)]
        stream = self.stream(delay_ms)
        return _transcription(stream, stream.feed(audio) + stream.finish())


def _transcription(stream: Stream, pieces: list[Piece]) -> Transcription:
    return Transcription("".join(p.text for p in pieces), stream.tokens, pieces)


def load_model(
    path: str | Path,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype = torch.float32,
    quantize: str | None = None,
    cuda_graphs: bool = True,
) -> Model:
    """Load the checkpoint folder ``path`` onto ``device`` in ``dtype``.

    ``quantize="int8"`` stores every weight matrix as int8 with per-output-channel scales.
    ``cuda_graphs`` replays the steady step from CUDA graphs on a CUDA device. Raises
    CheckpointError for a missing or damaged file, DeviceError for a device or dtype not usable
    here, ValueError for an unknown ``quantize``.
    """
    path = Path(path)
    return Model(load_parts(path, device, dtype, quantize, cuda_graphs), path)
