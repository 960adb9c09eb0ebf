"""Device frames at any rate and channel count -> 16 kHz mono chunks on one sample-exact clock.

A source's clock counts output samples at 16 kHz from 0 when it first opened. Each opening of
the device (a *run*) is anchored to that clock at one output sample, and device frame ``n`` of
the run lies at ``anchor + round(n * 16000 / rate)``: soxr's streaming resampler keeps its output
aligned to its input (it only delays delivery, and ``flush`` hands over the tail), so chunks
need no other bookkeeping. Audio that never arrived (frames the ring had to drop, time a device
was away) becomes a ``Gap`` that moves the clock to exactly where the audio resumes, so times
never drift.
"""
from __future__ import annotations

import numpy as np
import soxr

from app.events import SAMPLE_RATE, AudioChunk, Gap

CANCEL_DB = 6.0  # the mean may lose this much level against the strongest channel, no more


def downmix(frames: np.ndarray) -> np.ndarray:
    """Frames shaped (n, channels), float32 -> mono (n,) float32, by a rule that cannot cancel.

    The rule: the mean of the channels, unless the mean's energy is more than ``CANCEL_DB``
    (6 dB) below the strongest channel's; then that channel alone. The mean of channels in
    opposite phase (left = x, right = -x, a miswired microphone or a "wide" stereo effect)
    is silence, and voxcap would caption nothing; the strongest channel still holds the speech.
    Equal or merely uncorrelated channels lose at most 3 dB in the mean and keep it; one silent
    channel of two loses 6.02 dB, so the other one is taken, at its full level.

    The choice is made per call, over the whole block (a file is read in 1 s blocks). File
    transcription and live capture both call this through ``Converter.feed``.
    """
    channels = frames.shape[1]
    if channels == 1:
        return frames[:, 0]
    gram = frames.T @ frames  # (channels, channels): energies on the diagonal, float32 BLAS
    energy = gram.diagonal()
    strongest = int(np.argmax(energy))
    if gram.sum() / channels**2 * 10 ** (CANCEL_DB / 10) < energy[strongest]:  # the mean's
        return np.ascontiguousarray(frames[:, strongest])
    mean = frames[:, 0].copy()  # column sums: several times faster than mean(axis=1)
    for c in range(1, channels):
        mean += frames[:, c]
    mean *= np.float32(1 / channels)
    return mean


class Converter:
    """Mixes down (``downmix``), resamples with soxr and stamps the clock; one per source, reader-side only."""

    def __init__(self, source_id: str) -> None:
        self.source_id = source_id
        self.position = 0  # next output sample index on the source clock
        self.lost = 0  # output samples reported as "overflow" gaps
        self._rate = float(SAMPLE_RATE)
        self._anchor = 0  # clock index of the current run's first sample
        self._run_frames = 0  # device frames accounted for since the anchor
        self._resampler: soxr.ResampleStream | None = None

    @property
    def time(self) -> float:
        """Stream time just after the last sample handed out, seconds."""
        return self.position / SAMPLE_RATE

    def begin(self, rate: float, at: int | None = None, reason: str = "") -> list[Gap]:
        """Start a run of device audio at ``rate`` Hz, anchored at clock sample ``at``.

        ``at`` defaults to where the clock stands; a later ``at`` reports the hole as a gap.
        Call ``flush`` first when a run was in progress.
        """
        gaps = self._jump(self.position if at is None else at, reason)
        self._rate = float(rate)
        self._anchor = self.position
        self._run_frames = 0
        self._resampler = soxr.ResampleStream(self._rate, SAMPLE_RATE, 1, dtype="float32")
        return gaps

    def feed(self, frames: np.ndarray) -> list[AudioChunk]:
        """Convert device frames shaped (n, channels); returns the chunk ready so far (maybe none)."""
        if self._resampler is None:
            raise RuntimeError("Converter.feed before begin")
        mono = downmix(frames)
        self._run_frames += len(frames)
        return self._emit(self._resampler.resample_chunk(np.ascontiguousarray(mono)))

    def skip(self, n_frames: int, reason: str) -> list[AudioChunk | Gap]:
        """Account for ``n_frames`` device frames that were lost: flush, then one gap."""
        items: list[AudioChunk | Gap] = list(self.flush())
        self._run_frames += n_frames
        # Measured from the run's anchor, so rounding never accumulates over many gaps.
        target = self._anchor + round(self._run_frames * SAMPLE_RATE / self._rate)
        items += self._jump(target, reason)
        return items

    def flush(self) -> list[AudioChunk]:
        """Hand out what the resampler still holds; the run can go on afterwards."""
        if self._resampler is None:
            return []
        tail = self._resampler.resample_chunk(np.zeros(0, np.float32), last=True)
        self._resampler.clear()
        return self._emit(tail)

    def _jump(self, target: int, reason: str) -> list[Gap]:
        if target <= self.position:
            return []
        missing = target - self.position
        gap = Gap(self.source_id, self.position / SAMPLE_RATE, missing / SAMPLE_RATE, reason)
        if reason == "overflow":
            self.lost += missing
        self.position = target
        return [gap]

    def _emit(self, samples: np.ndarray) -> list[AudioChunk]:
        if len(samples) == 0:
            return []
        chunk = AudioChunk(self.source_id, samples.astype(np.float32, copy=False), self.time)
        self.position += len(samples)
        return [chunk]
