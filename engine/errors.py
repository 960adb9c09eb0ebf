"""Exceptions the engine raises: one base class, each message naming the file and what to do."""
from __future__ import annotations


class EngineError(Exception):
    """Base of every error the engine raises on purpose; the message is meant for the user."""


class CheckpointError(EngineError):
    """The checkpoint folder is missing a file, or a file is truncated, corrupt or mismatched."""


class DeviceError(EngineError):
    """The requested device or dtype is not available on this machine."""
