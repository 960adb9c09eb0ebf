"""`voxcap live` when the disk fails under the session: the output is still written, the session
keeps what was saved, one line says so, and the exit status says "partial"."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from app.cli import main
from app.commands import live
from app.transcript import list_sessions, load_segments, sessions


@pytest.fixture(autouse=True)
def private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXCAP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOXCAP_CONFIG_DIR", str(tmp_path / "config"))


def full_disk(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_at_close_still_writes_the_output(
    chirp_files, model_dir, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "elsewhere" / "live.txt"
    out.parent.mkdir()
    monkeypatch.setattr(sessions, "_update_meta", full_disk)  # the summary cannot be written
    code = main(["live", "--model", str(model_dir), "--source", str(chirp_files[0][0]),
                 "--fast", "-o", str(out)])
    err = capsys.readouterr().err
    assert code == live.PARTIAL == 3
    assert out.read_text(encoding="utf-8").strip()
    # Besides the progress lines, one line about the session, no traceback.
    progress = ("voxcap live: loading", "voxcap live: listening", "Wrote ", "voxcap: cpu")
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith(progress)]
    assert len(lines) == 1 and "Traceback" not in err
    assert "could not be saved completely" in lines[0] and "No space left" in lines[0]
    (info,) = list_sessions()
    assert not info.closed and info.id in lines[0]  # kept as far as it was saved
    assert load_segments(info.id)


def test_the_exit_status_for_partial_is_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["live", "--help"])
    assert "3 partial" in " ".join(capsys.readouterr().out.split())


def test_no_transcripts_kept_when_the_setting_says_so(chirp_files, model_dir, tmp_path):
    from app import settings

    settings.save(settings.Settings(keep_transcripts=False))
    out = tmp_path / "live.txt"
    code = main(["live", "--model", str(model_dir), "--source", str(chirp_files[0][0]),
                 "--fast", "-o", str(out)])
    assert code == 0 and out.read_text(encoding="utf-8").strip()
    assert list_sessions() == []


@pytest.mark.parametrize("source", ["missing.wav", "mic:no such device"])
def test_a_failed_start_leaves_no_session(model_dir, tmp_path, source):
    if source.endswith(".wav"):
        source = str(tmp_path / source)
    code = main(["live", "--model", str(model_dir), "--source", source, "--seconds", "1"])
    assert code != 0
    assert list_sessions() == []
