"""Remote engine round trip: an 80 ms chunk sent to a vLLM server, to its delta back, over loopback.

    python -m benchmarks.bench_remote                        # starts a tiny vLLM server (~2 min)
    python -m benchmarks.bench_remote --server ws://gpu-box:8000 --model NAME [--key KEY]
    python -m benchmarks.bench_remote --fake                 # the protocol alone, no model

After the prompt's audio, each further 80 ms chunk makes exactly one more decoder step possible,
so one step's round trip is: send a chunk, wait for the next ``transcription.delta``. Timed for
one source, then two sources at once (two sessions, batched by the server), and printed beside
the local engine's step time on the same tiny checkpoint (what the same computer would spend
without a server). Needs the vLLM venv (``scripts/install-vllm.sh``) unless ``--server`` or
``--fake`` is given.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from app.live.remote import STEP_SAMPLES, Delta, Done
from app.live.vllm import VllmSession

PRIME_TIMEOUT_S = 120.0


def audio_of(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (0.1 * rng.standard_normal(round(16000 * seconds))).astype(np.float32)


def round_trips(url: str, model: str, key: str | None, steps: int) -> list[float]:
    """Seconds from each chunk sent to the delta it made possible, after the prompt."""
    session = VllmSession(url, model, key, timeout=30)
    session.open()
    audio = audio_of((steps + 60) * 0.08)
    chunks = [audio[i : i + STEP_SAMPLES] for i in range(0, audio.size, STEP_SAMPLES)]
    session.start_generation()
    sent = 0
    while True:  # prime: send until the first delta shows the prompt is complete
        session.send_audio(chunks[sent])
        sent += 1
        event = session.receive(0.3)
        if isinstance(event, Delta):
            break
        if sent >= len(chunks) - steps:
            raise RuntimeError("no delta after the prompt's audio; is the server working?")
    times = []
    for chunk in chunks[sent : sent + steps]:
        began = time.perf_counter()
        session.send_audio(chunk)
        event = session.receive(PRIME_TIMEOUT_S)
        if not isinstance(event, Delta):
            raise RuntimeError(f"expected a delta, got {event!r}")  # noqa: TRY004 - a server fault
        times.append(time.perf_counter() - began)
    session.end_audio()
    while not isinstance(session.receive(PRIME_TIMEOUT_S), Done | None):
        pass
    session.close()
    return times


def concurrent(url: str, model: str, key: str | None, steps: int, sources: int) -> list[float]:
    results: list[list[float]] = [[] for _ in range(sources)]
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            results[i] = round_trips(url, model, key, steps)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(sources)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return [t for r in results for t in r]


def local_steps(checkpoint: Path, steps: int) -> list[float]:
    import engine

    model = engine.load_model(checkpoint)
    stream = model.stream(480)
    audio = audio_of((steps + 20) * 0.08)
    first = 7 * STEP_SAMPLES + 40  # the prompt's audio at 480 ms
    stream.feed(audio[:first])
    times = []
    for at in range(first, first + steps * STEP_SAMPLES, STEP_SAMPLES):
        began = time.perf_counter()
        stream.feed(audio[at : at + STEP_SAMPLES])
        times.append(time.perf_counter() - began)
    return times


def line(name: str, times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    p90 = ms[min(len(ms) - 1, round(0.9 * (len(ms) - 1)))]
    return f"{name:<44} median {statistics.median(ms):7.1f} ms   p90 {p90:7.1f} ms   n={len(ms)}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server", help="an already running server (default: start a tiny one)")
    p.add_argument("--model", default=None, help="served model name (with --server)")
    p.add_argument("--key", default=None, help="API key (with --server)")
    p.add_argument("--fake", action="store_true", help="the protocol only: a fake server")
    p.add_argument("--steps", type=int, default=60, help="steps timed per source")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(args, Path(tmp))


def run(args, tmp: Path) -> None:
    from tests.app.remote import vllm_server as vs

    checkpoint = vs.write_vllm_checkpoint(tmp / "local")
    server, fake = None, None
    if args.server:
        url, model, key, what = args.server, args.model, args.key, args.server
    elif args.fake:
        from tests.app.remote.fake_server import FakeServer

        fake = FakeServer(models=("tiny",)).__enter__()
        url, model, key, what = fake.url, "tiny", None, "fake server (protocol only)"
    else:
        began = time.perf_counter()
        server = vs.start_server(tmp / "vllm")
        print(f"vLLM started in {time.perf_counter() - began:.0f} s")
        url, model, key, what = server.url, vs.MODEL_NAME, vs.API_KEY, "vLLM, tiny, loopback"
    try:
        for sources in (1, 2):
            times = concurrent(url, model, key, args.steps, sources)
            print(line(f"{what}: {sources} source{'s' if sources > 1 else ''}", times))
    finally:
        if server is not None:
            server.stop()
        if fake is not None:
            fake.__exit__(None, None, None)
    print(line("local engine step (same tiny checkpoint)", local_steps(checkpoint, args.steps)))
    print("real time needs one step per 80 ms per source")


if __name__ == "__main__":
    main()
