"""``visionplay eval NAME``: test-set figures of an exported model (accuracy, keypoint
NME, faces found or forecast MSE: the evaluation of its task,
:mod:`visionplay.train.evaluate`)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from ..errors import InvalidInputError
from ..inference import load
from ..manifest import update_entry


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "eval", help="test-set figures of an exported model: accuracy, keypoint NME, faces found"
    )
    parser.add_argument("model", help="exported model name, e.g. mnist")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: $VISIONPLAY_DATA")
    parser.add_argument("--limit", type=int, default=None, help="only N test images, evenly spread")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument(
        "--confusion",
        type=Path,
        default=None,
        help="where to write the confusion-matrix PNG (default: runs/eval/NAME-confusion.png)",
    )
    parser.add_argument(
        "--as-drawn",
        action="store_true",
        help="redraw each test image as black strokes on a transparent 400x400 canvas, at a "
        "random size, place and pen width, as the sketchpad sends it (digit models)",
    )
    parser.add_argument("--seed", type=int, default=0, help="for --as-drawn")
    parser.add_argument(
        "--compare",
        type=Path,
        nargs="+",
        default=(),
        metavar="DIR",
        help="forecasters: also score every forecaster exported in these folders",
    )
    parser.add_argument(
        "--photos",
        type=Path,
        default=None,
        metavar="DIR",
        help="face detectors: photos with known face counts (a counts.csv of file,faces, or "
        "a README.md table of | file | faces |; default: faces-dev in the data folder)",
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help="also store the result in the manifest.json beside the model",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    for folder in args.compare:  # before the minutes of reading a dataset
        if not folder.is_dir():
            raise InvalidInputError(f"--compare {folder}: no such folder")
    from ..train.evaluate import EvalSettings, evaluate  # torchvision reads the datasets

    for flag, value in (("--limit", args.limit), ("--batch-size", args.batch_size)):
        if value is not None and value < 1:
            raise InvalidInputError(f"{flag} must be at least 1; got {value}")
    model = load(args.model)
    settings = EvalSettings(
        data_dir=args.data_dir,
        limit=args.limit,
        batch_size=args.batch_size,
        confusion=args.confusion,
        as_drawn=args.as_drawn,
        seed=args.seed,
        compare=tuple(args.compare),
        photos=args.photos,
    )
    evaluation = evaluate(model, settings)
    if evaluation.notes:
        print(evaluation.notes, file=sys.stderr)
    if args.record:
        command = shlex.join(["visionplay", "eval", *sys.argv[2:]])
        key = "eval_as_drawn" if settings.as_drawn else "eval"
        update_entry(
            model.path.parent, model.name, **{key: {**evaluation.report, "command": command}}
        )
    print(json.dumps(evaluation.report, indent=2, ensure_ascii=False))
    return 0
