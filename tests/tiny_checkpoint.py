"""Write tiny random Voxtral Realtime checkpoints in exactly the real Mistral layout.

The folder holds ``params.json`` (every key the real file has, small values),
``consolidated.safetensors`` (the real tensor names, interleaved-RoPE q/k rows as Mistral stores
them, bf16 or fp32) and ``tekken.json`` (the first N entries of the vocabulary mistral-common
ships, the 1000 special tokens with the real names at the real ranks, and the ``audio`` section).
Weights are random but scaled so that the tiny model's greedy tokens change with the audio.
"""
from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from safetensors.torch import save_file

_E = "mm_streams_embeddings.embedding_module."
NAMED_SPECIALS = {
    0: "<unk>", 1: "<s>", 2: "</s>", 3: "[INST]", 4: "[/INST]", 5: "[AVAILABLE_TOOLS]",
    6: "[/AVAILABLE_TOOLS]", 7: "[TOOL_RESULTS]", 8: "[/TOOL_RESULTS]", 9: "[TOOL_CALLS]",
    10: "[IMG]", 11: "<pad>", 12: "[IMG_BREAK]", 13: "[IMG_END]", 14: "[PREFIX]",
    15: "[MIDDLE]", 16: "[SUFFIX]", 17: "[SYSTEM_PROMPT]", 18: "[/SYSTEM_PROMPT]",
    19: "[TOOL_CONTENT]", 24: "[AUDIO]", 25: "[BEGIN_AUDIO]", 32: "[STREAMING_PAD]",
    33: "[STREAMING_WORD]", 34: "[REPEAT_AUDIO_TEXT]", 35: "[ARGS]", 36: "[CALL_ID]",
    37: "[TRANSCRIBE]", 38: "[THINK]", 39: "[/THINK]",
}


@dataclass(frozen=True)
class TinySpec:
    enc_dim: int = 32
    enc_layers: int = 2
    enc_heads: int = 4
    enc_kv_heads: int = 4
    enc_head_dim: int = 8
    enc_hidden: int = 64
    enc_window: int = 24  # encoder frames; 6 tokens, so it wraps within a second of audio
    dec_dim: int = 48
    dec_layers: int = 2
    dec_heads: int = 4
    dec_kv_heads: int = 2
    dec_head_dim: int = 12
    dec_hidden: int = 96
    dec_window: int = 20  # decoder tokens
    n_words: int = 600  # tekken vocabulary entries after the 1000 specials
    dtype: str = "float32"  # or "bfloat16", as the real file
    seed: int = 0

    @property
    def vocab_size(self) -> int:
        return 1000 + self.n_words


def params(spec: TinySpec) -> dict:
    return {
        "dim": spec.dec_dim,
        "n_layers": spec.dec_layers,
        "head_dim": spec.dec_head_dim,
        "hidden_dim": spec.dec_hidden,
        "n_heads": spec.dec_heads,
        "n_kv_heads": spec.dec_kv_heads,
        "use_biases": False,
        "causal": True,
        "rope_theta": 1000000.0,
        "norm_eps": 1e-05,
        "vocab_size": spec.vocab_size,
        "model_parallel": 1,
        "tied_embeddings": True,
        "sliding_window": spec.dec_window,
        "model_max_length": 131072,
        "multimodal": {
            "whisper_model_args": {
                "encoder_args": {
                    "audio_encoding_args": {
                        "sampling_rate": 16000,
                        "frame_rate": 12.5,
                        "num_mel_bins": 128,
                        "hop_length": 160,
                        "window_size": 400,
                        "chunk_length_s": None,
                        "global_log_mel_max": 1.5,
                        "transcription_format": "streaming",
                    },
                    "dim": spec.enc_dim,
                    "n_layers": spec.enc_layers,
                    "head_dim": spec.enc_head_dim,
                    "hidden_dim": spec.enc_hidden,
                    "n_heads": spec.enc_heads,
                    "vocab_size": spec.vocab_size,
                    "n_kv_heads": spec.enc_kv_heads,
                    "use_biases": True,
                    "use_cache": False,
                    "rope_theta": 1000000.0,
                    "causal": True,
                    "norm_eps": 1e-05,
                    "pos_embed": "rope",
                    "max_source_positions": None,
                    "ffn_type": "swiglu",
                    "norm_type": "rms_norm",
                    "sliding_window": spec.enc_window,
                },
                "downsample_args": {"downsample_factor": 4},
            }
        },
        "ada_rms_norm_t_cond": True,
        "ada_rms_norm_t_cond_dim": 32,
    }


def tensor_shapes(spec: TinySpec) -> dict[str, tuple[int, ...]]:
    """Every tensor of the Mistral layout with its shape, for this spec."""
    s, shapes = spec, {}
    enc = _E + "whisper_encoder."
    shapes[_E + "tok_embeddings.weight"] = (s.vocab_size, s.dec_dim)
    shapes[enc + "conv_layers.0.conv.weight"] = (s.enc_dim, 128, 3)
    shapes[enc + "conv_layers.0.conv.bias"] = (s.enc_dim,)
    shapes[enc + "conv_layers.1.conv.weight"] = (s.enc_dim, s.enc_dim, 3)
    shapes[enc + "conv_layers.1.conv.bias"] = (s.enc_dim,)
    for i in range(s.enc_layers):
        p = f"{enc}transformer.layers.{i}."
        q, kv = s.enc_heads * s.enc_head_dim, s.enc_kv_heads * s.enc_head_dim
        shapes.update({
            p + "attention.wq.weight": (q, s.enc_dim), p + "attention.wq.bias": (q,),
            p + "attention.wk.weight": (kv, s.enc_dim),
            p + "attention.wv.weight": (kv, s.enc_dim), p + "attention.wv.bias": (kv,),
            p + "attention.wo.weight": (s.enc_dim, q), p + "attention.wo.bias": (s.enc_dim,),
            p + "attention_norm.weight": (s.enc_dim,), p + "ffn_norm.weight": (s.enc_dim,),
            p + "feed_forward.w1.weight": (s.enc_hidden, s.enc_dim),
            p + "feed_forward.w3.weight": (s.enc_hidden, s.enc_dim),
            p + "feed_forward.w2.weight": (s.enc_dim, s.enc_hidden),
            p + "feed_forward.w2.bias": (s.enc_dim,),
        })
    shapes[enc + "transformer.norm.weight"] = (s.enc_dim,)
    shapes[_E + "audio_language_projection.0.weight"] = (s.dec_dim, 4 * s.enc_dim)
    shapes[_E + "audio_language_projection.2.weight"] = (s.dec_dim, s.dec_dim)
    for i in range(s.dec_layers):
        p = f"layers.{i}."
        q, kv = s.dec_heads * s.dec_head_dim, s.dec_kv_heads * s.dec_head_dim
        shapes.update({
            p + "attention.wq.weight": (q, s.dec_dim), p + "attention.wk.weight": (kv, s.dec_dim),
            p + "attention.wv.weight": (kv, s.dec_dim), p + "attention.wo.weight": (s.dec_dim, q),
            p + "attention_norm.weight": (s.dec_dim,), p + "ffn_norm.weight": (s.dec_dim,),
            p + "feed_forward.w1.weight": (s.dec_hidden, s.dec_dim),
            p + "feed_forward.w3.weight": (s.dec_hidden, s.dec_dim),
            p + "feed_forward.w2.weight": (s.dec_dim, s.dec_hidden),
            p + "ada_rms_norm_t_cond.0.weight": (32, s.dec_dim),
            p + "ada_rms_norm_t_cond.2.weight": (s.dec_dim, 32),
        })
    shapes["norm.weight"] = (s.dec_dim,)
    return shapes


def random_weights(spec: TinySpec) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(spec.seed)
    out = {}
    for name, shape in tensor_shapes(spec).items():
        if name.endswith("norm.weight"):
            t = 1.0 + 0.1 * torch.randn(shape, generator=g)
        elif name.endswith("bias"):
            t = 0.1 * torch.randn(shape, generator=g)
        elif "tok_embeddings" in name:
            t = torch.randn(shape, generator=g)  # unit scale: logits spread over many tokens
        else:
            fan_in = shape[1] * (shape[2] if len(shape) == 3 else 1)
            t = torch.randn(shape, generator=g) * (1.5 / fan_in**0.5)
        out[name] = t.to(getattr(torch, spec.dtype)).contiguous()
    return out


def tekken(spec: TinySpec) -> dict:
    import mistral_common

    shipped = Path(mistral_common.__file__).parent / "data" / "tekken_240911.json"
    source = json.loads(shipped.read_text(encoding="utf-8"))
    specials = [
        {"rank": r, "token_str": NAMED_SPECIALS.get(r, f"<SPECIAL_{r}>"), "is_control": True}
        for r in range(1000)
    ]
    return {
        "config": {
            "pattern": source["config"]["pattern"],
            "num_vocab_tokens": spec.n_words,
            "default_vocab_size": spec.vocab_size,
            "default_num_special_tokens": 1000,
            "version": "v13",
        },
        "vocab": source["vocab"][: spec.n_words],
        "special_tokens": specials,
        "audio": {
            "sampling_rate": 16000,
            "frame_rate": 12.5,
            "audio_encoding_config": {"num_mel_bins": 128, "hop_length": 160, "window_size": 400},
            "transcription_delay_ms": 480,
            "streaming_look_ahead_ms": 2.5,
            "streaming_look_back_ms": 52.5,
            "streaming_n_left_pad_tokens": 32,
            "transcription_format": "streaming",
        },
    }


def write_checkpoint(path: str | Path, spec: TinySpec | None = None, **changes) -> Path:
    """Write a tiny checkpoint folder at ``path`` and return it."""
    spec = replace(spec or TinySpec(), **changes)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / "params.json").write_text(json.dumps(params(spec), indent=2))
    (path / "tekken.json").write_text(json.dumps(tekken(spec)))
    save_file(random_weights(spec), str(path / "consolidated.safetensors"))
    (path / "tiny_spec.json").write_text(json.dumps(asdict(spec)))
    return path


def token_bytes_b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
