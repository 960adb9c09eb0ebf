"""Which compute devices and precisions this machine offers, and what "auto" means here.

Shared by the settings dialog (to list only what works) and by anything that loads the model
from the saved settings. Asking torch is cheap; nothing is allocated on a device.

:func:`choose` sizes a choice against the memory free on its device before anything loads:
"auto" takes the first mode of the device's automatic order (:data:`AUTO`) that fits, and a choice
that cannot fit is refused with the numbers, so a laptop never starts a load that ends in
swapping or a kill.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.weights import DTYPES

QUANTIZED = ("int8", "int4")  # weight-only modes; activations and caches stay in bfloat16
GB = 1e9
RUNTIME_BYTES = int(1.5 * GB)  # activations, torch's own buffers and the app beside the model
# Automatic modes per device, the first that fits wins. On the CPU a step reads every weight
# once, so the fewer bytes per weight the faster it goes (benchmarks/bench_step.py, README
# "Arithmetic"). Where fbgemm holds float32's matrices as float16 (engine/packed.py), float32
# reads bfloat16's bytes and runs twice as fast as bfloat16 (whose CPU product is bound by
# arithmetic), at the reference's precision; it needs more memory only for its KV caches.
# int4 is never automatic: its error is several times int8's.
AUTO = {
    "cuda": ("bfloat16", "float16", "int8"),
    "mps": ("float16",),
    "cpu": ("bfloat16", "int8"),
}
AUTO_CPU_PACKED = ("float32", "bfloat16", "int8")


def _cpu_packs() -> bool:
    from engine.packed import packs_float32

    return packs_float32(torch.device("cpu"), torch.float32)


def auto_modes(device: str) -> tuple[str, ...]:
    """The modes "auto" tries on ``device``, in order."""
    return AUTO_CPU_PACKED if device == "cpu" and _cpu_packs() else AUTO[device]


@dataclass(frozen=True)
class DeviceChoice:
    name: str  # "cuda", "mps" or "cpu": what engine.load_model takes
    description: str  # for people: "NVIDIA GeForce RTX 4070 (CUDA)"
    precisions: tuple[str, ...]  # best first


@dataclass(frozen=True)
class Choice:
    """What to load, and why: the arguments of engine.load_model plus the sizing behind them."""

    device: str
    dtype: torch.dtype
    quantize: str | None  # None, "int8" or "int4"
    need: int  # bytes: weights + KV caches + runtime
    free: int | None  # bytes free on the device before loading; None when unknown
    reason: str  # one sentence for people


class NotEnoughMemory(RuntimeError):
    """No requested mode fits the memory free on the device; the message has the numbers."""


def available_devices() -> list[DeviceChoice]:
    """The devices torch can use here, fastest first; the CPU is always last."""
    found = []
    if torch.cuda.is_available():
        precisions = ("bfloat16", "float16", "float32") if torch.cuda.is_bf16_supported() \
            else ("float16", "float32")
        found.append(DeviceChoice("cuda", f"{torch.cuda.get_device_name(0)} (CUDA)", precisions))
    if torch.backends.mps.is_available():
        found.append(DeviceChoice("mps", "Apple GPU (Metal)", ("float16", "float32")))
    # The automatic order (see AUTO): float32 first where its matrices are packed as float16.
    found.append(DeviceChoice("cpu", "Processor (CPU, slow)",
                              ("float32", "bfloat16") if _cpu_packs() else ("bfloat16", "float32")))
    return found


def configure_threads(device: str) -> None:
    """On the CPU, leave one core to capture and the GUI: with every core computing, the
    audio threads preempt torch's workers and each parallel kernel waits for the slowest."""
    if device == "cpu":
        torch.set_num_threads(max(1, (os.cpu_count() or 1) - 1))


def resolve(device: str, precision: str) -> tuple[str, torch.dtype]:
    """The device and dtype to load with for the settings' choices ("auto" allowed in both).

    A choice this machine cannot honour (a CUDA setting copied to a laptop) falls back to the
    best available, so the app still starts.
    """
    choices = available_devices()
    chosen = next((c for c in choices if c.name == device), choices[0])
    dtype = precision if precision in chosen.precisions else chosen.precisions[0]
    return chosen.name, DTYPES[dtype]


def free_memory(device: str) -> int | None:
    """Bytes free for a model on ``device`` now: GPU memory on CUDA, available RAM otherwise
    (Apple GPUs share it). None when this machine cannot say."""
    if device == "cuda":
        return int(torch.cuda.mem_get_info()[0])
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.virtual_memory().available)


def mode_name(dtype: torch.dtype, quantize: str | None) -> str:
    return quantize or str(dtype).removeprefix("torch.")


def choose(device: str, precision: str, folder: Path, streams: int = 2,
           free: int | None = None) -> Choice:
    """Size ``precision`` ("auto", a dtype name, "int8" or "int4") on ``device`` ("auto" too)
    against the memory free there, for the checkpoint ``folder`` and ``streams`` live streams.

    Raises NotEnoughMemory, before anything loads, when nothing asked for fits. ``free``
    overrides the measured free bytes (tests, or a caller that knows better).
    """
    from engine.config import ModelConfig
    from engine.weights import memory_needed

    name = resolve(device, "auto")[0] if device not in AUTO else device
    if name not in [d.name for d in available_devices()]:
        name = resolve(device, "auto")[0]
    if precision != "auto" and precision not in DTYPES and precision not in QUANTIZED:
        raise ValueError(f"unknown precision {precision!r}: use auto, {', '.join(DTYPES)}, "
                         f"{' or '.join(QUANTIZED)}")
    modes = auto_modes(name) if precision == "auto" else (precision,)
    config = ModelConfig.from_params(folder / "params.json")
    free = free_memory(name) if free is None else free
    sized = []
    for mode in modes:
        quantize = mode if mode in QUANTIZED else None
        dtype = torch.bfloat16 if quantize else DTYPES[mode]
        weights, caches = memory_needed(config, dtype, quantize, streams, name)
        need = weights + caches + RUNTIME_BYTES
        sized.append((mode, need))
        if free is None or need <= free:
            return Choice(name, dtype, quantize, need, free,
                          _reason(name, mode, need, free, precision == "auto", sized[:-1]))
    raise NotEnoughMemory(_shortfall(name, sized, free, config, streams))


def _reason(device: str, mode: str, need: int, free: int | None, auto: bool,
            skipped: list[tuple[str, int]]) -> str:
    room = f"needs {need / GB:.1f} GB" + (f" of the {free / GB:.1f} GB free" if free else "")
    why = "chosen by you" if not auto else (
        "the best mode here that fits" if not skipped else
        "the best that fits; " + ", ".join(f"{m} needs {n / GB:.1f} GB" for m, n in skipped))
    return f"{device}, {_words(mode)}: {room} ({why})."


def _words(mode: str) -> str:
    return f"{mode} weights, bfloat16 activations" if mode in QUANTIZED else mode


def _shortfall(device: str, sized: list[tuple[str, int]], free: int, config, streams: int) -> str:
    from engine.weights import memory_needed

    tried = "; ".join(f"{_words(m)} needs {n / GB:.1f} GB" for m, n in sized)
    weights, caches = memory_needed(config, torch.bfloat16, "int4", streams)
    smallest = weights + caches + RUNTIME_BYTES
    hint = (f"int4 would need {smallest / GB:.1f} GB (less accurate): choose it, or "
            if smallest <= free and all(m != "int4" for m, _ in sized) else "")
    return (f"The model does not fit on {device}: {tried}, but only {free / GB:.1f} GB are free. "
            f"{hint}close other programs, or use a machine with more memory.")
