"""The model manager: gets the pinned checkpoint onto disk, proves it is intact, and says where it is.

One ``ModelManager`` serves the GUI (from a worker thread) and ``voxcap model``. Its folder is
``<data dir>/models/<owner>--<name>@<revision>/`` and holds the three files (or links to a copy
the user already has), a ``.partial/`` folder for downloads in progress, and the verification
record (``records.py``). A file is ready when its recorded digest matches the expected one and
its size, mtime and ctime have not changed since; nothing here hashes or touches the network
unless a download, verify or import is asked for, so a ready model opens offline at once.

Expected values: the pinned table, always. A server that reports another size or sha256 for a
file of the pinned commit is refused before anything is downloaded, naming the file and both
values (and the difference is listed in ``ModelStatus.discrepancies``).
"""
from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import constants, try_to_load_from_cache

from app import paths
from app.events import DownloadProgress
from app.models.errors import (
    BadFolderError,
    Cancelled,
    DamagedError,
    DiskFullError,
    HubError,
    ModelError,
    NotReadyError,
    write_error,
)
from app.models.hashing import Digests, Hasher, copy_hashing, hash_file
from app.models.hub import Hub, RemoteFile
from app.models.lock import FolderLock
from app.models.manifest import DEFAULT_MANIFEST, Manifest, ModelFile
from app.models.progress import Meter, ProgressCallback, human_size
from app.models.records import Digest, Records
from app.models.status import Discrepancy, FileStatus, ModelStatus, State, overall_state

log = logging.getLogger(__name__)

# Left free after a download or copy, so the model never fills a disk to the last byte.
SPARE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class _Expected:
    size: int
    sha256: str | None
    git_sha1: str | None


class ModelManager:
    """Download, verify, import and locate one pinned checkpoint.

    Every method may be called from any thread; download, verify, import and remove take a
    lock that other threads and processes respect (``BusyError``). ``progress`` receives
    ``DownloadProgress`` events on the calling thread; setting ``cancel`` stops the work at the
    next block of bytes with ``Cancelled``, keeping what was downloaded (a stalled connection
    notices within the read timeout, ``HF_HUB_DOWNLOAD_TIMEOUT``, 10 s by default).

    Failures are ``ModelError`` subclasses whose text is meant for the user: ``NoNetworkError``,
    ``GatedError``, ``HubError``, ``DiskFullError``, ``DamagedError`` (``.files`` names them),
    ``BadFolderError``, ``NotReadyError``, ``BusyError``, ``Cancelled``.
    """

    def __init__(
        self,
        manifest: Manifest = DEFAULT_MANIFEST,
        root: Path | None = None,
        *,
        endpoint: str | None = None,
        hf_cache: Path | None = None,
        retries: int = 5,
        retry_wait: float = 1.0,
    ):
        """``root``: folder of all models (default ``<data dir>/models``). ``endpoint``: the Hub
        (default ``HF_ENDPOINT`` read now, else huggingface.co). ``hf_cache``: the Hugging Face
        cache to reuse (default huggingface_hub's own). ``retries``/``retry_wait``: tries after a
        failure and the first wait in seconds, doubling up to eight times it."""
        self.manifest = manifest
        root = Path(root) if root is not None else paths.data_dir() / "models"
        self.folder = root / manifest.folder_name
        self._partials = self.folder / ".partial"  # downloads in progress, kept across restarts
        self._lock_path = root / f".{manifest.folder_name}.lock"
        self._hf_cache = hf_cache
        endpoint = endpoint or os.environ.get("HF_ENDPOINT") or constants.ENDPOINT
        self._hub = Hub(manifest, endpoint, retries, retry_wait)
        self._active: dict[str, tuple[State, int]] = {}  # file -> what runs on it now, bytes
        self._active_lock = threading.Lock()

    # ----- looking (no hashing, no network) -------------------------------------------------

    def status(self) -> ModelStatus:
        records = Records(self.folder)
        files = tuple(self._file_status(f, records) for f in self.manifest.files)
        return ModelStatus(
            overall_state(files),
            self.manifest.repo_id,
            self.manifest.revision,
            self.folder,
            files,
            self._discrepancies(records),
        )

    def ready_path(self) -> Path | None:
        """The checkpoint folder if every file is verified and unchanged, else None."""
        records = Records(self.folder)
        ready = all(self._judge(f, records)[0] is State.READY for f in self.manifest.files)
        return self.folder if ready else None

    def verified_sha256(self, name: str) -> str | None:
        """The sha256 of file ``name`` if it is verified and unchanged since (no hashing here),
        else None. ``engine.load_model(source_sha256=...)`` takes the weights' one to store
        quantised weights beside them once, and to map them only while they match."""
        records = Records(self.folder)
        if self._judge(self.manifest.file(name), records)[0] is not State.READY:
            return None
        digest = self._current_digest(name, records)
        return digest.sha256 if digest else None

    def path(self) -> Path:
        """The folder to hand to ``engine.load_model``; ``NotReadyError`` says what to do if none."""
        found = self.ready_path()
        if found is None:
            raise NotReadyError(not_ready_message(self.status()))
        return found

    # ----- doing ----------------------------------------------------------------------------

    def download(
        self, progress: ProgressCallback | None = None, cancel: threading.Event | None = None
    ) -> ModelStatus:
        """Make the model ready: check what is on disk, reuse a Hugging Face cache copy, then
        fetch (or continue) what is still missing or damaged, and verify it."""
        cancel = cancel or threading.Event()
        with self._operation() as records:
            pending = [f for f in self.manifest.files if not self._settle(f, records, progress, cancel)]
            if pending:
                remotes = [self._hub.metadata(f.name, cancel) for f in pending]
                for r in remotes:
                    records.set_hub(r.name, r.facts)
                # Space first: with a full disk even the small record below cannot be saved.
                self._check_space(sum(r.facts.size - _size(self._partial(r.name)) for r in remotes))
                records.save()
                _refuse_other_files(self.manifest, remotes)
                for r in remotes:
                    self._fetch(r, records, progress, cancel)
            _remove_empty(self._partials)
        return self.status()

    def verify(
        self, progress: ProgressCallback | None = None, cancel: threading.Event | None = None
    ) -> ModelStatus:
        """Hash every file present, whatever the record says; ``DamagedError`` names bad ones."""
        cancel = cancel or threading.Event()
        damaged: dict[str, str] = {}  # file -> why
        with self._operation() as records:
            self._learn_from_hub(records)
            for f in self.manifest.files:
                path = self.folder / f.name
                if not path.exists():
                    continue
                state, reason = self._verify_file(f, path, records, progress, cancel)
                if state is State.DAMAGED:
                    damaged[f.name] = reason
        if damaged:
            raise DamagedError(
                f"Damaged: {_listing(damaged)}. Download the model again "
                "(`voxcap model download`) to fetch only these files.",
                tuple(damaged),
            )
        return self.status()

    def import_folder(
        self,
        source: Path,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        link: bool = False,
    ) -> ModelStatus:
        """Verify the files of a folder the user has, then copy them in (or link to them).

        Files already ready here are kept. A file that does not match is not taken, and the
        ``DamagedError`` names it; the matching ones are taken either way.
        """
        cancel = cancel or threading.Event()
        source = self._check_source(Path(source).expanduser())
        if source.resolve() == self.folder.resolve():
            return self.verify(progress, cancel)
        bad: dict[str, str] = {}  # file -> why
        with self._operation() as records:
            todo = [f for f in self.manifest.files if self._judge(f, records)[0] is not State.READY]
            absent = [f.name for f in todo if not (source / f.name).is_file()]
            if absent:
                raise BadFolderError(
                    f"{source} lacks {', '.join(absent)}. Give the folder that holds "
                    f"{self._file_names()} of {self.manifest.repo_id}."
                )
            if not link:
                self._check_space(sum(f.size for f in todo))
            for f in todo:
                if reason := self._bring_in(f, source / f.name, records, progress, cancel, link):
                    bad[f.name] = reason
        if bad:
            raise DamagedError(
                f"Not taken from {source}, as they do not match the pinned checkpoint: "
                f"{_listing(bad)}. Get those files again, or download them "
                "(`voxcap model download`).",
                tuple(bad),
            )
        return self.status()

    def remove(self) -> None:
        """Delete the model folder (links only: a Hugging Face cache copy is left alone)."""
        with FolderLock(self._lock_path):
            if self.folder.exists():
                shutil.rmtree(self.folder)

    # ----- judging files --------------------------------------------------------------------

    def _file_status(self, f: ModelFile, records: Records) -> FileStatus:
        exp = _expected(f)
        with self._active_lock:
            active = self._active.get(f.name)
        if active is not None:
            return FileStatus(f.name, active[0], exp.size, active[1])
        state, reason = self._judge(f, records)
        done = _size(self.folder / f.name) or _size(self._partial(f.name))
        cached = None
        if state in (State.MISSING, State.PARTIAL, State.DAMAGED):
            cached = self._cached(f.name)
        return FileStatus(f.name, state, exp.size, done, reason, cached)

    def _judge(self, f: ModelFile, records: Records) -> tuple[State, str]:
        """The file's state from its size, mtime and record alone."""
        path = self.folder / f.name
        exp = _expected(f)
        try:
            st = path.stat()
        except FileNotFoundError:
            if path.is_symlink():
                return State.MISSING, f"it links to {os.readlink(path)}, which is gone"
            return (State.PARTIAL if _size(self._partial(f.name)) else State.MISSING), ""
        except OSError as e:
            return State.DAMAGED, f"it cannot be read ({e.strerror})"
        if st.st_size != exp.size:
            return State.DAMAGED, f"it has {st.st_size:,} bytes instead of {exp.size:,}"
        digest = records.digest(f.name, st)
        if digest is None or (exp.git_sha1 and digest.git_sha1 is None):
            return State.UNVERIFIED, ""
        reason = _mismatch(digest, exp)
        return (State.DAMAGED if reason else State.READY), reason

    def _discrepancies(self, records: Records) -> tuple[Discrepancy, ...]:
        found = []
        for f in self.manifest.files:
            hub = records.hub(f.name)
            if hub is None:
                continue
            if hub.size != f.size:
                found.append(Discrepancy(f.name, "size", f"{f.size:,}", f"{hub.size:,}"))
            if hub.sha256 and hub.sha256 != f.sha256:
                found.append(Discrepancy(f.name, "sha256", f.sha256, hub.sha256))
            # Small files: the Hub gives a git hash; a file that matches it has the true sha256.
            digest = self._current_digest(f.name, records) if hub.git_sha1 else None
            if digest and digest.git_sha1 == hub.git_sha1 and digest.sha256 != f.sha256:
                found.append(Discrepancy(f.name, "sha256", f.sha256, digest.sha256))
        return tuple(found)

    def _current_digest(self, name: str, records: Records) -> Digest | None:
        try:
            return records.digest(name, (self.folder / name).stat())
        except OSError:
            return None

    def _cached(self, name: str) -> Path | None:
        m = self.manifest
        found = try_to_load_from_cache(m.repo_id, name, cache_dir=self._hf_cache, revision=m.revision)
        return Path(found) if isinstance(found, str) else None

    # ----- steps of download / verify / import ----------------------------------------------

    @contextmanager
    def _operation(self) -> Iterator[Records]:
        with FolderLock(self._lock_path):
            self.folder.mkdir(parents=True, exist_ok=True)
            try:
                yield Records(self.folder)
            finally:
                with self._active_lock:
                    self._active.clear()

    def _settle(
        self, f: ModelFile, records: Records, progress: ProgressCallback | None,
        cancel: threading.Event,
    ) -> bool:
        """Make ``f`` ready from what is on this computer; False if it must be downloaded."""
        state, _ = self._judge(f, records)
        if state is State.UNVERIFIED:
            state, _ = self._verify_file(f, self.folder / f.name, records, progress, cancel)
        if state is not State.READY and (cached := self._cached(f.name)) is not None:
            reason = self._bring_in(f, cached, records, progress, cancel, link=True)
            if reason:
                log.warning("not using %s from the Hugging Face cache: %s", cached, reason)
            else:
                state = State.READY
        if state is State.READY:
            _remove(self._partial(f.name))  # left over by a run that stopped after finishing
        return state is State.READY

    def _verify_file(
        self, f: ModelFile, path: Path, records: Records, progress: ProgressCallback | None,
        cancel: threading.Event,
    ) -> tuple[State, str]:
        exp = _expected(f)
        st = path.stat()  # taken first: a file changed while hashed no longer matches the record
        if st.st_size != exp.size:
            records.forget(f.name)
            records.save()
            return State.DAMAGED, f"it has {st.st_size:,} bytes instead of {exp.size:,}"
        meter = self._meter(f.name, st.st_size, State.VERIFYING, progress)
        with self._tracking(meter):
            digests = hash_file(path, exp.git_sha1 is not None, meter.update, cancel)
        records.set_digest(f.name, _digest(st, digests))
        records.save()
        reason = _mismatch(digests, exp)
        meter.finish("error" if reason else "ready")
        return (State.DAMAGED if reason else State.READY), reason

    def _fetch(
        self, remote: RemoteFile, records: Records, progress: ProgressCallback | None,
        cancel: threading.Event,
    ) -> None:
        """Download (or continue) one file, move it in place, verify it."""
        f = self.manifest.file(remote.name)
        dst, partial = self.folder / f.name, self._partial(f.name)
        _remove(dst)  # damaged or stale; its replacement is on the way
        records.forget(f.name)
        resumed = _size(partial)
        meter = self._meter(f.name, remote.facts.size, State.DOWNLOADING, progress, resumed)
        try:
            with self._tracking(meter):
                self._hub.fetch(remote, partial, meter.update, cancel)
        except (ModelError, OSError) as e:
            error = e if isinstance(e, ModelError) else write_error(e, partial)
            if kept := _size(partial):
                error = type(error)(
                    f"{error} The {human_size(kept)} of {f.name} downloaded so far are kept; "
                    "the next download continues from there."
                )
            if error is e:
                raise
            raise error from e
        os.replace(partial, dst)
        state, reason = self._verify_file(f, dst, records, progress, cancel)
        if state is State.READY:
            return
        _remove(dst)
        records.forget(f.name)
        records.save()
        if resumed:
            # The part kept from an earlier run may have been damaged (a crash, a full disk):
            # fetch the whole file once more rather than blame the server.
            log.warning("%s did not verify after resuming (%s); fetching it whole", f.name, reason)
            self._fetch(remote, records, progress, cancel)
            return
        raise DamagedError(
            f"The downloaded {f.name} does not match the pinned checkpoint ({reason}). It was "
            "deleted; try the download again.",
            (f.name,),
        )

    def _bring_in(
        self, f: ModelFile, src: Path, records: Records, progress: ProgressCallback | None,
        cancel: threading.Event, link: bool,
    ) -> str:
        """Verify ``src`` and put it in place by link or copy; the mismatch if it fails."""
        exp = _expected(f)
        st = src.stat()
        if st.st_size != exp.size:
            return f"it has {st.st_size:,} bytes instead of {exp.size:,}"
        dst = self.folder / f.name
        tmp = self.folder / f".{f.name}.new"
        _remove(tmp)
        meter = self._meter(f.name, st.st_size, State.VERIFYING, progress)
        with self._tracking(meter):
            digests = hash_file(src, exp.git_sha1 is not None, meter.update, cancel) if link else None
            if digests is not None and not _mismatch(digests, exp) and not _link(src, tmp):
                digests = None  # this system allows no link here: copy instead
            if digests is None:
                digests = self._copy(src, tmp, exp, meter, cancel)
                st = tmp.stat()
        reason = _mismatch(digests, exp)
        if reason:
            _remove(tmp)
            meter.finish("error")
            return reason
        os.replace(tmp, dst)
        placed = dst.stat()  # linking and renaming move the ctime: record it as it is now
        if (placed.st_size, placed.st_mtime_ns) == (st.st_size, st.st_mtime_ns):
            records.set_digest(f.name, _digest(placed, digests))
        records.save()
        _remove(self._partial(f.name))
        meter.finish("ready")
        return ""

    def _copy(
        self, src: Path, tmp: Path, exp: _Expected, meter: Meter, cancel: threading.Event
    ) -> Digests:
        meter.state = "copying"
        hasher = Hasher(src.stat().st_size, exp.git_sha1 is not None)
        try:
            with open(src, "rb", buffering=0) as fin, open(tmp, "wb") as fout:
                copy_hashing(fin, fout, hasher, meter.update, cancel)
        except BaseException as e:
            _remove(tmp)
            if isinstance(e, OSError):
                raise write_error(e, tmp) from e
            raise
        return hasher.digests()

    def _learn_from_hub(self, records: Records) -> None:
        """Ask the Hub once for values not yet known; offline, the recorded or pinned ones do."""
        for f in self.manifest.files:
            if records.hub(f.name) is not None:
                continue
            remote = self._hub.probe(f.name)
            if remote is None:
                return
            records.set_hub(f.name, remote.facts)
        records.save()

    def _check_space(self, needed: int) -> None:
        if needed <= 0:
            return
        free = shutil.disk_usage(self.folder).free
        if free < needed + SPARE_BYTES:
            raise DiskFullError(
                f"Not enough disk space: the model needs {human_size(needed)} more in {self.folder} "
                f"(plus {human_size(SPARE_BYTES)} to spare), and only {human_size(free)} is free. Free up "
                "space on that disk and try again."
            )

    def _partial(self, name: str) -> Path:
        return self._partials / name

    def _meter(
        self, name: str, total: int, state: State, progress: ProgressCallback | None, done: int = 0
    ) -> Meter:
        def emit(p: DownloadProgress) -> None:
            with self._active_lock:
                self._active[name] = (state, p.done)
            if progress is not None:
                progress(p)

        return Meter(name, total, str(state), emit, done)

    @contextmanager
    def _tracking(self, meter: Meter) -> Iterator[None]:
        """Reports how the work on one file ended when it ends early."""
        try:
            yield
        except Cancelled:
            meter.finish("cancelled")
            raise
        except BaseException:
            meter.finish("error")
            raise
        finally:
            with self._active_lock:
                self._active.pop(meter.file, None)

    def _check_source(self, source: Path) -> Path:
        if not source.is_dir():
            raise BadFolderError(
                f"{source} is not a folder. Give the folder that holds {self._file_names()}."
            )
        return source

    def _file_names(self) -> str:
        names = [f.name for f in self.manifest.files]
        return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


def resolve_model_dir(manifest: Manifest = DEFAULT_MANIFEST, root: Path | None = None) -> Path | None:
    """At start: the verified checkpoint folder, or None. No hashing, no network."""
    return ModelManager(manifest, root).ready_path()


def not_ready_message(status: ModelStatus) -> str:
    """What to tell a user whose model is not ready, and what to run."""
    if status.state is State.DAMAGED:
        names = ", ".join(f"{f.name} ({f.reason})" for f in status.damaged)
        return f"Damaged: {names}. Run `voxcap model download` to fetch it again."
    if status.state is State.UNVERIFIED:
        return (
            "The model files are there but not verified: never checked here, or changed since "
            "they were. Run `voxcap model verify`."
        )
    if status.state is State.PARTIAL:
        return (
            f"The model is incomplete ({human_size(status.done)} of {human_size(status.size)}). Run "
            "`voxcap model download` to finish it."
        )
    if status.state in (State.DOWNLOADING, State.VERIFYING):
        return f"The model is {status.state} now; wait for it to finish."
    return (
        "The model is not downloaded yet. Run `voxcap model download` (about "
        f"{human_size(status.size)}), or `voxcap model import DIR` if you have the files."
    )


def _expected(f: ModelFile) -> _Expected:
    """What a file must be: the pinned size and sha256, whatever a server reports."""
    return _Expected(f.size, f.sha256, None)


def _refuse_other_files(manifest: Manifest, remotes: list[RemoteFile]) -> None:
    """HubError when the server reports another size or sha256 than the pinned ones."""
    for r in remotes:
        f = manifest.file(r.name)
        differs = []
        if r.facts.size != f.size:
            differs.append(f"{r.facts.size:,} bytes instead of {f.size:,}")
        if r.facts.sha256 and r.facts.sha256 != f.sha256:
            differs.append(f"sha256 {r.facts.sha256} instead of the pinned {f.sha256}")
        elif differs:
            server_hash = r.facts.git_sha1 or "not given"
            differs.append(f"its hash {server_hash}; the pinned sha256 is {f.sha256}")
        if differs:
            raise HubError(
                f"Refused {f.name}: the server reports {', '.join(differs)} for the pinned "
                f"commit {manifest.revision[:12]}. Nothing was downloaded. Check HF_ENDPOINT "
                "(or the mirror it names), or import the files from a folder you trust."
            )


def _mismatch(d: Digest | Digests, exp: _Expected) -> str:
    """Why the digests ``d`` of a file fail what is expected of it; "" when they pass."""
    if exp.sha256 and d.sha256 != exp.sha256:
        return f"its sha256 is {d.sha256}, the pinned one {exp.sha256}"
    if exp.git_sha1 and d.git_sha1 != exp.git_sha1:
        return f"its git hash is {(d.git_sha1 or '?')[:16]}…, the Hub has {exp.git_sha1[:16]}…"
    return ""


def _digest(st: os.stat_result, digests: Digests) -> Digest:
    return Digest(st.st_size, st.st_mtime_ns, digests.sha256, digests.git_sha1, st.st_ctime_ns)


def _link(src: Path, dst: Path) -> bool:
    """A symbolic link, else a hard link; False where the system allows neither."""
    try:
        os.symlink(src.resolve(), dst)
        return True
    except OSError:
        pass
    try:
        os.link(src.resolve(), dst)
        return True
    except OSError:
        return False


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # absent, or holds a partial download of a file still to come


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _listing(reasons: dict[str, str]) -> str:
    return "; ".join(f"{name} ({why})" for name, why in reasons.items())
