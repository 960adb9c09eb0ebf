"""sounddevice, loaded only where audio devices are used.

sounddevice loads the PortAudio C library when it is imported and raises ``OSError`` when that
library is missing. Loading it here, on first use, keeps ``voxcap --help``, ``transcribe``,
``sessions`` and ``model`` working on a machine without PortAudio; what needs a device gets a
``SourceUnavailable`` that says what to install.
"""
from __future__ import annotations

from types import ModuleType

from app.audio.source import SourceUnavailable

INSTALL_PORTAUDIO = (
    "audio devices need the PortAudio library, which is not installed. Install it "
    "(Debian/Ubuntu: sudo apt install libportaudio2; Fedora: sudo dnf install portaudio; "
    "Arch: sudo pacman -S portaudio), then start voxcap again"
)


def sounddevice() -> ModuleType:
    """The sounddevice module; SourceUnavailable naming the package when PortAudio is missing."""
    try:
        import sounddevice as sd
    except OSError as err:  # sounddevice raises OSError("PortAudio library not found")
        raise SourceUnavailable(f"{INSTALL_PORTAUDIO} ({err}).") from err
    return sd
