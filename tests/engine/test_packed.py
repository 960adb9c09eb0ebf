"""float32 on the CPU with the matrices packed as float16 (engine/packed.py): every weight of a
bfloat16 checkpoint kept exactly, the same logits as float32 matrices within float32's rounding,
and plain float32 wherever float16 cannot hold a weight."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import engine
from engine.packed import HalfPackedEmbedding, HalfPackedLinear, half_gemm_ok
from engine.weights import memory_needed
from tests.engine.conftest import chirp
from tests.tiny_checkpoint import write_checkpoint

pytestmark = pytest.mark.skipif(not half_gemm_ok(), reason="this build of torch has no fbgemm")


def packed(w: torch.Tensor, bias: torch.Tensor | None = None) -> HalfPackedLinear:
    twin = HalfPackedLinear(w.shape[1], [w.shape[0]], [bias is not None])
    if bias is not None:
        assert twin.take(0, "bias", bias) is None  # waits for the weight
    twin.take(0, "weight", w)()
    return twin


def test_every_bfloat16_weight_from_2e_minus_17_up_is_kept_exactly():
    g = torch.Generator().manual_seed(0)
    exponents = torch.randint(-17, 15, (64, 48), generator=g).float()
    mantissas = 1 + torch.rand(64, 48, generator=g)
    signs = torch.where(torch.rand(64, 48, generator=g) < 0.5, -1.0, 1.0)
    w = (signs * mantissas * 2**exponents).bfloat16()
    twin = packed(w)
    assert twin.packed is not None
    # one weight per output: the product of a unit row reads each weight back on its own
    got = twin(torch.eye(48))  # (48 inputs, 64 outputs) = w^T
    assert torch.equal(got, w.float().t())
    # below 2^-17 a weight rounds to a multiple of 2^-24: an error under 2^-25
    tiny = (torch.rand(8, 16, generator=g) * 2**-17).bfloat16()
    error = (packed(tiny)(torch.eye(16)) - tiny.float().t()).abs().max().item()
    assert 0 < error <= 2**-25


def test_what_float16_cannot_hold_stays_float32():
    too_big = torch.full((4, 8), 1e5).bfloat16()  # above float16's 65 504
    not_half = torch.full((4, 8), 1 / 3)  # a float32 checkpoint's value float16 would round
    x = torch.randn(3, 8)
    for w in (too_big, not_half):
        twin = packed(w)
        assert twin.packed is None and twin.full.dtype == torch.float32
        assert torch.equal(twin(x), F.linear(x, w.float()))
    assert packed(torch.full((4, 8), 0.375)).packed is not None  # float32 values float16 holds


def test_fused_parts_equal_separate_products_with_their_biases():
    g = torch.Generator().manual_seed(1)
    wq, wk, wv = (torch.randn(n, 32, generator=g).bfloat16() for n in (16, 8, 8))
    bq, bv = torch.randn(16, generator=g), torch.randn(8, generator=g)
    twin = HalfPackedLinear(32, [16, 8, 8], [True, False, True])
    jobs = [twin.take(0, "weight", wq), twin.take(0, "bias", bq), twin.take(1, "weight", wk),
            twin.take(2, "bias", bv), twin.take(2, "weight", wv)]
    assert jobs[:-1] == [None] * 4 and callable(jobs[-1])  # packed once every part has come
    jobs[-1]()
    x = torch.randn(5, 32, generator=g)
    q, k, v = twin(x).split(twin.sizes, dim=-1)
    for got, w, b in ((q, wq, bq), (k, wk, None), (v, wv, bv)):
        torch.testing.assert_close(got, F.linear(x, w.float(), b), rtol=0, atol=1e-5)


def config_layers(model) -> int:
    return model.config.encoder.n_layers + model.config.decoder.n_layers


@pytest.fixture(scope="module")
def bf16_file(tmp_path_factory):
    return write_checkpoint(tmp_path_factory.mktemp("bf16-file"), dtype="bfloat16", seed=5)


def test_float32_model_of_a_bfloat16_file_is_packed_and_computes_what_float32_does(
        bf16_file, monkeypatch):
    model = engine.load_model(bf16_file)  # float32 on the CPU
    modules = list(model.net.modules())
    assert not any(isinstance(m, (nn.Linear, nn.Embedding)) for m in modules)
    twins = [m for m in modules if isinstance(m, HalfPackedLinear)]
    assert twins and all(t.packed is not None for t in twins)
    # q, k, v as one product in every attention, gate and up in every feed-forward
    layers = config_layers(model)
    assert sum(len(t.sizes) == 3 for t in twins) == layers
    assert sum(len(t.sizes) == 2 for t in twins) == layers
    emb = next(m for m in modules if isinstance(m, HalfPackedEmbedding))
    assert emb.head is not None and emb.weight.dtype == torch.bfloat16

    monkeypatch.setattr("engine.packed.half_gemm_ok", lambda: False)
    plain = engine.load_model(bf16_file)
    assert any(isinstance(m, nn.Linear) for m in plain.net.modules())

    audio = chirp(3.0, seed=9)
    runs = []
    for m in (model, plain):
        stream, logits = m.stream(480), []
        stream.logits_hook = logits.append
        stream.feed(audio)
        stream.finish()
        runs.append((torch.cat(logits), stream.tokens))
    (ours, tokens), (expect, plain_tokens) = runs
    assert tokens == plain_tokens
    assert (ours - expect).abs().max().item() <= 2e-5 * expect.abs().max().item()


def test_memory_counts_packed_float32_as_bfloat16_weights(tmp_path, monkeypatch):
    import json

    from benchmarks.bench_step import SHAPES
    from engine.config import ModelConfig
    from tests.tiny_checkpoint import TinySpec, params

    (tmp_path / "params.json").write_text(json.dumps(params(TinySpec(**SHAPES["full"]))))
    config = ModelConfig.from_params(tmp_path / "params.json")  # the real model's shapes
    packed_fp32, caches32 = memory_needed(config, torch.float32, device="cpu")
    bf16, caches16 = memory_needed(config, torch.bfloat16, device="cpu")
    monkeypatch.setattr("engine.packed.half_gemm_ok", lambda: False)
    plain_fp32, _ = memory_needed(config, torch.float32, device="cpu")
    vocab_table = config.vocab_size * config.decoder.dim * 2  # the bfloat16 table kept for lookups
    # matrices at 2 bytes a weight; norms and biases stay float32 (well under 1%)
    assert bf16 + vocab_table < packed_fp32 < 1.01 * (bf16 + vocab_table)
    assert packed_fp32 < 0.6 * plain_fp32
    assert caches32 == 2 * caches16  # float32 caches: the mode's precision


def test_loading_reports_its_progress(bf16_file):
    seen: list[float] = []
    engine.load_model(bf16_file, progress=seen.append)
    assert seen[-1] == 1.0 and len(seen) >= 10  # a tiny file still moves in many steps
    assert seen == sorted(seen) and len(set(seen)) == len(seen) and len(seen) <= 101
    assert all(f < 1.0 for f in seen[:-1])  # 100% only once every packing job is done


@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
def test_tensors_read_as_copies_equal_the_mapped_ones(tmp_path, dtype):
    from safetensors import safe_open

    from engine.weights import WEIGHTS, _Copies

    path = write_checkpoint(tmp_path, dtype=dtype) / WEIGHTS
    with safe_open(str(path), framework="pt") as mapped, _Copies(path, True) as copies:
        keys = list(mapped.keys())
        for key in keys:
            copy, expect = copies.read(key), mapped.get_tensor(key)
            assert copy.dtype == expect.dtype and torch.equal(copy, expect), key
    assert len(keys) > 20


def test_packed_streams_batched_equal_each_alone(bf16_file):
    model = engine.load_model(bf16_file)
    a, b = chirp(2.4, seed=31), chirp(2.4, seed=32)
    alone = []
    for audio in (a, b):
        stream = model.stream(480)
        stream.feed(audio)
        stream.finish()
        alone.append(stream.tokens)
    s1, s2 = model.streams([480, 480])
    for at in range(0, a.size, 1280):  # both rows of one batch through every packed product
        s1.group.feed([a[at : at + 1280], b[at : at + 1280]])
    s1.group.finish()
    assert [s1.tokens, s2.tokens] == alone
    assert alone[0] != alone[1]


def test_packing_jobs_stay_bounded_and_their_errors_surface():
    import time

    from engine.weights import _Jobs

    done, most = [], 0
    with _Jobs(2) as jobs:
        for i in range(20):
            jobs.run(lambda i=i: (time.sleep(0.005), done.append(i)))
            most = max(most, len(jobs.pending))
    assert sorted(done) == list(range(20))  # every job ran before the block ended
    assert most <= 4  # two threads, two more waiting: the memory held while loading is bounded

    def broken():
        raise RuntimeError("out of memory while packing")

    with pytest.raises(RuntimeError, match="while packing"), _Jobs(2) as jobs:
        jobs.run(broken)
