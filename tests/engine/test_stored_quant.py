"""Quantised weights are made once, stored beside the verified checkpoint and mapped later,
only while they were made from the same source file (its sha256 is recorded in them)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from safetensors import safe_open

import engine
from engine import weights
from tests.engine.conftest import chirp

SOURCE = "ab" * 32  # the sha256 a model manager verified for consolidated.safetensors


@pytest.fixture
def folder(tiny_dir, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(tiny_dir, copy)
    return copy


def tokens(model) -> list[int]:
    return model.transcribe(chirp(1.5, seed=8)).tokens


def refuse_quantizing(monkeypatch):
    def fail(*_args):
        raise AssertionError("the stored int8 weights should have been mapped, not made again")

    monkeypatch.setattr(weights, "quantize_rows", fail)


def test_int8_is_stored_once_then_mapped(folder, monkeypatch):
    first = engine.load_model(folder, quantize="int8", source_sha256=SOURCE)
    stored = weights.quantized_path(folder, "int8")
    with safe_open(str(stored), framework="pt") as f:
        assert f.metadata()["source_sha256"] == SOURCE
        assert f.get_tensor("decoder.layers.0.attention.wq.weight").dtype == torch.int8
    refuse_quantizing(monkeypatch)
    again = engine.load_model(folder, quantize="int8", source_sha256=SOURCE)
    assert tokens(again) == tokens(first)
    for (name, a), (_, b) in zip(first.net.state_dict().items(), again.net.state_dict().items(),
                                 strict=True):
        assert torch.equal(a, b), name


def test_another_source_is_quantized_again(folder, monkeypatch):
    engine.load_model(folder, quantize="int8", source_sha256=SOURCE)
    calls = []
    quantize = weights.quantize_rows
    monkeypatch.setattr(weights, "quantize_rows", lambda w: calls.append(1) or quantize(w))
    engine.load_model(folder, quantize="int8", source_sha256="cd" * 32)
    assert calls, "weights stored from another source must not be used"
    with safe_open(str(weights.quantized_path(folder, "int8")), framework="pt") as f:
        assert f.metadata()["source_sha256"] == "cd" * 32


def test_a_damaged_stored_file_is_made_again(folder):
    want = tokens(engine.load_model(folder, quantize="int8", source_sha256=SOURCE))
    stored = weights.quantized_path(folder, "int8")
    stored.write_bytes(stored.read_bytes()[: stored.stat().st_size // 2])
    assert tokens(engine.load_model(folder, quantize="int8", source_sha256=SOURCE)) == want
    with safe_open(str(stored), framework="pt") as f:
        assert f.metadata()["source_sha256"] == SOURCE


def test_nothing_is_stored_without_a_verified_source(folder):
    engine.load_model(folder, quantize="int8")
    assert not weights.quantized_path(folder, "int8").exists()


LOAD_INT4 = """
import sys, torch, engine
from engine import weights
folder = sys.argv[1]
stored = engine.load_model(folder, quantize="int4", source_sha256=sys.argv[2])
if len(sys.argv) > 3:  # compare with weights quantised here, without the stored file
    made = engine.load_model(folder, quantize="int4")
    differ = [n for n, t in made.net.state_dict().items()
              if not torch.equal(t, stored.net.state_dict()[n])]
    print("differ:", differ[:3])
"""


@pytest.mark.skipif(torch.backends.cpu.get_cpu_capability() == "DEFAULT",
                    reason="needs a CPU with AVX2 or wider: two kinds of int4 packing")
def test_int4_packed_on_another_kind_of_cpu_is_made_again(folder):
    """torch packs int4 nibbles by the CPU's vector width: a folder moved from a machine of
    another kind must not map the bytes packed there (its kernel would read them wrongly)."""
    def run(capability: str, *args: str) -> str:
        env = {**os.environ, "ATEN_CPU_CAPABILITY": capability}
        done = subprocess.run([sys.executable, "-c", LOAD_INT4, str(folder), SOURCE, *args],
                              env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("default")  # stores weights packed for plain (non-vector) code
    stored = weights.quantized_path(folder, "int4")
    with safe_open(str(stored), framework="pt") as f:
        assert f.metadata()["format"].endswith("-DEFAULT")
    assert "differ: []" in run("avx2", "compare")
    with safe_open(str(stored), framework="pt") as f:
        assert f.metadata()["format"].endswith("-AVX2"), "made again for this CPU and stored"


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_stored_weights_map_64_byte_aligned(folder, mode):
    """torch's AVX-512 int8 kernel faults on weights not aligned to 64 bytes: every stored
    tensor starts at a multiple of 64 in the file, and the mapped weights keep that alignment."""
    engine.load_model(folder, quantize=mode, source_sha256=SOURCE)
    stored = weights.quantized_path(folder, mode)
    raw = stored.read_bytes()
    length = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + length])
    assert (8 + length) % 64 == 0
    starts = [v["data_offsets"][0] for k, v in header.items()
              if k != "__metadata__" and not k.startswith(weights.PAD)]
    assert len(starts) > 20 and all(s % 64 == 0 for s in starts)
    mapped = engine.load_model(folder, quantize=mode, source_sha256=SOURCE)
    ints = [t for t in mapped.net.state_dict().values() if not t.dtype.is_floating_point]
    assert ints and all(t.data_ptr() % 64 == 0 for t in ints)
    fresh = engine.load_model(folder, quantize=mode)
    assert tokens(mapped) == tokens(fresh)
