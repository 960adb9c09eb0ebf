"""Verification: records that spare a restart from hashing, damaged files named and fetched
again, the Hub's values winning over the pinned table, and a ready model opening offline."""
from __future__ import annotations

import dataclasses
import os
import socket

import pytest

from app.models import (
    DamagedError,
    ModelFile,
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


def test_verify_hashes_even_when_size_and_mtime_look_unchanged(ready, make_manager):
    flip_byte(ready.folder / BIG, keep_mtime=True)
    manager = make_manager()
    assert manager.status().ready  # the quick check trusts size and mtime ...
    with pytest.raises(DamagedError):
        manager.verify()  # ... the full one does not
    assert manager.status().state is State.DAMAGED


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


@pytest.mark.parametrize("wrong", ["params.json", BIG])  # a git file and an LFS file
def test_the_hub_value_wins_and_the_difference_is_shown(hub, manifest, hf_cache, wrong):
    pinned = tuple(
        dataclasses.replace(f, sha256="0" * 64) if f.name == wrong else f for f in manifest.files
    )
    manager = ModelManager(
        dataclasses.replace(manifest, files=pinned), endpoint=hub.url, hf_cache=hf_cache
    )
    assert manager.download().ready
    (d,) = manager.status().discrepancies
    assert (d.file, d.field, d.pinned) == (wrong, "sha256", "0" * 64)
    assert d.hub == manifest.file(wrong).sha256
    assert "the Hub's value is used" in str(d)
    # Offline later, the Hub's value recorded for this commit still holds.
    offline = ModelManager(dataclasses.replace(manifest, files=pinned), endpoint="http://127.0.0.1:9")
    assert offline.status().ready and offline.verify().ready


def test_size_difference_is_shown(hub, manifest, hf_cache):
    pinned = tuple(
        ModelFile(f.name, f.size + 1, f.sha256) if f.name == BIG else f for f in manifest.files
    )
    manager = ModelManager(
        dataclasses.replace(manifest, files=pinned), endpoint=hub.url, hf_cache=hf_cache
    )
    assert manager.download().ready
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
