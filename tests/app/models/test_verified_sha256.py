"""The verified sha256 of a weights file, for storing quantised weights beside it: given only
while the file is verified and unchanged, and without hashing it again."""
from __future__ import annotations

from app.models import manager as manager_module
from tests.app.models.conftest import BIG, flip_byte


def test_ready_file_gives_its_verified_sha256_without_hashing(ready, manifest, monkeypatch):
    def no_hashing(*_args, **_kwargs):
        raise AssertionError("the recorded digest should be used")

    monkeypatch.setattr(manager_module, "hash_file", no_hashing)
    assert ready.verified_sha256(BIG) == manifest.file(BIG).sha256


def test_changed_or_missing_file_gives_none(ready):
    flip_byte(ready.folder / BIG)  # mtime changes: no longer verified
    assert ready.verified_sha256(BIG) is None
    (ready.folder / BIG).unlink()
    assert ready.verified_sha256(BIG) is None


def test_before_any_download_gives_none(manager):
    assert manager.verified_sha256(BIG) is None
