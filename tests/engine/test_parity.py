"""The engine computes what transformers' reference computes: features, logits, tokens.

Several tiny configurations (GQA ratios, head sizes, layer counts) with sliding windows small
enough that both ring buffers wrap several times in a few seconds of audio, at the shortest,
the default and the longest delay.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import engine
from tests.engine.conftest import chirp
from tests.reference import reference_features, reference_model
from tests.tiny_checkpoint import write_checkpoint

CONFIGS = {
    "gqa2": {},
    "mha-1layer": {
        "enc_layers": 1, "dec_layers": 1, "dec_heads": 4, "dec_kv_heads": 4, "dec_head_dim": 16,
        "enc_window": 8, "dec_window": 5, "seed": 3,
    },
    "mqa-3layer-bf16": {
        "enc_layers": 3, "dec_layers": 3, "enc_heads": 2, "enc_kv_heads": 2, "enc_head_dim": 16,
        "dec_heads": 8, "dec_kv_heads": 1, "dec_head_dim": 8, "enc_window": 12, "dec_window": 7,
        "dtype": "bfloat16", "seed": 2,
    },
}
DELAYS = [80, 480, 2400]


@pytest.fixture(scope="module", params=list(CONFIGS))
def pair(request, tmp_path_factory):
    folder = write_checkpoint(tmp_path_factory.mktemp(request.param), **CONFIGS[request.param])
    return engine.load_model(folder), reference_model(folder)


def padded_stream(model, audio: np.ndarray, delay_ms: int) -> np.ndarray:
    """Left silence + audio + right silence, as mistral-common's streaming pad lays it out."""
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    enc = MistralTokenizer.from_file(str(model.path / "tekken.json")).instruct_tokenizer
    return enc.audio_encoder.pad(audio, 16000, delay_ms)


@pytest.mark.parametrize("delay_ms", DELAYS)
def test_logits_tokens_and_features_match_transformers(pair, delay_ms):
    model, ref = pair
    audio = chirp(3.0, seed=delay_ms)
    stream = model.stream(delay_ms)
    logits: list[torch.Tensor] = []
    stream.logits_hook = logits.append
    stream.feed(audio)
    stream.finish()
    ours = torch.cat(logits)  # one row per decoder position
    tokens = stream.tokens
    prompt = model.tokenizer.prompt(delay_ms)
    d = delay_ms // 80
    assert prompt == [1] + [32] * (32 + d)

    padded = padded_stream(model, audio, delay_ms)
    mel = reference_features(padded)
    n_pos = padded.size // 1280
    assert ours.shape[0] == n_pos and len(tokens) == n_pos - len(prompt) + 1

    start, stop = model.mel.span(0, mel.shape[-1])
    window = np.zeros(stop - start, np.float32)
    window[-start : -start + padded.size] = padded[: stop - start + start]
    np.testing.assert_allclose(model.mel(torch.from_numpy(window)[None]), mel, atol=1e-5)

    with torch.no_grad():
        ids = torch.tensor([prompt + tokens[:-1]])
        expect = ref(input_ids=ids, input_features=mel, num_delay_tokens=d, use_cache=False).logits[0]
        generated = ref.generate(input_ids=torch.tensor([prompt]), input_features=mel, num_delay_tokens=d)
    scale = expect.abs().max().item()
    assert (ours - expect).abs().max().item() <= 2e-5 * scale
    # transformers stops one short: it never predicts after the last padded position.
    assert generated[0, len(prompt) :].tolist() == tokens[:-1]
    assert len(set(tokens)) >= 4, "random weights too weak: tokens must vary for parity to mean much"


@pytest.mark.parametrize("delay_ms", DELAYS)
def test_bf16_logits_are_bit_identical_to_transformers_generate(tmp_path_factory, delay_ms):
    """Live in bf16 (80 ms at a time), while neither sliding window has wrapped, every step's
    logits equal transformers' generate bit for bit. Once a ring buffer wraps its keys are
    summed in ring order rather than time order, and encoder catch-up computes many frames in
    one product: both may change the last bits, never the tokens (tested elsewhere)."""
    folder = write_checkpoint(tmp_path_factory.mktemp("bf16"), enc_window=2000, dec_window=2000,
                              dec_kv_heads=2, dtype="bfloat16")
    model = engine.load_model(folder, dtype=torch.bfloat16)
    ref = reference_model(folder, torch.bfloat16)
    audio = chirp(6.0, seed=delay_ms)
    prompt = model.tokenizer.prompt(delay_ms)
    mel = reference_features(padded_stream(model, audio, delay_ms)).to(torch.bfloat16)
    with torch.no_grad():
        out = ref.generate(input_ids=torch.tensor([prompt]), input_features=mel,
                           num_delay_tokens=delay_ms // 80, output_logits=True,
                           return_dict_in_generate=True)
    expect = torch.stack(out.logits)[:, 0].float()
    stream, rows = model.stream(delay_ms), []
    stream.logits_hook = rows.append
    for at in range(0, audio.size, 1280):
        stream.feed(audio[at : at + 1280])
    live = len(rows) - 1  # decoder steps taken live (the first row is the whole prompt)
    assert live >= 40
    first = len(prompt) - 1
    ours = torch.cat(rows)[first : first + live]
    assert torch.equal(ours, expect[:live])
    assert out.sequences[0, len(prompt) : len(prompt) + live].tolist() == stream.tokens[:live]
