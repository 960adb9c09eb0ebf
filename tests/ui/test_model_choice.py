"""The app loads the model as the command line does: the precision sized against free memory,
int8 on request, a choice that cannot fit refused before loading, and the reason kept."""
from __future__ import annotations

import pytest
import torch

from app import compute
from app.compute import NotEnoughMemory
from app.ui.recorder import load_model
from engine.packed import half_gemm_ok
from engine.quant import Int8Linear


def test_automatic_on_a_cpu_says_what_it_chose_and_why(tiny_checkpoint):
    model = load_model(tiny_checkpoint, "auto", "auto")
    best = torch.float32 if half_gemm_ok() else torch.bfloat16  # see app/compute.py AUTO
    assert model.dtype == best
    assert model.chosen_because.startswith(f"cpu, {str(best)[6:]}: needs ")
    assert "the best mode here that fits" in model.chosen_because


def test_int8_from_the_settings_loads_int8_weights(tiny_checkpoint):
    model = load_model(tiny_checkpoint, "cpu", "int8")
    assert any(isinstance(m, Int8Linear) for m in model.net.modules())
    assert "int8 weights, bfloat16 activations" in model.chosen_because
    assert model.transcribe(torch.zeros(16000).numpy()).tokens  # it runs


def test_a_precision_this_device_cannot_use_falls_back(tiny_checkpoint, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    model = load_model(tiny_checkpoint, "cuda", "float16")  # settings from a GPU machine
    best = torch.float32 if half_gemm_ok() else torch.bfloat16
    assert (model.device.type, model.dtype) == ("cpu", best)
    assert model.chosen_because.startswith(f"cpu, {str(best)[6:]}: ")


def test_a_precision_that_cannot_fit_is_refused_before_loading(tiny_checkpoint, monkeypatch):
    monkeypatch.setattr(compute, "free_memory", lambda device: 200_000_000)
    loaded = []
    monkeypatch.setattr("engine.load_model", lambda *a, **k: loaded.append(a))
    with pytest.raises(NotEnoughMemory, match=r"does not fit on cpu: float32 needs .* GB, but "
                                              r"only 0\.2 GB are free"):
        load_model(tiny_checkpoint, "cpu", "float32")
    assert loaded == []
