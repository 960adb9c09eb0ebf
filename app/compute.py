"""Which compute devices and precisions this machine offers, and what "auto" means here.

Shared by the settings dialog (to list only what works) and by anything that loads the model
from the saved settings. Asking torch is cheap; nothing is allocated on a device.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from engine.weights import DTYPES


@dataclass(frozen=True)
class DeviceChoice:
    name: str  # "cuda", "mps" or "cpu": what engine.load_model takes
    description: str  # for people: "NVIDIA GeForce RTX 4070 (CUDA)"
    precisions: tuple[str, ...]  # best first


def available_devices() -> list[DeviceChoice]:
    """The devices torch can use here, fastest first; the CPU is always last."""
    found = []
    if torch.cuda.is_available():
        precisions = ("bfloat16", "float16", "float32") if torch.cuda.is_bf16_supported() \
            else ("float16", "float32")
        found.append(DeviceChoice("cuda", f"{torch.cuda.get_device_name(0)} (CUDA)", precisions))
    if torch.backends.mps.is_available():
        found.append(DeviceChoice("mps", "Apple GPU (Metal)", ("float16", "float32")))
    found.append(DeviceChoice("cpu", "Processor (CPU, slow)", ("float32", "bfloat16")))
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
