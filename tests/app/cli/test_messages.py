"""One rule for every command: output formats, the error prefix, success lines, honest help."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.cli import main
from tests.tiny_checkpoint import write_checkpoint

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("VOXCAP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOXCAP_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("tiny"), seed=1)


@pytest.fixture
def wav(tmp_path) -> Path:
    path = tmp_path / "a.wav"
    sf.write(path, np.zeros(8000, np.float32), 16000)
    return path


@pytest.mark.parametrize("command", [
    ["transcribe", "{wav}", "--model", "{tiny}"],
    ["live", "--source", "{wav}", "--model", "{tiny}"],
    ["sessions", "export", "x"],
])
def test_an_unknown_output_extension_is_refused_with_the_list(command, tiny, wav, tmp_path,
                                                             capsys):
    out = tmp_path / "a.docx"
    argv = [a.format(wav=wav, tiny=tiny) for a in command] + ["-o", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"voxcap {command[0]}: ") and "a.docx" in err
    assert ".srt" in err and ".vtt" in err and "--format" in err
    assert not out.exists()


def test_success_line_names_the_file(tiny, wav, tmp_path, capsys):
    out = tmp_path / "a.srt"
    assert main(["transcribe", str(wav), "--model", str(tiny), "-o", str(out)]) == 0
    assert f"Wrote {out} (srt)." in capsys.readouterr().err


def test_model_remove_with_nothing_downloaded_says_so(capsys):
    assert main(["model", "remove", "--yes"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("Nothing to remove: no model files are downloaded")


def test_model_status_help_matches_what_it_shows_offline(capsys):
    help_text = subprocess.run([sys.executable, "-m", "app", "model", "--help"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout
    words = " ".join(help_text.split())
    assert "what the Hub reports" not in words and "state and size (no network)" in words
    assert main(["model", "status"]) == 0
    shown = capsys.readouterr().out
    assert "State:" in shown and "Hub" not in shown


def test_loading_counts_up_on_a_terminal_and_stays_out_of_pipes(tiny, wav, tmp_path):
    import os
    import pty

    cmd = [sys.executable, "-m", "app.cli", "transcribe", str(wav), "--model", str(tiny)]
    env = {**os.environ, "VOXCAP_DATA_DIR": str(tmp_path / "d"),
           "VOXCAP_CONFIG_DIR": str(tmp_path / "c")}
    piped = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=REPO, env=env,
                           timeout=120)
    assert piped.returncode == 0, piped.stderr
    assert "loading" not in piped.stderr and "\r" not in piped.stderr

    leader, follower = pty.openpty()
    with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=follower, cwd=REPO,
                          env=env) as proc:
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            seen += chunk
        assert proc.wait(120) == 0
    os.close(leader)
    text = seen.decode()
    assert "\rvoxcap: loading the speech model… 100%" in text
    assert text.count("loading the speech model") >= 2  # it counted up, one line rewritten
