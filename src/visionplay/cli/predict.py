"""``visionplay predict FILE... --model NAME``: each file's answer from the model, as text
or JSON: the top classes of a picture, every face with its box and points (``--overlay``
draws them), or a series' forecast (a text or CSV file of numbers)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import InvalidInputError
from ..inference import list_exported, load
from ..preprocess import open_image
from ..tasks.classification import TOP_K


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "predict", help="classify pictures, find faces and their points, or forecast a series"
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="FILE",
        help="picture files (for a forecaster: text or CSV files of numbers)",
    )
    parser.add_argument(
        "--model",
        "-m",
        required=True,
        help=f"exported model ({', '.join(list_exported()) or 'none yet'})",
    )
    parser.add_argument("--top-k", "-k", type=int, default=TOP_K, help="classes per image (>= 1)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument(
        "--overlay",
        type=Path,
        default=None,
        metavar="DIR",
        help="write each picture with its answer drawn (the faces) to DIR/<name>-faces.png",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.top_k < 1:  # checked here, not by argparse, so the error is one line
        raise InvalidInputError(f"--top-k must be at least 1; got {args.top_k}")
    model = load(args.model)
    options = model.options_from(top_k=args.top_k)
    answers = {name: model.predict(Path(name), **options) for name in args.inputs}
    if args.overlay is not None:
        write_overlays(model, answers, args.overlay)
    if args.json:
        print(json.dumps({k: model.to_json(v) for k, v in answers.items()}, indent=2))
        return 0
    for name, answer in answers.items():
        first, *rest = model.to_text(answer)
        print(f"{name}: {first}", *rest, sep="\n")
    return 0


def write_overlays(model, answers: dict, folder: Path) -> None:
    """Each picture with its answer drawn on it, as folder/<name>-<model>.png."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, answer in answers.items():
        out = folder / f"{Path(name).stem}-{model.answer_key}.png"
        model.draw(open_image(name), answer).save(out)
        print(f"wrote {out}", file=sys.stderr)
