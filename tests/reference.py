"""transformers' VoxtralRealtimeForConditionalGeneration built from a Mistral-layout folder.

Test-only: the engine never imports transformers. The conversion follows the published mapping
(spec section 2): rename each tensor, and permute q/k rows (and the encoder's q bias) from the
interleaved RoPE pair layout to the rotate-half layout transformers' attention expects.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

_E = "mm_streams_embeddings.embedding_module."


def _rotate_half_rows(w: torch.Tensor, n_heads: int) -> torch.Tensor:
    rows = w.shape[0]
    rest = w.shape[1:]
    return w.reshape(n_heads, rows // n_heads // 2, 2, *rest).transpose(1, 2).reshape(rows, *rest)


def _rename(name: str) -> str:
    enc = _E + "whisper_encoder."
    table = [
        (enc + "conv_layers.0.conv.", "model.audio_tower.embedder.conv1."),
        (enc + "conv_layers.1.conv.", "model.audio_tower.embedder.conv2."),
        (enc + "transformer.norm.", "model.audio_tower.norm."),
        (enc + "transformer.layers.", "model.audio_tower.layers."),
        (_E + "audio_language_projection.0.", "model.multi_modal_projector.linear_1."),
        (_E + "audio_language_projection.2.", "model.multi_modal_projector.linear_2."),
        (_E + "tok_embeddings.", "model.language_model.embed_tokens."),
        ("norm.", "model.language_model.norm."),
        ("layers.", "model.language_model.layers."),
    ]
    for old, new in table:
        if name.startswith(old):
            name = new + name[len(old) :]
            break
    encoder = name.startswith("model.audio_tower.layers.")
    for old, new in [
        ("attention.wq.", "self_attn.q_proj."), ("attention.wk.", "self_attn.k_proj."),
        ("attention.wv.", "self_attn.v_proj."), ("attention.wo.", "self_attn.o_proj."),
        ("feed_forward.w1.", "mlp.gate_proj."), ("feed_forward.w2.", "mlp.down_proj."),
        ("feed_forward.w3.", "mlp.up_proj."),
        ("ada_rms_norm_t_cond.0.", "ada_rms_norm.linear1."),
        ("ada_rms_norm_t_cond.2.", "ada_rms_norm.linear2."),
        ("attention_norm.", "self_attn_layer_norm." if encoder else "input_layernorm."),
        ("ffn_norm.", "final_layer_norm." if encoder else "post_attention_layernorm."),
    ]:
        name = name.replace(old, new)
    return name


def reference_config(folder: Path):
    """transformers' config for the Mistral-layout folder's ``params.json``."""
    from transformers import VoxtralRealtimeConfig

    p = json.loads((folder / "params.json").read_text())
    enc = p["multimodal"]["whisper_model_args"]["encoder_args"]
    return VoxtralRealtimeConfig(
        audio_config={
            "hidden_size": enc["dim"], "intermediate_size": enc["hidden_dim"],
            "num_hidden_layers": enc["n_layers"], "num_attention_heads": enc["n_heads"],
            "head_dim": enc["head_dim"], "sliding_window": enc["sliding_window"],
            "rms_norm_eps": enc["norm_eps"], "num_mel_bins": 128,
            "rope_parameters": {"rope_type": "default", "rope_theta": enc["rope_theta"]},
        },
        text_config={
            "vocab_size": p["vocab_size"], "hidden_size": p["dim"],
            "intermediate_size": p["hidden_dim"], "num_hidden_layers": p["n_layers"],
            "num_attention_heads": p["n_heads"], "num_key_value_heads": p["n_kv_heads"],
            "head_dim": p["head_dim"], "sliding_window": p["sliding_window"],
            "rms_norm_eps": p["norm_eps"], "tie_word_embeddings": True,
            "rope_parameters": {"rope_type": "default", "rope_theta": p["rope_theta"]},
        },
    )


def reference_tensor(name: str, w: torch.Tensor, config) -> tuple[str, torch.Tensor]:
    """One checkpoint tensor -> (transformers name, tensor in its layout), dtype unchanged."""
    new = _rename(name)
    audio, text = config.audio_config, config.text_config
    tower = new.startswith("model.audio_tower")
    if ".q_proj." in new:
        w = _rotate_half_rows(w, audio.num_attention_heads if tower else text.num_attention_heads)
    elif ".k_proj." in new:
        w = _rotate_half_rows(w, audio.num_attention_heads if tower else text.num_key_value_heads)
    return new, w


def reference_model(folder: Path, dtype: torch.dtype = torch.float32):
    from transformers import VoxtralRealtimeForConditionalGeneration

    config = reference_config(folder)
    model = VoxtralRealtimeForConditionalGeneration(config)
    state = {}
    for name, w in load_file(str(folder / "consolidated.safetensors")).items():
        new, w = reference_tensor(name, w.float(), config)
        state[new] = w
    state["lm_head.weight"] = state["model.language_model.embed_tokens.weight"]
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected, unexpected
    assert set(missing) <= {"model.time_embedding.inv_freq"}, missing
    model.generation_config.eos_token_id = None  # live streams never stop at EOS
    # Only the weights take the model dtype: loading in bf16 keeps the rotary frequencies in
    # float32, and a blanket .to(dtype) would round them to bf16.
    for param in model.parameters():
        param.data = param.data.to(dtype)
    return model.eval()


def reference_features(padded_audio: np.ndarray) -> torch.Tensor:
    """transformers' log-mel of the whole padded stream, (1, 128, frames)."""
    from transformers import VoxtralRealtimeFeatureExtractor

    fe = VoxtralRealtimeFeatureExtractor()
    out = fe(padded_audio, sampling_rate=16000, return_tensors="pt", center=True)
    return out["input_features"]
