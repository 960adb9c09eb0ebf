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
    assert resolve("auto", "auto") == ("cpu", torch.float32)
    assert resolve("cpu", "bfloat16") == ("cpu", torch.bfloat16)


def test_settings_from_a_gpu_machine_fall_back_on_a_cpu_only_one(cpu_only):
    assert resolve("cuda", "float16") == ("cpu", torch.float32)
    assert resolve("mps", "auto") == ("cpu", torch.float32)


def test_gpu_without_bfloat16_gets_float16(old_nvidia_gpu):
    devices = available_devices()
    assert [d.name for d in devices] == ["cuda", "cpu"]
    assert devices[0].description == "Tesla T4 (CUDA)"
    assert resolve("auto", "auto") == ("cuda", torch.float16)
    assert resolve("cuda", "bfloat16") == ("cuda", torch.float16)
