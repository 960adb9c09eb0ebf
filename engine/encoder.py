"""Audio encoder and adapter: log-mel frames -> one audio embedding per decoder token.

Reference: transformers ``VoxtralRealtimeEncoder`` + ``VoxtralRealtimeMultiModalProjector``.
- Causal conv stem: conv1 (k 3, stride 1), conv2 (k 3, stride 2), exact GELU after each; the
  stream carries the last 2 mel frames and the last conv1 frame, so chunks of 8 mel frames give
  the same numbers as one pass over the whole file.
- Transformer layers: RMSNorm, attention with RoPE (q/v/o biases, none on k) over a sliding
  window of encoder frames, SwiGLU with a bias on the down projection; final RMSNorm.
- Adapter: 4 consecutive encoder frames concatenated, Linear, GELU, Linear (no biases).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.cache import RingKV
from engine.config import ModelConfig, TowerConfig
from engine.layers import Attention, FeedForward, Linear, RMSNorm, rope_inv_freq, rope_tables


@dataclass
class ConvState:
    """The causal convolutions' left context, per stream (zeros at stream start)."""

    mel_tail: torch.Tensor  # (B, n_mels, 2) last mel frames
    conv_tail: torch.Tensor  # (B, enc_dim, 1) last conv1 output frame, after GELU

    def rows(self, start: int, stop: int) -> ConvState:
        """A view of streams start..stop-1; updates write through to this state."""
        return ConvState(self.mel_tail[start:stop], self.conv_tail[start:stop])


class EncoderLayer(nn.Module):
    def __init__(self, c: TowerConfig):
        super().__init__()
        self.attention_norm = RMSNorm(c.dim, c.norm_eps)
        self.attention = Attention(c.dim, c.n_heads, c.n_kv_heads, c.head_dim, bias=True)
        self.ffn_norm = RMSNorm(c.dim, c.norm_eps)
        self.feed_forward = FeedForward(c.dim, c.hidden_dim, bias=True)

    def forward(self, h, rope, cache: RingKV, layer: int) -> torch.Tensor:
        h = h + self.attention(self.attention_norm(h), rope, cache, layer)
        return h + self.feed_forward(self.ffn_norm(h))


class AudioEncoder(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        c = config.encoder
        self.config = c
        self.conv1 = nn.Conv1d(config.audio.n_mels, c.dim, kernel_size=3)
        self.conv2 = nn.Conv1d(c.dim, c.dim, kernel_size=3, stride=2)
        self.layers = nn.ModuleList(EncoderLayer(c) for _ in range(c.n_layers))
        self.norm = RMSNorm(c.dim, c.norm_eps)
        # float64 RoPE frequencies; a plain attribute so that building on "meta" leaves it real
        self.inv_freq = rope_inv_freq(c.head_dim, c.rope_theta)

    def new_state(self, batch: int, device, dtype) -> ConvState:
        n_mels = self.conv1.in_channels
        return ConvState(
            torch.zeros(batch, n_mels, 2, device=device, dtype=dtype),
            torch.zeros(batch, self.config.dim, 1, device=device, dtype=dtype),
        )

    def new_cache(self, batch: int, slack: int, device, dtype) -> RingKV:
        c = self.config
        return RingKV(c.n_layers, batch, c.n_kv_heads, c.head_dim, c.window, slack, device, dtype)

    def stem(self, mel: torch.Tensor, state: ConvState) -> torch.Tensor:
        """mel (B, n_mels, F) with F even -> encoder inputs (B, F/2, dim); updates ``state``."""
        x = torch.cat((state.mel_tail, mel), 2)  # (B, n_mels, F + 2)
        state.mel_tail.copy_(x[:, :, -2:])
        h = F.gelu(self.conv1(x))  # (B, dim, F)
        y = torch.cat((state.conv_tail, h), 2)  # (B, dim, F + 1)
        state.conv_tail.copy_(h[:, :, -1:])
        return F.gelu(self.conv2(y)).transpose(1, 2)  # (B, F/2, dim)

    def forward(
        self,
        mel: torch.Tensor,
        state: ConvState,
        cache: RingKV,
        pos: torch.Tensor,
        high: int | None = None,
    ) -> torch.Tensor:
        """mel (B, n_mels, F) at encoder positions pos (B, F/2) -> frames (B, F/2, dim).

        ``high``: one past the largest position, when known on the host (see RingKV.begin).
        """
        h = self.stem(mel, state)
        rope = rope_tables(pos, self.inv_freq, h.dtype)
        cache.begin(pos, high)
        for i, layer in enumerate(self.layers):
            h = layer(h, rope, cache, i)
        cache.commit()
        return self.norm(h)


class Adapter(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.downsample = config.downsample
        self.w_in = Linear(config.encoder.dim * config.downsample, config.decoder.dim, bias=False)
        self.w_out = Linear(config.decoder.dim, config.decoder.dim, bias=False)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Encoder frames (B, 4k, enc_dim) -> audio embeddings (B, k, dec_dim)."""
        B, n, d = frames.shape
        x = frames.reshape(B, n // self.downsample, d * self.downsample)
        return self.w_out(F.gelu(self.w_in(x)))
