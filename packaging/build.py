"""Build voxcap as a folder that runs without Python installed (Linux, Windows, macOS).

    python packaging/build.py [--dist DIR] [--work DIR] [--archive]

Run it with the Python environment whose packages should ship: the bundle holds the torch build
installed there (CPU, CUDA or MPS), so install the CUDA build of torch first for a GPU bundle.
It needs PyInstaller (``pip install -e ".[build]"``), builds ``<dist>/voxcap/`` (and
``voxcap.app`` on macOS), runs the built ``voxcap --version`` as a check, and with ``--archive``
packs the folder as ``voxcap-<version>-<platform>-<torch build>.zip`` (``.tar.gz`` on Linux).
"""
from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "voxcap.spec"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Build the voxcap app folder with PyInstaller.")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", metavar="DIR",
                        help="where the app folder goes (default: dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller",
                        metavar="DIR", help="PyInstaller's working folder (default: build/)")
    parser.add_argument("--archive", action="store_true",
                        help="also pack the folder into one file for download")
    return parser.parse_args(argv)


def missing_tools() -> str | None:
    """Why this environment cannot build, or None."""
    if importlib.util.find_spec("PyInstaller") is None:
        return ('PyInstaller is not installed here: run  pip install -e ".[build]"  in this '
                "environment, then build again.")
    try:
        metadata.version("torch")
    except metadata.PackageNotFoundError:
        return "torch is not installed here: install voxcap's dependencies first."
    return None


def cli_program(folder: Path) -> Path:
    """The bundled program that prints to the terminal (Windows has a separate one)."""
    if sys.platform == "win32":
        return folder / "voxcap-cli.exe"
    return folder / "voxcap"


def torch_flavour() -> str:
    """'cpu', 'cu128', ... from the local part of torch's version; 'default' when it has none."""
    version = metadata.version("torch")
    return version.partition("+")[2] or "default"


def archive(folder: Path, version: str) -> Path:
    platform = {"win32": "windows", "darwin": "macos"}.get(sys.platform, sys.platform)
    name = f"voxcap-{version}-{platform}-{torch_flavour()}"
    kind = "gztar" if sys.platform.startswith("linux") else "zip"
    return Path(shutil.make_archive(str(folder.parent / name), kind, folder.parent, folder.name))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    problem = missing_tools()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    print(f"bundling torch {metadata.version('torch')} from {sys.prefix}")
    build = subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean",
                            "--distpath", str(args.dist), "--workpath", str(args.work),
                            str(SPEC)], check=False)
    if build.returncode != 0:
        print("PyInstaller failed; its messages above say why.", file=sys.stderr)
        return 1
    folder = args.dist / "voxcap"
    check = subprocess.run([str(cli_program(folder)), "--version"], capture_output=True,
                           text=True, check=False)
    if check.returncode != 0:
        print(f"the built app does not start:\n{check.stderr}", file=sys.stderr)
        return 1
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())
    print(f"{check.stdout.strip()}\nbuilt {folder} ({size / 2**20:.0f} MiB)")
    if args.archive:
        version = check.stdout.split()[1]
        print(f"packed {archive(folder, version)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
