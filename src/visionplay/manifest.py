"""``exported/manifest.json``: each exported model, its metrics and how it was made; and the
model export replaced, kept one step back in ``.previous/NAME/`` beside it (its files and
its manifest entry), which :func:`restore_previous` puts back."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InvalidInputError, VisionplayError
from .files import write_json
from .inference import models_in
from .integrity import WireFormatError, model_parts
from .tasks import TASKS
from .tasks.base import CONFIG_KEY

MANIFEST = "manifest.json"
PREVIOUS = ".previous"  # beside the models; hidden, and git-ignored under exported/
KEPT_ENTRY = "entry.json"  # the kept model's manifest entry, in its folder under PREVIOUS
# A model's files in its folder: the graph, the weights it was exported from, and the
# training record export writes beside them (see train.history).
RECORD_FILES = ("{}.metrics.json", "{}.curves.png")
MODEL_FILES = ("{}.onnx", "{}.pt", *RECORD_FILES)


def read_manifest(directory: Path) -> dict[str, Any]:
    path = Path(directory) / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {"models": {}}


@dataclass(frozen=True)
class Listed:
    """One exported model as ``visionplay list`` shows it: its file, task and headline
    figure (its task's primary one, where recorded), and the earlier folder's model of the
    same name that is served in its place, if any."""

    name: str
    path: Path
    task: str | None
    figure: str | None
    hidden_by: Path | None = None


def listed_models(folders: Sequence[Path]) -> list[Listed]:
    """Every model in ``folders`` (searched in that order), each with what its folder's
    manifest says of it (its file's metadata where the manifest names no task)."""
    served: dict[str, Path] = {}
    listed = []
    for folder in folders:
        entries = readable_manifest(folder)
        for path in sorted(models_in(folder)):
            entry = entries.get(path.stem) or {}
            task = entry.get("task") or task_in_file(path)
            figure = TASKS[task].figure if task in TASKS else None
            recorded = figure.shown(entry) if figure else None
            shown = f"{figure.text(recorded[1])} ({recorded[0]})" if recorded else None
            listed.append(Listed(path.stem, path, task, shown, served.get(path.stem)))
            served.setdefault(path.stem, path)
    return listed


def readable_manifest(folder: Path) -> dict[str, Any]:
    """A folder's manifest entries; none where it has no readable manifest."""
    try:
        models = read_manifest(folder).get("models")
    except (OSError, ValueError):
        return {}
    return models if isinstance(models, dict) else {}


def task_in_file(path: Path) -> str | None:
    """The task an exported file's metadata names (without opening a session)."""
    try:
        config = model_parts(path.read_bytes()).metadata.get(CONFIG_KEY, "{}")
        return json.loads(config).get("task", "classification")
    except (OSError, ValueError, WireFormatError, AttributeError):
        return None


def update_entry(directory: Path, name: str, replace: bool = False, **fields: Any) -> None:
    """Set ``fields`` on model ``name`` (a fresh entry with ``replace``), written atomically."""
    manifest = read_manifest(directory)
    entry = {} if replace else manifest["models"].get(name, {})
    manifest["models"][name] = {**entry, **fields}
    manifest["models"] = dict(sorted(manifest["models"].items()))
    write_json(Path(directory) / MANIFEST, manifest)


def set_entry(directory: Path, name: str, entry: dict[str, Any] | None) -> None:
    """Model ``name``'s whole entry: ``entry``, or none at all."""
    if entry is not None:
        update_entry(directory, name, replace=True, **entry)
        return
    manifest = read_manifest(directory)
    if manifest["models"].pop(name, None) is not None:
        write_json(Path(directory) / MANIFEST, manifest)


def check_model_name(name: str) -> str:
    """``name`` if it names a model (a file's stem in its folder), else a one-line refusal:
    a name is never a path, nor a hidden file."""
    if (
        not name
        or name.startswith(".")
        or "/" in name
        or "\\" in name
        or os.sep in name
        or not name.isprintable()
    ):
        raise InvalidInputError(
            f"{name[:60]!r} is not a model name (a name such as mnist: no folders, no dot first)"
        )
    return name


def model_files(directory: Path, name: str, patterns: tuple[str, ...] = MODEL_FILES) -> list[Path]:
    """The files model ``name`` may have in ``directory`` (those of ``patterns``)."""
    return [Path(directory) / pattern.format(name) for pattern in patterns]


def kept_dir(directory: Path, name: str) -> Path:
    return Path(directory) / PREVIOUS / check_model_name(name)


def keep_previous(directory: Path, name: str) -> Path | None:
    """Copy model ``name`` (its files and manifest entry) to ``.previous/NAME/`` beside it,
    in place of what was kept there; None where ``directory`` holds no such model."""
    directory = Path(directory)
    if not (directory / f"{name}.onnx").is_file():
        return None
    kept = kept_dir(directory, name)
    staging = kept.with_name(f".{name}.keeping")  # whole before it takes kept's place
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for path in model_files(directory, name):
        if path.is_file():
            shutil.copy2(path, staging / path.name)
    entry = read_manifest(directory)["models"].get(name)
    write_json(staging / KEPT_ENTRY, {"name": name, "entry": entry})
    shutil.rmtree(kept, ignore_errors=True)
    staging.rename(kept)
    return kept


def restore_previous(directory: Path, name: str) -> Path:
    """Put back the model export last replaced in ``directory``: its files and manifest
    entry. The model it replaces is kept in its turn, so a second restore undoes the first.
    Returns the restored model's file."""
    directory = Path(directory)
    kept = kept_dir(directory, name)
    if not (kept / KEPT_ENTRY).is_file():
        raise VisionplayError(
            f"no earlier {name} is kept in {kept.parent} (export keeps there the model it replaces)"
        )
    restoring = kept.with_name(f".{name}.restoring")
    shutil.rmtree(restoring, ignore_errors=True)
    kept.rename(restoring)
    keep_previous(directory, name)  # the model now in place goes one step back
    entry = json.loads((restoring / KEPT_ENTRY).read_text())["entry"]
    for path in model_files(directory, name):
        back = restoring / path.name
        if back.is_file():
            os.replace(back, path)
        else:  # the restored model had no such file: none of the other's stays beside it
            path.unlink(missing_ok=True)
    set_entry(directory, name, entry)
    shutil.rmtree(restoring, ignore_errors=True)
    return directory / f"{name}.onnx"
