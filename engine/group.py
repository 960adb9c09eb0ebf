"""Streams that share device state, one row each, so their steps run as one batch.

The app's microphone and system audio advance together: one read of the weights serves both.
A stream opened while others run joins their group (its row is added to the caches), so it is
batched with them from its first steady step on. Each :meth:`StreamGroup.step` has two phases:

- encode: every stream whose audio allows turns its new positions into audio embeddings. Many
  positions at once when audio has piled up (after a stall, or a whole file): the encoder runs
  up to ``MAX_ENCODE_TOKENS`` as one chunk while the decoder below still takes one exact step
  per position, and the two alternate until all is decoded.
- decode: one decoder step per stream with an embedding waiting; all rows in one batch when
  every stream can step the same way, each row alone otherwise.

Rows never mix: every tensor is per row (positions, caches, masks, time conditioning), so a
stream's tokens do not depend on which other streams share its group.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from engine.cache import RingKV
from engine.decoder import greedy
from engine.encoder import ConvState
from engine.graphs import GroupGraphs
from engine.parts import Parts
from engine.samples import Repairs
from engine.stream import Piece, StreamState

MAX_ENCODE_TOKENS = 64  # positions per encoder call when catching up; bounds its memory


class Stream:
    """One live audio stream through the model: the public handle of a row in a group."""

    def __init__(self, group: StreamGroup, state: StreamState) -> None:
        self.group = group
        self._state = state

    @property
    def delay_ms(self) -> int:
        return self._state.delay_ms

    @property
    def delay_tokens(self) -> int:
        return self._state.delay_tokens

    @property
    def tokens(self) -> list[int]:
        """One id per decoder step, specials included."""
        return self._state.tokens.tolist()

    @property
    def token_count(self) -> int:
        return len(self._state.tokens)

    @property
    def audio_time(self) -> float:
        """Seconds of real audio fed so far."""
        return self._state.audio_samples / self._state.parts.sample_rate

    @property
    def finished(self) -> bool:
        return self._state.finished

    @property
    def repairs(self) -> Repairs:
        """Samples fed so far that were not finite (made silent) or outside [-1, 1] (clipped)."""
        return self._state.repairs

    @property
    def logits_hook(self) -> Callable[[torch.Tensor], None] | None:
        """Called with the float32 logits (T, vocab) of each step; parity checks, confidence."""
        return self._state.logits_hook

    @logits_hook.setter
    def logits_hook(self, hook: Callable[[torch.Tensor], None] | None) -> None:
        self._state.logits_hook = hook

    def feed(self, samples: np.ndarray) -> list[Piece]:
        """Decode ``samples``: shape (n,), any n, 16 kHz mono.

        float32 or float64 in [-1, 1]; int16, int32 and uint8 PCM are scaled to it. Samples
        that are not finite become silence and values outside [-1, 1] are clipped, both counted
        in :attr:`repairs`. Returns the pieces of text that became complete, each with its start
        and end in seconds from the stream's first sample (never past the audio fed). The whole
        group steps, so other streams decode what they were pushed; their text waits for their
        own ``take``. Raises ValueError for a shape other than (n,), TypeError for another
        dtype, EngineError once the stream is finished.
        """
        self._state.append(samples)
        self.group.step()
        return self.take()

    def push(self, samples: np.ndarray) -> None:
        """Queue ``samples`` (as for :meth:`feed`) without decoding; the group's next step does."""
        self._state.append(samples)

    def take(self) -> list[Piece]:
        """The pieces completed since the last ``feed``, ``take`` or ``finish``."""
        return self._state.take_output()

    def finish(self) -> list[Piece]:
        """Right-pad with silence, decode everything left, release any held text."""
        state = self._state
        if not state.finished:
            state.close_audio()
            self.group.step()
            state.flush_text()
        return self.take()


class StreamGroup:
    """The device state of a batch of streams, one row per stream, stepped together."""

    def __init__(
        self, parts: Parts, delays_ms: Sequence[int] = (), encode_every: int = 1
    ) -> None:
        self.parts = parts
        self.encode_every = encode_every  # positions per encoder call past the prompt
        self._states: list[StreamState] = []
        self._handles: list[Stream] = []
        self.graphs: GroupGraphs | None = None
        self._resize([StreamState(parts, d) for d in delays_ms])

    @property
    def streams(self) -> list[Stream]:
        """The open streams, in row order."""
        return list(self._handles)

    def open(self, delay_ms: int) -> Stream:
        """A new stream in this group: it steps in one batch with the others once it can."""
        self._resize(self._states + [StreamState(self.parts, delay_ms)])
        return self._handles[-1]

    def close(self, stream: Stream) -> None:
        """Remove ``stream``'s row; the others keep their state. Unknown streams are ignored."""
        if stream in self._handles:
            self._resize([s for s in self._states if s is not stream._state])

    def feed(self, chunks: Sequence[np.ndarray]) -> list[list[Piece]]:
        """Audio for every stream (in row order, as for Stream.feed); the pieces each wrote."""
        for state, samples in zip(self._states, chunks, strict=True):
            state.append(samples)
        self.step()
        return [s.take_output() for s in self._states]

    def finish(self) -> list[list[Piece]]:
        """Finish every stream still open, decoding them together."""
        closing = [s for s in self._states if not s.finished]
        for state in closing:
            state.close_audio()
        self.step()
        for state in closing:
            state.flush_text()
        return [s.take_output() for s in self._states]

    def step(self) -> None:
        """Decode every position whose audio has arrived, for every stream: the one batched call.

        Encoding and decoding alternate in chunks of at most ``MAX_ENCODE_TOKENS`` positions (the
        prompt at once), so however much audio waits (a whole file fed at once) no more audio
        embeddings than that are held per stream.
        """
        with torch.inference_mode():
            while self._encode_round():
                self._decode()

    # -- rows ---------------------------------------------------------------------------------

    def _resize(self, states: list[StreamState]) -> None:
        """Device state for ``states``: rows of states already here are copied over, new rows
        start empty. Membership changes are rare (a source added or removed), so a copy is fine.
        """
        old = {id(s): row for row, s in enumerate(self._states)}
        handles = {id(h._state): h for h in self._handles}
        keep = [(new, old[id(s)]) for new, s in enumerate(states) if id(s) in old]
        parts, n = self.parts, len(states)
        net, dev, dt = parts.net, parts.device, parts.dtype
        conv = net.encoder.new_state(n, dev, dt)
        enc_cache = net.encoder.new_cache(n, parts.config.downsample - 1, dev, dt)
        dec_cache = net.decoder.new_cache(n, dev, dt)
        if keep:
            dst = torch.tensor([k[0] for k in keep], device=dev)
            src = torch.tensor([k[1] for k in keep], device=dev)
            _copy_conv(conv, self.conv, dst, src)
            _copy_kv(enc_cache, self.enc_cache, dst, src)
            _copy_kv(dec_cache, self.dec_cache, dst, src)
        self.conv, self.enc_cache, self.dec_cache = conv, enc_cache, dec_cache
        self._states = states
        self._handles = [handles.get(id(s)) or Stream(self, s) for s in states]
        with torch.inference_mode():
            delays = torch.tensor([s.delay_tokens for s in states], device=dev)
            self.scales = net.decoder.ada_scales(delays)  # (layers, B, 1, dim)
        use_graphs = dev.type == "cuda" and parts.cuda_graphs and n > 0
        self.graphs = GroupGraphs(self) if use_graphs else None

    # -- encode -------------------------------------------------------------------------------

    def _encode_round(self) -> bool:
        """Encode one chunk for every stream with positions ready; False when none has any."""
        states = self._states
        counts = [s.to_encode(self.encode_every) for s in states]
        if not any(counts):
            return False
        if len(states) > 1 and all(counts):
            self._encode_rows(0, len(states), self._chunk(states, min(counts)))
            return True
        for row, (state, count) in enumerate(zip(states, counts, strict=True)):
            if count:
                self._encode_rows(row, row + 1, self._chunk([state], count))
        return True

    @staticmethod
    def _chunk(states: list[StreamState], count: int) -> int:
        prompt = max(len(s.prompt) if s.encoded == 0 else 0 for s in states)
        return min(count, max(MAX_ENCODE_TOKENS, prompt))

    def _encode_rows(self, start: int, stop: int, count: int) -> None:
        parts = self.parts
        net, rows = parts.net, self._states[start:stop]
        fpt = parts.config.downsample
        mel = parts.mel(torch.cat([s.samples_for(count) for s in rows])).to(parts.dtype)
        pos = torch.tensor(
            [range(s.encoded * fpt, (s.encoded + count) * fpt) for s in rows], device=parts.device
        )  # (B, 4 count)
        if self._steady(start, stop, count):
            audio = self.graphs.encode(mel, pos).clone()  # the graph's buffer is reused
        else:
            high = max(s.encoded + count for s in rows) * fpt
            frames = net.encoder(mel, self.conv.rows(start, stop),
                                 self.enc_cache.rows(start, stop), pos, high)
            audio = net.adapter(frames)  # (B, count, dim)
        for r, state in enumerate(rows):
            state.embeddings.append(audio[r])
            state.encoded += count

    def _steady(self, start: int, stop: int, width: int) -> bool:
        """A step of the captured shape: every stream, one position, past the prompt."""
        return (
            self.graphs is not None
            and (start, stop, width) == (0, len(self._states), 1)
            and all(s.decoded > 0 and not s.logits_hook for s in self._states)
        )

    # -- decode -------------------------------------------------------------------------------

    def _decode(self) -> None:
        states = self._states
        while True:
            ready = [r for r, s in enumerate(states)
                     if s.pending_embeddings() >= len(s.next_inputs())]
            if not ready:
                return
            widths = {len(states[r].next_inputs()) for r in ready}
            if len(ready) == len(states) > 1 and len(widths) == 1:
                self._decode_rows(0, len(ready), widths.pop())
                continue
            for row in ready:
                self._decode_rows(row, row + 1, len(states[row].next_inputs()))

    def _decode_rows(self, start: int, stop: int, width: int) -> None:
        dev = self.parts.device
        rows = self._states[start:stop]
        audio = torch.stack([s.take_embeddings(width) for s in rows])  # (B, T, dim)
        ids = torch.tensor([s.next_inputs() for s in rows], device=dev)  # (B, T)
        pos = torch.tensor([range(s.decoded, s.decoded + width) for s in rows], device=dev)
        if self._steady(start, stop, width):
            tokens = self.graphs.decode(ids, audio, pos).tolist()
        else:
            high = max(s.decoded for s in rows) + width
            tokens = self._decode_eager(rows, ids, audio, pos, start, stop, high)
        for state, token in zip(rows, tokens, strict=True):
            state.emit(token, width)

    def _decode_eager(self, rows, ids, audio, pos, start: int, stop: int, high: int) -> list[int]:
        net = self.parts.net
        cache, scales = self.dec_cache.rows(start, stop), self.scales[:, start:stop]
        h = net.decoder(ids, audio, pos, cache, scales, high)
        if any(s.logits_hook for s in rows):
            logits = net.decoder.logits(h).float()
            for r, state in enumerate(rows):
                if state.logits_hook:
                    state.logits_hook(logits[r])
        return greedy(net.decoder.logits(h[:, -1])).tolist()


def _copy_conv(dst: ConvState, src: ConvState, to: torch.Tensor, frm: torch.Tensor) -> None:
    """Rows ``frm`` of ``src`` into rows ``to`` of ``dst`` (index tensors of equal length)."""
    dst.mel_tail[to] = src.mel_tail[frm]
    dst.conv_tail[to] = src.conv_tail[frm]


def _copy_kv(dst: RingKV, src: RingKV, to: torch.Tensor, frm: torch.Tensor) -> None:
    """Rows ``frm`` of ``src`` into rows ``to`` of ``dst``; k/v are (layers, B, ...)."""
    dst.k[:, to] = src.k[:, frm]
    dst.v[:, to] = src.v[:, frm]
    dst.pos[to] = src.pos[frm]
