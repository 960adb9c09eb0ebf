"""float32 on the CPU with the weights held as float16: half the bytes per step, same products.

The checkpoint is bfloat16. Loaded in float32, each weight is a bfloat16 value widened, and
float16 holds every such value of magnitude 2^-17 to 65 280 exactly (bfloat16 keeps 8 significant
bits, float16 11; below 2^-14 float16's subnormals step by 2^-24, still exact down to 2^-17).
Smaller weights round to a multiple of 2^-24, an error under 3e-8 each, far below float32's own
rounding of a sum of thousands of terms. So a float32 model can keep its matrices as float16 and
widen them inside the product: fbgemm's float16 GEMM (``torch.ops.quantized.linear_dynamic_fp16``,
weights packed once by ``linear_prepack_fp16``) widens with F16C and accumulates in float32.

What it buys on an AVX2 CPU (2 threads, 9216 x 3072 matrices larger than the cache): one row in
2.4 ms against 5.8 for torch's float32 product and 3.1 for its bfloat16 one; 4 rows in 2.7 ms
against 26 and 11.5. The step reads half the bytes of float32, and the encoder's 4 rows cost
about what one does. Its weights take half of float32's memory, about bfloat16's (the KV caches
stay float32, the mode's precision).

Where fbgemm is missing (ARM builds of torch) or a matrix holds a value float16 cannot (above
65 504, or a float32 checkpoint whose weights are not float16 values), that matrix stays a plain
float32 one. Nothing changes for bfloat16, float16, the quantised modes, or other devices.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import cache

import torch
import torch.nn.functional as F
from torch import nn

from engine.layers import Attention, FeedForward, few_rows_linear, swap_children

HALF_MAX = 65504.0  # largest finite float16


@cache
def half_gemm_ok() -> bool:
    """Whether this build of torch has fbgemm's float16 GEMM (x86 builds do, ARM ones do not)."""
    try:
        packed = torch.ops.quantized.linear_prepack_fp16(torch.ones(8, 8, device="cpu"), None)
        torch.ops.quantized.linear_dynamic_fp16(torch.ones(1, 8, device="cpu"), packed)
    except (RuntimeError, AttributeError, NotImplementedError):
        return False
    return True


def packs_float32(device: torch.device, dtype: torch.dtype) -> bool:
    """Whether a model on ``device`` in ``dtype`` keeps its matrices as packed float16."""
    return device.type == "cpu" and dtype == torch.float32 and half_gemm_ok()


def half_exact(w: torch.Tensor) -> bool:
    """Whether float16 holds ``w``'s values (see the module docstring): a bfloat16 or float16
    tensor within float16's range, or float32 values that are float16 values already."""
    if w.dtype == torch.float16:
        return True
    if w.dtype == torch.bfloat16:
        return bool(w.abs().max() <= HALF_MAX) if w.numel() else True
    return bool(torch.equal(w.to(torch.float16).to(w.dtype), w))


def pack_or_widen(w: torch.Tensor) -> tuple[torch.ScriptObject | None, torch.Tensor | None]:
    """(fbgemm's packed float16 copy of ``w``, None) when float16 holds it exactly, else
    (None, ``w`` in float32). w: (out, in), any floating dtype."""
    if half_exact(w):
        return torch.ops.quantized.linear_prepack_fp16(w.float().contiguous(), None), None
    return None, w.float()


class HalfPackedLinear(nn.Module):
    """Linears that share their input (q, k and v; the gate and the up projection; or one
    alone) as one float32 product whose weights fbgemm holds packed in float16, or as a plain
    float32 matrix when float16 cannot hold them. x (..., in) float32 -> (..., sum(sizes))
    float32, the parts' outputs side by side in ``sizes`` order; biases added after the product.

    One call instead of three or two: fbgemm's fixed cost per call (about 50 us on 2 threads)
    is paid once, and the wider matrix keeps both threads reading.
    """

    def __init__(self, in_features: int, sizes: list[int], biases: list[bool]) -> None:
        super().__init__()
        self.in_features, self.sizes, self.biases = in_features, list(sizes), list(biases)
        self.out_features = sum(sizes)
        self.packed = None  # fbgemm's packed float16 matrix
        self.register_buffer("full", None, persistent=False)  # float32 when not packed
        self.register_buffer("bias", None, persistent=False)  # float32 (out,), zeros where none
        self._parts: dict[tuple[int, str], torch.Tensor] = {}  # arrived while loading

    def expected(self, part: int) -> dict[str, torch.Size]:
        """Checkpoint tensors of ``part``, by leaf name, with their shapes."""
        shapes = {"weight": torch.Size((self.sizes[part], self.in_features))}
        if self.biases[part]:
            shapes["bias"] = torch.Size((self.sizes[part],))
        return shapes

    def take(self, part: int, leaf: str, t: torch.Tensor) -> Callable[[], None] | None:
        """Receive one checkpoint tensor. Once every part's have come, returns the job that
        packs them together (run it on any thread: fbgemm's packing, about 65 M weights/s on
        one core, leaves Python's lock free)."""
        self._parts[(part, leaf)] = t
        if len(self._parts) < sum(len(self.expected(i)) for i in range(len(self.sizes))):
            return None
        parts, self._parts = self._parts, {}
        return lambda: self._pack(parts)

    def _pack(self, parts: dict[tuple[int, str], torch.Tensor]) -> None:
        w = torch.cat([parts[(i, "weight")] for i in range(len(self.sizes))])
        if any(self.biases):
            self.bias = torch.cat([parts[(i, "bias")].float() if self.biases[i]
                                   else torch.zeros(n) for i, n in enumerate(self.sizes)])
        self.packed, self.full = pack_or_widen(w)

    def planned_bytes(self, step: bool = False) -> int:
        """Bytes of the weights as a bfloat16 checkpoint loads them (float16, packed); a step
        reads them all."""
        return 2 * self.in_features * self.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.packed is None:
            return few_rows_linear(x, self.full, self.bias)
        y = torch.ops.quantized.linear_dynamic_fp16(x.contiguous(), self.packed)
        return y if self.bias is None else y + self.bias


class HalfPackedEmbedding(nn.Module):
    """The token embedding, whose rows are also the tied LM head: looked up from the table in
    the checkpoint's dtype (bfloat16 widened is exact) and multiplied through fbgemm's packed
    float16 copy. Falls back to a float32 table when float16 cannot hold it."""

    def __init__(self, num: int, dim: int) -> None:
        super().__init__()
        self.num_embeddings, self.embedding_dim = num, dim
        # (num, dim) in the checkpoint's dtype, or float32; filled by ``take``, not a state entry
        self.register_buffer("weight", None, persistent=False)
        self.head = None  # fbgemm's packed float16 (num, dim)

    def expected(self, part: int) -> dict[str, torch.Size]:
        return {"weight": torch.Size((self.num_embeddings, self.embedding_dim))}

    def take(self, part: int, leaf: str, w: torch.Tensor) -> Callable[[], None]:
        """The job that holds ``w`` (num, dim): see :meth:`HalfPackedLinear.take`."""
        return lambda: self._pack(w)

    def _pack(self, w: torch.Tensor) -> None:
        self.head, full = pack_or_widen(w)
        self.weight = w if full is None else full  # the loader's own copy, not the mapped file

    def planned_bytes(self, step: bool = False) -> int:
        """Bytes as a bfloat16 checkpoint loads it: the table and its packed float16 copy (a
        step reads the copy, as the LM head, and one row of the table)."""
        return (2 if step else 4) * self.num_embeddings * self.embedding_dim

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, self.weight).float()

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """(..., dim) float32 -> (..., num) float32."""
        if self.head is None:
            return few_rows_linear(h, self.weight)
        return torch.ops.quantized.linear_dynamic_fp16(h.contiguous(), self.head)


# Linears of one module that read the same input, fused into one product: (module, fused
# attribute, parts in output order).
_FUSED = ((Attention, "qkv", ("wq", "wk", "wv")), (FeedForward, "gate_up", ("w1", "w3")))


def half_packed_modules(net: nn.Module) -> dict[str, tuple[nn.Module, int]]:
    """Swap the linears and the embedding of ``net`` (on meta) for packed twins, fusing those
    that share an input (:data:`_FUSED`). Returns, for each checkpoint module path whose tensors
    go to a twin (``twin.take(part, leaf, tensor)`` while loading), the twin and the part."""
    owners: dict[str, tuple[nn.Module, int]] = {}
    for parent_name, parent in list(net.named_modules()):
        prefix = f"{parent_name}." if parent_name else ""
        for kind, attr, parts in _FUSED:
            if isinstance(parent, kind):
                children = [getattr(parent, p) for p in parts]
                twin = HalfPackedLinear(children[0].in_features, [c.out_features for c in children],
                                        [c.bias is not None for c in children])
                for i, p in enumerate(parts):
                    delattr(parent, p)
                    owners[prefix + p] = (twin, i)
                setattr(parent, attr, twin)

    def twin(child: nn.Module) -> nn.Module | None:
        if isinstance(child, nn.Linear):
            return HalfPackedLinear(child.in_features, [child.out_features], [child.bias is not None])
        if isinstance(child, nn.Embedding):
            return HalfPackedEmbedding(child.num_embeddings, child.embedding_dim)
        return None

    owners.update((path, (m, 0)) for path, m in swap_children(net, twin).items())
    return owners
