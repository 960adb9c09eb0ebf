"""Start a real vLLM realtime server on 127.0.0.1 with a tiny checkpoint, for tests and benchmarks.

vLLM lives in a venv of its own (``scripts/install-vllm.sh``, default ``.vllm-venv``; the
environment variable ``VOXCAP_VLLM_VENV`` names another). Its CPU attention takes head sizes 32,
64, 80 ... only, so the checkpoint has ``head_dim`` 32 in the encoder and the decoder. Start-up
takes about 100 s on two cores; the server is started once per test session.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.tiny_checkpoint import write_checkpoint

ROOT = Path(__file__).resolve().parents[3]
MODEL_NAME = "voxtral-tiny"
API_KEY = "test-key-7f3a"  # the key the server is started with
START_TIMEOUT_S = 420.0
# head_dim 32 everywhere (the CPU backend's smallest); dims kept small for speed
VLLM_SPEC = {"enc_dim": 64, "enc_heads": 2, "enc_kv_heads": 2, "enc_head_dim": 32,
                 "dec_dim": 64, "dec_heads": 2, "dec_kv_heads": 1, "dec_head_dim": 32}


def venv_python() -> Path:
    venv = Path(os.environ.get("VOXCAP_VLLM_VENV", ROOT / ".vllm-venv"))
    return venv / "bin" / "python"


def write_vllm_checkpoint(folder: Path) -> Path:
    return write_checkpoint(folder, **VLLM_SPEC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class VllmServer:
    process: subprocess.Popen
    port: int
    log_path: Path
    checkpoint: Path

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def log_tail(self, n: int = 40) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def start_server(workdir: Path, api_key: str | None = API_KEY,
                 max_model_len: int = 2048) -> VllmServer:
    """A running server (``GET /health`` answered 200); RuntimeError with its log otherwise."""
    checkpoint = write_vllm_checkpoint(workdir / "checkpoint")
    port = free_port()
    log_path = workdir / "vllm.log"
    command = [
        str(venv_python()), "-m", "vllm.entrypoints.launchers.api_server.entry",
        "--model", str(checkpoint), "--host", "127.0.0.1", "--port", str(port),
        "--tokenizer-mode", "mistral", "--config-format", "mistral", "--load-format", "mistral",
        "--served-model-name", MODEL_NAME, "--enforce-eager",
        "--max-model-len", str(max_model_len), "--max-num-seqs", "4",
    ] + (["--api-key", api_key] if api_key else [])
    env = dict(os.environ, VLLM_CPU_KVCACHE_SPACE="1", VLLM_CPU_OMP_THREADS_BIND="nobind")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True)
    server = VllmServer(process, port, log_path, checkpoint)
    try:
        _wait_healthy(server)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_healthy(server: VllmServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"vLLM exited with {server.process.returncode}:\n"
                               f"{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        try:  # wait on the process itself, so an early exit is seen at once
            server.process.wait(1.0)
        except subprocess.TimeoutExpired:
            pass
    raise RuntimeError(f"vLLM did not become healthy in {START_TIMEOUT_S:.0f} s:\n"
                       f"{server.log_tail()}")
