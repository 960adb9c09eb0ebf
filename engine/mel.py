"""Log-mel features, computed on a fixed grid so any chunking gives the same numbers.

Reference: transformers ``VoxtralRealtimeFeatureExtractor`` (and mistral-common's filter bank).
- STFT: n_fft = window = 400, hop 160, periodic Hann, power |X|^2.
- 128 Slaney mel filters over 0-8000 Hz, Slaney area normalisation.
- log10(max(M, 1e-10)), clamped below at 1.5 - 8, then (L + 4) / 4.

Mel frame g is centred on sample 160 g of the padded stream (left silence + audio + right
silence); its window is samples [160 g - 200, 160 g + 200). The reference's whole-file pass
reflect-pads the edges, but both edges of the padded stream are silence, so zeros stand in for
anything outside it. Frames 8m .. 8m+7 belong to decoder position m.
"""
from __future__ import annotations

import numpy as np
import torch
from mistral_common.audio import mel_filter_bank

from engine.config import AudioConfig


class LogMel:
    def __init__(self, audio: AudioConfig, device: torch.device | str) -> None:
        self.audio = audio
        self.window = torch.hann_window(audio.window, device=device)
        filters = mel_filter_bank(
            num_frequency_bins=audio.window // 2 + 1,
            num_mel_bins=audio.n_mels,
            min_frequency=0.0,
            max_frequency=8000.0,
            sampling_rate=audio.sample_rate,
        )  # (freq, mels)
        self.filters = torch.from_numpy(np.ascontiguousarray(filters.T)).float().to(device)
        self.floor = audio.log_mel_max - 8.0

    def span(self, first_frame: int, n_frames: int) -> tuple[int, int]:
        """Sample range [start, end) of the padded stream that frames first..first+n-1 read."""
        half = self.audio.window // 2
        start = first_frame * self.audio.hop - half
        return start, start + (n_frames - 1) * self.audio.hop + self.audio.window

    def __call__(self, samples: torch.Tensor) -> torch.Tensor:
        """samples (B, span) as given by ``span`` -> features (B, n_mels, frames), float32."""
        spec = torch.stft(
            samples.float(),
            self.audio.window,
            self.audio.hop,
            window=self.window,
            center=False,
            return_complex=True,
        )  # (B, freq, frames)
        power = spec.abs() ** 2
        mel = self.filters @ power  # (B, n_mels, frames)
        log = torch.clamp(mel, min=1e-10).log10()
        log = torch.maximum(log, torch.tensor(self.floor, device=log.device))
        return (log + 4.0) / 4.0
