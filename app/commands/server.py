"""``voxcap server check URL``: is a vLLM server usable, in the same words as the settings' button."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "server",
        help="check a vLLM server",
        description="Work with a vLLM server that transcribes for voxcap.",
    )
    actions = p.add_subparsers(dest="server_command", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check",
        help="check that a server is reachable, accepts the key and serves the model",
        description="Check a vLLM server: reachable, API key accepted, model served, its delay. "
        "The key comes from VOXCAP_API_KEY, else the keyring.",
    )
    check.add_argument("url", help="the server's address, e.g. ws://gpu-box:8000")
    check.add_argument("--server-model", metavar="NAME",
                       help="the served model name (default: the only one the server has)")
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    from app.live.remote_check import check_server
    from app.live.remote_keys import account, resolve_key

    key = resolve_key(account("vllm", args.url))
    result = check_server(args.url, args.server_model, key)
    for line in result.lines:
        print(line)
    return 0 if result.ok else 1


# -- the engine options of `voxcap live` and `voxcap transcribe` ------------------------------

def add_engine_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", metavar="URL",
                   help="transcribe on this vLLM server (e.g. ws://gpu-box:8000) instead of "
                   "this computer; the key comes from VOXCAP_API_KEY, else the keyring")
    p.add_argument("--server-model", metavar="NAME",
                   help="the server's model name (default: the only one it serves)")
    p.add_argument("--engine", choices=ENGINE_CHOICES,
                   help="where to transcribe (default: as in the settings; --server means "
                   "vllm). mistral sends the audio to Mistral's API over the internet")


ENGINE_CHOICES = ("local", "vllm", "mistral")


def engine_choice(args: argparse.Namespace):
    """The settings' engine section with the command line's choices laid over it."""
    from dataclasses import replace

    from app import settings

    prefs = settings.load().engine
    kind = args.engine or ("vllm" if args.server else prefs.kind)
    return replace(prefs, kind=kind, server_url=args.server or prefs.server_url,
                   server_model=args.server_model or prefs.server_model)


def open_remote(choice, *, max_lag_s: float, command: str, wakeup=None,
                finish_timeout_s: float | None = None):
    """A remote backend for ``choice`` (kind vllm or mistral), checked before any audio flows.

    Returns the backend, or an exit code after one plain line on stderr (server unreachable,
    key refused, no such model). A vLLM server is checked as ``voxcap server check`` does.
    """
    from app.commands.common import fail
    from app.live.remote import RemoteError
    from app.live.remote_backend import FINISH_TIMEOUT_S, connect_engine

    try:
        return connect_engine(choice, max_lag_s=max_lag_s, wakeup=wakeup,
                              finish_timeout_s=finish_timeout_s or FINISH_TIMEOUT_S)
    except RemoteError as err:
        return fail(str(err), 2 if err.kind == "address" else 1, command)


def transcribe_remote(choice, audio, delay_ms: int):
    """A whole file through a remote engine: an object like ``engine.Transcription``, or an
    exit code. Audio is sent as fast as the connection takes it (no lag bound for a file);
    audio the server never answered is named on stderr."""
    import sys
    from types import SimpleNamespace

    from app.commands.common import fail
    from app.events import SAMPLE_RATE

    duration = audio.size / SAMPLE_RATE
    backend = open_remote(choice, max_lag_s=float("inf"), command="transcribe",
                          finish_timeout_s=60.0 + 2 * duration)
    if isinstance(backend, int):
        return backend
    sid = backend.open(delay_ms)
    for start in range(0, audio.size, SAMPLE_RATE):
        backend.push(sid, audio[start : start + SAMPLE_RATE])
    backend.finish(sid)
    taken, status = backend.take(sid), backend.status
    backend.close(sid)
    if status.state == "failed":
        return fail(status.message, 1, "transcribe")
    lost = sum(d for _, d in taken.lost)
    if lost:
        print(f"voxcap transcribe: {lost:.1f} s of audio were not transcribed "
              f"({status.message or 'the connection dropped'}).", file=sys.stderr)
    text = "".join(p.text for p in taken.pieces)
    return SimpleNamespace(text=text, tokens=[], pieces=taken.pieces)
