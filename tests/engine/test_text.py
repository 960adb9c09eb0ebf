"""Special tokens never reach the text; UTF-8 characters split across tokens wait whole."""
from __future__ import annotations

from engine.tokenizer import TextAssembler


def byte_token(model, byte: int) -> int:
    # The first 256 tekken ranks are the single bytes; text ids are rank + 1000.
    token = 1000 + byte
    assert model.tokenizer.token_bytes(token) == bytes([byte])
    return token


def test_split_character_is_held_until_complete(tiny_model):
    asm = TextAssembler(tiny_model.tokenizer)
    e_acute = "é".encode()  # two bytes
    assert asm.push(0, byte_token(tiny_model, e_acute[0])) is None
    assert asm.push(1, 32) is None  # [STREAMING_PAD] in between: no text, nothing released
    assert asm.push(2, byte_token(tiny_model, e_acute[1])) == ("é", 0)
    assert asm.push(3, byte_token(tiny_model, ord("a"))) == ("a", 3)


def test_specials_have_no_text(tiny_model):
    tok = tiny_model.tokenizer
    for special in (0, 1, 2, 32, 33, 999):
        assert tok.token_bytes(special) == b""
    assert tok.decode([1, 32, 1000 + ord("h"), 33, 1000 + ord("i"), 2]) == "hi"


def test_incomplete_character_at_end_becomes_replacement(tiny_model):
    asm = TextAssembler(tiny_model.tokenizer)
    euro = "€".encode()  # three bytes
    assert asm.push(0, byte_token(tiny_model, euro[0])) is None
    assert asm.push(1, byte_token(tiny_model, euro[1])) is None
    assert asm.flush(2) == ("\ufffd", 0)


def test_transcript_text_is_the_decoded_tokens(tiny_model):
    from tests.engine.conftest import chirp

    result = tiny_model.transcribe(chirp(2.0, seed=3))
    assert result.text == tiny_model.tokenizer.decode(result.tokens)
    assert not any(s in result.text for s in ("[STREAMING_PAD]", "<s>", "</s>"))
