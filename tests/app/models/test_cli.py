"""``voxcap model``: output and exit codes (0 ok, 1 failure, 2 bad usage or unusable folder)."""
from __future__ import annotations

import argparse
import dataclasses

import pytest

from app.commands import model as model_cmd
from app.models import ModelManager
from tests.app.models.conftest import BIG, flip_byte


@pytest.fixture
def voxcap(make_manager, monkeypatch, capsys):
    """Runs ``voxcap model ARGS`` in this process; returns (exit code, stdout, stderr)."""
    managers: list[ModelManager] = []

    def make() -> ModelManager:
        managers.append(make_manager())
        return managers[-1]

    monkeypatch.setattr(model_cmd, "make_manager", make)

    def run(*argv: str) -> tuple[int, str, str]:
        parser = argparse.ArgumentParser(prog="voxcap")
        model_cmd.register(parser.add_subparsers(dest="command"))
        args = parser.parse_args(["model", *argv])
        code = args.func(args)
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return run


def test_status_of_a_fresh_install_says_what_to_do(voxcap):
    code, out, _ = voxcap("status")
    assert code == 0
    assert "State:   missing" in out and "voxcap model download" in out


def test_download_shows_progress_then_the_folder(voxcap, manager):
    code, out, err = voxcap("download")
    assert code == 0
    assert out.strip() == f"Model ready: {manager.folder}"
    for step in ("downloading", "verifying", "ready"):
        assert f"{BIG}: {step}" in err
    code, out, _ = voxcap("status")
    assert "State:   ready" in out and f"{BIG}  ready" in out


def test_path_prints_the_folder_only_when_ready(voxcap, manager):
    code, out, err = voxcap("path")
    assert (code, out) == (1, "") and "not downloaded yet" in err
    voxcap("download")
    code, out, _ = voxcap("path")
    assert (code, out.strip()) == (0, str(manager.folder))


def test_verify_names_a_damaged_file(voxcap, manager):
    voxcap("download")
    assert voxcap("verify")[0] == 0
    flip_byte(manager.folder / BIG)
    code, _, err = voxcap("verify")
    assert code == 1 and f"Damaged: {BIG}" in err
    code, out, _ = voxcap("status")
    assert f"{BIG}  damaged" in out and "voxcap model download" in out


def test_import_exit_codes(voxcap, tmp_path, hub):
    assert voxcap("import", str(tmp_path / "nowhere"))[0] == 2
    folder = tmp_path / "copy"
    folder.mkdir()
    for name, data in hub.files.items():
        (folder / name).write_bytes(data)
    flip_byte(folder / BIG)
    code, _, err = voxcap("import", str(folder))
    assert code == 1 and BIG in err
    (folder / BIG).write_bytes(hub.files[BIG])
    code, out, _ = voxcap("import", "--link", str(folder))
    assert code == 0 and "Model ready" in out


def test_failures_are_messages_with_exit_code_1(voxcap, hub):
    hub.gated = True
    code, _, err = voxcap("download")
    assert code == 1 and err.startswith("voxcap model: ") and "accept" in err


def test_status_shows_a_hub_discrepancy(monkeypatch, voxcap, manifest, hub, hf_cache):
    pinned = tuple(
        dataclasses.replace(f, sha256="0" * 64) if f.name == BIG else f for f in manifest.files
    )
    manager = ModelManager(
        dataclasses.replace(manifest, files=pinned), endpoint=hub.url, hf_cache=hf_cache
    )
    monkeypatch.setattr(model_cmd, "make_manager", lambda: manager)
    code, out, err = voxcap("download")
    assert code == 1 and "Model ready" not in out
    assert "0" * 64 in err and manifest.file(BIG).sha256 in err and BIG in err
    code, out, _ = voxcap("status")
    assert code == 0 and "The Hub differs" in out and "0" * 64 in out


def test_remove_deletes_the_model(voxcap, manager):
    voxcap("download")
    code, _, err = voxcap("remove", "--yes")
    assert code == 0 and "Removed" in err and not manager.folder.exists()
    assert "State:   missing" in voxcap("status")[1]


@pytest.mark.parametrize("argv", [[], ["import"], ["fetch"]])
def test_bad_usage_exits_2(voxcap, argv):
    with pytest.raises(SystemExit) as exit_:
        voxcap(*argv)
    assert exit_.value.code == 2
