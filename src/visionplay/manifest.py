"""``exported/manifest.json``: each exported model, its metrics and how it was made."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .files import write_json

MANIFEST = "manifest.json"


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {"models": {}}


def update_entry(directory: Path, name: str, replace: bool = False, **fields: Any) -> None:
    """Set ``fields`` on model ``name`` (a fresh entry with ``replace``), written atomically."""
    manifest = read_manifest(directory)
    entry = {} if replace else manifest["models"].get(name, {})
    manifest["models"][name] = {**entry, **fields}
    manifest["models"] = dict(sorted(manifest["models"].items()))
    write_json(directory / MANIFEST, manifest)
