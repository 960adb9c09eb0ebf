"""Files the user already has: a Hugging Face cache at the pinned revision, or a folder to import
(copied or linked), each verified before it is used."""
from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import hf_hub_download

from app.models import BadFolderError, DamagedError, State
from tests.app.models.conftest import BIG, flip_byte


@pytest.fixture
def cached(hub, hf_cache) -> dict[str, Path]:
    """The checkpoint in a Hugging Face cache, put there by huggingface_hub itself."""
    paths = {
        name: Path(hf_hub_download(
            hub.repo_id, name, revision=hub.revision, cache_dir=hf_cache, endpoint=hub.url
        ))
        for name in hub.files
    }
    hub.log.clear()
    return paths


@pytest.fixture
def source(tmp_path, hub) -> Path:
    """A folder holding the checkpoint, as `hf download --local-dir` or a USB stick leaves it."""
    folder = tmp_path / "usb" / "voxtral"
    folder.mkdir(parents=True)
    for name, data in hub.files.items():
        (folder / name).write_bytes(data)
    return folder


def test_hugging_face_cache_copy_is_used_in_place(manager, hub, cached):
    status = manager.status()
    assert status.state is State.MISSING
    assert {f.name: f.cached for f in status.files} == cached

    assert manager.download().ready

    assert hub.log == []  # not one request: everything came from the cache
    for name, path in cached.items():
        placed = manager.folder / name
        assert placed.is_symlink() and placed.resolve() == path.resolve()
        assert placed.read_bytes() == hub.files[name]


def test_damaged_cache_copy_is_left_alone_and_downloaded_instead(manager, hub, cached):
    blob = cached[BIG].resolve()
    flip_byte(blob)
    assert manager.download().ready
    assert [s.file for s in hub.requests("data")] == [BIG]
    assert not (manager.folder / BIG).is_symlink()
    assert (manager.folder / BIG).read_bytes() == hub.files[BIG]
    assert blob.read_bytes() != hub.files[BIG]  # the cache is not ours to repair


def test_import_copies_a_good_folder(manager, hub, source):
    events = []
    status = manager.import_folder(source, progress=events.append)
    assert status.ready and hub.log == []
    for name, data in hub.files.items():
        placed = manager.folder / name
        assert not placed.is_symlink() and placed.read_bytes() == data
    assert {e.state for e in events} >= {"copying", "ready"}


def test_import_links_a_good_folder(manager, hub, source):
    assert manager.import_folder(source, link=True).ready
    for name in hub.files:
        assert (manager.folder / name).resolve() == (source / name).resolve()


def test_import_of_a_bad_folder_takes_only_the_good_files(manager, source):
    flip_byte(source / BIG)
    with pytest.raises(DamagedError) as err:
        manager.import_folder(source)
    assert err.value.files == (BIG,) and str(source) in str(err.value)
    states = {f.name: f.state for f in manager.status().files}
    assert states == {"params.json": State.READY, "tekken.json": State.READY, BIG: State.MISSING}


def test_import_needs_a_folder_with_the_files(manager, source, tmp_path):
    (source / "tekken.json").unlink()
    with pytest.raises(BadFolderError, match="lacks tekken.json"):
        manager.import_folder(source)
    with pytest.raises(BadFolderError, match="is not a folder"):
        manager.import_folder(tmp_path / "nowhere")
    assert manager.status().state is State.MISSING


def test_a_linked_file_that_disappears_is_reported(manager, source):
    manager.import_folder(source, link=True)
    (source / BIG).unlink()
    status = manager.status()
    assert status.files[-1].state is State.MISSING
    assert "which is gone" in status.files[-1].reason


def test_remove_deletes_links_not_what_they_point_to(manager, source, hub):
    manager.import_folder(source, link=True)
    manager.remove()
    assert not manager.folder.exists()
    assert manager.status().state is State.MISSING
    assert all((source / n).read_bytes() == d for n, d in hub.files.items())
