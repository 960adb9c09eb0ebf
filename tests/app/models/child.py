"""Runs ``voxcap model ACTION`` in a child process against a test Hub, so tests can kill or
interrupt a real process mid-download.

Usage: ``python -m tests.app.models.child SPEC_JSON ACTION...`` where the spec names the
manifest, endpoint and Hugging Face cache (see ``spec_for``).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.commands import model as model_cmd
from app.models import Manifest, ModelFile, ModelManager


def spec_for(manifest: Manifest, endpoint: str, hf_cache: Path) -> str:
    return json.dumps(
        {
            "repo": manifest.repo_id,
            "revision": manifest.revision,
            "files": [[f.name, f.size, f.sha256] for f in manifest.files],
            "endpoint": endpoint,
            "hf_cache": str(hf_cache),
        }
    )


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    manifest = Manifest(
        spec["repo"], spec["revision"], tuple(ModelFile(*f) for f in spec["files"])
    )
    model_cmd.make_manager = lambda: ModelManager(
        manifest, endpoint=spec["endpoint"], hf_cache=Path(spec["hf_cache"]), retry_wait=0.01
    )
    parser = argparse.ArgumentParser(prog="voxcap")
    model_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["model", *argv[1:]])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
