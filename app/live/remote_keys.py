"""API keys for remote engines, kept in the operating system's keyring and nowhere else.

Never in settings.json, a log line, an error message or the journal: the settings hold only
which engine and address are used; the key is looked up here when a session opens. The command
line takes ``VOXCAP_API_KEY`` first, so scripts need no keyring.
"""
from __future__ import annotations

import logging
import os
import urllib.parse

import keyring
from keyring.errors import KeyringError, PasswordDeleteError

log = logging.getLogger(__name__)

SERVICE = "voxcap"
ENV_VAR = "VOXCAP_API_KEY"
MISTRAL = "mistral"
_warned: set[str] = set()  # keyring failures already logged in this process


def account(engine: str, address: str = "") -> str:
    """The keyring entry for an engine: ``"mistral"``, or ``"vllm:HOST:PORT"`` per server."""
    if engine == MISTRAL:
        return MISTRAL
    netloc = urllib.parse.urlsplit(address if "://" in address else "ws://" + address).netloc
    return f"{engine}:{netloc.rsplit('@', 1)[-1] or address}"


def get_key(name: str) -> str | None:
    """The stored key, or None when there is none or no keyring can be used here."""
    try:
        return keyring.get_password(SERVICE, name) or None
    except (KeyringError, RuntimeError) as exc:
        kind = type(exc).__name__
        if kind not in _warned:  # said once: the settings read keys each time they open
            _warned.add(kind)
            log.warning("cannot read the keyring (%s); no key used", kind)
        return None


def set_key(name: str, key: str) -> None:
    """Store ``key`` (an empty one deletes); KeyringError says no keyring can be used here."""
    if not key:
        delete_key(name)
        return
    keyring.set_password(SERVICE, name, key)


def delete_key(name: str) -> None:
    try:
        keyring.delete_password(SERVICE, name)
    except PasswordDeleteError:
        pass  # nothing stored: nothing to delete


def resolve_key(name: str) -> str | None:
    """``VOXCAP_API_KEY`` when set, else the keyring's entry ``name``."""
    return os.environ.get(ENV_VAR) or get_key(name)
