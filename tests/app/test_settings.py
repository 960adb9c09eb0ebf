"""The settings file: round trip, and survival of whatever a user or a crash leaves in it."""
from __future__ import annotations

import json

import pytest

from app import settings as settings_mod
from app.settings import Settings, load, save, snap_delay


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("VOXCAP_CONFIG_DIR", str(tmp_path))
    return tmp_path


def test_missing_file_gives_defaults():
    assert load() == Settings()


def test_round_trip_keeps_every_field(config_dir):
    s = Settings(delay_ms=960, device="cpu", precision="float32", theme="high-contrast")
    s.sources.mode = "both"
    s.sources.mic_device = "USB Mic"
    s.overlay.lines = 4
    s.overlay.places = {"screen-a": [10, 20, 800, 120]}
    s.hotkeys.pause = "Ctrl+Shift+F9"
    save(s)
    assert (config_dir / "settings.json").is_file()
    assert load() == s


def test_corrupt_file_is_set_aside_and_defaults_used(config_dir):
    path = config_dir / "settings.json"
    path.write_text("{ not json", encoding="utf-8")
    assert load() == Settings()
    assert (config_dir / "settings.json.bad").read_text(encoding="utf-8") == "{ not json"
    assert not path.exists()


def test_unknown_keys_and_wrong_types_fall_back_per_field(config_dir):
    data = {
        "delay_ms": 1000,  # not a multiple of 80: snapped
        "device": "tpu",  # unknown choice
        "future_option": [1, 2],
        "overlay": {"lines": 40, "opacity": "high", "font_size": 30, "places": {"x": [1, 2]}},
        "sources": "mic",  # wrong type for a section
        "hotkeys": {"pause": "F8", "extra": 1},
    }
    (config_dir / "settings.json").write_text(json.dumps(data), encoding="utf-8")
    s = load()
    assert s.delay_ms == 960
    assert s.device == "auto"
    assert s.overlay.lines == 6
    assert s.overlay.opacity == Settings().overlay.opacity
    assert s.overlay.font_size == 30
    assert s.overlay.places == {}
    assert s.sources == Settings().sources
    assert s.hotkeys.pause == "F8"


def test_json_array_top_level_is_treated_as_corrupt(config_dir):
    (config_dir / "settings.json").write_text("[1, 2]", encoding="utf-8")
    assert load() == Settings()
    assert (config_dir / "settings.json.bad").exists()


@pytest.mark.parametrize(("ms", "expected"), [(0, 80), (79, 80), (121, 160), (480, 480),
                                              (5000, 2400)])
def test_snap_delay(ms, expected):
    assert snap_delay(ms) == expected


def test_source_specs_follow_mode_and_devices():
    s = Settings()
    s.sources.mode = "both"
    s.sources.mic_device = "Headset"
    assert s.source_specs() == [("mic:Headset", "Me"), ("system", "Them")]
    s.sources.mode = "system"
    s.sources.system_device = "HDMI"
    assert s.source_specs() == [("system:HDMI", "Them")]


def test_save_is_atomic_and_leaves_no_temp_file(config_dir):
    save(Settings())
    assert sorted(p.name for p in config_dir.iterdir()) == ["settings.json"]
    assert settings_mod.settings_path() == config_dir / "settings.json"
