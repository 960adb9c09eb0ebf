"""The one-folder app that packaging/build.py makes: it runs without the venv it came from.

Builds the bundle once (about five minutes on two cores) with the torch of the venv running the
tests, then runs the bundled program from an unrelated folder: the command line, a transcription
with the bundled engine, and the GUI on Qt's offscreen platform up to its first recorded session.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import app
from tests.packaging.conftest import DELAY_MS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    pytest.importorskip("PyInstaller", reason='needs the build extra: pip install -e ".[build]"')
    work = tmp_path_factory.mktemp("bundle")
    started = time.monotonic()
    built = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "build.py"), "--dist", str(work / "dist"),
         "--work", str(work / "work")],
        capture_output=True, text=True, timeout=1200, check=False)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-5000:]
    # build.py's last line gives the folder's size.
    print(f"{built.stdout.splitlines()[-1]} in {time.monotonic() - started:.0f} s")
    shutil.rmtree(work / "work")
    yield work / "dist" / "voxcap"
    shutil.rmtree(work)  # about a gigabyte


def run_bundled(bundle: Path, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(bundle / "voxcap"), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300, check=False)


def test_version_from_the_bundle(bundle, tmp_path):
    result = run_bundled(bundle, "--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"voxcap {app.__version__} (license Apache-2.0)"
    assert lines[2] == f"torch {torch.__version__}"  # the build machine's torch was bundled
    assert (bundle / "_internal" / "LICENSE").is_file()
    resources = bundle / "_internal" / "app" / "ui" / "resources"
    assert (resources / "voxcap.desktop").is_file() and (resources / "themes.json").is_file()


def test_menu_entry_from_the_bundle_starts_the_bundle(bundle, isolated_dirs, tmp_path):
    result = run_bundled(bundle, "--install-desktop-entry", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    entry = (isolated_dirs / "applications" / "voxcap.desktop").read_text().splitlines()
    assert f"Exec={bundle / 'voxcap'}" in entry


def test_bundled_engine_transcribes_like_the_source_tree(bundle, tiny_checkpoint, chirp_wav,
                                                          expected_tokens, tmp_path):
    out = tmp_path / "t.json"
    result = run_bundled(bundle, "transcribe", chirp_wav, "--model", tiny_checkpoint,
                         "--delay-ms", DELAY_MS, "--dtype", "float32", "-o", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())["tokens"] == expected_tokens


def test_bundled_int8_compiles_its_cpu_loops(bundle, tiny_checkpoint, chirp_wav, tmp_path):
    """numba and its LLVM library travel in the bundle: an int8 transcription there compiles the
    engine's parallel loops (numba reports each one it builds) and gives the source tree's
    tokens."""
    import soundfile as sf

    import engine

    audio, _ = sf.read(chirp_wav, dtype="float32")
    want = engine.load_model(tiny_checkpoint, dtype=torch.bfloat16, quantize="int8").transcribe(
        audio, delay_ms=DELAY_MS).tokens
    out = tmp_path / "t.json"
    result = subprocess.run(
        [str(bundle / "voxcap"), "transcribe", str(chirp_wav), "--model", str(tiny_checkpoint),
         "--delay-ms", str(DELAY_MS), "--dtype", "int8", "-o", str(out)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False,
        env={**os.environ, "NUMBA_DEBUG_ARRAY_OPT_STATS": "1"})
    assert result.returncode == 0, result.stderr
    assert "Parallel for-loop" in result.stdout + result.stderr, "int8 ran without the loops"
    assert json.loads(out.read_text())["tokens"] == want


def test_bundled_gui_starts_records_and_quits_on_ctrl_c(bundle, tiny_checkpoint, tmp_path):
    data = Path(os.environ["VOXCAP_DATA_DIR"])
    log = tmp_path / "stderr.txt"
    with log.open("w") as stderr:
        gui = subprocess.Popen([str(bundle / "voxcap"), "--model", str(tiny_checkpoint)],
                               cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=stderr,
                               env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    try:
        # A session journal appears once Qt, the model and the pipeline are all up.
        deadline = time.monotonic() + 120
        while not list(data.glob("sessions/*/journal.jsonl")):
            assert gui.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the bundled app recorded no session in 120 s"
            time.sleep(0.2)
        gui.send_signal(signal.SIGINT)
        assert gui.wait(timeout=60) == 0, log.read_text()
    finally:
        if gui.poll() is None:
            gui.kill()
            gui.wait()
    assert "Traceback" not in log.read_text()
