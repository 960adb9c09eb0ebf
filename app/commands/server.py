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
