"""Files as meeting recorders write them: containers, videos, crashed WAVs, no audio, and stereo
whose channels cancel; each one transcribed with a tiny checkpoint through `voxcap transcribe`."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from app.audio import SourceUnavailable, open_source
from app.audio.convert import Converter, downmix
from app.audio.decode import NoAudio, open_audio
from app.audio.load import FileBlocks
from app.cli import main
from tests.app.audio.support import gather, has_end, samples
from tests.engine.conftest import chirp
from tests.tiny_checkpoint import write_checkpoint

RATE = 48000
SECONDS = 2.0


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("tiny"), seed=1)  # writes text for chirps


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two seconds of a chirp, 48 kHz stereo, 16-bit WAV (what the containers below carry)."""
    mono = soxr.resample(chirp(SECONDS, seed=5), 16000, RATE).astype(np.float32)
    path = tmp_path_factory.mktemp("audio") / "talk.wav"
    sf.write(path, np.stack([mono, 0.8 * mono], axis=1), RATE, subtype="PCM_16")
    return path


def ffmpeg(*args: str) -> None:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True)


def transcribe(path: Path, model_dir: Path, tmp_path: Path) -> dict:
    out = tmp_path / f"{path.name}.json"
    assert main(["transcribe", str(path), "--model", str(model_dir), "-o", str(out),
                 "--delay-ms", "160"]) == 0
    return json.loads(out.read_text(encoding="utf-8"))


def decoded(path: Path) -> np.ndarray:
    """Every 16 kHz mono sample voxcap reads from ``path``."""
    with FileBlocks(path) as blocks:
        return np.concatenate(list(blocks))


def zero_size_fields(wav: Path, out: Path) -> Path:
    """The WAV a recorder leaves when it crashes before writing the RIFF and data sizes."""
    data = bytearray(wav.read_bytes())
    data[4:8] = bytes(4)
    at = data.find(b"data")
    data[at + 4 : at + 8] = bytes(4)
    out.write_bytes(bytes(data))
    return out


# -- 2: a downmix that cannot cancel ----------------------------------------------------------


def test_downmix_rule() -> None:
    x = chirp(0.5, seed=2)
    assert np.array_equal(downmix(np.stack([x, -x], axis=1)), x)  # mean would be silence
    assert np.array_equal(downmix(np.stack([0.1 * x, -x], axis=1)), -x)  # the strongest
    assert np.array_equal(downmix(np.stack([x, np.zeros_like(x)], axis=1)), x)  # 6.02 dB lost
    near = np.stack([x, 0.5 * x], axis=1)  # the mean loses 2.5 dB: kept
    np.testing.assert_allclose(downmix(near), 0.75 * x, rtol=1e-6)
    noise = np.random.default_rng(0).standard_normal((8000, 2)).astype(np.float32)
    np.testing.assert_allclose(downmix(noise), noise.mean(axis=1), rtol=1e-6)  # -3 dB: kept
    assert downmix(np.zeros((100, 2), np.float32)).shape == (100,)


def test_opposite_phase_stereo_transcribes_like_one_channel(
    model_dir: Path, tmp_path: Path
) -> None:
    mono = soxr.resample(chirp(SECONDS, seed=5), 16000, RATE).astype(np.float32)
    left_only = tmp_path / "left.wav"
    sf.write(left_only, mono, RATE, subtype="FLOAT")
    opposed = tmp_path / "opposed.wav"
    sf.write(opposed, np.stack([mono, -mono], axis=1), RATE, subtype="FLOAT")

    got, expect = transcribe(opposed, model_dir, tmp_path), transcribe(left_only, model_dir, tmp_path)
    assert got["text"] and got["tokens"] == expect["tokens"]
    np.testing.assert_array_equal(decoded(opposed), decoded(left_only))


def test_live_capture_downmixes_by_the_same_rule() -> None:
    x = chirp(1.0, seed=3)
    conv = Converter("mic")
    conv.begin(16000)
    out = conv.feed(np.stack([x, -x], axis=1)) + conv.flush()
    np.testing.assert_allclose(np.concatenate([c.samples for c in out]), x, atol=1e-4)


# -- 3: what meeting recorders write ----------------------------------------------------------

CONTAINERS = {  # name: ffmpeg arguments after the input, lossless ones decode to the same samples
    "talk.m4a": ["-c:a", "aac", "-b:a", "128k"],
    "talk.webm": ["-c:a", "libopus", "-b:a", "96k"],
    "talk.mkv": ["-c:a", "flac"],
    "talk.mov": ["-c:a", "pcm_s16le"],
}
LOSSLESS = {"talk.mkv", "talk.mov"}


@pytest.mark.parametrize("name", sorted(CONTAINERS))
def test_containers_transcribe(name: str, talk: Path, model_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / name
    ffmpeg("-i", str(talk), *CONTAINERS[name], str(path))
    doc = transcribe(path, model_dir, tmp_path)
    assert doc["duration"] == pytest.approx(SECONDS, abs=0.05)
    if name in LOSSLESS:
        np.testing.assert_array_equal(decoded(path), decoded(talk))
        assert doc["tokens"] == transcribe(talk, model_dir, tmp_path)["tokens"]
    else:  # a lossy codec: the same sound, not the same samples
        got, ref = decoded(path), decoded(talk)
        n = min(len(got), len(ref))
        assert np.corrcoef(got[:n], ref[:n])[0, 1] > 0.9


def test_a_videos_audio_track_transcribes(talk: Path, model_dir: Path, tmp_path: Path) -> None:
    video = tmp_path / "meeting.mp4"
    ffmpeg("-f", "lavfi", "-i", f"color=c=blue:s=64x48:d={SECONDS}", "-i", str(talk),
           "-c:v", "mpeg4", "-c:a", "pcm_s16le", "-shortest", str(video.with_suffix(".mov")))
    ffmpeg("-i", str(video.with_suffix(".mov")), "-c:v", "copy", "-c:a", "aac", str(video))
    for path in (video, video.with_suffix(".mov")):
        assert transcribe(path, model_dir, tmp_path)["duration"] == pytest.approx(SECONDS, abs=0.05)
    np.testing.assert_array_equal(decoded(video.with_suffix(".mov")), decoded(talk))


def test_a_wav_with_zero_size_fields_reads_whole(talk: Path, model_dir: Path,
                                                  tmp_path: Path) -> None:
    crashed = zero_size_fields(talk, tmp_path / "crashed.wav")
    assert sf.info(str(crashed)).frames == 0  # what libsndfile makes of it
    np.testing.assert_array_equal(decoded(crashed), decoded(talk))
    assert transcribe(crashed, model_dir, tmp_path)["tokens"] == transcribe(
        talk, model_dir, tmp_path)["tokens"]
    src = open_source(str(crashed), realtime=False)  # the file source reads it the same way
    src.start()
    np.testing.assert_array_equal(samples(gather(src, has_end)), decoded(talk))


def test_reopening_a_decoded_file_resumes_where_it_stopped(talk: Path, tmp_path: Path) -> None:
    crashed = zero_size_fields(talk, tmp_path / "crashed.wav")
    whole = open_audio(crashed).read(10**6)
    resumed = open_audio(crashed, start=12345)
    np.testing.assert_array_equal(resumed.read(10**6), whole[12345:])
    resumed.close()
    assert resumed.closed


def test_files_without_audio_say_so_and_exit_2(model_dir: Path, tmp_path: Path, capsys) -> None:
    header = tmp_path / "header.wav"
    sf.write(header, np.zeros((0, 1), np.float32), 16000)
    silent_video = tmp_path / "screen.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=64x48:d=1", "-c:v", "mpeg4", str(silent_video))
    for path, why in ((header, "holds no audio"), (silent_video, "has no audio track")):
        assert main(["transcribe", str(path), "--model", str(model_dir)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("voxcap transcribe: ") and "\n" not in err
        assert path.name in err and why in err
        with pytest.raises(NoAudio, match=why):
            open_source(str(path)).start()
    empty = tmp_path / "empty.m4a"
    empty.write_bytes(b"")
    with pytest.raises(SourceUnavailable, match="empty"):
        open_audio(empty)
