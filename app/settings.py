"""The user's settings: one typed dataclass, saved as JSON under the config dir.

The GUI edits it and the command line reads it, so both agree on the delay, device, sources and
appearance. Loading never fails: a missing file gives the defaults, a file that is not valid
UTF-8 JSON is set aside as ``settings.json.bad`` (so nothing the user wrote is silently lost) and the
defaults are used, unknown keys are ignored and a value of the wrong type or out of range falls
back to that field's default (or is clamped into range).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import paths
from app.atomic import write_atomic
from engine.delay import DEFAULT_DELAY_MS, DELAY_STEP_MS, MAX_DELAY_MS, MIN_DELAY_MS

log = logging.getLogger(__name__)

SOURCE_MODES = ("mic", "system", "both")
DEVICES = ("auto", "cuda", "mps", "cpu")
PRECISIONS = ("auto", "float32", "bfloat16", "float16", "int8")
THEMES = ("system", "light", "dark", "high-contrast")
ENGINES = ("local", "vllm", "mistral")  # this computer, a vLLM server, Mistral's API
DIM_AFTER_MAX_S = 120.0  # the settings page's limit for dimming the captions
PLACE_LIMIT = 100_000  # pixels: larger than any desktop, far inside a 32-bit int


@dataclass
class SourceSettings:
    mode: str = "system"  # one of SOURCE_MODES
    mic_device: str = ""  # device name; "" is the system default microphone
    system_device: str = ""  # output device whose sound is captured; "" is the default output
    mic_label: str = "Me"
    system_label: str = "Them"


@dataclass
class OverlaySettings:
    visible: bool = True
    font_family: str = ""  # "" is the system's default sans-serif
    font_size: int = 22  # points, so it follows the system's display scale
    text_color: str = "#ffffff"
    background_color: str = "#101010"
    opacity: float = 0.7  # of the background only; text stays opaque
    lines: int = 2  # 1..6
    dim_after_s: float = 8.0  # silence before the captions dim; 0 never dims
    locked: bool = False  # position and size fixed
    click_through: bool = False  # mouse goes to the window underneath
    show_status: bool = False  # lag and real-time factor line
    # screen key -> [x, y, width, height] relative to that screen's top-left corner
    places: dict[str, list[int]] = field(default_factory=dict)
    last_screen: str = ""


@dataclass
class HotkeySettings:
    pause: str = "Ctrl+Alt+P"  # QKeySequence portable text; "" disables
    toggle_overlay: str = "Ctrl+Alt+O"


@dataclass
class EngineSettings:
    """Where the transcription runs. API keys are not here: they live in the OS keyring."""

    kind: str = "local"  # one of ENGINES
    server_url: str = ""  # vLLM server, e.g. "ws://gpu-box:8000"
    server_model: str = ""  # the served model name; "" takes the only one the server has
    server_delay_ms: int = 0  # the vLLM server's delay as last learnt; 0 while unknown
    mistral_model: str = "voxtral-mini-transcribe-realtime-2602"


@dataclass
class Settings:
    # the model's transcription delay: lower is faster, higher more accurate
    delay_ms: int = DEFAULT_DELAY_MS
    device: str = "auto"  # one of DEVICES
    precision: str = "auto"  # one of PRECISIONS
    theme: str = "system"  # one of THEMES
    keep_transcripts: bool = True  # False: captions only, no session is saved
    sources: SourceSettings = field(default_factory=SourceSettings)
    overlay: OverlaySettings = field(default_factory=OverlaySettings)
    hotkeys: HotkeySettings = field(default_factory=HotkeySettings)
    engine: EngineSettings = field(default_factory=EngineSettings)

    def source_specs(self) -> list[tuple[str, str]]:
        """(capture spec, label) for each source the settings ask for, microphone first."""
        s = self.sources
        mic = ("mic:" + s.mic_device if s.mic_device else "mic", s.mic_label)
        system = ("system:" + s.system_device if s.system_device else "system", s.system_label)
        return {"mic": [mic], "system": [system], "both": [mic, system]}[s.mode]


def settings_path() -> Path:
    return paths.config_dir() / "settings.json"


def snap_delay(ms: float) -> int:
    """The nearest delay the model accepts: a multiple of 80 ms between 80 and 2400."""
    steps = round(float(ms) / DELAY_STEP_MS)
    return int(min(MAX_DELAY_MS, max(MIN_DELAY_MS, steps * DELAY_STEP_MS)))


class SettingsNotSaved(OSError):
    """The settings file could not be written; the settings in memory still apply."""


def load(path: Path | None = None) -> Settings:
    """The settings in ``path`` (default :func:`settings_path`), defaults where they are unusable.

    Never raises: a file that is not UTF-8 JSON holding an object -- any bytes at all -- is set
    aside as ``settings.json.bad`` and the defaults are used; each problem is logged as it is
    (a folder that refuses the rename is named, not claimed).
    """
    path = path or settings_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Settings()
    except OSError as exc:
        log.warning("cannot read %s (%s); using default settings", path, exc.strerror or exc)
        return Settings()
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict):
            raise TypeError("top level is not an object")
    except (ValueError, TypeError, RecursionError) as exc:
        _set_aside(path, exc)
        return Settings()
    return _validated(_from_dict(Settings, data))


def _set_aside(path: Path, problem: Exception) -> None:
    bad = path.with_name(path.name + ".bad")
    what = str(problem) if isinstance(problem, (ValueError, TypeError)) else "nested too deeply"
    try:
        os.replace(path, bad)
    except OSError as exc:
        log.warning(
            "%s is not valid settings (%s) and cannot be set aside (%s); using defaults. "
            "Settings cannot be saved there until that folder is writable.",
            path, what[:200], exc.strerror or exc,
        )
        return
    log.warning("%s is not valid settings (%s); kept as %s, using defaults", path, what[:200], bad)


def save(settings: Settings, path: Path | None = None) -> None:
    """Write atomically, so a crash mid-write leaves the previous file intact.

    Raises ``SettingsNotSaved`` (an OSError) saying which folder refused and why.
    """
    path = path or settings_path()
    text = json.dumps(dataclasses.asdict(settings), indent=2) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text)
    except OSError as exc:
        err = SettingsNotSaved(
            f"Settings cannot be saved in {path.parent} ({exc.strerror or exc}); the changes "
            "apply until voxcap closes. Make that folder writable, or set VOXCAP_CONFIG_DIR "
            "to one that is."
        )
        err.errno = exc.errno
        raise err from exc


def _from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Build ``cls`` from ``data`` keeping only known keys whose JSON type matches the default's."""
    default = cls()
    values = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        current, given = getattr(default, f.name), data[f.name]
        if dataclasses.is_dataclass(current):
            if isinstance(given, dict):
                values[f.name] = _from_dict(type(current), given)
        elif _same_kind(current, given):
            values[f.name] = type(current)(given) if isinstance(current, float) else given
    return cls(**values)


def _same_kind(default: object, given: object) -> bool:
    if isinstance(default, bool) or isinstance(given, bool):
        return isinstance(default, bool) and isinstance(given, bool)
    if isinstance(default, float):
        return isinstance(given, (int, float))
    return isinstance(given, type(default))


def _validated(s: Settings) -> Settings:
    """Clamp numbers into range and replace unknown choices by their defaults."""
    s.delay_ms = snap_delay(s.delay_ms)
    for name, allowed in (("device", DEVICES), ("precision", PRECISIONS), ("theme", THEMES)):
        if getattr(s, name) not in allowed:
            setattr(s, name, getattr(Settings(), name))
    if s.engine.kind not in ENGINES:
        s.engine.kind = EngineSettings().kind
    s.engine.server_delay_ms = max(0, s.engine.server_delay_ms)
    if s.sources.mode not in SOURCE_MODES:
        s.sources.mode = SourceSettings().mode
    o = s.overlay
    o.lines = min(6, max(1, o.lines))
    o.font_size = min(96, max(6, o.font_size))
    o.opacity = min(1.0, max(0.0, o.opacity))
    o.dim_after_s = min(DIM_AFTER_MAX_S, max(0.0, o.dim_after_s))  # a timer takes int32 ms
    o.places = {
        k: _clamped_place(v) for k, v in o.places.items()
        if isinstance(v, list) and len(v) == 4
        and all(isinstance(n, int) and not isinstance(n, bool) for n in v)
    }
    return s


def _clamped_place(place: list[int]) -> list[int]:
    """x, y, width, height within what any screen can show; placement fits it to the screen.

    Values beyond a 32-bit int would abort Qt, so they never leave this file.
    """
    x, y, width, height = place
    return [
        min(PLACE_LIMIT, max(-PLACE_LIMIT, x)),
        min(PLACE_LIMIT, max(-PLACE_LIMIT, y)),
        min(PLACE_LIMIT, max(1, width)),
        min(PLACE_LIMIT, max(1, height)),
    ]
