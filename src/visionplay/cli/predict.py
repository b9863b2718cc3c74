"""``visionplay predict IMAGE... --model NAME``: top classes for each picture."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from ..inference import list_exported, load


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("predict", help="predict the class of image files")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    parser.add_argument(
        "--model",
        "-m",
        required=True,
        help=f"exported model ({', '.join(list_exported()) or 'none yet'})",
    )
    parser.add_argument("--top-k", "-k", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    model = load(args.model)
    results = {image: model.predict(image, args.top_k) for image in args.images}
    if args.json:
        print(json.dumps({k: [asdict(p) for p in v] for k, v in results.items()}, indent=2))
        return 0
    for image, top in results.items():
        ranked = "  ".join(f"{p.label} {p.score:.3f}" for p in top)
        print(f"{image}: {ranked}")
    return 0
