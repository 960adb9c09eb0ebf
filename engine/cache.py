"""Preallocated ring-buffer KV caches for the encoder and the decoder.

A tower's cache holds keys and values for every layer in tensors of fixed shape
(layers, batch, kv_heads, window + slack, head_dim), plus the absolute position held by each slot.
Position p lives in slot p % size, so memory is fixed once the window fills, however long the
stream runs. Attention masks are built from the slot positions: query i sees key j when
``i - window < j <= i``.

Two ways to attend, chosen per chunk of T new positions:
- T <= slack + 1 (the steady 80 ms step): write the new keys first, then attend over the ring
  alone. The slack guarantees no key a query still needs is overwritten by its own chunk.
- larger chunks (the prompt, or catch-up after a stall): attend over ring + new keys, then keep
  the newest ``size`` of them.
"""
from __future__ import annotations

import torch


class RingKV:
    def __init__(
        self,
        n_layers: int,
        batch: int,
        n_kv_heads: int,
        head_dim: int,
        window: int,
        slack: int,
        device: torch.device | str,
        dtype: torch.dtype,
    ) -> None:
        self.window, self.slack, self.size = window, slack, window + slack
        shape = (n_layers, batch, n_kv_heads, self.size, head_dim)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.pos = torch.full((batch, self.size), -1, dtype=torch.long, device=device)
        self._mask: torch.Tensor | None = None
        self._write_slots: torch.Tensor | None = None  # (B, n) slots the chunk writes
        self._write_from = 0  # first new position of the chunk that is kept
        self._concat = False
        self._new_pos: torch.Tensor | None = None
        self._used = self.size  # slots attention reads in this chunk

    def begin(self, qpos: torch.Tensor, high: int | None = None) -> None:
        """Prepare a chunk of new positions qpos (B, T), the same for every layer.

        ``high`` (one past the largest position in qpos, when the caller knows it) lets
        attention skip the slots not yet written: before the ring first wraps they are exactly
        the slots from ``high`` on. Without it (fixed shapes for a CUDA graph) the whole ring
        is attended to, masked.
        """
        T = qpos.shape[1]
        self._concat = T > self.slack + 1
        # Slots holding keys when attention reads: before the chunk for the concatenating path,
        # after its writes otherwise.
        written = None if high is None else high - T if self._concat else high
        self._used = self.size if written is None else max(0, min(written, self.size))
        self._write_from = max(0, T - self.size)
        kept = qpos[:, self._write_from :]
        self._write_slots = kept % self.size
        self._new_pos = self.pos.scatter(1, self._write_slots, kept)
        used = self._used
        kpos = torch.cat((self.pos[:, :used], qpos), 1) if self._concat else self._new_pos[:, :used]
        kp, qp = kpos[:, None, :], qpos[:, :, None]
        self._mask = ((kp >= 0) & (kp <= qp) & (kp > qp - self.window))[:, None]  # (B,1,T,S)

    def attend_to(
        self, layer: int, k: torch.Tensor, v: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Store this layer's new k/v (B, Hkv, T, hd); return the keys, values and mask to use."""
        used = self._used
        if self._concat:
            keys = torch.cat((self.k[layer, :, :, :used], k), 2)
            values = torch.cat((self.v[layer, :, :, :used], v), 2)
            self._write(layer, k, v)
            return keys, values, self._mask
        self._write(layer, k, v)
        return self.k[layer, :, :, :used], self.v[layer, :, :, :used], self._mask

    def _write(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> None:
        """Store the kept new positions' k/v (B, Hkv, T, hd) in their slots.

        ``index_copy_`` along the slot axis, one stream's row at a time, touches only the
        written positions' bytes on every device and dtype. ``scatter_`` on a bfloat16 CPU
        tensor converts the whole ring to float32 and back on each call (tens of milliseconds
        for one decoder layer's ring), and ``index_put_`` through a transposed view of the ring
        took 0.25-1.7 ms per call on the CPU for the encoder's 4 positions (a full-size float32
        ring, 2 threads), against 7 us for ``index_copy_``.
        """
        keep = self._write_from
        for row in range(k.shape[0]):
            slots = self._write_slots[row]
            self.k[layer, row].index_copy_(1, slots, k[row, :, keep:])
            self.v[layer, row].index_copy_(1, slots, v[row, :, keep:])

    def commit(self) -> None:
        """Make the chunk's positions visible to the next chunk."""
        self.pos.copy_(self._new_pos)

    def rows(self, start: int, stop: int) -> RingKV:
        """A view of streams start..stop-1 that shares this cache's storage."""
        view = RingKV.__new__(RingKV)
        view.__dict__.update(self.__dict__)
        view.k, view.v = self.k[:, start:stop], self.v[:, start:stop]
        view.pos = self.pos[start:stop]
        return view

    def nbytes(self) -> int:
        return self.k.nbytes + self.v.nbytes + self.pos.nbytes
