"""Hostile input: samples that are not numbers or out of range, integer PCM, other dtypes, long
files held in a bounded window, and times that stay within the audio."""
from __future__ import annotations

import numpy as np
import pytest

from engine import Repairs
from tests.engine.conftest import chirp


def fed_live(model, audio, chunk: int = 1280):
    """Text and repairs of ``audio`` fed as a live caller does, ``chunk`` samples at a time."""
    stream, pieces = model.stream(480), []
    for at in range(0, len(audio), chunk):
        pieces += stream.feed(audio[at : at + chunk])
    pieces += stream.finish()
    return "".join(p.text for p in pieces), stream.repairs


def test_samples_that_are_not_numbers_become_silence(tiny_model):
    clean = chirp(3.0, seed=51)
    broken = clean.copy()
    broken[[100, 5000, 20000]] = np.nan
    broken[[7000, 30000]] = [np.inf, -np.inf]
    zeroed = np.where(np.isfinite(broken), broken, 0.0).astype(np.float32)
    want = tiny_model.transcribe(zeroed)
    assert want.text, "the tiny model should write text for this audio"
    got = tiny_model.transcribe(broken)
    assert (got.text, got.tokens) == (want.text, want.tokens)
    assert got.repairs == Repairs(non_finite=5, clipped=0)
    assert fed_live(tiny_model, broken) == (want.text, Repairs(non_finite=5))
    assert np.isnan(broken[100]), "the caller's array is left as it was"


def test_samples_out_of_range_are_clipped(tiny_model):
    loud = chirp(3.0, seed=52)
    loud[[10, 9000, 9001]] = [1e30, -1e30, 3.0]
    want = tiny_model.transcribe(np.clip(loud, -1, 1))
    got = tiny_model.transcribe(loud)
    assert got.text == want.text and got.repairs == Repairs(clipped=3)
    assert fed_live(tiny_model, loud, chunk=3000) == (want.text, Repairs(clipped=3))
    big = loud.astype(np.float64)
    big[10] = 1e300  # beyond float32: still clipped, not made infinite
    assert tiny_model.transcribe(big).repairs == Repairs(clipped=3)


def test_batched_files_are_repaired_each_on_its_own(tiny_model):
    a, b = chirp(1.5, seed=53), chirp(1.0, seed=54)
    b[50] = np.nan
    ra, rb = tiny_model.transcribe([a, b])
    assert (ra.repairs, rb.repairs) == (Repairs(), Repairs(non_finite=1))


@pytest.mark.parametrize("dtype, scale, offset", [
    (np.int16, 32768, 0), (np.int32, 2147483648, 0), (np.uint8, 128, 128),
])
def test_integer_pcm_is_scaled_to_unit_range(tiny_model, dtype, scale, offset):
    audio = chirp(2.0, seed=55)
    pcm = np.round(audio * (scale - 1) + offset).astype(dtype)
    as_float = ((pcm.astype(np.float64) - offset) / scale).astype(np.float32)
    assert tiny_model.transcribe(pcm).tokens == tiny_model.transcribe(as_float).tokens
    assert fed_live(tiny_model, pcm)[0] == tiny_model.transcribe(as_float).text


def test_float64_is_taken_as_float32(tiny_model):
    audio = chirp(2.0, seed=56)
    got = tiny_model.transcribe(audio.astype(np.float64))
    assert got.tokens == tiny_model.transcribe(audio).tokens


@pytest.mark.parametrize("dtype", [np.int64, np.complex64, np.bool_, np.uint16])
def test_other_dtypes_are_refused_by_name(tiny_model, dtype):
    with pytest.raises(TypeError, match=np.dtype(dtype).name):
        tiny_model.transcribe(np.zeros(16000, dtype))
    with pytest.raises(TypeError, match=np.dtype(dtype).name):
        tiny_model.stream(480).feed(np.zeros(1280, dtype))


def test_a_long_input_holds_a_bounded_window_of_embeddings(tiny_model, monkeypatch):
    held, done = [0], [0]  # positions encoded and decoded so far
    most = [0]
    encoder, decoder = tiny_model.net.encoder.forward, tiny_model.net.decoder.forward

    def encode(mel, *args, **kw):
        held[0] += mel.shape[0] * mel.shape[-1] // 8
        most[0] = max(most[0], held[0] - done[0])
        return encoder(mel, *args, **kw)

    def decode(tokens, *args, **kw):
        done[0] += tokens.numel()
        return decoder(tokens, *args, **kw)

    monkeypatch.setattr(tiny_model.net.encoder, "forward", encode)
    monkeypatch.setattr(tiny_model.net.decoder, "forward", decode)
    audio = chirp(40.0, seed=57)  # 500 positions
    stream = tiny_model.stream(480)
    stream.feed(audio)  # all at once, as a whole-file caller might
    stream.finish()
    assert held[0] > 500 and held[0] == done[0]
    assert most[0] <= 64 + 39, f"{most[0]} audio embeddings were held at once"
    most[0] = 0
    tiny_model.transcribe(audio)
    assert most[0] <= 64 + 39


def test_piece_times_stay_within_the_audio(tiny_model):
    audio = chirp(2.0, seed=5)
    result = tiny_model.transcribe(audio)
    assert result.pieces and all(0 <= p.start <= p.end <= 2.0 for p in result.pieces)
    stream = tiny_model.stream(2400)  # the longest delay: the most text after the audio
    pieces = stream.feed(audio) + stream.finish()
    assert pieces and max(p.end for p in pieces) <= 2.0
