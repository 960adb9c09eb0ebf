"""`voxcap transcribe`: any readable file in, the engine's transcript out, clear errors."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import soxr

import engine
from app.cli import main
from tests.engine.conftest import chirp
from tests.tiny_checkpoint import write_checkpoint


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_checkpoint(tmp_path_factory.mktemp("tiny"), seed=1)  # writes text for chirps


@pytest.fixture(scope="module")
def stereo_44k(tmp_path_factory):
    mono16 = chirp(2.0, seed=5)
    mono44 = soxr.resample(mono16, 16000, 44100).astype(np.float32)
    path = tmp_path_factory.mktemp("audio") / "talk.flac"
    sf.write(path, np.stack([mono44, 0.5 * mono44], axis=1), 44100)
    return path


def test_json_holds_the_engines_transcript(model_dir, stereo_44k, tmp_path, capsys):
    out = tmp_path / "t.json"
    assert main(["transcribe", str(stereo_44k), "--model", str(model_dir), "--output", str(out),
                 "--delay-ms", "160"]) == 0
    doc = json.loads(out.read_text())
    data, rate = sf.read(stereo_44k, dtype="float32", always_2d=True)
    audio = soxr.resample(data.mean(axis=1), rate, 16000, quality="HQ").astype(np.float32)
    expect = engine.load_model(model_dir).transcribe(audio, delay_ms=160)
    assert doc["tokens"] == expect.tokens
    assert doc["text"] == expect.text.strip()
    assert [p["text"] for p in doc["pieces"]] == [p.text for p in expect.pieces]
    assert all(p["start"] < p["end"] for p in doc["pieces"])
    assert doc["duration"] == pytest.approx(2.0, abs=1e-3)


def test_txt_to_stdout_and_srt_by_extension(model_dir, stereo_44k, tmp_path, capsys):
    assert main(["transcribe", str(stereo_44k), "--model", str(model_dir)]) == 0
    printed = capsys.readouterr().out.strip()
    srt = tmp_path / "t.srt"
    assert main(["transcribe", str(stereo_44k), "--model", str(model_dir), "-o", str(srt)]) == 0
    body = srt.read_text()

    assert printed, "the tiny model should produce text for this file"
    assert body.startswith("1\n") and " --> " in body
    cue_words = "".join(line for line in body.splitlines() if line and "-->" not in line
                        and not line.isdigit())
    assert cue_words.replace(" ", "") == printed.replace(" ", "").replace("\n", "")



@pytest.mark.parametrize("content", [b"", b"this is not audio at all" * 10])
def test_bad_files_exit_2_with_one_line(model_dir, tmp_path, capsys, content):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(content)
    assert main(["transcribe", str(bad), "--model", str(model_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("voxcap transcribe: ") and "\n" not in err and "bad.wav" in err


def test_missing_file_and_bad_model(model_dir, stereo_44k, tmp_path, capsys):
    assert main(["transcribe", str(tmp_path / "nope.wav"), "--model", str(model_dir)]) == 2
    assert main(["transcribe", str(stereo_44k), "--model", str(tmp_path)]) == 2
    assert "params.json" in capsys.readouterr().err


def test_bad_delay_is_usage_error(model_dir, stereo_44k):
    with pytest.raises(SystemExit) as info:
        main(["transcribe", str(stereo_44k), "--model", str(model_dir), "--delay-ms", "100"])
    assert info.value.code == 2


def test_damaged_samples_are_repaired_and_reported_once(model_dir, tmp_path, capsys):
    audio = chirp(2.0, seed=6)
    audio[[10, 2000, 9000]] = [np.nan, np.inf, 1e30]
    path = tmp_path / "damaged.wav"
    sf.write(path, audio, 16000, subtype="FLOAT")
    out = tmp_path / "t.json"
    assert main(["transcribe", str(path), "--model", str(model_dir), "--dtype", "float32",
                 "-o", str(out)]) == 0
    repaired = np.clip(np.where(np.isfinite(audio), audio, 0.0), -1, 1).astype(np.float32)
    expect = engine.load_model(model_dir).transcribe(repaired)
    assert expect.text and json.loads(out.read_text())["text"] == expect.text.strip()
    # One warning line beside the lines on the precision and the file written.
    err = [line for line in capsys.readouterr().err.splitlines() if "samples were" in line]
    assert len(err) == 1 and "damaged.wav" in err[0]
    assert "2 samples were not numbers" in err[0] and "1 samples were outside" in err[0]


def test_subtitles_end_with_the_audio(model_dir, stereo_44k, tmp_path):
    import srt

    for fmt in ("srt", "json"):
        out = tmp_path / f"t.{fmt}"
        assert main(["transcribe", str(stereo_44k), "--model", str(model_dir), "-o",
                     str(out)]) == 0
    cues = list(srt.parse((tmp_path / "t.srt").read_text()))
    assert cues and max(c.end.total_seconds() for c in cues) <= 2.0
    pieces = json.loads((tmp_path / "t.json").read_text())["pieces"]
    assert max(p["end"] for p in pieces) <= 2.0
