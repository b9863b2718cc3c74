"""``visionplay list``: every exported model in the stack of model folders, where it comes
from and its headline figure; a model hidden by an earlier folder's of the same name says
so."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..locations import models_dirs, shipped_models_dir
from ..manifest import Listed, listed_models
from .serve import add_models_dir

HEADERS = ("model", "task", "figure", "from")


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "list", help="every exported model: where it comes from and its headline figure"
    )
    add_models_dir(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    listed = listed_models(models_dirs(args.models_dir))
    if args.json:
        print(json.dumps([as_json(model) for model in listed], indent=2))
        return 0
    if not listed:
        print("no exported models: train one and run `visionplay export --onnx`")
        return 0
    rows = [HEADERS, *(as_row(model) for model in listed)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def origin(path: Path) -> str:
    """Where a model comes from: the shipped models, or its folder."""
    return "shipped" if path.parent == shipped_models_dir() else str(path.parent)


def as_row(model: Listed) -> tuple[str, ...]:
    where = origin(model.path)
    if model.hidden_by is not None:
        where += f" (hidden by {origin(model.hidden_by)}'s)"
    return (model.name, model.task or "?", model.figure or "-", where)


def as_json(model: Listed) -> dict:
    return {
        "name": model.name,
        "task": model.task,
        "figure": model.figure,
        "file": str(model.path),
        "from": origin(model.path),
        "hidden_by": None if model.hidden_by is None else str(model.hidden_by),
    }
