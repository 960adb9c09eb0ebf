"""The README's "Start the app" block, run as written on a fresh Debian, opens the window.

A minimal Debian root (``debootstrap --variant=minbase``: no Python, no X11 libraries, nothing
but what the block itself installs) gets a copy of this checkout; the block runs in it as root
under ``chroot``, with the host's Xvfb as the display, and the test waits for a voxcap window
on that display. Preparing the root is not part of the README: its package lists are fetched
(as a freshly installed machine has them), ``sudo`` is a pass-through (the block runs as root),
and pip sees this machine's local wheel folders and pip configuration, as pip here does.

The pristine root is made once and kept in ``$VOXCAP_FRESH_CACHE`` (default
``/var/tmp/voxcap-fresh``), so later runs only copy it. Needs root, debootstrap, Xvfb,
x11-utils and a reachable Debian mirror; skipped otherwise.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SUITE = "bookworm"  # Python 3.11, the oldest voxcap supports
MIRROR = os.environ.get("VOXCAP_DEBIAN_MIRROR", "http://deb.debian.org/debian")
CACHE = Path(os.environ.get("VOXCAP_FRESH_CACHE", "/var/tmp/voxcap-fresh"))
DISPLAY = ":74"
WINDOW_TIMEOUT_S = 1200  # apt and pip inside the root, then the first window
HOST_CA = "/etc/ssl/certs/ca-certificates.crt"
PIP_FILES = [Path("/etc/pip.conf"), Path("/etc/xdg/pip/pip.conf"),
             Path("/etc/xdg/pip/constraints.txt"), Path.home() / ".config/pip/pip.conf",
             Path.home() / ".pip/pip.conf"]

pytestmark = [
    pytest.mark.fresh,
    pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(shutil.which("debootstrap") is None, reason="needs debootstrap"),
    pytest.mark.skipif(shutil.which("Xvfb") is None or shutil.which("xwininfo") is None,
                       reason="needs Xvfb and x11-utils"),
]


def readme_block() -> str:
    """The first ```bash block under the README's "Start the app" heading."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Start the app"):]
    match = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert match, "the README's Start the app section has no bash block"
    return match.group(1)


def pristine_root() -> Path:
    """A minimal Debian root, made once per cache folder (a few minutes, mostly download)."""
    done = CACHE / SUITE
    if (done / "etc" / "debian_version").is_file():
        return done
    partial = CACHE / f"{SUITE}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    made = subprocess.run(["debootstrap", "--variant=minbase", SUITE, str(partial), MIRROR],
                          capture_output=True, text=True, timeout=1800, check=False)
    if made.returncode != 0:
        pytest.skip(f"debootstrap failed (no Debian mirror?): {made.stderr[-500:]}")
    partial.rename(done)
    return done


@contextlib.contextmanager
def fresh_root(tmp_path: Path) -> Iterator[Path]:
    """A throwaway copy of the pristine root, with /proc, /dev, X11's socket and pip's wheels."""
    root = tmp_path / "root"
    subprocess.run(["cp", "-a", "--reflink=auto", str(pristine_root()), str(root)], check=True)
    shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
    # pip's certificate bundle is this machine's (it may trust a proxy the root's does not).
    if Path(HOST_CA).is_file():
        shutil.copy(HOST_CA, root / "etc" / "host-ca-certificates.crt")
    for path in PIP_FILES:  # the user's own config lands in the root's /root (HOME there)
        if path.is_file():
            inside = root / ("root" / path.relative_to(Path.home()) if path.is_relative_to(
                Path.home()) else path.relative_to("/"))
            inside.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, inside)
    mounts = [(None, "proc", ["-t", "proc", "proc"]), ("/dev", "dev", ["--bind"]),
              ("/tmp/.X11-unix", "tmp/.X11-unix", ["--bind"])]
    mounts += [(str(d), str(d).lstrip("/"), ["--bind", "-o", "ro"])
               for d in (Path("/opt/wheels"), Path("/opt/pypi"), Path("/opt/pypi-more"))
               if d.is_dir()]
    mounted: list[Path] = []
    try:
        for source, target, how in mounts:
            where = root / target
            where.mkdir(parents=True, exist_ok=True)
            subprocess.run(["mount", *how, *([source] if source else []), str(where)],
                           check=True)
            mounted.append(where)
        yield root
    finally:
        for where in reversed(mounted):
            subprocess.run(["umount", "-l", str(where)], check=False)
        shutil.rmtree(root, ignore_errors=True)


def copy_checkout(root: Path) -> Path:
    """This checkout's files (committed or not, minus what git ignores) at /root/voxcap."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    target = root / "root" / "voxcap"
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def in_root(root: Path, script: str, **popen) -> subprocess.Popen:
    env = {"HOME": "/root", "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "DISPLAY": DISPLAY, "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}
    env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})
    if Path(HOST_CA).is_file():
        env["PIP_CERT"] = "/etc/host-ca-certificates.crt"
    # An index this machine cannot reach (the PyTorch one, when offline) is given up at once;
    # the local wheel folders serve instead.
    env["PIP_RETRIES"] = "0"
    env.update({k: v for k, v in os.environ.items() if k.lower().endswith("_proxy")})
    return subprocess.Popen(["chroot", str(root), "/bin/bash", "-c", script], env=env,
                            start_new_session=True, **popen)


def voxcap_window() -> str | None:
    tree = subprocess.run(["xwininfo", "-root", "-tree"], env={**os.environ, "DISPLAY": DISPLAY},
                          capture_output=True, text=True, check=False).stdout
    return next((line.strip() for line in tree.splitlines() if "voxcap" in line.lower()), None)


@pytest.fixture
def xvfb() -> Iterator[None]:
    server = subprocess.Popen(["Xvfb", DISPLAY, "-screen", "0", "1280x800x24", "-nolisten",
                               "tcp"], stderr=subprocess.DEVNULL)
    env = {**os.environ, "DISPLAY": DISPLAY}
    deadline = time.monotonic() + 30
    while subprocess.run(["xwininfo", "-root"], env=env, capture_output=True,
                         check=False).returncode != 0:
        assert server.poll() is None and time.monotonic() < deadline, "Xvfb did not start"
        time.sleep(0.1)
    yield
    server.kill()
    server.wait()


def test_readme_start_block_opens_the_window(tmp_path, xvfb):
    block = readme_block()
    with fresh_root(tmp_path) as root:
        ready = in_root(root, "apt-get update -qq", stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, text=True)
        out, _ = ready.communicate(timeout=600)
        if ready.returncode != 0:
            pytest.skip(f"the Debian mirror is not reachable: {out[-500:]}")
        copy_checkout(root)
        log = tmp_path / "block.log"
        script = f'sudo() {{ "$@"; }}\nset -e\ncd /root/voxcap\n{block}'
        with log.open("w") as sink:
            proc = in_root(root, script, stdout=sink, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + WINDOW_TIMEOUT_S
            while (window := voxcap_window()) is None:
                assert proc.poll() is None, f"the block ended without a window:\n" \
                                            f"{log.read_text()[-4000:]}"
                assert time.monotonic() < deadline, f"no window:\n{log.read_text()[-4000:]}"
                time.sleep(1)
            assert proc.poll() is None, log.read_text()[-4000:]
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            proc.wait()
    assert window
