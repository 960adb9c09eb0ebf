"""Steady-state streaming step: this engine against transformers, same weights, same audio.

    python -m benchmarks.bench_step                      # mid-size shapes on the CPU, minutes
    python -m benchmarks.bench_step --device cuda --shape full --dtype bfloat16

Both sides get the same random checkpoint (written once in the real Mistral layout) and the
same audio. The engine is timed per 80 ms step as a live caller drives it (feed 1280 samples,
read the text); transformers is timed per generated token of ``generate`` in its streaming mode
(input features handed over chunk by chunk). Reports median and 90th-percentile step times,
batch 1 and batch 2, optionally int8, start-up time and peak GPU memory, then the ratio.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

SHAPES = {
    "tiny": {},
    "mid": {
        "enc_dim": 512, "enc_layers": 8, "enc_heads": 8, "enc_kv_heads": 8, "enc_head_dim": 64, "enc_hidden": 2048,
        "enc_window": 750, "dec_dim": 1024, "dec_layers": 8, "dec_heads": 16, "dec_kv_heads": 4, "dec_head_dim": 64,
        "dec_hidden": 3072, "dec_window": 8192, "n_words": 30_000,
    },
    "full": {
        "enc_dim": 1280, "enc_layers": 32, "enc_heads": 32, "enc_kv_heads": 32, "enc_head_dim": 64,
        "enc_hidden": 5120, "enc_window": 750, "dec_dim": 3072, "dec_layers": 26, "dec_heads": 32,
        "dec_kv_heads": 8, "dec_head_dim": 128, "dec_hidden": 9216, "dec_window": 8192, "n_words": 130_072,
    },
}


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def audio_of(seconds: float) -> np.ndarray:
    t = np.arange(int(16000 * seconds)) / 16000
    rng = np.random.default_rng(0)
    tone = 0.3 * np.sin(2 * np.pi * 220 * t * (1 + 0.2 * t)) * (np.sin(2 * np.pi * 1.3 * t) > 0)
    return (tone + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def engine_steps(model, audio: np.ndarray, batch: int, device: str, warmup: int) -> list[float]:
    """Seconds per steady-state step with ``batch`` live streams fed 80 ms at a time."""
    streams = model.streams([480] * batch)
    group = streams[0].group
    first = 7 * 1280 + 40  # the prompt's audio for a 480 ms delay
    group.feed([audio[:first]] * batch)
    times = []
    for at in range(first, audio.size - 1280, 1280):
        chunk = audio[at : at + 1280]
        sync(device)
        began = time.perf_counter()
        group.feed([chunk] * batch)
        sync(device)
        times.append(time.perf_counter() - began)
    return times[warmup:]


def transformers_steps(ref, padded: np.ndarray, prompt: list[int], batch: int, device: str,
                       dtype: torch.dtype, warmup: int) -> list[float]:
    """Seconds per generated token of transformers' streaming ``generate``."""
    from tests.reference import reference_features

    mel = reference_features(padded).to(device, dtype).repeat(batch, 1, 1)
    n_prompt = len(prompt)
    stamps: list[float] = []

    def chunks():
        yield mel[:, :, : n_prompt * 8]
        for m in range(n_prompt, mel.shape[-1] // 8):
            sync(device)
            stamps.append(time.perf_counter())
            yield mel[:, :, m * 8 : (m + 1) * 8]

    ids = torch.tensor([prompt] * batch, device=device)
    with torch.inference_mode():
        ref.generate(input_ids=ids, input_features=chunks(), num_delay_tokens=6)
    steps = np.diff(stamps).tolist()
    return steps[warmup:]


def summarise(name: str, times: list[float]) -> tuple[str, float]:
    med = statistics.median(times)
    p90 = float(np.percentile(times, 90))
    return f"{name:<34} {med * 1e3:9.2f} {p90 * 1e3:9.2f} {0.08 / med:9.1f}x", med


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--shape", choices=list(SHAPES), default="mid")
    p.add_argument("--dtype", default=None, help="default: bfloat16 on cuda, float32 on cpu")
    p.add_argument("--seconds", type=float, default=None, help="audio length (default per device)")
    p.add_argument("--int8", action="store_true", help="also time the int8 weight-only engine")
    p.add_argument("--no-transformers", action="store_true", help="time the engine only")
    p.add_argument("--dir", help="reuse or keep the random checkpoint in this folder")
    p.add_argument("--threads", type=int, default=1,
                   help="CPU threads for both sides (default 1: steady on a shared machine)")
    args = p.parse_args()
    run(args)


def run(args) -> None:
    import engine
    from tests.reference import reference_model
    from tests.tiny_checkpoint import write_checkpoint

    device = args.device
    torch.set_num_threads(args.threads)
    dtype_name = args.dtype or ("bfloat16" if device == "cuda" else "float32")
    dtype = getattr(torch, dtype_name)
    seconds = args.seconds or (20.0 if device == "cuda" else 6.0)
    torch.manual_seed(0)
    folder = Path(args.dir or tempfile.mkdtemp(prefix="voxcap-bench-"))
    if not (folder / "consolidated.safetensors").exists():
        write_checkpoint(folder, **SHAPES[args.shape], dtype="bfloat16")
    audio = audio_of(seconds)
    warmup = 5
    rows = []

    began = time.perf_counter()
    model = engine.load_model(folder, device=device, dtype=dtype)
    model.transcribe(audio[:16000])  # first-run work (kernels, graphs) counts as start-up
    sync(device)
    startup = time.perf_counter() - began
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for batch in (1, 2):
        rows.append(summarise(f"engine {dtype_name} batch {batch}",
                              engine_steps(model, audio, batch, device, warmup)))
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else float("nan")
    del model
    if args.int8:
        q8 = engine.load_model(folder, device=device, dtype=dtype, quantize="int8")
        for batch in (1, 2):
            rows.append(summarise(f"engine int8 ({dtype_name} act.) batch {batch}",
                                  engine_steps(q8, audio, batch, device, warmup)))
        del q8
    ours = rows[0][1]
    theirs = None
    if not args.no_transformers:
        ref = reference_model(folder, dtype).to(device)
        from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

        enc = MistralTokenizer.from_file(str(folder / "tekken.json")).instruct_tokenizer
        padded = enc.audio_encoder.pad(audio, 16000, 480)
        prompt = list(enc.start()) + enc.audio_encoder.encode_streaming_tokens(480)
        for batch in (1, 2):
            rows.append(summarise(f"transformers generate batch {batch}",
                                  transformers_steps(ref, padded, prompt, batch, device, dtype,
                                                     warmup)))
        theirs = rows[-2][1]

    print(f"\nshape {args.shape}, device {device}, {args.threads} CPU thread(s)"
          f" ({torch.cuda.get_device_name(0) if device == 'cuda' else 'CPU'}), {seconds:.0f} s audio")
    print(f"{'':<34} {'median ms':>9} {'p90 ms':>9} {'realtime':>10}")
    for line, _ in rows:
        print(line)
    print(f"batch 2 / batch 1 step time: {rows[1][1] / rows[0][1]:.2f}")
    print(f"engine start-up (load + first second of audio): {startup:.1f} s")
    if device == "cuda":
        print(f"engine peak GPU memory (bf16, batch 1 and 2): {peak:.2f} GiB")
    if theirs is not None:
        print(f"engine is {theirs / ours:.1f}x faster than transformers")


if __name__ == "__main__":
    main()
