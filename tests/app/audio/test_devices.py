"""Names: `voxcap devices`, what open_source accepts, and the advice bad names get."""
from __future__ import annotations

import argparse

import pytest

from app.audio import SourceUnavailable, list_devices, open_source
from app.audio.factory import MAC_SETUP, mac_loopbacks
from app.commands import devices


def run_devices(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="voxcap")
    devices.register(parser.add_subparsers())
    args = parser.parse_args(["devices"])
    code = args.func(args)
    return code, capsys.readouterr().out


@pytest.mark.audio
def test_devices_lists_outputs_and_inputs_by_the_names_sources_take(
    mic_sink: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_devices(capsys)
    assert code == 0
    mics, systems = out.split("System audio")
    assert mics.startswith("Microphones:")
    listed = {}  # spec -> marked as the default
    for line in systems.splitlines()[1:]:
        words = line.split()
        if words and words[0] == "*":
            listed[words[1]] = True
        elif words:
            listed[words[0]] = False
    assert listed["system:voxcap_test"] is True
    assert listed["system:voxcap_mic"] is False
    for spec in listed:
        assert open_source(spec).id == "system"


@pytest.mark.audio
def test_inventory_marks_each_kind_and_one_default_output(mic_sink: str) -> None:
    found, notes = list_devices()
    assert notes == []
    systems = [d for d in found if d.kind == "system"]
    assert {"system:voxcap_test", "system:voxcap_mic"} <= {d.spec for d in systems}
    assert [d.spec for d in systems if d.default] == ["system:voxcap_test"]
    # Monitors are system audio, never offered as microphones.
    assert not any(d.kind == "mic" and d.spec.endswith(".monitor") for d in found)


@pytest.mark.audio
def test_bad_names_say_what_exists_and_what_to_do(mic_sink: str) -> None:
    with pytest.raises(SourceUnavailable) as err:
        open_source("mic:no such microphone")
    assert "voxcap_mic.monitor" in str(err.value) and "voxcap devices" in str(err.value)
    with pytest.raises(SourceUnavailable, match="no output called 'nowhere'.*'voxcap_test'"):
        open_source("system:nowhere")
    with pytest.raises(SourceUnavailable, match="matches several"):
        open_source("system:voxcap")  # voxcap_test and voxcap_mic
    with pytest.raises(SourceUnavailable, match="no input device number 99"):
        open_source("mic:99")


@pytest.mark.audio
def test_names_match_exactly_then_by_unique_part(mic_sink: str) -> None:
    assert "voxcap_mic.monitor" in open_source("mic:VOXCAP_MIC").device
    assert "voxcap_test.monitor" in open_source("system:voxcap_test").device
    assert "voxcap_mic.monitor" in open_source("system:voxcap_mic.monitor").device


def test_mac_loopback_devices_are_recognised_and_missing_ones_explained() -> None:
    inputs = [
        {"name": "MacBook Pro Microphone", "index": 0},
        {"name": "BlackHole 2ch", "index": 1},
        {"name": "ZoomAudioDevice", "index": 2},
    ]
    assert [d["index"] for d in mac_loopbacks(inputs)] == [1]
    assert mac_loopbacks(inputs[:1]) == []
    assert "BlackHole" in MAC_SETUP and "Multi-Output Device" in MAC_SETUP
