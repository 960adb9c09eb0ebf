"""Device and precision choices: "auto" and impossible choices resolve to something that runs."""
from __future__ import annotations

import pytest
import torch

from app.compute import DTYPES, available_devices, resolve
from engine.packed import half_gemm_ok

# float32 first on a CPU where fbgemm packs its matrices as float16 (x86 builds of torch): it
# reads bfloat16's bytes at the reference's precision, twice as fast as bfloat16 there.
CPU_BEST = torch.float32 if half_gemm_ok() else torch.bfloat16


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
    assert resolve("auto", "auto") == ("cpu", CPU_BEST)
    assert resolve("cpu", "float32") == ("cpu", torch.float32)


def test_settings_from_a_gpu_machine_fall_back_on_a_cpu_only_one(cpu_only):
    assert resolve("cuda", "float16") == ("cpu", CPU_BEST)
    assert resolve("mps", "auto") == ("cpu", CPU_BEST)


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


@pytest.mark.skipif(not half_gemm_ok(), reason="this build of torch has no fbgemm")
def test_auto_takes_packed_float32_where_it_fits(cpu_only, full_size_folder, monkeypatch):
    from app.compute import choose

    choice = choose("cpu", "auto", full_size_folder, free=int(20 * GB))
    assert (choice.dtype, choice.quantize) == (torch.float32, None)
    # bfloat16's 8.9 GB of weights plus the bfloat16 table kept for lookups, and float32 caches
    assert choice.reason == ("cpu, float32: needs 15.5 GB of the 20.0 GB free "
                             "(the best mode here that fits).")
    # Without fbgemm float32 holds 4 bytes a weight and is slower than bfloat16: not automatic.
    monkeypatch.setattr("engine.packed.half_gemm_ok", lambda: False)
    choice = choose("cpu", "auto", full_size_folder, free=int(20 * GB))
    assert choice.dtype == torch.bfloat16


def test_auto_falls_back_to_int8_when_bf16_does_not_fit(cpu_only, full_size_folder):
    from app.compute import choose

    choice = choose("cpu", "auto", full_size_folder, free=int(9 * GB))
    assert (choice.dtype, choice.quantize) == (torch.bfloat16, "int8")
    assert "bfloat16 needs 12.5 GB" in choice.reason, choice.reason


def test_float32_that_cannot_fit_is_refused_with_numbers(cpu_only, full_size_folder):
    from app.compute import NotEnoughMemory, choose

    with pytest.raises(NotEnoughMemory) as caught:
        choose("cpu", "float32", full_size_folder, free=int(12 * GB))
    message = str(caught.value)
    need = "15.5" if half_gemm_ok() else "23.5"
    assert f"float32 needs {need} GB" in message and "only 12.0 GB are free" in message
    assert "int4 would need" in message


def test_nothing_fits(cpu_only, full_size_folder):
    from app.compute import NotEnoughMemory, choose

    with pytest.raises(NotEnoughMemory, match="bfloat16 needs .*int8 weights, bfloat16 "
                                              "activations needs 8.1 GB.*only 4.0 GB"):
        choose("auto", "auto", full_size_folder, free=int(4 * GB))
