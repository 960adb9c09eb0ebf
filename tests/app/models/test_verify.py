"""Verification: records that spare a restart from hashing, damaged files named and fetched
again, the pinned table winning over what a server reports, and a ready model opening offline."""
from __future__ import annotations

import dataclasses
import json
import os
import socket

import pytest

from app.models import (
    DamagedError,
    HubError,
    ModelManager,
    NotReadyError,
    State,
    resolve_model_dir,
)
from app.models import manager as manager_module
from tests.app.models.conftest import BIG, flip_byte


@pytest.fixture
def hash_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the files the manager hashes from now on."""
    calls: list[str] = []
    real = manager_module.hash_file

    def counting(path, *args, **kwargs):
        calls.append(path.name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(manager_module, "hash_file", counting)
    return calls


def test_a_restart_does_not_hash_again(ready, make_manager, hub, hash_calls):
    requests = len(hub.log)
    again = make_manager()
    assert again.status().ready
    assert again.path() == ready.folder
    assert again.download().ready
    assert hash_calls == [] and len(hub.log) == requests


def test_a_changed_file_is_verified_again(ready, make_manager, hub, hash_calls):
    path = ready.folder / BIG
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    again = make_manager()
    assert again.status().files[-1].state is State.UNVERIFIED
    with pytest.raises(NotReadyError, match="voxcap model verify"):
        again.path()
    requests = len(hub.log)
    assert again.download().ready
    assert hash_calls == [BIG] and len(hub.log) == requests  # hashed, not downloaded


def test_flipped_byte_is_named_and_fetched_again(ready, make_manager, hub):
    flip_byte(ready.folder / BIG)
    manager = make_manager()
    with pytest.raises(DamagedError) as err:
        manager.verify()
    assert err.value.files == (BIG,) and BIG in str(err.value)
    status = manager.status()
    assert status.state is State.DAMAGED
    assert status.damaged[0].name == BIG and "sha256" in status.damaged[0].reason
    assert resolve_model_dir(manager.manifest) is None
    served = {name: hub.served(name) for name in hub.files}

    assert manager.download().ready

    assert hub.served(BIG) - served[BIG] == len(hub.files[BIG])
    assert all(hub.served(n) == served[n] for n in hub.files if n != BIG)  # only the bad one
    assert (manager.folder / BIG).read_bytes() == hub.files[BIG]


def test_a_file_changed_with_its_mtime_put_back_is_sent_to_verification(ready, make_manager):
    flip_byte(ready.folder / BIG, keep_mtime=True)
    manager = make_manager()
    assert manager.status().files[-1].state is State.UNVERIFIED  # the ctime moved
    assert resolve_model_dir(manager.manifest, manager.folder.parent) is None
    with pytest.raises(NotReadyError, match="not verified"):
        manager.path()
    with pytest.raises(DamagedError):
        manager.verify()
    assert manager.status().state is State.DAMAGED


def test_records_without_a_ctime_are_verified_again(ready, make_manager, hash_calls):
    record = ready.folder / ".record.json"
    data = json.loads(record.read_text())
    for digest in data["files"].values():
        del digest["ctime_ns"]
    record.write_text(json.dumps(data))
    manager = make_manager()
    assert manager.status().state is State.UNVERIFIED and hash_calls == []
    assert manager.verify().ready


def test_wrong_size_is_damaged_without_hashing(ready, make_manager, hash_calls):
    with open(ready.folder / BIG, "r+b") as f:
        f.truncate(1000)
    status = make_manager().status()
    assert status.files[-1].state is State.DAMAGED
    assert "1,000 bytes instead of 2,500,000" in status.files[-1].reason
    assert hash_calls == []


def test_verify_of_a_missing_model_reports_it(manager, hash_calls):
    status = manager.verify()
    assert status.state is State.MISSING and hash_calls == []


def pinned_otherwise(manifest, name: str, **change: object):
    return dataclasses.replace(manifest, files=tuple(
        dataclasses.replace(f, **change) if f.name == name else f for f in manifest.files))


def test_a_server_reporting_another_sha256_is_refused(hub, manifest, hf_cache):
    pinned = pinned_otherwise(manifest, BIG, sha256="0" * 64)
    manager = ModelManager(pinned, endpoint=hub.url, hf_cache=hf_cache)
    with pytest.raises(HubError) as refused:
        manager.download()
    message = str(refused.value)
    assert BIG in message and "0" * 64 in message and manifest.file(BIG).sha256 in message
    assert hub.requests("data") == []  # refused before any download
    assert not manager.status().ready and manager.ready_path() is None
    (d,) = manager.status().discrepancies
    assert (d.file, d.field, d.pinned) == (BIG, "sha256", "0" * 64)
    assert "the pinned value is kept" in str(d)


def test_a_small_file_whose_bytes_differ_from_the_pin_is_refused(hub, manifest, hf_cache):
    # Files kept in git get a git hash from the server, not a sha256: the bytes are checked.
    pinned = pinned_otherwise(manifest, "params.json", sha256="0" * 64)
    manager = ModelManager(pinned, endpoint=hub.url, hf_cache=hf_cache)
    with pytest.raises(DamagedError) as refused:
        manager.download()
    message = str(refused.value)
    assert "params.json" in message and "0" * 64 in message
    assert manifest.file("params.json").sha256 in message
    assert not manager.status().ready


def test_a_server_reporting_another_size_is_refused(hub, manifest, hf_cache):
    pinned = pinned_otherwise(manifest, BIG, size=manifest.file(BIG).size + 1)
    manager = ModelManager(pinned, endpoint=hub.url, hf_cache=hf_cache)
    with pytest.raises(HubError, match=f"Refused {BIG}: the server reports 2,500,000 bytes"):
        manager.download()
    fields = {(d.file, d.field) for d in manager.status().discrepancies}
    assert fields == {(BIG, "size")}


def test_a_ready_model_opens_with_no_network_at_all(ready, monkeypatch, hash_calls):
    def no_network(*args, **kwargs):
        raise AssertionError("a network call was made")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    assert resolve_model_dir(ready.manifest) == ready.folder
    manager = ModelManager(ready.manifest)  # default endpoint: the real Hub, never contacted
    assert manager.path() == ready.folder
    assert manager.status().ready and manager.download().ready
    assert hash_calls == []
