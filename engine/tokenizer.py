"""The text side of the streaming protocol, through mistral-common's tekken tokenizer.

mistral-common owns the protocol constants: the prompt (BOS + [STREAMING_PAD] x (left pad + d)),
the left/right silence pads for a delay, and each token's bytes. This module adds the one thing
it lacks for live use: turning a token stream into text that never shows half a UTF-8 character.
"""
from __future__ import annotations

import codecs
from pathlib import Path

from engine.errors import CheckpointError


class Tokenizer:
    def __init__(self, path: Path) -> None:
        from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

        if not path.is_file():
            raise CheckpointError(
                f"{path} is missing: the folder is not a complete Voxtral checkpoint. "
                "Download or import the model again."
            )
        try:
            mt = MistralTokenizer.from_file(str(path))
        except Exception as exc:  # noqa: BLE001 - mistral-common raises many kinds for a bad file
            raise CheckpointError(
                f"{path} is not a usable tekken tokenizer ({type(exc).__name__}: {exc}). "
                "Download or import the model again."
            ) from None
        self._instruct = mt.instruct_tokenizer
        self._tekken = self._instruct.tokenizer
        self._audio = getattr(self._instruct, "audio_encoder", None)
        if self._audio is None or not self._audio.audio_config.is_streaming:
            raise CheckpointError(
                f"{path} has no streaming audio section; it is not the Voxtral Realtime tokenizer."
            )
        self.n_special = self._tekken.num_special_tokens
        self.vocab_size = self._tekken.n_words
        self.bos = self._tekken.bos_id
        self.eos = self._tekken.eos_id
        self.streaming_pad = self._audio.streaming_pad

    @property
    def n_left_pad_tokens(self) -> int:
        return self._audio.audio_config.n_left_pad_tokens

    def prompt(self, delay_ms: int) -> list[int]:
        return list(self._instruct.start()) + self._audio.encode_streaming_tokens(delay_ms)

    def right_pad_tokens(self, delay_ms: int) -> int:
        return self._audio.audio_config.n_right_pad_tokens(delay_ms)

    def token_bytes(self, token: int) -> bytes:
        """A token's bytes; special tokens have none."""
        if token < self.n_special:
            return b""
        return self._tekken.id_to_byte_piece(token)

    def decode(self, tokens: list[int]) -> str:
        return b"".join(self.token_bytes(t) for t in tokens).decode("utf-8", errors="replace")


class TextAssembler:
    """Token bytes in, complete UTF-8 text out; a character split across tokens waits."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self._tokenizer = tokenizer
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._held_since: int | None = None  # index of the first token whose bytes wait

    def push(self, index: int, token: int) -> tuple[str, int] | None:
        """Add token number ``index``; return (text, index of its first token) once complete."""
        data = self._tokenizer.token_bytes(token)
        if not data:
            return None
        first = index if self._held_since is None else self._held_since
        text = self._decoder.decode(data)
        pending = bool(self._decoder.getstate()[0])
        if not text:
            self._held_since = first
            return None
        self._held_since = index if pending else None
        return text, first

    def flush(self, index: int) -> tuple[str, int] | None:
        """End of stream: whatever is held becomes replacement characters."""
        text = self._decoder.decode(b"", final=True)
        first = self._held_since if self._held_since is not None else index
        self._held_since = None
        return (text, first) if text else None
