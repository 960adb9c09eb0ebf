"""Streams that share device state, one row each, so their steps can run as one batch.

The app's microphone and system audio advance together: one read of the weights serves both.
Each step has two phases:

- encode: every stream whose audio allows turns its new positions into audio embeddings. Many
  positions at once when audio has piled up (after a stall, or a whole file): the encoder runs
  them as one chunk while the decoder below still takes one exact step per position.
- decode: one decoder step per stream with an embedding waiting; all rows in one batch when
  every stream can step the same way, each row alone otherwise.

Rows never mix: every tensor is per row (positions, caches, masks, time conditioning), so a
stream's tokens do not depend on which other streams share its group.
"""
from __future__ import annotations

import torch

from engine.graphs import GroupGraphs
from engine.stream import Model, Stream

MAX_ENCODE_TOKENS = 64  # positions per encoder call when catching up; bounds its memory


class StreamGroup:
    def __init__(self, model: Model, delays_ms: list[int]) -> None:
        if not delays_ms:
            raise ValueError("a stream group needs at least one stream")
        self.model = model
        self.streams = [Stream(model, self, row, d) for row, d in enumerate(delays_ms)]
        net, dev, dt, n = model.net, model.device, model.dtype, len(delays_ms)
        self.conv = net.encoder.new_state(n, dev, dt)
        self.enc_cache = net.encoder.new_cache(n, model.config.downsample - 1, dev, dt)
        self.dec_cache = net.decoder.new_cache(n, dev, dt)
        with torch.inference_mode():
            delays = torch.tensor([s.delay_tokens for s in self.streams], device=dev)
            self.scales = net.decoder.ada_scales(delays)  # (layers, B, 1, dim)
        self.graphs = GroupGraphs(self) if dev.type == "cuda" and model.cuda_graphs else None

    def feed(self, chunks: list) -> list[list]:
        """Audio for every stream (in row order); the pieces each one wrote."""
        for stream, samples in zip(self.streams, chunks, strict=True):
            stream.append(samples)
        self.run()
        return [s.take_output() for s in self.streams]

    def finish(self) -> list[list]:
        """Finish every stream still open, decoding them together."""
        closing = [s for s in self.streams if not s.finished]
        for stream in closing:
            stream.close_audio()
        self.run()
        for stream in closing:
            stream.flush_text()
        return [s.take_output() for s in self.streams]

    def run(self) -> None:
        with torch.inference_mode():
            self._encode()
            self._decode()

    # -- encode -------------------------------------------------------------------------------

    def _encode(self) -> None:
        while True:
            counts = [s.to_encode() for s in self.streams]
            if not any(counts):
                return
            if len(self.streams) > 1 and all(counts):
                self._encode_rows(0, len(self.streams), self._chunk(self.streams, min(counts)))
                continue
            for stream, count in zip(self.streams, counts, strict=True):
                if count:
                    self._encode_rows(stream.row, stream.row + 1, self._chunk([stream], count))

    @staticmethod
    def _chunk(streams: list[Stream], count: int) -> int:
        prompt = max(len(s.prompt) if s.encoded == 0 else 0 for s in streams)
        return min(count, max(MAX_ENCODE_TOKENS, prompt))

    def _encode_rows(self, start: int, stop: int, count: int) -> None:
        net, model = self.model.net, self.model
        rows = self.streams[start:stop]
        fpt = model.config.downsample
        mel = model.mel(torch.cat([s.samples_for(count) for s in rows])).to(model.dtype)
        pos = torch.tensor(
            [range(s.encoded * fpt, (s.encoded + count) * fpt) for s in rows], device=model.device
        )  # (B, 4 count)
        if self._steady(start, stop, count):
            audio = self.graphs.encode(mel, pos).clone()  # the graph's buffer is reused
        else:
            high = max(s.encoded + count for s in rows) * fpt
            frames = net.encoder(mel, self.conv.rows(start, stop),
                                 self.enc_cache.rows(start, stop), pos, high)
            audio = net.adapter(frames)  # (B, count, dim)
        for r, stream in enumerate(rows):
            stream.embeddings.append(audio[r])
            stream.encoded += count

    def _steady(self, start: int, stop: int, width: int) -> bool:
        """A step of the captured shape: every stream, one position, past the prompt."""
        return (
            self.graphs is not None
            and (start, stop, width) == (0, len(self.streams), 1)
            and all(s.decoded > 0 and not s.logits_hook for s in self.streams)
        )

    # -- decode -------------------------------------------------------------------------------

    def _decode(self) -> None:
        while True:
            ready = [s for s in self.streams if s.pending_embeddings() >= len(s.next_inputs())]
            if not ready:
                return
            widths = {len(s.next_inputs()) for s in ready}
            if len(ready) == len(self.streams) > 1 and len(widths) == 1:
                self._decode_rows(0, len(ready), widths.pop())
                continue
            for stream in ready:
                self._decode_rows(stream.row, stream.row + 1, len(stream.next_inputs()))

    def _decode_rows(self, start: int, stop: int, width: int) -> None:
        dev = self.model.device
        rows = self.streams[start:stop]
        audio = torch.stack([s.take_embeddings(width) for s in rows])  # (B, T, dim)
        ids = torch.tensor([s.next_inputs() for s in rows], device=dev)  # (B, T)
        pos = torch.tensor([range(s.decoded, s.decoded + width) for s in rows], device=dev)
        if self._steady(start, stop, width):
            tokens = self.graphs.decode(ids, audio, pos).tolist()
        else:
            high = max(s.decoded for s in rows) + width
            tokens = self._decode_eager(rows, ids, audio, pos, start, stop, high)
        for stream, token in zip(rows, tokens, strict=True):
            stream.emit(token, width)

    def _decode_eager(self, rows, ids, audio, pos, start: int, stop: int, high: int) -> list[int]:
        net = self.model.net
        cache, scales = self.dec_cache.rows(start, stop), self.scales[:, start:stop]
        h = net.decoder(ids, audio, pos, cache, scales, high)
        if any(s.logits_hook for s in rows):
            logits = net.decoder.logits(h).float()
            for r, stream in enumerate(rows):
                if stream.logits_hook:
                    stream.logits_hook(logits[r])
        return net.decoder.logits(h[:, -1]).argmax(-1).tolist()
