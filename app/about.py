"""What voxcap is and under which terms: the facts ``voxcap --version`` and the About dialog show.

Both the app and the pinned checkpoint are Apache-2.0 (the model card of the Hub repository says
so for the weights); the model facts come from the model manager's manifest, so they name the
exact commit the app downloads.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

from app import __version__
from app.models.manifest import DEFAULT_MANIFEST, Manifest

APP_LICENSE = "Apache-2.0"
MODEL_LICENSE = "Apache-2.0"
HUB_URL = "https://huggingface.co"


@dataclass(frozen=True)
class About:
    version: str
    app_license: str
    model_repo: str
    model_revision: str
    model_license: str
    torch: str | None  # the installed torch build ("2.13.0+cpu", "2.13.0+cu128"); None if unknown

    @property
    def model(self) -> str:
        return f"{self.model_repo}@{self.model_revision}"

    @property
    def model_url(self) -> str:
        return f"{HUB_URL}/{self.model_repo}/tree/{self.model_revision}"


def about(manifest: Manifest = DEFAULT_MANIFEST) -> About:
    return About(__version__, APP_LICENSE, manifest.repo_id, manifest.revision, MODEL_LICENSE,
                 _torch_version())


def _torch_version() -> str | None:
    # Read from the installed metadata: importing torch would make `--version` take seconds.
    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return None  # a bundle built without torch's metadata


def version_text(facts: About | None = None) -> str:
    """The lines ``voxcap --version`` prints."""
    facts = facts or about()
    lines = [f"voxcap {facts.version} (license {facts.app_license})",
             f"model {facts.model} (license {facts.model_license})"]
    if facts.torch:
        lines.append(f"torch {facts.torch}")
    return "\n".join(lines)
