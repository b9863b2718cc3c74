"""``visionplay ensemble CHECKPOINT CHECKPOINT... --out PATH``: classifiers of one dataset
-> one checkpoint answering with the mean of their calibrated probabilities."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "ensemble", help="combine trained classifiers of one dataset into one checkpoint"
    )
    parser.add_argument("checkpoints", nargs="+", type=Path, metavar="CHECKPOINT")
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="the ensemble's checkpoint (then: visionplay export --onnx OUT)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from ..train.ensemble import combine  # torch: only when combining

    command = shlex.join(
        ["visionplay", "ensemble", *map(str, args.checkpoints), "--out", str(args.out)]
    )
    path = combine(args.checkpoints, args.out, command)
    print(f"{' + '.join(map(str, args.checkpoints))} -> {path}")
    return 0
