"""Check a vLLM server the way a user needs: reachable, key accepted, model served, its delay.

Shared by ``voxcap server check URL`` and the "Test connection" button of the settings' Engine
page, so both say the same plain sentences. Blocking (network): call it off the GUI thread.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from app.live.remote import RemoteError
from app.live.vllm import probe_delay, realtime_url, served_models


@dataclass
class CheckResult:
    address: str
    reachable: bool = False
    key_accepted: bool | None = None  # None: the check did not get that far
    models: list[str] = field(default_factory=list)  # what the server serves
    model: str | None = None  # the one to use: the one asked for when served, or the only one
    delay_ms: int | None = None  # the server's delay, when it could be learnt
    lines: list[str] = field(default_factory=list)  # the findings, for people, in order

    @property
    def ok(self) -> bool:
        return self.reachable and self.key_accepted is not False and self.model is not None


def check_server(address: str, model: str | None, key: str | None,
                 timeout: float = 10.0) -> CheckResult:
    """Every check in order; stops at the first that fails. Never raises RemoteError."""
    result = CheckResult(realtime_url(address))
    try:
        result.models = served_models(address, key, timeout)
    except RemoteError as exc:
        _first_failure(result, exc, key)
        return result
    result.reachable = True
    result.key_accepted = True
    result.lines.append(f"Reachable: {result.address}")
    result.lines.append("API key accepted." if key else "No API key needed.")
    if not _choose_model(result, model):
        return result
    try:
        result.delay_ms = probe_delay(address, result.model, key, timeout=max(timeout, 30.0))
    except RemoteError as exc:
        result.model = None if exc.kind == "model" else result.model
        result.lines.append(f"The realtime session failed: {exc}.")
        return result
    result.lines.append(
        f"Delay: set by the server ({result.delay_ms} ms)." if result.delay_ms
        else "Delay: set by the server (it did not say how long)."
    )
    return result


def _first_failure(result: CheckResult, exc: RemoteError, key: str | None) -> None:
    if exc.kind == "auth":
        result.reachable, result.key_accepted = True, False
        result.lines.append(f"Reachable: {result.address}")
        result.lines.append("API key refused: enter the key the server was started with."
                            if key else "The server needs an API key: enter it and try again.")
    else:
        result.lines.append(f"Not reachable: {exc}.")


def _choose_model(result: CheckResult, model: str | None) -> bool:
    served = ", ".join(result.models) or "none"
    if model and model in result.models:
        result.model = model
        result.lines.append(f"Model found: {model}")
    elif model:
        result.lines.append(f"Model {model!r} not found; the server has: {served}.")
    elif len(result.models) == 1:
        result.model = result.models[0]
        result.lines.append(f"Model: {result.model} (the one the server serves)")
    else:
        result.lines.append(f"Choose a model; the server has: {served}.")
    return result.model is not None
