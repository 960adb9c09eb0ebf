"""Talking to the Hugging Face Hub: what it reports for a pinned file, and its bytes.

huggingface_hub builds the addresses, headers (token, user agent), reads the metadata and owns
the HTTP session; this module adds what it lacks for an 8.9 GB first-run download: the bytes go
into a partial file that survives a restart of the app and is continued with an HTTP Range
request, cancel is honoured between network reads, retries back off on busy answers and
dropped connections, and every failure becomes a ``ModelError`` with a message a user can act on.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from huggingface_hub import constants, get_hf_file_metadata, get_token, hf_hub_url
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

# httpx: huggingface_hub's own HTTP module (httpx before its 2.0, httpx2 since).
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status, httpx

from app.models.errors import Cancelled, GatedError, HubError, ModelError, NoNetworkError
from app.models.manifest import Manifest
from app.models.records import HubFacts

log = logging.getLogger(__name__)

# Answers worth another try: the server or a proxy in front of it is busy or restarting.
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
# The connection failed; a Range request can pick up where it broke.
NETWORK_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class _Incomplete(Exception):
    """A response ended before the file's last byte, or did not continue where asked."""


# Everything the Hub or the network can throw at us that becomes a user-facing error.
HANDLED = (HfHubHTTPError, httpx.HTTPError, OfflineModeIsEnabled, _Incomplete)


@dataclass(frozen=True)
class RemoteFile:
    name: str
    facts: HubFacts
    location: str  # where the bytes are served: a CDN address for large files


class Hub:
    def __init__(self, manifest: Manifest, endpoint: str, retries: int, retry_wait: float):
        self._manifest = manifest
        self.endpoint = endpoint.rstrip("/")
        self._retries = retries
        self._retry_wait = retry_wait

    @property
    def page_url(self) -> str:
        return f"{self.endpoint}/{self._manifest.repo_id}"

    def metadata(self, name: str, cancel: threading.Event) -> RemoteFile:
        """What the Hub reports for ``name`` at the pinned commit.

        Busy answers are retried; no connection at all fails at once, since waiting a minute
        to say "you are offline" helps nobody.
        """
        failures = 0
        while True:
            try:
                return self._head(name)
            except HANDLED as e:
                if isinstance(e, httpx.ConnectError):
                    raise self.translate(e) from e
                failures += 1
                self._wait_or_raise(e, name, failures, cancel)

    def probe(self, name: str) -> RemoteFile | None:
        """One quick look at the Hub, for checks that work offline too: None when unreachable."""
        try:
            return self._head(name)
        except (*HANDLED, ModelError) as e:
            log.info("Hub not consulted for %s: %s", name, e)
            return None

    def fetch(
        self,
        remote: RemoteFile,
        partial: Path,
        on_bytes: Callable[[int], None],
        cancel: threading.Event,
    ) -> None:
        """Completes ``partial`` (possibly left by an earlier run) up to the file's size."""
        failures = 0
        while True:
            before = _size(partial)
            try:
                if failures:
                    # A signed CDN address may have expired while we were away.
                    remote = RemoteFile(remote.name, remote.facts, self._head(remote.name).location)
                self._fetch_once(remote, partial, on_bytes, cancel)
                return
            except HANDLED as e:
                # A connection that broke after delivering data gets a fresh set of tries.
                failures = 1 if _size(partial) > before else failures + 1
                self._wait_or_raise(e, remote.name, failures, cancel)

    def _head(self, name: str) -> RemoteFile:
        m = self._manifest
        url = hf_hub_url(m.repo_id, name, revision=m.revision, endpoint=self.endpoint)
        meta = get_hf_file_metadata(url, timeout=constants.HF_HUB_ETAG_TIMEOUT, endpoint=self.endpoint)
        if meta.commit_hash is None or meta.size is None:
            raise HubError(
                f"{self.endpoint} does not answer like the Hugging Face Hub (no commit or size "
                f"for {name}). If HF_ENDPOINT is set, check it; otherwise check proxy and "
                "firewall settings."
            )
        if meta.commit_hash != m.revision:
            raise HubError(
                f"{self.endpoint} answered for commit {meta.commit_hash} instead of the pinned "
                f"{m.revision}. If HF_ENDPOINT points to a mirror, it is out of date."
            )
        etag = (meta.etag or "").lower()
        facts = HubFacts(
            size=meta.size,
            sha256=etag if _is_hex(etag, 64) else None,
            git_sha1=etag if _is_hex(etag, 40) else None,
        )
        # Xet-stored files: like huggingface_hub's own plain-HTTP path, GET the resolve address and
        # follow its redirect (the HEAD's redirect is meant for the Xet client); elsewhere go
        # straight to the CDN address the HEAD pointed to.
        location = meta.location if meta.xet_file_data is None else url
        return RemoteFile(name, facts, location)

    def _fetch_once(
        self,
        remote: RemoteFile,
        partial: Path,
        on_bytes: Callable[[int], None],
        cancel: threading.Event,
    ) -> None:
        size = remote.facts.size
        start = _size(partial)
        if start > size:  # longer than the file: not a prefix of it
            partial.unlink()
            start = 0
        if start == size:
            return
        # identity: offsets must count the file's bytes, not those of a compressed stream
        headers = build_hf_headers(headers={"Accept-Encoding": "identity"})
        if _origin(remote.location) != _origin(self.endpoint):
            headers.pop("authorization", None)  # a signed CDN address; the token stays with the Hub
        if start:
            headers["Range"] = f"bytes={start}-"
        session = get_session()
        timeout = constants.HF_HUB_DOWNLOAD_TIMEOUT
        with session.stream("GET", remote.location, headers=headers, timeout=timeout) as response:
            if response.status_code == 416:
                partial.unlink()
                raise _Incomplete("the server would not continue the partial file")
            hf_raise_for_status(response)
            offset = _offset(response)
            if offset not in (0, start):
                raise _Incomplete(f"the server continued at byte {offset} instead of {start}")
            done = _write_stream(response, partial, offset, on_bytes, cancel)
        if done != size:
            raise _Incomplete(f"the server sent {done:,} of {size:,} bytes of {remote.name}")

    def _wait_or_raise(
        self, error: Exception, name: str, failures: int, cancel: threading.Event
    ) -> None:
        if not _transient(error) or failures > self._retries:
            raise self.translate(error) from error
        wait = min(self._retry_wait * 2 ** (failures - 1), self._retry_wait * 8)
        log.warning(
            "%s: %s; trying again in %.1f s (%d of %d)",
            name, _short(error), wait, failures, self._retries,
        )
        if cancel.wait(wait):
            raise Cancelled("Stopped.")

    def translate(self, e: Exception) -> ModelError:
        """The message a user sees for a failure of the Hub or the network."""
        response = e.response if isinstance(e, HfHubHTTPError) else None
        status = response.status_code if response is not None else 0
        repo = self._manifest.repo_id
        if isinstance(e, OfflineModeIsEnabled):
            return NoNetworkError(
                "Offline mode is on (HF_HUB_OFFLINE is set), so the model cannot be downloaded. "
                "Unset HF_HUB_OFFLINE and try again, or import a folder that holds the files "
                "with `voxcap model import DIR`."
            )
        if isinstance(e, GatedRepoError) or status in (401, 403):
            return GatedError(self._gated_message(status))
        if isinstance(e, RevisionNotFoundError):
            return HubError(
                f"{self.endpoint} has no commit {self._manifest.revision} of {repo}. If "
                "HF_ENDPOINT points to a mirror, it lacks this version of the model."
            )
        if isinstance(e, RemoteEntryNotFoundError):
            where = response.url if response is not None else self.endpoint
            return HubError(f"{where} is missing: the Hub lacks a file of {repo} at the pinned commit.")
        if isinstance(e, RepositoryNotFoundError):
            return HubError(f"{self.endpoint} does not know {repo}. If HF_ENDPOINT is set, check it.")
        if isinstance(e, HfHubHTTPError):
            return HubError(
                f"{self.endpoint} answered with error {status}. The Hub may be busy or down: "
                "try again in a while."
            )
        if isinstance(e, httpx.ConnectError):
            return NoNetworkError(
                f"Cannot connect to {self.endpoint}: no network. Check that this computer is "
                "online (and its proxy settings), then try again, or import a folder that holds "
                "the files with `voxcap model import DIR`."
            )
        if isinstance(e, NETWORK_ERRORS):
            return NoNetworkError(
                f"The connection to {self.endpoint} keeps failing ({type(e).__name__}: {e}). "
                "Check the network, then try again."
            )
        if isinstance(e, _Incomplete):
            return HubError(f"The download keeps breaking off ({e}). Try again in a while.")
        return HubError(f"Cannot download from {self.endpoint} ({e}). Check HF_ENDPOINT and proxy.")

    def _gated_message(self, status: int) -> str:
        repo, page = self._manifest.repo_id, self.page_url
        code = f" ({status})" if status else ""
        if get_token():
            return (
                f"Hugging Face refused your token for {repo}{code}. Open {page}, accept the "
                "model's terms with the account that token belongs to, or log in again with "
                "`hf auth login` (or set HF_TOKEN), then try again."
            )
        return (
            f"{repo} asks you to accept its terms and log in before downloading{code}. Open "
            f"{page}, accept the terms, then log in with `hf auth login` (or set HF_TOKEN to an "
            "access token) and try again."
        )


def _write_stream(
    response: httpx.Response,
    partial: Path,
    offset: int,
    on_bytes: Callable[[int], None],
    cancel: threading.Event,
) -> int:
    """Writes the body at ``offset`` of ``partial``; returns the partial file's new size."""
    partial.parent.mkdir(parents=True, exist_ok=True)
    with open(partial, "r+b" if partial.exists() else "wb") as f:
        f.seek(offset)
        f.truncate()  # a server that ignored our Range sends the file from byte 0
        done = offset
        for chunk in response.iter_bytes():
            if cancel.is_set():
                raise Cancelled("Stopped.")
            f.write(chunk)
            f.flush()  # hand it to the OS now: a killed app keeps every byte it received
            done += len(chunk)
            on_bytes(done)
    return done


def _short(e: Exception) -> str:
    """One line about a failure, for the log."""
    if isinstance(e, HfHubHTTPError) and e.response is not None:
        return f"the server answered {e.response.status_code}"
    return f"{type(e).__name__}: {e}".splitlines()[0]


def _transient(e: Exception) -> bool:
    if isinstance(e, HfHubHTTPError):
        return e.response is not None and e.response.status_code in RETRY_STATUS
    return isinstance(e, (*NETWORK_ERRORS, _Incomplete))


def _offset(response: httpx.Response) -> int:
    """Where the body starts in the file: 0 for a whole file, the range start for a 206."""
    if response.status_code != 206:
        return 0
    m = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    return int(m.group(1)) if m else -1


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _is_hex(s: str, n: int) -> bool:
    return len(s) == n and all(c in "0123456789abcdef" for c in s)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
