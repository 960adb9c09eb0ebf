"""The small pure parts: addresses, audio on the wire, frames that are not the protocol."""
from __future__ import annotations

import base64

import numpy as np
import pytest

from app.live.remote import RemoteError, http_url, parse_frame, pcm16_base64
from app.live.vllm import delay_from_prompt, realtime_url


@pytest.mark.parametrize("given", ["gpu-box:8000", "ws://gpu-box:8000", "http://gpu-box:8000/",
                                   "ws://gpu-box:8000/v1/realtime"])
def test_any_way_of_writing_the_address_reaches_the_realtime_endpoint(given):
    assert realtime_url(given) == "ws://gpu-box:8000/v1/realtime"


def test_tls_addresses_stay_tls():
    assert realtime_url("https://gpu-box") == "wss://gpu-box/v1/realtime"
    assert http_url("wss://gpu-box/v1/realtime", "/v1/models") == "https://gpu-box/v1/models"


def test_audio_goes_as_clipped_little_endian_pcm16():
    data = base64.b64decode(pcm16_base64(np.array([0.0, 0.5, -1.0, 2.0], np.float32)))
    assert np.frombuffer(data, "<i2").tolist() == [0, 16384, -32767, 32767]


def test_the_delay_is_read_from_the_prompt_size():
    assert delay_from_prompt(39) == 480  # seen on a real server
    assert delay_from_prompt(45) == 960
    assert delay_from_prompt(12) is None


@pytest.mark.parametrize("frame", [b"\x00\x01", "not json", "[1, 2]", '{"no": "type"}'])
def test_frames_that_are_not_the_protocol_are_a_plain_error(frame):
    with pytest.raises(RemoteError, match="realtime") as caught:
        parse_frame(frame)
    assert caught.value.kind == "protocol"
