"""voxcap application: audio capture, live pipeline, transcripts, model manager, CLI and GUI.

Everything here except :mod:`app.ui` runs without Qt or a display.
"""
from __future__ import annotations

__version__ = "0.1.0"
