"""Public API: a loaded model, its streams, and whole-file transcription.

    model = engine.load_model(path, device="cpu", dtype=torch.float32)
    result = model.transcribe(audio, delay_ms=480)     # 1-D float32, 16 kHz mono
    stream = model.stream(delay_ms=480)
    pieces = stream.feed(samples) + stream.finish()
    a, b = model.streams([480, 480])                   # two streams, one batched step

The protocol (spec section 6): the stream is 32 tokens of silence, the audio, then (d + 1) + 10
tokens of silence after padding to a whole token. Positions 0 .. 32 + d (the prompt: BOS then
[STREAMING_PAD]) are computed together once their audio exists; every later 1280 samples give
one decoder step whose input token is the previous argmax. Whole-file transcription is this same
loop, so any chunking of the audio gives the same tokens.

A stream keeps its host-side state here (audio not yet consumed, position, tokens, text); the
tensors on the device live in its :class:`~engine.group.StreamGroup`, one row per stream.
"""
from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.errors import EngineError
from engine.mel import LogMel
from engine.tokenizer import TextAssembler
from engine.weights import build

MIN_DELAY_MS, MAX_DELAY_MS, DELAY_STEP_MS = 80, 2400, 80


@dataclass(frozen=True)
class Piece:
    """Text that became complete at one step, with the audio it describes (seconds)."""

    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Transcription:
    text: str
    tokens: list[int]
    pieces: list[Piece]


def check_delay(delay_ms: int) -> int:
    """Delay in tokens for ``delay_ms``; a ValueError names the allowed values otherwise."""
    if (
        isinstance(delay_ms, bool)
        or not isinstance(delay_ms, (int, np.integer))
        or not MIN_DELAY_MS <= delay_ms <= MAX_DELAY_MS
        or delay_ms % DELAY_STEP_MS
    ):
        raise ValueError(
            f"delay_ms must be a multiple of {DELAY_STEP_MS} from {MIN_DELAY_MS} to "
            f"{MAX_DELAY_MS} (480 is the recommended default); got {delay_ms!r}"
        )
    return int(delay_ms) // DELAY_STEP_MS


class Model:
    """A loaded Voxtral Realtime checkpoint: weights on one device, tokenizer, features."""

    def __init__(
        self, path: Path, device, dtype, quantize: str | None = None, cuda_graphs: bool = True,
        source_sha256: str | None = None,
    ) -> None:
        self.path = path
        self.cuda_graphs = cuda_graphs
        self.config, self.tokenizer, self.net, self.device, self.dtype = build(
            path, device, dtype, quantize, source_sha256
        )
        self.quantize = quantize
        self.mel = LogMel(self.config.audio, self.device)
        # Positions per encoder call once past the prompt: k > 1 reads the encoder's weights once
        # per k steps, and holds each position's text back by up to (k - 1) x 80 ms.
        self.encode_every = 1

    def stream(self, delay_ms: int = 480) -> Stream:
        return self.streams([delay_ms])[0]

    def streams(self, delays_ms: Sequence[int]) -> list[Stream]:
        """Streams that share batched device state: steps they can take together, they do."""
        from engine.group import StreamGroup

        return StreamGroup(self, list(delays_ms)).streams

    def transcribe(self, audio, delay_ms: int = 480):
        """One audio -> a Transcription; a list of audios -> a list, decoded as one batch."""
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


class Stream:
    """One live audio stream through the model, with its own caches, position and delay."""

    def __init__(self, model: Model, group, row: int, delay_ms: int) -> None:
        self.delay_tokens = check_delay(delay_ms)
        self.model, self.group, self.row = model, group, row
        cfg = model.config
        self._spt = cfg.audio.samples_per_token
        self._mpt = cfg.audio.mels_per_token
        self.prompt = model.tokenizer.prompt(delay_ms)
        self._right_pad_tokens = model.tokenizer.right_pad_tokens(delay_ms)
        self._left = cfg.n_left_pad_tokens * self._spt
        # Position m reads mel frames up to 8m + 7, whose window ends 200 samples past the last:
        # samples [.., 1280 m + _first_stop), so position 0 needs _first_stop samples (1320).
        self._first_stop = model.mel.span(0, self._mpt)[1]
        self._buf = np.zeros(self._left, dtype=np.float32)  # padded-stream samples still needed
        self._buf_start = 0  # padded-stream index of _buf[0]
        self._total = self._left  # padded-stream samples received
        self._end: int | None = None  # padded-stream length once finished
        self.encoded = 0  # decoder positions whose audio embedding exists
        self.decoded = 0  # decoder positions computed
        self.embeddings: list[torch.Tensor] = []  # (k, dim) blocks encoded, not yet decoded
        self.last = 0  # input token of the next position
        self._tokens = array("l")
        self._text = TextAssembler(model.tokenizer)
        self.out: list[Piece] = []  # pieces not yet handed to the caller
        # Called with the float32 logits (T, vocab) of each step; parity checks and confidence.
        self.logits_hook: Callable[[torch.Tensor], None] | None = None

    # -- what callers use ---------------------------------------------------------------------

    @property
    def tokens(self) -> list[int]:
        """One id per decoder step, specials included."""
        return self._tokens.tolist()

    @property
    def token_count(self) -> int:
        return len(self._tokens)

    def tokens_from(self, index: int) -> list[int]:
        """Tokens emitted from step ``index`` on (cheap for a live caller that keeps its place)."""
        return self._tokens[index:].tolist()

    @property
    def audio_time(self) -> float:
        """Seconds of real audio fed so far."""
        return max(0, self._total - self._left) / self.model.config.audio.sample_rate

    @property
    def finished(self) -> bool:
        return self._end is not None

    def feed(self, samples) -> list[Piece]:
        self.append(samples)
        self.group.run()
        return self.take_output()

    def finish(self) -> list[Piece]:
        """Right-pad with silence, decode everything left, release any held text."""
        if self._end is not None:
            return self.take_output()
        self.close_audio()
        self.group.run()
        self.flush_text()
        return self.take_output()

    # -- what the group uses ------------------------------------------------------------------

    def append(self, samples) -> None:
        if self._end is not None:
            raise EngineError("This stream is finished; start a new stream for more audio.")
        x = np.asarray(samples, dtype=np.float32)
        if x.ndim != 1:
            raise ValueError(f"audio must be 1-D mono samples; got shape {x.shape}")
        if x.size:
            self._buf = np.concatenate((self._buf, x))
            self._total += x.size

    def close_audio(self) -> None:
        whole = math.ceil(self._total / self._spt) * self._spt
        self._end = whole + self._right_pad_tokens * self._spt

    def flush_text(self) -> None:
        tail = self._text.flush(len(self._tokens))
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
        """Positions ready for the encoder now: the whole prompt at once, then at least
        ``model.encode_every`` at a time (any number once the audio is finished)."""
        ready = self.positions_available() - self.encoded
        if self.encoded == 0 and ready < len(self.prompt):
            return 0
        if 0 < self.encoded and ready < self.model.encode_every and self._end is None:
            return 0
        return max(0, ready)

    def samples_for(self, count: int) -> torch.Tensor:
        """Padded-stream samples the next ``count`` positions read, zeros outside; (1, n)."""
        m0 = self.encoded
        start, stop = self.model.mel.span(m0 * self._mpt, count * self._mpt)
        out = np.zeros(stop - start, dtype=np.float32)
        lo, hi = max(start, self._buf_start), min(stop, self._buf_start + self._buf.size)
        if hi > lo:
            out[lo - start : hi - start] = self._buf[lo - self._buf_start : hi - self._buf_start]
        # The next position reads from its own span's start on; older samples are done.
        keep_from = self.model.mel.span((m0 + count) * self._mpt, 1)[0]
        drop = max(0, min(keep_from - self._buf_start, self._buf.size))
        self._buf, self._buf_start = self._buf[drop:], self._buf_start + drop
        return torch.from_numpy(out).to(self.model.device)[None]

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
        self._tokens.append(token)
        done = self._text.push(len(self._tokens) - 1, token)
        if done:
            self.out.append(self._piece(*done))

    def _piece(self, text: str, first_token: int) -> Piece:
        # Token k describes roughly the audio [k, k + 1) tokens after the real audio starts.
        sec = self._spt / self.model.config.audio.sample_rate
        return Piece(text, first_token * sec, len(self._tokens) * sec)
