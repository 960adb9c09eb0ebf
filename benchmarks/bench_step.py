"""Steady-state streaming step against the machine's memory-bandwidth floor, and against transformers.

    python -m benchmarks.bench_step                                   # mid shapes, CPU, minutes
    python -m benchmarks.bench_step --shape full --threads 2 --dir /tmp/voxcap-full
    python -m benchmarks.bench_step --device cuda --shape full --modes bf16,int8
    python -m benchmarks.bench_step --shape full --threads 2 --voxtral-c ~/voxtral.c/voxtral
    python -m benchmarks.bench_step --shape full --threads 2 --modes int8,int8-torch --peers ""

One 80 ms step reads every weight once (the encoder, conv stem and adapter run on every step, and
the decoder with its LM head), so the step cannot be faster than (bytes of weights) / (read
bandwidth): the floor. The benchmark measures the bandwidth itself (a large tensor summed with
the same thread count), then prints each mode's median step in ms and as % of its floor.

Each side runs in its own process, one after the other, so the engine and transformers are never
in memory together and each process's peak RSS is its own. Both get the same random checkpoint
(written once in the real Mistral layout) and the same audio. The engine is timed per 80 ms step
as a live caller drives it (feed 1280 samples, read the text), split into encoder and decoder;
transformers per generated token of ``generate`` in its streaming mode, its model loaded in the
benchmark's dtype tensor by tensor (so the full size fits: no float32 copy, no second state dict).
With ``--voxtral-c BINARY`` antirez/voxtral.c (built with ``make blas``) transcribes the same
audio from the same checkpoint, told to encode every 80 ms as a live caller does (``-I 0.08``;
by default it encodes 2 s of audio at a time); it reports its encoder's total time and its
decoder's ms per step, so its step is the decoder's plus its encoder's time per position.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
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
# mode -> (engine dtype, quantize); int8/int4 keep bf16 activations and caches
MODES = {"fp32": ("float32", None), "bf16": ("bfloat16", None),
         "int8": ("bfloat16", "int8"), "int4": ("bfloat16", "int4"),
         # int8 with torch's kernel for every product (engine/cpukernels.py off): the baseline
         # the compiled CPU loops are measured against in the same run
         "int8-torch": ("bfloat16", "int8")}
WARMUP = 5


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def audio_of(seconds: float) -> np.ndarray:
    t = np.arange(int(16000 * seconds)) / 16000
    rng = np.random.default_rng(0)
    tone = 0.3 * np.sin(2 * np.pi * 220 * t * (1 + 0.2 * t)) * (np.sin(2 * np.pi * 1.3 * t) > 0)
    return (tone + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def read_bandwidth(threads: int, mib: int = 512) -> float:
    """Bytes per second this machine reads with ``threads`` threads (best of 7 sums of a
    ``mib`` MiB tensor, far larger than any cache)."""
    torch.set_num_threads(threads)
    x = torch.ones(mib * 2**20 // 4, dtype=torch.float32)
    best = float("inf")
    for _ in range(7):
        began = time.perf_counter()
        x.sum()
        best = min(best, time.perf_counter() - began)
    return x.nbytes / best


def weight_bytes(folder: Path, mode: str, device: str = "cpu", engine: bool = True) -> int:
    """Bytes of weights one step reads in ``mode`` (engine.weights.step_bytes). The engine's
    float32 on a CPU reads its matrices as packed float16 (engine/packed.py; ``engine=False``:
    as a float32 model of another implementation reads them)."""
    from engine.config import ModelConfig
    from engine.weights import step_bytes

    dtype, quantize = MODES[mode]
    config = ModelConfig.from_params(folder / "params.json")
    return step_bytes(config, getattr(torch, dtype), quantize, device, None if engine else False)


# -- one side, in its own process -------------------------------------------------------------

def engine_side(folder: Path, mode: str, device: str, seconds: float, batch: int,
                encode_every: int = 1) -> dict:
    import engine
    import engine.quant

    dtype, quantize = MODES[mode]
    if mode.endswith("-torch"):
        engine.quant.cpu_kernels = lambda: None
    audio = audio_of(seconds)
    began = time.perf_counter()
    # The random checkpoint stands in for a verified one: its size and mtime name the source, so
    # the first run stores the quantised weights beside it and later runs map them.
    st = (folder / "consolidated.safetensors").stat()
    model = engine.load_model(folder, device=device, dtype=dtype, quantize=quantize,
                              source_sha256=f"bench-{st.st_size}-{st.st_mtime_ns}")
    sync(device)
    load = time.perf_counter() - began
    model.encode_every = encode_every
    streams = model.streams([480] * batch)
    group = streams[0].group
    split = {"encoder": 0.0, "decoder": 0.0}
    for half, name in (("_encode_round", "encoder"), ("_decode", "decoder")):
        setattr(group, half, _timed(getattr(group, half), split, name, device))
    first = 7 * 1280 + 40  # the prompt's audio for a 480 ms delay
    began = time.perf_counter()
    group.feed([audio[:first]] * batch)
    sync(device)
    prompt = time.perf_counter() - began
    times, encoder, decoder = [], [], []
    for at in range(first, audio.size - 1280, 1280):
        split.update(encoder=0.0, decoder=0.0)
        sync(device)
        began = time.perf_counter()
        group.feed([audio[at : at + 1280]] * batch)
        sync(device)
        times.append(time.perf_counter() - began)
        encoder.append(split["encoder"])
        decoder.append(split["decoder"])
    return {"steps": times[WARMUP:], "encoder": encoder[WARMUP:], "decoder": decoder[WARMUP:],
            "load": load, "prompt": prompt, "encode_every": encode_every}


def _timed(fn, split: dict, name: str, device: str):
    def run():
        began = time.perf_counter()
        out = fn()
        sync(device)
        split[name] += time.perf_counter() - began
        return out

    return run


def reference_in_dtype(folder: Path, dtype: torch.dtype):
    """transformers' model with its weights in ``dtype`` from the start, filled tensor by
    tensor from the mapped checkpoint: peak memory is the model plus one tensor."""
    from safetensors import safe_open
    from transformers import VoxtralRealtimeForConditionalGeneration
    from transformers.initialization import no_init_weights

    from tests.reference import reference_config, reference_tensor

    config = reference_config(folder)
    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # parameters only: the rotary tables are built in float32
    try:
        with no_init_weights():
            model = VoxtralRealtimeForConditionalGeneration(config)
    finally:
        torch.set_default_dtype(default)
    model.lm_head.weight = model.model.language_model.embed_tokens.weight  # tied, as the file
    params = dict(model.named_parameters())
    with safe_open(str(folder / "consolidated.safetensors"), framework="pt") as f:
        for key in f.keys():  # noqa: SIM118 - a safetensors handle, not a dict
            name, w = reference_tensor(key, f.get_tensor(key), config)
            params[name].data.copy_(w)
    model.generation_config.eos_token_id = None  # live streams never stop at EOS
    return model.eval()


def transformers_side(folder: Path, mode: str, device: str, seconds: float, batch: int) -> dict:
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    from tests.reference import reference_features

    dtype = getattr(torch, MODES[mode][0])
    began = time.perf_counter()
    ref = reference_in_dtype(folder, dtype).to(device)
    load = time.perf_counter() - began
    enc = MistralTokenizer.from_file(str(folder / "tekken.json")).instruct_tokenizer
    padded = enc.audio_encoder.pad(audio_of(seconds), 16000, 480)
    prompt = list(enc.start()) + enc.audio_encoder.encode_streaming_tokens(480)
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
    return {"steps": np.diff(stamps).tolist()[WARMUP:], "load": load}


def voxtral_c_side(binary: str, folder: Path, seconds: float, threads: int) -> dict | None:
    """antirez/voxtral.c on the same audio: per-step figures from what it prints."""
    import os
    import re

    import soundfile as sf

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "audio.wav"
        sf.write(wav, audio_of(seconds), 16000, subtype="PCM_16")
        env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
        log = Path(tmp) / "stderr.txt"
        began = time.perf_counter()
        with log.open("w") as errors:
            child = subprocess.Popen([binary, "-d", str(folder), "-i", str(wav), "-I", "0.08"],
                                     env=env,
                                     stdout=subprocess.DEVNULL, stderr=errors)
            _, status, usage = os.wait4(child.pid, 0)  # this child's own peak RSS
        total = time.perf_counter() - began
        child.returncode = os.waitstatus_to_exitcode(status)
        err = log.read_text(errors="replace")
    enc = re.search(r"Encoder: \d+ mel -> (\d+) tokens \(([\d.]+) ms\)", err)
    dec = re.search(r"in ([\d.]+) ms \(prefill ([\d.]+) ms \+ ([\d.]+) ms/step\)", err)
    if child.returncode != 0 or not enc or not dec:
        print(f"voxtral.c failed ({child.returncode}):\n{err[-2000:]}", file=sys.stderr)
        return None
    tokens, encoder_s = int(enc.group(1)), float(enc.group(2)) / 1e3
    encoder = encoder_s / tokens  # per position (4 encoder frames), the engine's step's share
    decoder_s, prefill, decoder = (float(g) / 1e3 for g in dec.groups())
    return {"steps": [encoder + decoder], "encoder": [encoder], "decoder": [decoder],
            "prompt": prefill, "load": total - encoder_s - decoder_s,
            "peak_rss_gb": usage.ru_maxrss * 1024 / 1e9}


def one(args) -> None:
    """Run one side (``--one engine:MODE`` or ``transformers:MODE``), print its JSON."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    side, mode = args.one.split(":")
    if side == "engine":
        out = engine_side(Path(args.dir), mode, args.device, args.seconds, args.batch,
                          args.encode_every)
    else:
        out = transformers_side(Path(args.dir), mode, args.device, args.seconds, args.batch)
    out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    print("RESULT " + json.dumps(out))


# -- the driver -------------------------------------------------------------------------------

def side_in_process(args, spec: str, batch: int) -> dict | None:
    cmd = [sys.executable, "-m", "benchmarks.bench_step", "--one", spec, "--dir", args.dir,
           "--device", args.device, "--seconds", str(args.seconds), "--threads",
           str(args.threads), "--batch", str(batch), "--encode-every", str(args.encode_every)]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    print(f"{spec} batch {batch} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
    return None


def row(name: str, r: dict, floor: float | None) -> str:
    # With the encoder once per k steps most steps only wait: the mean is the step's cost then.
    centre = statistics.median if r.get("encode_every", 1) == 1 else statistics.fmean
    med, mean = statistics.median(r["steps"]), statistics.fmean(r["steps"])
    p90 = float(np.percentile(r["steps"], 90))
    pct = f"{100 * floor / centre(r['steps']):5.0f}%" if floor else "     "
    split = (f"{centre(r['encoder']) * 1e3:8.1f} {centre(r['decoder']) * 1e3:8.1f}"
             if "encoder" in r else f"{'':8} {'':8}")
    prompt = f"{r['prompt']:7.1f}" if "prompt" in r else f"{'':7}"
    return (f"{name:<26} {med * 1e3:9.1f} {mean * 1e3:8.1f} {p90 * 1e3:9.1f}"
            f" {floor * 1e3 if floor else 0:8.1f} {pct}"
            f" {split} {r['load']:6.1f} {r['peak_rss_gb']:6.1f} {prompt}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--shape", choices=list(SHAPES), default="mid")
    p.add_argument("--modes", default=None,
                   help="engine modes, comma-separated (default cpu: fp32,bf16,int8,int4; "
                        "cuda: bf16,int8)")
    p.add_argument("--peers", default="fp32,bf16",
                   help="transformers in these modes (fp32, bf16; empty: none)")
    p.add_argument("--seconds", type=float, default=None, help="audio length (default per device)")
    p.add_argument("--batch2", action="store_true", help="also time two streams per step")
    p.add_argument("--dir", help="reuse or keep the random checkpoint in this folder")
    p.add_argument("--threads", type=int, default=1,
                   help="CPU threads for every side (default 1: steady on a shared machine)")
    p.add_argument("--encode-every", type=int, default=1,
                   help="engine: positions per encoder call past the prompt (adds (k-1) x 80 ms "
                        "of latency; compare the mean column)")
    p.add_argument("--voxtral-c", metavar="BINARY",
                   help="also run antirez/voxtral.c (built with `make blas`) on the same audio")
    p.add_argument("--one", help=argparse.SUPPRESS)
    p.add_argument("--batch", type=int, default=1, help=argparse.SUPPRESS)
    args = p.parse_args()
    args.seconds = args.seconds or (20.0 if args.device == "cuda" else 6.0)
    if args.one:
        one(args)
        return
    args.dir = args.dir or tempfile.mkdtemp(prefix="voxcap-bench-")
    folder = Path(args.dir)
    if not (folder / "consolidated.safetensors").exists():
        code = ("import sys; from pathlib import Path; from benchmarks.bench_step import SHAPES; "
                "from tests.tiny_checkpoint import write_checkpoint; "
                "write_checkpoint(Path(sys.argv[1]), **SHAPES[sys.argv[2]], dtype='bfloat16')")
        subprocess.run([sys.executable, "-c", code, args.dir, args.shape], check=True)
    report(args, folder)


def report(args, folder: Path) -> None:
    modes = (args.modes or ("fp32,bf16,int8,int4" if args.device == "cpu" else "bf16,int8")).split(",")
    peers = [m for m in args.peers.split(",") if m]
    bandwidth = read_bandwidth(args.threads) if args.device == "cpu" else None
    results = []
    for mode in modes:
        floor = weight_bytes(folder, mode, args.device) / bandwidth if bandwidth else None
        for batch in (1, 2) if args.batch2 else (1,):
            r = side_in_process(args, f"engine:{mode}", batch)
            if r:
                results.append((f"engine {mode} batch {batch}", r, floor, mode))
    for mode in peers:
        floor = weight_bytes(folder, mode, engine=False) / bandwidth if bandwidth else None
        r = side_in_process(args, f"transformers:{mode}", 1)
        if r:
            results.append((f"transformers {mode}", r, floor, mode))
    if args.voxtral_c:
        r = voxtral_c_side(args.voxtral_c, folder, args.seconds, args.threads)
        if r:
            results.append(("voxtral.c bf16", r, weight_bytes(folder, "bf16", engine=False) / bandwidth
                            if bandwidth else None, "bf16"))
    where = torch.cuda.get_device_name(0) if args.device == "cuda" else "CPU"
    print(f"\nshape {args.shape}, {where}, {args.threads} thread(s), {args.seconds:.0f} s audio")
    if bandwidth:
        print(f"measured read bandwidth: {bandwidth / 1e9:.1f} GB/s; floor = weight bytes / that")
    print(f"{'':<26} {'median ms':>9} {'mean ms':>8} {'p90 ms':>9} {'floor ms':>8} {'%floor':>6}"
          f" {'enc ms':>8}"
          f" {'dec ms':>8} {'load s':>6} {'RSS GB':>6} {'prompt s':>7}")
    for name, r, floor, _ in results:
        print(row(name, r, floor))
    medians = {(n.split()[0], m): statistics.median(r["steps"]) for n, r, _, m in results
               if not n.endswith("batch 2")}  # one stream against one stream
    for peer, mode in sorted(k for k in medians if k[0] != "engine"):
        if ("engine", mode) in medians:
            ratio = medians[(peer, mode)] / medians[("engine", mode)]
            print(f"{mode}: engine is {ratio:.2f}x the speed of {peer} per step")
    if ("engine", "int8") in medians and ("engine", "int8-torch") in medians:
        ratio = medians[("engine", "int8-torch")] / medians[("engine", "int8")]
        print(f"int8: the compiled CPU loops are {ratio:.2f}x the speed of torch's kernel per step")


if __name__ == "__main__":
    main()
