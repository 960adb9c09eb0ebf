"""`voxcap --version`: the app, the exact model revision, the torch build, and their licenses."""
from __future__ import annotations

import subprocess
import tomllib
from importlib import metadata
from pathlib import Path
from xml.etree import ElementTree

import torch

import app
from app.about import version_text
from app.desktop_entry import RESOURCES
from app.models.manifest import DEFAULT_MANIFEST

ROOT = Path(__file__).resolve().parents[2]


def test_version_names_app_model_revision_torch_and_licenses(voxcap_program):
    result = subprocess.run([str(voxcap_program), "--version"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    app_line, model_line, torch_line = result.stdout.splitlines()
    assert app_line == f"voxcap {metadata.version('voxcap')} (license Apache-2.0)"
    model = f"{DEFAULT_MANIFEST.repo_id}@{DEFAULT_MANIFEST.revision}"
    assert model_line == f"model {model} (license Apache-2.0)"
    assert len(DEFAULT_MANIFEST.revision) == 40  # a commit, not a branch that could move
    assert torch_line == f"torch {torch.__version__}"  # "+cpu" / "+cu128" tells the build


def test_every_place_that_states_the_version_and_license_agrees():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    component = ElementTree.parse(RESOURCES / "voxcap.metainfo.xml").getroot()
    newest_release = component.find("releases/release").get("version")
    assert newest_release == app.__version__, "add a <release> to the metainfo for this version"
    assert project["license"] == component.findtext("project_license") == "Apache-2.0"
    assert (ROOT / "LICENSE").read_text().split()[:3] == ["Apache", "License", "Version"]
    assert "Apache-2.0" in version_text()
