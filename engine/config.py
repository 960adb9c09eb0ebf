"""Model configuration parsed from a Mistral-layout ``params.json``.

Every size the engine uses comes from this file, so tiny test checkpoints with the same keys
and small values run through exactly the same code as the real 4.4 B model.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from engine.errors import CheckpointError


@dataclass(frozen=True)
class AudioConfig:
    sample_rate: int  # Hz (16 000)
    frame_rate: float  # decoder tokens per second (12.5)
    n_mels: int  # mel bins (128)
    hop: int  # samples between mel frames (160)
    window: int  # STFT window and n_fft, samples (400)
    log_mel_max: float  # fixed ceiling of the log-mel clamp (1.5)

    @property
    def samples_per_token(self) -> int:  # 1280
        return int(self.sample_rate // self.frame_rate)

    @property
    def mels_per_token(self) -> int:  # 8
        return self.samples_per_token // self.hop


@dataclass(frozen=True)
class TowerConfig:
    """One transformer stack (the audio encoder or the text decoder)."""

    dim: int  # residual width
    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    hidden_dim: int  # SwiGLU inner width
    norm_eps: float
    rope_theta: float
    window: int  # sliding attention window, positions


@dataclass(frozen=True)
class ModelConfig:
    audio: AudioConfig
    encoder: TowerConfig
    decoder: TowerConfig
    vocab_size: int
    downsample: int  # encoder frames concatenated per decoder token (4)
    t_cond_dim: int  # inner width of the time-conditioned norm (32)
    n_left_pad_tokens: int = 32  # silence tokens before the audio (from tekken.json)

    def __post_init__(self) -> None:
        for name, tower in (("encoder", self.encoder), ("decoder", self.decoder)):
            if tower.n_heads % tower.n_kv_heads:
                raise CheckpointError(
                    f"params.json: {name} n_heads ({tower.n_heads}) is not a multiple of "
                    f"n_kv_heads ({tower.n_kv_heads}); the file is not a Voxtral Realtime config."
                )
        if self.audio.mels_per_token != 2 * self.downsample:
            raise CheckpointError(
                "params.json: 1 token must be 2 * downsample_factor mel frames "
                f"(got {self.audio.mels_per_token} mel frames and factor {self.downsample})."
            )

    @staticmethod
    def from_params(path: Path) -> ModelConfig:
        try:
            p = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CheckpointError(
                f"{path} is missing: the folder is not a complete Voxtral checkpoint. "
                "Download or import the model again."
            ) from None
        except (OSError, ValueError) as exc:
            raise CheckpointError(
                f"{path} cannot be read as JSON ({exc}). Download or import the model again."
            ) from None
        try:
            return _parse(p)
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(
                f"{path} lacks a Voxtral Realtime setting ({exc!r}). "
                "Make sure the folder holds the Voxtral Mini 4B Realtime checkpoint."
            ) from None


def _tower(p: dict, window: int) -> TowerConfig:
    return TowerConfig(
        dim=int(p["dim"]),
        n_layers=int(p["n_layers"]),
        n_heads=int(p["n_heads"]),
        n_kv_heads=int(p["n_kv_heads"]),
        head_dim=int(p["head_dim"]),
        hidden_dim=int(p["hidden_dim"]),
        norm_eps=float(p["norm_eps"]),
        rope_theta=float(p["rope_theta"]),
        window=window,
    )


def _parse(p: dict) -> ModelConfig:
    whisper = p["multimodal"]["whisper_model_args"]
    enc = whisper["encoder_args"]
    a = enc["audio_encoding_args"]
    audio = AudioConfig(
        sample_rate=int(a["sampling_rate"]),
        frame_rate=float(a["frame_rate"]),
        n_mels=int(a["num_mel_bins"]),
        hop=int(a["hop_length"]),
        window=int(a["window_size"]),
        log_mel_max=float(a["global_log_mel_max"]),
    )
    if not p.get("tied_embeddings", True):
        raise ValueError("tied_embeddings must be true")
    if not p.get("ada_rms_norm_t_cond", False):
        raise ValueError("ada_rms_norm_t_cond must be true")
    return ModelConfig(
        audio=audio,
        encoder=_tower(enc, int(enc["sliding_window"])),
        decoder=_tower(p, int(p["sliding_window"])),
        vocab_size=int(p["vocab_size"]),
        downsample=int(whisper["downsample_args"]["downsample_factor"]),
        t_cond_dim=int(p["ada_rms_norm_t_cond_dim"]),
    )
