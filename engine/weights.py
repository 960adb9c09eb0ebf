"""Load a Mistral-layout checkpoint folder onto a device without a second copy in RAM.

Reads ``params.json`` (sizes), ``tekken.json`` (tokenizer) and ``consolidated.safetensors``
(weights, memory-mapped). Modules are built on the ``meta`` device, every tensor's name and shape
is checked against the config before anything runs, and each tensor goes straight from the
mapped file to its device and dtype (``load_state_dict(assign=True)``). On the way, q/k rows are
permuted from Mistral's interleaved RoPE pairs to the rotate-half layout (spec section 2).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Self

import torch
from safetensors import safe_open
from torch import nn

from engine.config import ModelConfig
from engine.decoder import TextDecoder
from engine.encoder import Adapter, AudioEncoder
from engine.errors import CheckpointError, DeviceError
from engine.packed import half_packed_modules, packs_float32
from engine.quant import int4_layout, quantize_groups, quantize_rows, quantized_modules
from engine.tokenizer import Tokenizer

WEIGHTS = "consolidated.safetensors"
STORED_FORMAT = "voxcap-{mode}-2"  # metadata "format" of a stored quantised file; bump on change
# Stored tensors start at multiples of this many bytes in the file, so also once mapped: torch's
# AVX-512 int8 kernel (_weight_int8pack_mm) loads its weights with aligned instructions and
# faults on a matrix that is not 64-byte aligned. safetensors' own writer aligns to 8 only.
ALIGN = 64
PAD = "__pad__."  # names of the uint8 fillers between aligned tensors (the format has no holes)
_SAFETENSORS_DTYPES = {torch.int8: "I8", torch.uint8: "U8", torch.int32: "I32",
                       torch.int64: "I64", torch.float16: "F16", torch.bfloat16: "BF16",
                       torch.float32: "F32", torch.float64: "F64", torch.bool: "BOOL"}

log = logging.getLogger(__name__)
_E = "mm_streams_embeddings.embedding_module."

# Checkpoint name prefix -> module path, first match wins.
_RENAMES = (
    (_E + "whisper_encoder.conv_layers.0.conv.", "encoder.conv1."),
    (_E + "whisper_encoder.conv_layers.1.conv.", "encoder.conv2."),
    (_E + "whisper_encoder.transformer.", "encoder."),
    (_E + "audio_language_projection.0.", "adapter.w_in."),
    (_E + "audio_language_projection.2.", "adapter.w_out."),
    (_E + "tok_embeddings.", "decoder.tok_embeddings."),
    ("norm.", "decoder.norm."),
    ("layers.", "decoder.layers."),
)
_LAYER_RENAMES = ((".ada_rms_norm_t_cond.0.", ".ada_down."), (".ada_rms_norm_t_cond.2.", ".ada_up."))

QUANTIZE = (None, "int8", "int4")  # weight-only modes (engine/quant.py)

DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
}


class VoxtralNet(nn.Module):
    """The three stages' modules, named after what they do; no state, no loop."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.encoder = AudioEncoder(config)
        self.adapter = Adapter(config)
        self.decoder = TextDecoder(config)


def memory_needed(
    config: ModelConfig,
    dtype: torch.dtype,
    quantize: str | None = None,
    streams: int = 2,
    device: str | torch.device = "cpu",
) -> tuple[int, int]:
    """Bytes a loaded model takes on ``device``: (weights, KV caches of ``streams`` live streams).

    Counted from the modules built on meta, so it holds for any checkpoint's params.json; the
    caches are in ``dtype`` (int8/int4 modes keep them there too). float32 on a CPU with
    fbgemm counts its matrices as packed float16 (engine/packed.py), as the real checkpoint
    loads them.
    """
    net = _planned(config, dtype, quantize, packs_float32(torch.device(device), dtype))
    size = torch.empty((), dtype=dtype).element_size()
    weights = _weight_bytes(net, dtype)
    per_stream = 0
    for tower, slack in ((config.encoder, config.downsample - 1), (config.decoder, 0)):
        slots = tower.window + slack
        per_stream += 2 * tower.n_layers * tower.n_kv_heads * slots * tower.head_dim * size
    return weights, streams * per_stream


def step_bytes(
    config: ModelConfig,
    dtype: torch.dtype,
    quantize: str | None = None,
    device: str | torch.device = "cpu",
    packed: bool | None = None,
) -> int:
    """Bytes of weights one step reads on ``device``: every weight once (the token embedding is
    the LM head, so it is read whole; a packed one's float16 copy only). ``packed``: whether
    float32's matrices are packed float16 (None: as loading decides on ``device``)."""
    if packed is None:
        packed = packs_float32(torch.device(device), dtype)
    return _weight_bytes(_planned(config, dtype, quantize, packed), dtype, step=True)


def _planned(config: ModelConfig, dtype: torch.dtype, quantize: str | None,
             packed: bool) -> VoxtralNet:
    """The network on meta in ``dtype`` with the twins loading would swap in."""
    with torch.device("meta"):
        net = VoxtralNet(config).to(dtype)
        if quantize:
            quantized_modules(net, quantize)
        elif packed:
            half_packed_modules(net)
    return net


def _weight_bytes(net: VoxtralNet, dtype: torch.dtype, step: bool = False) -> int:
    """Bytes of ``net``'s weights as loaded (``step``: as one step reads them)."""
    size = torch.empty((), dtype=dtype).element_size()
    # Floating parameters (norms, biases, scales) load in the model dtype; int8/uint8 as they are.
    total = sum(p.numel() * (size if p.dtype.is_floating_point else p.element_size())
                for p in net.parameters())
    return total + sum(m.planned_bytes(step) for m in net.modules() if hasattr(m, "planned_bytes"))


def module_name(checkpoint_name: str) -> str | None:
    for prefix, target in _RENAMES:
        if checkpoint_name.startswith(prefix):
            name = target + checkpoint_name[len(prefix) :]
            for old, new in _LAYER_RENAMES:
                name = name.replace(old, new)
            return name
    return None


def resolve_device(device: str | torch.device) -> torch.device:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise DeviceError(f"Unknown device {device!r}: use cpu, cuda or mps.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(
            "CUDA was requested but no CUDA GPU is usable here (no NVIDIA driver, or a CPU-only "
            "build of torch). Choose the cpu device, or install a CUDA build of torch."
        )
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise DeviceError(f"There is no GPU {dev}; this machine has {torch.cuda.device_count()}.")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError("MPS (Apple GPU) was requested but is not available on this machine.")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"Unsupported device {device!r}: use cpu, cuda or mps.")
    return dev


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    if isinstance(dtype, torch.dtype) and dtype in DTYPES.values():
        return dtype
    if isinstance(dtype, str) and dtype.lower() in DTYPES:
        return DTYPES[dtype.lower()]
    raise DeviceError(f"Unsupported dtype {dtype!r}: use float32, bfloat16 or float16.")


def load_weights(
    net: VoxtralNet,
    path: Path,
    device: torch.device,
    dtype: torch.dtype,
    quant: dict[str, int | None] | None = None,
    packs: dict[str, tuple[nn.Module, int]] | None = None,
    progress: Callable[[float], None] | None = None,
) -> None:
    """Fill ``net`` (built on meta) from the safetensors file, checking every name and shape.

    Weights named in ``quant`` (see :func:`engine.quant.quantized_modules`) are quantised one
    tensor at a time as they arrive, so the full-precision model never exists in memory at once;
    so are those of the module paths in ``packs`` (:func:`engine.packed.half_packed_modules`),
    handed to their packed twin in the file's dtype. ``progress`` gets the fraction of the
    file's weights taken (see :func:`engine.model.load_model`).
    """
    quant, packs = quant or {}, packs or {}
    heads = _rope_heads(net)
    expected = _expected_shapes(net, quant, packs)
    taken: set[str] = set()
    handle = _open(path)
    state: dict[str, torch.Tensor] = {}
    workers = min(os.cpu_count() or 1, PACKING_THREADS)
    with handle as f, _Jobs(workers) as packing, _Copies(path, bool(packs)) as copies:
        report = _Progress(f, progress)
        for key in f.keys():  # noqa: SIM118 - a safetensors handle, not a dict
            name = module_name(key)
            if name is None or name not in expected:
                raise CheckpointError(
                    f"{path} holds an unexpected tensor {key!r}: it is not the Voxtral Mini "
                    "Realtime checkpoint that params.json describes."
                )
            shape = tuple(f.get_slice(key).get_shape())
            if shape != tuple(expected[name]):
                raise CheckpointError(
                    f"{path}: tensor {key!r} has shape {list(shape)} but params.json implies "
                    f"{list(expected[name])}. The weights and params.json do not belong together."
                )
            owner, _, leaf = name.rpartition(".")
            read = copies.read(key) if owner in packs else None
            read = _read(f, key, path) if read is None else read
            tensor = _rotate_half_rows(name, read.to(device=device), heads)
            if name in quant:
                state.update(_quantized(name, tensor, quant[name], dtype))
            elif owner in packs:
                twin, part = packs[owner]
                packing.run(twin.take(part, leaf, tensor))
                taken.add(name)
            else:
                state[name] = tensor.to(dtype)
            report.took(key)
    missing = sorted(set(expected) - set(state) - taken)
    if missing:
        raise CheckpointError(
            f"{path} lacks {len(missing)} tensor(s), e.g. {missing[0]!r}. "
            "The file is incomplete: download the model again."
        )
    net.load_state_dict(state, assign=True, strict=True)


def _expected_shapes(net: VoxtralNet, quant: dict[str, int | None],
                     packs: dict[str, tuple[nn.Module, int]]) -> dict[str, torch.Size]:
    """Every tensor the file must hold, by module name, with its shape in the file."""
    scales = {n[: -len("weight")] + "scale" for n in quant}
    expected = {n: p.shape for n, p in net.state_dict().items() if n not in scales}
    for name, group in quant.items():
        if group:  # packed int4 rows hold two weights per byte; the file has one per element
            module = net.get_submodule(name[: -len(".weight")])
            expected[name] = torch.Size((module.out_features, module.in_features))
    for owner, (twin, part) in packs.items():
        for leaf, shape in twin.expected(part).items():
            expected[f"{owner}.{leaf}"] = shape
    return expected


def _open(path: Path):
    """safetensors' handle on ``path``; CheckpointError when it is missing or unreadable."""
    if not path.is_file():
        raise CheckpointError(
            f"{path} is missing: the folder is not a complete Voxtral checkpoint. "
            "Download or import the model again."
        )
    try:
        return safe_open(str(path), framework="pt", device="cpu")
    except Exception as exc:  # noqa: BLE001 - the safetensors error types are not public
        raise CheckpointError(
            f"{path} is truncated or corrupt ({exc}). Verify the model and download it again."
        ) from None


_FILE_DTYPES = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32}


class _Copies:
    """Reads tensors of a safetensors file into memory of their own instead of mapping them.

    For tensors consumed as they load (packed, then dropped): their memory is freed once they
    are, whereas pages of a mapped file stay counted in the process's resident memory until the
    whole file is unmapped (8.9 GB for the real checkpoint). The layout read here is the one
    ``safe_open`` has already checked: an 8-byte little-endian header length, a JSON header
    giving each tensor's dtype, shape and byte range, then the data.
    """

    def __init__(self, path: Path, wanted: bool) -> None:
        self.file = open(path, "rb") if wanted else None  # noqa: SIM115 - closed by __exit__
        if self.file is not None:
            size = int.from_bytes(self.file.read(8), "little")
            self.header = json.loads(self.file.read(size))
            self.base = 8 + size

    def read(self, key: str) -> torch.Tensor | None:
        """The tensor ``key``, or None for a dtype read only through the mapping."""
        entry = self.header[key]
        if entry["dtype"] not in _FILE_DTYPES:
            return None
        start, end = entry["data_offsets"]
        data = torch.empty(end - start, dtype=torch.uint8)
        self.file.seek(self.base + start)
        if self.file.readinto(data.numpy()) != end - start:
            raise CheckpointError(f"{self.file.name}: tensor {key!r} is cut short. "
                                  "Download the model again.")
        return data.view(_FILE_DTYPES[entry["dtype"]]).reshape(entry["shape"])

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        if self.file is not None:
            self.file.close()


class _Progress:
    """Reports the fraction of a file's weights read, at most once per percent and below 100%
    until loading ends (the last packing jobs may still run)."""

    def __init__(self, f, progress: Callable[[float], None] | None) -> None:
        self.progress, self.shown = progress, -1
        keys = f.keys() if progress else []
        self.sizes = {k: math.prod(f.get_slice(k).get_shape()) for k in keys}
        self.total, self.done = max(1, sum(self.sizes.values())), 0

    def took(self, key: str) -> None:
        if self.progress is None:
            return
        self.done += self.sizes[key]
        percent = min(99, 100 * self.done // self.total)
        if percent > self.shown:
            self.shown = percent
            self.progress(percent / 100)


# Threads that pack while the file is read, whatever torch's thread count: nothing else runs
# meanwhile. Each job holds a layer's matrix or fused matrices, widened to float32 while it packs
# (up to 0.3 GB for the decoder's gate and up), so more threads would take memory that the sizing
# in app/compute.py does not count; at fbgemm's 65 M weights/s per thread, 4 threads pack the
# real checkpoint's 4.4 G weights in about 17 s.
PACKING_THREADS = 4


class _Jobs:
    """Runs packing jobs on ``workers`` threads while the file is read, at most ``workers + 2``
    unfinished at once (each holds its tensors until done); leaving the block waits for all."""

    def __init__(self, workers: int) -> None:
        self.limit = max(1, workers) + 2
        self.pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="voxcap-pack")
        self.pending: deque[Future] = deque()

    def run(self, job: Callable[[], None] | None) -> None:
        if job is not None:
            self.pending.append(self.pool.submit(job))
        while len(self.pending) > self.limit:
            self.pending.popleft().result()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, failed, *exc) -> None:
        try:
            while self.pending and not failed:  # after a failure, its error is the one to raise
                self.pending.popleft().result()
        finally:
            self.pool.shutdown(cancel_futures=True)


def _quantized(name: str, w: torch.Tensor, group: int | None, dtype: torch.dtype):
    """State entries of one quantised weight: int4 in groups of ``group``, or int8 rows."""
    scale_name = name[: -len("weight")] + "scale"
    if group:
        packed, scales_zeros = quantize_groups(w, group)
        return {name: packed, scale_name: scales_zeros}
    q, scale = quantize_rows(w)
    return {name: q, scale_name: scale.to(dtype)}


def _rope_heads(net: VoxtralNet) -> dict[str, int]:
    """Heads of each rotated projection, by module name prefix."""
    out = {}
    for tower_name in ("encoder", "decoder"):
        c = getattr(net, tower_name).config
        out[f"{tower_name}.wq"], out[f"{tower_name}.wk"] = c.n_heads, c.n_kv_heads
    return out


def _rotate_half_rows(name: str, w: torch.Tensor, heads: dict[str, int]) -> torch.Tensor:
    """Mistral stores q/k rows (and the encoder's q bias) as interleaved RoPE pairs; permute each
    head's rows to the rotate-half layout, the reference's, so attention sums in its order."""
    tower, *_, kind, _leaf = name.split(".")  # e.g. decoder.layers.3.attention.wq.weight
    if ".attention." not in name or kind not in ("wq", "wk"):
        return w
    n = heads[f"{tower}.{kind}"]
    rows = w.shape[0]
    return w.reshape(n, rows // n // 2, 2, *w.shape[1:]).transpose(1, 2).reshape(w.shape).contiguous()


def _read(f, key: str, path: Path) -> torch.Tensor:
    try:
        return f.get_tensor(key)
    except Exception as exc:  # noqa: BLE001 - the safetensors error types are not public
        raise CheckpointError(
            f"{path}: tensor {key!r} cannot be read ({exc}). Download the model again."
        ) from None


def quantized_path(folder: Path, quantize: str) -> Path:
    """Where the quantised weights of the checkpoint in ``folder`` are stored."""
    return folder / f"consolidated.{quantize}.safetensors"


def stored_format(quantize: str) -> str:
    """The metadata "format" of a stored ``quantize`` file made here. int4's packing depends on
    the CPU (:func:`engine.quant.int4_layout`), so its format names the CPU kind: a model folder
    moved to another kind of CPU is quantised again there rather than misread."""
    made = STORED_FORMAT.format(mode=quantize)
    return f"{made}-{int4_layout()}" if quantize == "int4" else made


def load_stored(net: VoxtralNet, path: Path, device: torch.device, dtype: torch.dtype,
                quantize: str, source_sha256: str) -> bool:
    """Fill ``net`` (quantised, on meta) by mapping the stored file ``path``; False, leaving
    ``net`` untouched, unless the file was made in this format from the source whose sha256 is
    ``source_sha256`` and holds exactly the tensors, shapes and integer dtypes ``net`` expects.
    """
    expected = net.state_dict()
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            if meta.get("format") != stored_format(quantize):
                log.info("%s is in format %r, not %r (another version or kind of CPU): "
                         "quantising again", path, meta.get("format"), stored_format(quantize))
                return False
            names = {name for name in f.keys() if not name.startswith(PAD)}
            if meta.get("source_sha256") != source_sha256 or names != set(expected):
                return False
            state = {name: f.get_tensor(name) for name in expected}
    except Exception:  # noqa: BLE001 - missing, truncated or corrupt: quantise again
        return False
    for name, want in expected.items():
        t = state[name]
        if t.shape != want.shape or (not want.dtype.is_floating_point and t.dtype != want.dtype):
            return False
        # Floating tensors take the model dtype, except those quantisation fixes (int4 scales).
        t = t.to(device, dtype if want.dtype == torch.float32 else want.dtype)
        state[name] = t if t.data_ptr() % ALIGN == 0 else t.clone()  # a reader that moved it
    net.load_state_dict(state, assign=True, strict=True)
    return True


def save_aligned(state: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    """Write CPU tensors to ``path`` as a safetensors file (the format: 8-byte little-endian
    header length, a JSON header, then the tensors' bytes back to back) in which every tensor
    starts at a multiple of :data:`ALIGN` bytes. Gaps are ``PAD`` uint8 tensors; the header is
    padded with spaces, as the format allows. Raises OSError when the file cannot be written.
    """
    header: dict[str, dict] = {"__metadata__": metadata}
    order, at = [], 0
    for i, name in enumerate(sorted(state)):
        t = state[name]
        if at % ALIGN:
            gap = ALIGN - at % ALIGN
            header[f"{PAD}{i}"] = {"dtype": "U8", "shape": [gap], "data_offsets": [at, at + gap]}
            order.append(torch.zeros(gap, dtype=torch.uint8))
            at += gap
        size = t.numel() * t.element_size()
        header[name] = {"dtype": _SAFETENSORS_DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [at, at + size]}
        order.append(t)
        at += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % ALIGN)  # the tensors' bytes begin aligned too
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for t in order:
            if t.numel():
                f.write(t.reshape(-1).view(torch.uint8).numpy().data)


def store(net: VoxtralNet, path: Path, quantize: str, source_sha256: str) -> None:
    """Write ``net``'s quantised weights to ``path`` (atomically), recording the source's
    sha256 so a later load maps them only beside that same, verified checkpoint."""
    state = {name: t.detach().to("cpu").contiguous() for name, t in net.state_dict().items()}
    meta = {"format": stored_format(quantize), "source_sha256": source_sha256}
    tmp = path.with_name(path.name + ".partial")
    try:
        save_aligned(state, tmp, meta)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only folder: quantise at each load instead
        log.warning("cannot store the %s weights in %s (%s)", quantize, path.parent, exc)
        tmp.unlink(missing_ok=True)


def build(
    path: Path,
    device: str | torch.device,
    dtype: str | torch.dtype,
    quantize: str | None = None,
    source_sha256: str | None = None,
    progress: Callable[[float], None] | None = None,
):
    """Config, tokenizer and loaded modules of the checkpoint folder ``path``.

    With ``quantize`` and the sha256 of the folder's verified weights file, the quantised
    weights are made once, stored beside it (:func:`quantized_path`) and mapped on later loads.
    """
    if quantize not in QUANTIZE:
        raise ValueError(f"quantize must be None, 'int8' or 'int4'; got {quantize!r}")
    if not path.is_dir():
        raise CheckpointError(
            f"{path} is not a folder. Point to the folder holding params.json, "
            "consolidated.safetensors and tekken.json."
        )
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    if quantize == "int4" and dev.type != "cpu":
        raise DeviceError(
            f"int4 weights run on the CPU only (torch has no int4 kernel in this layout for "
            f"{dev.type}). Use int8 on a GPU, or choose the cpu device."
        )
    config = ModelConfig.from_params(path / "params.json")
    tokenizer = Tokenizer(path / "tekken.json")
    config = dataclasses.replace(config, n_left_pad_tokens=tokenizer.n_left_pad_tokens)
    if tokenizer.vocab_size > config.vocab_size:
        raise CheckpointError(
            f"{path / 'tekken.json'} has {tokenizer.vocab_size} tokens but the model only "
            f"{config.vocab_size}: the tokenizer belongs to another model."
        )
    pack = not quantize and packs_float32(dev, dt)
    with torch.device("meta"):
        net = VoxtralNet(config)
        quant = quantized_modules(net, quantize) if quantize else {}
        packs = half_packed_modules(net) if pack else {}
    stored = quantized_path(path, quantize) if quantize and source_sha256 else None
    if stored is None or not load_stored(net, stored, dev, dt, quantize, source_sha256):
        load_weights(net, path / WEIGHTS, dev, dt, quant, packs, progress)
        if stored is not None:
            store(net, stored, quantize, source_sha256)
    if progress is not None:
        progress(1.0)
    rope_device = dev if dev.type != "mps" else torch.device("cpu")  # MPS has no float64
    for tower in (net.encoder, net.decoder):
        tower.inv_freq = tower.inv_freq.to(rope_device)
    return config, tokenizer, net.eval(), dev, dt
