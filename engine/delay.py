"""The transcription delay: which values the model takes (no torch here, so settings can read it).

Voxtral Realtime conditions every step on its delay d, a whole number of 80 ms tokens from 1 to
30; 480 ms (6 tokens) is Mistral's recommended default.
"""
from __future__ import annotations

from numbers import Integral

MIN_DELAY_MS = 80
MAX_DELAY_MS = 2400
DELAY_STEP_MS = 80  # one token
DEFAULT_DELAY_MS = 480


def check_delay(delay_ms: int) -> int:
    """Delay in tokens for ``delay_ms``; a ValueError names the allowed values otherwise."""
    if (
        isinstance(delay_ms, bool)
        or not isinstance(delay_ms, Integral)
        or not MIN_DELAY_MS <= delay_ms <= MAX_DELAY_MS
        or delay_ms % DELAY_STEP_MS
    ):
        raise ValueError(
            f"delay_ms must be a multiple of {DELAY_STEP_MS} from {MIN_DELAY_MS} to "
            f"{MAX_DELAY_MS} ({DEFAULT_DELAY_MS} is the recommended default); got {delay_ms!r}"
        )
    return int(delay_ms) // DELAY_STEP_MS
