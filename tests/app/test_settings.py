"""The settings file: round trip, and survival of whatever a user or a crash leaves in it."""
from __future__ import annotations

import errno
import json
import os

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


@pytest.mark.parametrize("raw", [b"\xff\xfe\x00garbage", b"{\"delay_ms\": 480, \"theme\": \"\xe9\"}",
                                 b"[" * 100_000, bytes(range(256))])
def test_any_bytes_are_set_aside_and_defaults_used(config_dir, raw):
    (config_dir / "settings.json").write_bytes(raw)
    assert load() == Settings()
    assert (config_dir / "settings.json.bad").read_bytes() == raw


def test_a_read_only_config_folder_runs_and_says_settings_cannot_be_saved(config_dir, caplog):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    path = config_dir / "settings.json"
    path.write_bytes(b"\xff not json")
    config_dir.chmod(0o500)
    try:
        assert load() == Settings()
        assert not (config_dir / "settings.json.bad").exists()
        assert "cannot be set aside" in caplog.text and "kept as" not in caplog.text
        with pytest.raises(settings_mod.SettingsNotSaved, match="Settings cannot be saved in"):
            save(Settings())
    finally:
        config_dir.chmod(0o700)


def test_an_unwritable_config_location_says_settings_cannot_be_saved(config_dir, caplog):
    blocker = config_dir / "settings.json"
    blocker.mkdir()  # a folder where the file should be: refused even for root
    (blocker / "x").write_text("")
    assert load() == Settings()
    with pytest.raises(settings_mod.SettingsNotSaved, match="Settings cannot be saved in") as err:
        save(Settings())
    assert str(config_dir) in str(err.value) and "Errno" not in str(err.value)


def test_overlay_places_beyond_any_screen_are_clamped(config_dir):
    huge = 2**40
    data = {"overlay": {"places": {"s": [huge, -huge, huge, -5], "t": [10, 20, 800, 120]},
                        "dim_after_s": 1e300}}
    (config_dir / "settings.json").write_text(json.dumps(data), encoding="utf-8")
    overlay = load().overlay
    assert overlay.dim_after_s == settings_mod.DIM_AFTER_MAX_S  # a Qt timer takes int32 ms
    places = overlay.places
    assert places["t"] == [10, 20, 800, 120]
    assert all(abs(v) <= settings_mod.PLACE_LIMIT < 2**31 for v in places["s"])
    assert places["s"][2] > 0 and places["s"][3] > 0


def test_keep_transcripts_round_trips(config_dir):
    save(Settings(keep_transcripts=False))
    assert load().keep_transcripts is False


def test_a_file_that_cannot_be_set_aside_is_not_claimed_to_be(config_dir, caplog, monkeypatch):
    (config_dir / "settings.json").write_bytes(b"\xff not json")

    def read_only(src, dst):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(settings_mod.os, "replace", read_only)
    assert load() == Settings()
    assert "cannot be set aside (Read-only file system)" in caplog.text
    assert "kept as" not in caplog.text and "cannot be saved" in caplog.text
