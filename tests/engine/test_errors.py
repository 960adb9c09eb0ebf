"""Bad checkpoints, devices, delays and inputs give the engine's own clear errors."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import engine
from engine import CheckpointError, DeviceError, EngineError


@pytest.fixture
def ckpt(tiny_dir, tmp_path):
    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_dir, folder)
    return folder


@pytest.mark.parametrize("name", ["params.json", "tekken.json", "consolidated.safetensors"])
def test_missing_file_is_named(ckpt, name):
    (ckpt / name).unlink()
    with pytest.raises(CheckpointError, match=name):
        engine.load_model(ckpt)


def test_not_a_folder(tmp_path):
    with pytest.raises(CheckpointError, match="not a folder"):
        engine.load_model(tmp_path / "nowhere")


@pytest.mark.parametrize("keep", [0, 7, 100, -1000])
def test_truncated_weights(ckpt, keep):
    f = ckpt / "consolidated.safetensors"
    data = f.read_bytes()
    f.write_bytes(data[:keep])
    with pytest.raises(CheckpointError, match="consolidated.safetensors") as info:
        engine.load_model(ckpt)
    assert "download" in str(info.value).lower()


def test_garbage_weights(ckpt):
    (ckpt / "consolidated.safetensors").write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        engine.load_model(ckpt)


def test_shape_disagreeing_with_params(ckpt):
    p = json.loads((ckpt / "params.json").read_text())
    p["hidden_dim"] += 8
    (ckpt / "params.json").write_text(json.dumps(p))
    with pytest.raises(CheckpointError, match=r"feed_forward\.w1\.weight.*shape"):
        engine.load_model(ckpt)


def test_missing_and_unexpected_tensors(ckpt):
    f = ckpt / "consolidated.safetensors"
    tensors = load_file(str(f))
    del tensors["norm.weight"]
    save_file(tensors, str(f))
    with pytest.raises(CheckpointError, match="lacks 1 tensor"):
        engine.load_model(ckpt)
    tensors["norm.weight"] = torch.ones(48)
    tensors["output.weight"] = torch.ones(2)
    save_file(tensors, str(f))
    with pytest.raises(CheckpointError, match="unexpected tensor 'output.weight'"):
        engine.load_model(ckpt)


def test_broken_params_and_tokenizer(ckpt):
    (ckpt / "params.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="params.json"):
        engine.load_model(ckpt)


def test_broken_tokenizer(ckpt):
    (ckpt / "tekken.json").write_text('{"config": {}}')
    with pytest.raises(CheckpointError, match="tekken.json"):
        engine.load_model(ckpt)


def test_params_missing_a_key(ckpt):
    p = json.loads((ckpt / "params.json").read_text())
    del p["multimodal"]["whisper_model_args"]["encoder_args"]["sliding_window"]
    (ckpt / "params.json").write_text(json.dumps(p))
    with pytest.raises(CheckpointError, match="sliding_window"):
        engine.load_model(ckpt)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_absent_cuda_device(tiny_dir):
    with pytest.raises(DeviceError, match="CUDA"):
        engine.load_model(tiny_dir, device="cuda")


def test_unknown_device_and_dtype(tiny_dir):
    with pytest.raises(DeviceError):
        engine.load_model(tiny_dir, device="tpu")
    with pytest.raises(DeviceError, match="dtype"):
        engine.load_model(tiny_dir, dtype=torch.int8)


def test_errors_share_one_base():
    assert issubclass(CheckpointError, EngineError) and issubclass(DeviceError, EngineError)


@pytest.mark.parametrize("delay", [0, 40, 79, 81, 2480, -80, 480.0, "480", True])
def test_bad_delays(tiny_model, delay):
    with pytest.raises(ValueError, match="multiple of 80"):
        tiny_model.stream(delay)


@pytest.mark.parametrize("delay", [80, 160, 1200, 2400])
def test_good_delays(tiny_model, delay):
    assert tiny_model.stream(delay).delay_tokens == delay // 80


def test_bad_audio_input(tiny_model):
    stream = tiny_model.stream()
    with pytest.raises(ValueError, match="1-D"):
        stream.feed(np.zeros((2, 100), np.float32))
    stream.finish()
    with pytest.raises(EngineError, match="finished"):
        stream.feed(np.zeros(10, np.float32))


def test_bf16_load(tiny_dir):
    model = engine.load_model(tiny_dir, dtype="bfloat16")
    assert model.net.decoder.tok_embeddings.weight.dtype == torch.bfloat16
    assert len(model.transcribe(np.zeros(16000, np.float32)).tokens) > 0
