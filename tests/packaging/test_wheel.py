"""The wheel that pip, pipx and uv install: a working `voxcap` with its resources and license.

The wheel is built from a copy of the source tree and installed into a fresh venv. To stay fast
that venv borrows the dependencies (torch, Qt, ...) of the venv running the tests through a .pth
file; voxcap itself comes only from the wheel.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.packaging.conftest import DELAY_MS

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["pyproject.toml", "README.md", "LICENSE", "app", "engine"]
RESOURCE_FILES = ["high-contrast.qss", "themes.json", "voxcap.desktop", "voxcap.metainfo.xml",
                  "icons/voxcap.svg", "icons/voxcap-16.png", "icons/voxcap-256.png"]


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                          timeout=300, check=False)


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    src.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, src / name)
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", work / "dist", src)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (work / "dist").glob("voxcap-*.whl")

    venv = work / "venv"
    assert run(sys.executable, "-m", "venv", "--without-pip", venv).returncode == 0
    python = venv / "bin" / "python"
    installed = run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
                    wheel)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    Path(site.stdout.strip(), "borrowed-deps.pth").write_text(sysconfig.get_path("purelib"))
    return venv


def test_console_script_runs_from_the_wheel(wheel_venv, tmp_path):
    voxcap = wheel_venv / "bin" / "voxcap"
    version = run(voxcap, "--version", cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("voxcap ") and "Apache-2.0" in version.stdout
    usage = run(voxcap, "--help", cwd=tmp_path)
    assert usage.returncode == 0
    assert "transcribe" in usage.stdout and "--install-desktop-entry" in usage.stdout


def test_resources_and_license_are_inside_the_installed_package(wheel_venv, tmp_path):
    probe = ("import app, json, importlib.metadata as m; "
             "d = m.distribution('voxcap'); "
             "print(json.dumps({'app': app.__file__, "
             "'files': [str(f) for f in d.files], 'license': d.metadata['License-Expression']}))")
    result = run(wheel_venv / "bin" / "python", "-c", probe, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    package = Path(found["app"]).parent
    assert package.is_relative_to(wheel_venv), "app must come from the wheel, not the checkout"
    for name in RESOURCE_FILES:
        assert (package / "ui" / "resources" / name).stat().st_size > 0, name
    assert any(f.endswith("licenses/LICENSE") for f in found["files"])
    assert found["license"] == "Apache-2.0"


def test_transcribes_with_the_engine_from_the_wheel(wheel_venv, tiny_checkpoint, chirp_wav,
                                                    expected_tokens, tmp_path):
    out = tmp_path / "t.json"
    result = run(wheel_venv / "bin" / "voxcap", "transcribe", chirp_wav, "--model",
                 tiny_checkpoint, "--delay-ms", str(DELAY_MS), "--dtype", "float32", "-o", out,
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())["tokens"] == expected_tokens
