"""Device and precision choices: "auto" and impossible choices resolve to something that runs."""
from __future__ import annotations

import pytest
import torch

from app.compute import DTYPES, available_devices, resolve


@pytest.fixture
def cpu_only(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.fixture
def old_nvidia_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "Tesla T4")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def test_cpu_is_always_offered_last():
    devices = available_devices()
    assert devices[-1].name == "cpu"
    assert all(set(d.precisions) <= set(DTYPES) for d in devices)


def test_cpu_only_machine(cpu_only):
    assert [d.name for d in available_devices()] == ["cpu"]
    # bfloat16: half float32's memory (a 16 GB laptop holds it) and not slower on the CPU
    assert resolve("auto", "auto") == ("cpu", torch.bfloat16)
    assert resolve("cpu", "float32") == ("cpu", torch.float32)


def test_settings_from_a_gpu_machine_fall_back_on_a_cpu_only_one(cpu_only):
    assert resolve("cuda", "float16") == ("cpu", torch.bfloat16)
    assert resolve("mps", "auto") == ("cpu", torch.bfloat16)


def test_gpu_without_bfloat16_gets_float16(old_nvidia_gpu):
    devices = available_devices()
    assert [d.name for d in devices] == ["cuda", "cpu"]
    assert devices[0].description == "Tesla T4 (CUDA)"
    assert resolve("auto", "auto") == ("cuda", torch.float16)
    assert resolve("cuda", "bfloat16") == ("cuda", torch.float16)


GB = 1e9


@pytest.fixture(scope="module")
def full_size_folder(tmp_path_factory):
    """params.json of the real model's shapes (no weights: sizing reads only the config)."""
    import json

    from benchmarks.bench_step import SHAPES
    from tests.tiny_checkpoint import TinySpec, params

    folder = tmp_path_factory.mktemp("full-params")
    (folder / "params.json").write_text(json.dumps(params(TinySpec(**SHAPES["full"]))))
    return folder


def test_auto_on_a_16gb_laptop_fits(cpu_only, full_size_folder):
    from app.compute import choose

    choice = choose("auto", "auto", full_size_folder, free=int(14 * GB))
    assert choice.need <= 14 * GB
    assert (choice.device, choice.dtype, choice.quantize) == ("cpu", torch.bfloat16, None)
    assert "fits" in choice.reason and "14.0 GB free" in choice.reason


def test_auto_falls_back_to_int8_when_bf16_does_not_fit(cpu_only, full_size_folder):
    from app.compute import choose

    choice = choose("cpu", "auto", full_size_folder, free=int(9 * GB))
    assert (choice.dtype, choice.quantize) == (torch.bfloat16, "int8")
    assert "bfloat16 needs 12.5 GB" in choice.reason, choice.reason


def test_float32_that_cannot_fit_is_refused_with_numbers(cpu_only, full_size_folder):
    from app.compute import NotEnoughMemory, choose

    with pytest.raises(NotEnoughMemory) as caught:
        choose("cpu", "float32", full_size_folder, free=int(16 * GB))
    message = str(caught.value)
    assert "float32 needs 23.5 GB" in message and "only 16.0 GB are free" in message
    assert "int4 would need" in message


def test_nothing_fits(cpu_only, full_size_folder):
    from app.compute import NotEnoughMemory, choose

    with pytest.raises(NotEnoughMemory, match="bfloat16 needs .*int8 weights, bfloat16 "
                                              "activations needs 8.1 GB.*only 4.0 GB"):
        choose("auto", "auto", full_size_folder, free=int(4 * GB))
