"""A loopback stand-in for the Hugging Face Hub's file endpoint, so huggingface_hub's own client
code runs end to end in tests without the internet.

It answers ``HEAD``/``GET /{repo}/resolve/{revision}/{file}`` with the headers the client reads:
``X-Repo-Commit``; for a file kept in git, ``ETag`` (its git blob hash) and the bytes; for a
large (LFS) file, a 302 to a second origin playing the CDN, carrying ``X-Linked-Etag`` (the
sha256) and ``X-Linked-Size`` (and, with ``xet`` on, the Xet headers). Both origins honour HTTP
``Range`` (206 / 416). Errors carry the Hub's ``X-Error-Code`` (GatedRepo, RepoNotFound,
RevisionNotFound, EntryNotFound).

Faults are queued per file and consumed one request at a time: an HTTP status, a connection
dropped after some bytes, a stall until released, a Range ignored, a byte flipped. Every request
is logged, so tests can count what was served. Point the client at ``server.url`` (the
``endpoint`` argument of ``ModelManager``, or ``HF_ENDPOINT``)::

    with HubServer(TINY_REPO, TINY_REVISION, tiny_checkpoint()) as hub:
        manager = ModelManager(hub.manifest(), endpoint=hub.url, retry_wait=0.01)
"""
from __future__ import annotations

import hashlib
import json
import random
import re
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, unquote, urlsplit

from app.models.manifest import Manifest, ModelFile

BLOCK = 64 * 1024  # bytes per socket write: the client sees the body arrive in pieces

TINY_REPO = "voxcap-tests/tiny-voxtral"
TINY_REVISION = "5f2b8c1d9e0a7b6c5d4e3f2a1b0c9d8e7f6a5b4c"


def tiny_checkpoint() -> dict[str, bytes]:
    """Three files named like the real checkpoint's (2.6 MB in all): a small git file and two
    LFS files, so a download has something to resume, cancel and verify."""
    rng = random.Random(2602)
    vocab = [{"rank": i, "token_bytes": rng.randbytes(6).hex()} for i in range(1500)]
    return {
        "params.json": json.dumps({"dim": 64, "n_layers": 2, "vocab_size": 1500}).encode(),
        "tekken.json": json.dumps({"vocab": vocab}).encode(),
        "consolidated.safetensors": rng.randbytes(2_500_000),
    }


@dataclass(frozen=True)
class Status:
    """Answer with this HTTP status instead of the file."""

    code: int


@dataclass(frozen=True)
class Drop:
    """Send the headers and ``after`` bytes of the body, then cut the connection."""

    after: int


@dataclass(frozen=True)
class Stall:
    """Send ``after`` bytes, then hold the connection until ``release`` is set (or the server
    stops), then cut it."""

    after: int
    release: threading.Event


@dataclass(frozen=True)
class IgnoreRange:
    """Answer a Range request with the whole file (200), as some proxies do."""


@dataclass(frozen=True)
class Flip:
    """Serve the file with the byte at ``offset`` inverted."""

    offset: int


@dataclass(frozen=True)
class Served:
    kind: str  # "resolve" (the Hub) or "data" (bytes of a file, from the Hub or the CDN)
    method: str
    file: str
    start: int  # first byte asked for (0 without Range)
    status: int
    sent: int  # body bytes written
    authorization: str  # the Authorization header received, "" if none


class HubServer:
    """Serves ``files`` (name -> bytes) of ``repo_id`` at commit ``revision``."""

    def __init__(
        self,
        repo_id: str,
        revision: str,
        files: dict[str, bytes],
        lfs: set[str] | None = None,
    ):
        self.repo_id, self.revision, self.files = repo_id, revision, dict(files)
        # Like the Hub: small text files live in git, large ones in LFS.
        self.lfs = lfs if lfs is not None else {n for n, b in files.items() if len(b) > 10_000}
        self.gated = False  # answer 401 (no token) / 403 (a token) like a gated repo
        self.xet = False  # mark LFS files as stored on Xet, as the Hub's newer repositories do
        self.log: list[Served] = []
        self._faults: dict[tuple[str, str], list[object]] = {}
        self._lock = threading.Lock()
        # Requests whose answer is not yet in the log: a client can read a whole body before
        # the server's thread records it, so the log is read once they are in.
        self._unlogged = 0
        self._logged = threading.Condition(self._lock)
        self._stalls: list[threading.Event] = []
        self._stopped = False
        self._hub = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, "resolve"))
        self._cdn = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, "data"))
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._hub.server_address[1]}"

    @property
    def cdn_url(self) -> str:
        return f"http://127.0.0.1:{self._cdn.server_address[1]}"

    def manifest(self) -> Manifest:
        """The pinned table for the files served, smallest first."""
        entries = sorted(self.files.items(), key=lambda kv: len(kv[1]))
        return Manifest(
            self.repo_id,
            self.revision,
            tuple(ModelFile(n, len(b), hashlib.sha256(b).hexdigest()) for n, b in entries),
        )

    def fault(self, file: str, *faults: object, kind: str = "data") -> None:
        """Queue faults for the next ``kind`` requests of ``file`` ("data" or "resolve")."""
        with self._lock:
            self._faults.setdefault((kind, file), []).extend(faults)

    def served(self, file: str) -> int:
        """Body bytes of ``file`` sent so far."""
        with self._lock:
            return sum(s.sent for s in self.log if s.kind == "data" and s.file == file)

    def requests(self, kind: str | None = None) -> list[Served]:
        """What was served, once every request received so far is in the log (5 s at most)."""
        with self._logged:
            self._logged.wait_for(lambda: self._unlogged == 0, timeout=5)
            return [s for s in self.log if kind is None or s.kind == kind]

    def start(self) -> HubServer:
        for server in (self._hub, self._cdn):
            server.daemon_threads = True
            t = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            for release in self._stalls:
                release.set()  # a stalled response must not outlive the server
        for server in (self._hub, self._cdn):
            server.shutdown()
            server.server_close()
        for t in self._threads:
            t.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next_fault(self, kind: str, file: str) -> object | None:
        with self._lock:
            queue = self._faults.get((kind, file))
            return queue.pop(0) if queue else None

    def _hold(self, release: threading.Event) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stalls.append(release)
        release.wait()

    def _received(self) -> None:
        with self._lock:
            self._unlogged += 1

    def _record(self, served: Served) -> None:
        with self._logged:
            self.log.append(served)
            self._unlogged = max(0, self._unlogged - 1)
            self._logged.notify_all()


def _handler(server: HubServer, role: str) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        hub = server
        origin = role

    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the client expects
    hub: HubServer
    origin: str

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean

    def do_HEAD(self) -> None:
        self.hub._received()
        self._answer(body=False)

    def do_GET(self) -> None:
        self.hub._received()
        self._answer(body=True)

    def _answer(self, body: bool) -> None:
        if self.origin == "data":
            name = parse_qs(urlsplit(self.path).query).get("file", [""])[0]
            if name not in self.hub.files:
                return self._error(404, "EntryNotFound", "no such blob", body)
            return self._send_file(name, body)
        m = re.fullmatch(r"/(.+?/.+?)/resolve/([^/]+)/(.+)", urlsplit(self.path).path)
        if m is None:
            return self._error(404, "", "not found", body)
        repo, rev, name = (unquote(g) for g in m.groups())
        self._resolve(repo, rev, name, body)

    def _resolve(self, repo: str, rev: str, name: str, body: bool) -> None:
        hub = self.hub
        fault = hub._next_fault("resolve", name)
        if isinstance(fault, Status):
            return self._error(fault.code, "", "injected failure", body, name)
        if hub.gated:
            code = 403 if self.headers.get("Authorization") else 401
            msg = f"Access to model {hub.repo_id} is restricted; accept its conditions first."
            return self._error(code, "GatedRepo", msg, body, name)
        if repo != hub.repo_id:
            return self._error(401, "RepoNotFound", "Repository not found", body, name)
        if rev not in (hub.revision, "main"):
            return self._error(404, "RevisionNotFound", "Invalid rev id", body, name)
        if name not in hub.files:
            return self._error(404, "EntryNotFound", "Entry not found", body, name)
        if name not in hub.lfs:
            return self._send_file(name, body)
        data = hub.files[name]
        sha = hashlib.sha256(data).hexdigest()
        note = b"Found. Redirecting"
        self.send_response(302)
        self.send_header("Location", f"{hub.cdn_url}/{sha}?file={name}&expires=3600")
        self.send_header("X-Repo-Commit", hub.revision)
        self.send_header("X-Linked-Etag", f'"{sha}"')
        self.send_header("X-Linked-Size", str(len(data)))
        self.send_header("ETag", f'"{sha}"')
        if hub.xet:
            self.send_header("X-Xet-Hash", hashlib.sha256(sha.encode()).hexdigest())
            self.send_header(
                "X-Xet-Refresh-Route", f"/api/models/{hub.repo_id}/xet-read-token/{hub.revision}"
            )
        self.send_header("Content-Length", str(len(note)))
        self.end_headers()
        if body:
            self.wfile.write(note)
        self._log("resolve", name, 0, 302, 0)

    def _send_file(self, name: str, body: bool) -> None:
        data = self.hub.files[name]
        fault = self.hub._next_fault("data", name) if body else None
        if isinstance(fault, Status):
            return self._error(fault.code, "", "injected failure", body, name)
        if isinstance(fault, Flip):
            data = data[: fault.offset] + bytes([data[fault.offset] ^ 0xFF]) + data[fault.offset + 1 :]
        start = _range_start(self.headers.get("Range"))
        if isinstance(fault, IgnoreRange):
            start = None
        if start is not None and start >= len(data):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return self._log("data", name, start, 416, 0)
        first = start or 0
        status = 206 if start is not None else 200
        self.send_response(status)
        self._file_headers(name, data)
        if start is not None:
            self.send_header("Content-Range", f"bytes {first}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - first))
        self.end_headers()
        limit = fault.after if isinstance(fault, (Drop, Stall)) else len(data) - first
        sent = self._write_body(data[first : first + limit]) if body else 0
        self._log("data" if body else "resolve", name, first, status, sent)
        if isinstance(fault, (Drop, Stall)):
            self._cut(fault)

    def _file_headers(self, name: str, data: bytes) -> None:
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        if self.origin == "resolve":
            git = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False)
            self.send_header("X-Repo-Commit", self.hub.revision)
            self.send_header("ETag", f'"{git.hexdigest()}"')

    def _write_body(self, payload: bytes) -> int:
        sent = 0
        try:
            while sent < len(payload):
                piece = payload[sent : sent + BLOCK]
                self.wfile.write(piece)
                sent += len(piece)
        except OSError:
            pass  # the client went away
        return sent

    def _cut(self, fault: Drop | Stall) -> None:
        """Ends the response early, after holding it open for a Stall."""
        if isinstance(fault, Stall):
            self.hub._hold(fault.release)
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _error(self, code: int, error_code: str, message: str, body: bool, name: str = "") -> None:
        payload = json.dumps({"error": message}).encode()
        self.send_response(code)
        if error_code:
            self.send_header("X-Error-Code", error_code)
            self.send_header("X-Error-Message", message)
        self.send_header("X-Repo-Commit", self.hub.revision)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if body:
            self.wfile.write(payload)
        self._log(self.origin if body else "resolve", name, 0, code, 0)

    def _log(self, kind: str, name: str, start: int, status: int, sent: int) -> None:
        auth = self.headers.get("Authorization") or ""
        self.hub._record(Served(kind, self.command, name, start, status, sent, auth))


def _range_start(header: str | None) -> int | None:
    m = re.fullmatch(r"\s*bytes=(\d+)-\s*", header or "")
    return int(m.group(1)) if m else None
