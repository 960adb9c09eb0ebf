"""Model manager faults: retrying on a disk that is still full, and saying which of "not
downloaded", "damaged" or "not verified" keeps a command from loading the model."""
from __future__ import annotations

import argparse
import errno
import os
import shutil

import pytest

import app.models
from app import atomic
from app.commands import common
from app.models import DiskFullError
from tests.app.models.conftest import BIG


def full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_space(*args: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(
        shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**12, 10**12 - 10**6, 10**6)
    )
    monkeypatch.setattr(atomic.os, "write", no_space)


def test_a_retry_on_a_still_full_disk_gives_the_disk_full_message(manager, monkeypatch):
    full_disk(monkeypatch)
    for _ in range(2):  # the first try, then the retry
        with pytest.raises(DiskFullError, match="disk space|disk filled up"):
            manager.download()


def test_a_full_disk_while_saving_the_record_is_a_message_not_a_traceback(ready, make_manager,
                                                                          monkeypatch):
    (ready.folder / BIG).touch()  # needs hashing again, then saving the record
    full_disk(monkeypatch)
    with pytest.raises(DiskFullError, match="disk filled up"):
        make_manager().download()


def load(monkeypatch: pytest.MonkeyPatch, manager, capsys) -> str:
    monkeypatch.setattr(app.models, "ModelManager", lambda: manager)
    args = argparse.Namespace(model=None, device=None, dtype=None, delay_ms=480)
    assert common.load_engine(args) == 1
    return capsys.readouterr().err


def test_no_model_yet_is_said_only_when_there_is_none(manager, monkeypatch, capsys):
    err = load(monkeypatch, manager, capsys)
    assert "not downloaded yet" in err and "--model DIR" in err


def test_a_damaged_model_is_called_damaged(ready, monkeypatch, capsys):
    with open(ready.folder / BIG, "r+b") as f:
        f.truncate(1000)
    err = load(monkeypatch, ready, capsys)
    assert "Damaged" in err and BIG in err and "not downloaded" not in err


def test_an_unverified_model_is_called_unverified(ready, monkeypatch, capsys):
    (ready.folder / BIG).touch()
    err = load(monkeypatch, ready, capsys)
    assert "not verified" in err and "voxcap model verify" in err and "not downloaded" not in err
