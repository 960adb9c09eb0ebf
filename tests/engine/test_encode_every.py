"""Running the encoder once per k steps (its weights read once for k positions) keeps every
token, and holds text back by at most (k - 1) steps."""
from __future__ import annotations

import engine
from tests.engine.conftest import chirp


def live(model, audio, every: int):
    """Feed 80 ms at a time; (tokens, encoder widths after the prompt, tokens out per feed)."""
    model.encode_every = every
    stream = model.stream(480)
    widths = []
    forward = model.net.encoder.forward

    def spy(mel, *args, **kw):
        widths.append(mel.shape[-1] // 8)
        return forward(mel, *args, **kw)

    model.net.encoder.forward = spy
    counts = []
    try:
        for at in range(0, audio.size, 1280):
            before = stream.token_count
            stream.feed(audio[at : at + 1280])
            counts.append(stream.token_count - before)
        stream.finish()
    finally:
        del model.net.encoder.forward
    return stream.tokens, widths[1:], counts


def test_encoding_every_third_step_keeps_tokens(tiny_dir):
    model = engine.load_model(tiny_dir)
    audio = chirp(4.0, seed=12)
    want, widths, _ = live(model, audio, 1)
    assert set(widths[:-1]) == {1}
    got, widths, counts = live(model, audio, 3)
    assert got == want
    assert set(widths[:-1]) == {3}, "past the prompt the encoder should take 3 positions a call"
    steady = [c for c in counts if c][1:]  # after the prompt's first token
    assert steady and set(steady) == {3}, "tokens then come 3 at a time: at most 160 ms later"
