"""Public API: a loaded model, its streams, and whole-file transcription.

    model = engine.load_model(path, device="cpu", dtype=torch.float32)
    result = model.transcribe(audio, delay_ms=480)     # 1-D float32, 16 kHz mono
    stream = model.stream(delay_ms=480)
    pieces = stream.feed(samples) + stream.finish()

The protocol (spec section 6): the stream is 32 tokens of silence, the audio, then (d + 1) + 10
tokens of silence after padding to a whole token. Positions 0 .. 32 + d (the prompt: BOS then
[STREAMING_PAD]) are computed together once their audio exists; every later 1280 samples give
one decoder step whose input token is the previous argmax. Whole-file transcription is this same
loop, so any chunking of the audio gives exactly the same tokens.
"""
from __future__ import annotations

import math
from array import array
from collections.abc import Callable
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

    def __init__(self, path: Path, device, dtype) -> None:
        self.path = path
        self.config, self.tokenizer, self.net, self.device, self.dtype = build(path, device, dtype)
        self.mel = LogMel(self.config.audio, self.device)

    def stream(self, delay_ms: int = 480) -> Stream:
        return Stream(self, delay_ms)

    def transcribe(self, audio, delay_ms: int = 480) -> Transcription:
        stream = self.stream(delay_ms)
        pieces = stream.feed(audio) + stream.finish()
        return Transcription(
            text="".join(p.text for p in pieces), tokens=stream.tokens, pieces=pieces
        )


class Stream:
    """One live audio stream through the model, with its own caches, position and delay."""

    def __init__(self, model: Model, delay_ms: int) -> None:
        self.delay_tokens = check_delay(delay_ms)
        self.model = model
        cfg, net = model.config, model.net
        self._spt = cfg.audio.samples_per_token
        self._mpt = cfg.audio.mels_per_token
        self._prompt = model.tokenizer.prompt(delay_ms)
        self._right_pad_tokens = model.tokenizer.right_pad_tokens(delay_ms)
        dev, dt = model.device, model.dtype
        left = cfg.n_left_pad_tokens * self._spt
        self._buf = np.zeros(left, dtype=np.float32)  # padded-stream samples not yet consumed
        self._buf_start = 0  # padded-stream index of _buf[0]
        self._total = left  # padded-stream samples received
        self._end: int | None = None  # padded-stream length once finished
        self._next = 0  # next decoder position to compute
        self._last = 0  # input token of the next position
        self._tokens = array("l")
        self._text = TextAssembler(model.tokenizer)
        self._conv = net.encoder.new_state(1, dev, dt)
        self._enc_cache = net.encoder.new_cache(1, cfg.downsample - 1, dev, dt)
        self._dec_cache = net.decoder.new_cache(1, dev, dt)
        with torch.inference_mode():
            delay = torch.tensor([self.delay_tokens], device=dev)
            self._scales = net.decoder.ada_scales(delay)
        # Called with the float32 logits (T, vocab) of each step; parity checks and confidence.
        self.logits_hook: Callable[[torch.Tensor], None] | None = None

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
        left = self.model.config.n_left_pad_tokens * self._spt
        return max(0, self._total - left) / self.model.config.audio.sample_rate

    @property
    def decoded_time(self) -> float:
        """Seconds of real audio the emitted tokens describe."""
        return len(self._tokens) * self._spt / self.model.config.audio.sample_rate

    def feed(self, samples) -> list[Piece]:
        if self._end is not None:
            raise EngineError("This stream is finished; start a new stream for more audio.")
        x = np.asarray(samples, dtype=np.float32)
        if x.ndim != 1:
            raise ValueError(f"audio must be 1-D mono samples; got shape {x.shape}")
        if x.size:
            self._buf = np.concatenate((self._buf, x))
            self._total += x.size
        return self._run()

    def finish(self) -> list[Piece]:
        """Right-pad with silence, decode everything left, release any held text."""
        if self._end is not None:
            return []
        whole = math.ceil(self._total / self._spt) * self._spt
        self._end = whole + self._right_pad_tokens * self._spt
        pieces = self._run()
        tail = self._text.flush(len(self._tokens))
        if tail:
            pieces.append(self._piece(*tail))
        return pieces

    def _ready(self, position: int) -> bool:
        """True once the audio for decoder position ``position`` exists."""
        if self._end is not None:
            return position < self._end // self._spt
        _, stop = self.model.mel.span(position * self._mpt, self._mpt)
        return stop <= self._total

    def _run(self) -> list[Piece]:
        pieces: list[Piece] = []
        with torch.inference_mode():
            if self._next == 0:
                if not self._ready(len(self._prompt) - 1):
                    return pieces
                self._step(len(self._prompt), pieces)
            while self._ready(self._next):
                self._step(1, pieces)
        return pieces

    def _step(self, count: int, pieces: list[Piece]) -> None:
        """Compute decoder positions _next .. _next + count - 1 and emit one token."""
        m0, net, dev = self._next, self.model.net, self.model.device
        tokens_in = self._prompt if m0 == 0 else [self._last]
        mel = self.model.mel(self._samples(m0, count)).to(self.model.dtype)
        fpt = self.model.config.downsample
        enc_pos = torch.arange(m0 * fpt, (m0 + count) * fpt, device=dev)[None]
        audio = net.adapter(net.encoder(mel, self._conv, self._enc_cache, enc_pos))
        pos = torch.arange(m0, m0 + count, device=dev)[None]
        ids = torch.tensor([tokens_in], device=dev)
        h = net.decoder(ids, audio, pos, self._dec_cache, self._scales)
        if self.logits_hook is not None:
            self.logits_hook(net.decoder.logits(h)[0].float())
        token = int(net.decoder.logits(h[:, -1])[0].argmax())
        self._next = m0 + count
        self._last = token
        self._tokens.append(token)
        done = self._text.push(len(self._tokens) - 1, token)
        if done:
            pieces.append(self._piece(*done))

    def _samples(self, m0: int, count: int) -> torch.Tensor:
        """Padded-stream samples that positions m0 .. m0+count-1 read, zeros outside; (1, n)."""
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

    def _piece(self, text: str, first_token: int) -> Piece:
        # Token k describes roughly the audio [k, k + 1) tokens after the real audio starts.
        sec = self._spt / self.model.config.audio.sample_rate
        return Piece(text, first_token * sec, len(self._tokens) * sec)
