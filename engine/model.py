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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from engine.config import ModelConfig
from engine.delay import DEFAULT_DELAY_MS
from engine.group import MAX_ENCODE_TOKENS, Stream, StreamGroup
from engine.mel import LogMel
from engine.parts import Parts, load_parts
from engine.samples import Repairs
from engine.stream import Piece
from engine.tokenizer import Tokenizer
from engine.weights import VoxtralNet


@dataclass(frozen=True)
class Transcription:
    text: str
    tokens: list[int]  # one id per decoder step, specials included
    pieces: list[Piece]  # the text in pieces, each with its start and end in seconds
    # samples made silent (not finite) or clipped (outside [-1, 1]) on the way in
    repairs: Repairs = field(default_factory=Repairs)


class Model:
    """A loaded Voxtral Realtime checkpoint: weights on one device, tokenizer, features."""

    def __init__(self, parts: Parts, path: Path | None = None) -> None:
        self.parts = parts
        self.path = path  # the checkpoint folder it was loaded from
        # Positions per encoder call once past the prompt, for groups made from now on: k > 1
        # reads the encoder's weights once per k steps, and holds text back by up to (k - 1) x 80 ms.
        self.encode_every = 1

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
        return StreamGroup(self.parts, list(delays_ms), self.encode_every).streams

    def group(self) -> StreamGroup:
        """An empty group; each ``group.open(delay_ms)`` adds a stream to its batch."""
        return StreamGroup(self.parts, encode_every=self.encode_every)

    def transcribe(
        self, audio: np.ndarray | Sequence[np.ndarray], delay_ms: int = DEFAULT_DELAY_MS
    ) -> Transcription | list[Transcription]:
        """Transcribe whole audio: float32 samples, shape (n,), 16 kHz mono, in [-1, 1].

        One array gives a :class:`Transcription` (text, token ids, pieces with start and end in
        seconds from the first sample, never past the audio's end); a list of arrays gives a
        list, decoded as one batch. Other dtypes, and samples that are not finite or out of
        range, are taken as :meth:`Stream.feed` takes them; ``repairs`` counts the latter. The
        audio goes through in blocks, so the engine holds a bounded window of it however long
        it is. Raises ValueError for a shape other than (n,) or a delay not allowed, TypeError
        for a dtype not supported.
        """
        size = MAX_ENCODE_TOKENS * self.parts.step_samples
        if isinstance(audio, (list, tuple)):
            blocks = [_blocks(np.asarray(a), size) for a in audio]
            streams = self.streams([delay_ms] * len(blocks))
            group, outputs = streams[0].group, [[] for _ in blocks]
            for i in range(max(len(b) for b in blocks)):
                got = group.feed([b[i] if i < len(b) else _NOTHING for b in blocks])
                outputs = [o + g for o, g in zip(outputs, got, strict=True)]
            outputs = [o + g for o, g in zip(outputs, group.finish(), strict=True)]
            return [_transcription(s, p) for s, p in zip(streams, outputs, strict=True)]
        stream, pieces = self.stream(delay_ms), []
        for block in _blocks(np.asarray(audio), size):
            pieces += stream.feed(block)
        return _transcription(stream, pieces + stream.finish())


_NOTHING = np.zeros(0, np.float32)


def _blocks(audio: np.ndarray, size: int) -> list[np.ndarray]:
    """Consecutive blocks of ``size`` samples; the array whole when not 1-D (feed refuses it)."""
    if audio.ndim != 1 or audio.shape[0] <= size:
        return [audio]
    return [audio[at : at + size] for at in range(0, audio.shape[0], size)]


def _transcription(stream: Stream, pieces: list[Piece]) -> Transcription:
    text = "".join(p.text for p in pieces)
    return Transcription(text, stream.tokens, pieces, stream.repairs)


def load_model(
    path: str | Path,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype = torch.float32,
    quantize: str | None = None,
    cuda_graphs: bool = True,
    source_sha256: str | None = None,
    progress: Callable[[float], None] | None = None,
) -> Model:
    """Load the checkpoint folder ``path`` onto ``device`` in ``dtype``.

    ``quantize="int8"`` stores every weight matrix as int8 with per-output-channel scales;
    ``"int4"`` (CPU only) in groups of 4-bit weights. Given ``source_sha256``, the verified
    sha256 of the folder's weights, the quantised weights are stored beside them once and mapped
    on later loads. ``cuda_graphs`` replays the steady step from CUDA graphs on a CUDA device.
    ``progress`` is called on the loading thread with the fraction of the weights loaded (0 to 1,
    at most once per percent; float32 on a CPU packs them, which takes a while). Raises
    CheckpointError for a missing or damaged file, DeviceError for a device or dtype not usable
    here, ValueError for an unknown ``quantize``.
    """
    path = Path(path)
    return Model(load_parts(path, device, dtype, quantize, cuda_graphs, source_sha256, progress),
                 path)
