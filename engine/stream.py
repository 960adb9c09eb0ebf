"""One stream's host-side state in the streaming protocol: audio waiting, positions, tokens, text.

The protocol (spec section 6): the stream is 32 tokens of silence, the audio, then (d + 1) + 10
tokens of silence after padding to a whole token. Positions 0 .. 32 + d (the prompt: BOS then
[STREAMING_PAD]) are computed together once their audio exists; every later 1280 samples give
one decoder step whose input token is the previous argmax. Whole-file transcription is this same
loop, so any chunking of the audio gives the same tokens.

A :class:`StreamState` is one row's record in a :class:`~engine.group.StreamGroup`: it knows
nothing of the group that steps it (the group owns the batch and the device tensors). Callers
hold a :class:`~engine.group.Stream` handle instead.
"""
from __future__ import annotations

import math
from array import array
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from engine.delay import check_delay
from engine.errors import EngineError
from engine.parts import Parts
from engine.samples import Repairs, to_samples
from engine.tokenizer import TextAssembler


@dataclass(frozen=True)
class Piece:
    """Text that became complete at one step, with the audio it describes.

    ``start`` and ``end`` are seconds from the stream's first sample.
    """

    text: str
    start: float
    end: float


class StreamState:
    """Audio not yet consumed, position, tokens and text of one stream; used by its group."""

    def __init__(self, parts: Parts, delay_ms: int) -> None:
        self.delay_tokens = check_delay(delay_ms)
        self.delay_ms = int(delay_ms)
        self.parts = parts
        cfg = parts.config
        self._spt = cfg.audio.samples_per_token
        self._mpt = cfg.audio.mels_per_token
        self.prompt = parts.tokenizer.prompt(delay_ms)
        self._right_pad_tokens = parts.tokenizer.right_pad_tokens(delay_ms)
        self._left = cfg.n_left_pad_tokens * self._spt
        # Position m reads mel frames up to 8m + 7, whose window ends 200 samples past the last:
        # samples [.., 1280 m + _first_stop), so position 0 needs _first_stop samples (1320).
        self._first_stop = parts.mel.span(0, self._mpt)[1]
        self._buf = np.zeros(self._left, dtype=np.float32)  # padded-stream samples still needed
        self._buf_start = 0  # padded-stream index of _buf[0]
        self._total = self._left  # padded-stream samples received
        self._end: int | None = None  # padded-stream length once finished
        self.encoded = 0  # decoder positions whose audio embedding exists
        self.decoded = 0  # decoder positions computed
        self.embeddings: list[torch.Tensor] = []  # (k, dim) blocks encoded, not yet decoded
        self.last = 0  # input token of the next position
        self.tokens = array("l")  # one id per decoder step, specials included
        self._text = TextAssembler(parts.tokenizer)
        self.out: list[Piece] = []  # pieces not yet handed to the caller
        self.logits_hook: Callable[[torch.Tensor], None] | None = None
        self.repairs = Repairs()  # samples made silent or clipped on the way in

    @property
    def audio_samples(self) -> int:
        """Samples of real audio received (the silence the protocol adds not counted)."""
        return max(0, self._total - self._left)

    @property
    def finished(self) -> bool:
        return self._end is not None

    def append(self, samples: np.ndarray) -> None:
        """Take samples as :func:`engine.samples.to_samples` does (its errors too)."""
        if self._end is not None:
            raise EngineError("This stream is finished; start a new stream for more audio.")
        x, repairs = to_samples(samples)
        self.repairs += repairs
        if x.size:
            self._buf = np.concatenate((self._buf, x))
            self._total += x.size

    def close_audio(self) -> None:
        whole = math.ceil(self._total / self._spt) * self._spt
        self._end = whole + self._right_pad_tokens * self._spt

    def flush_text(self) -> None:
        tail = self._text.flush(len(self.tokens))
        if tail:
            self.out.append(self._piece(*tail))

    def take_output(self) -> list[Piece]:
        out, self.out = self.out, []
        return out

    def positions_available(self) -> int:
        """How many decoder positions have their audio (all of them once finished)."""
        if self._end is not None:
            return self._end // self._spt
        return max(0, (self._total - self._first_stop) // self._spt + 1)

    def to_encode(self) -> int:
        """Positions ready for the encoder now: the whole prompt at once, then any number."""
        ready = self.positions_available() - self.encoded
        if self.encoded == 0 and ready < len(self.prompt):
            return 0
        return max(0, ready)

    def samples_for(self, count: int) -> torch.Tensor:
        """Padded-stream samples the next ``count`` positions read, zeros outside; (1, n)."""
        mel, m0 = self.parts.mel, self.encoded
        start, stop = mel.span(m0 * self._mpt, count * self._mpt)
        out = np.zeros(stop - start, dtype=np.float32)
        lo, hi = max(start, self._buf_start), min(stop, self._buf_start + self._buf.size)
        if hi > lo:
            out[lo - start : hi - start] = self._buf[lo - self._buf_start : hi - self._buf_start]
        # The next position reads from its own span's start on; older samples are done.
        keep_from = mel.span((m0 + count) * self._mpt, 1)[0]
        drop = max(0, min(keep_from - self._buf_start, self._buf.size))
        self._buf, self._buf_start = self._buf[drop:], self._buf_start + drop
        return torch.from_numpy(out).to(self.parts.device)[None]

    def next_inputs(self) -> list[int]:
        """Input tokens of the next decoder step: the prompt, then the previous argmax."""
        return self.prompt if self.decoded == 0 else [self.last]

    def take_embeddings(self, count: int) -> torch.Tensor:
        """The next ``count`` audio embeddings, (count, dim)."""
        block = torch.cat(self.embeddings) if len(self.embeddings) > 1 else self.embeddings[0]
        taken, rest = block[:count], block[count:]
        self.embeddings = [rest] if rest.shape[0] else []
        return taken

    def pending_embeddings(self) -> int:
        return sum(e.shape[0] for e in self.embeddings)

    def emit(self, token: int, count: int) -> None:
        self.decoded += count
        self.last = token
        self.tokens.append(token)
        done = self._text.push(len(self.tokens) - 1, token)
        if done:
            self.out.append(self._piece(*done))

    def _piece(self, text: str, first_token: int) -> Piece:
        # Token k describes roughly the audio [k, k + 1) tokens after the real audio starts.
        # The last words come out over the silence padded after it, which is no part of the
        # audio: they are placed on its last token instead.
        sec = self._spt / self.parts.sample_rate
        end = min(len(self.tokens) * sec, self.audio_samples / self.parts.sample_rate)
        return Piece(text, min(first_token * sec, max(0.0, end - sec)), end)
