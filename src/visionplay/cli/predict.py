"""``visionplay predict IMAGE... --model NAME``: top classes for each picture, or for a
face keypoint model every face with its box and 68 points (``--overlay`` draws them)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from ..errors import InvalidInputError
from ..inference import list_exported, load


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "predict", help="classify image files, or find faces and their 68 points"
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    parser.add_argument(
        "--model",
        "-m",
        required=True,
        help=f"exported model ({', '.join(list_exported()) or 'none yet'})",
    )
    parser.add_argument("--top-k", "-k", type=int, default=3, help="classes per image (>= 1)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument(
        "--overlay", type=Path, default=None, metavar="DIR",
        help="face models: write each picture with its faces drawn to DIR/<name>-faces.png",
    )  # fmt: skip
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.top_k < 1:  # checked here, not by argparse, so the error is one line
        raise InvalidInputError(f"--top-k must be at least 1; got {args.top_k}")
    model = load(args.model)
    if model.cfg.task == "keypoints":
        return run_faces(model, args)
    results = {image: model.predict(image, args.top_k) for image in args.images}
    if args.json:
        print(json.dumps({k: [asdict(p) for p in v] for k, v in results.items()}, indent=2))
        return 0
    for image, top in results.items():
        ranked = "  ".join(f"{p.label} {p.score:.3f}" for p in top)
        print(f"{image}: {ranked}")
    return 0


def run_faces(model, args: argparse.Namespace) -> int:
    from ..faces import draw_faces
    from ..preprocess import open_image

    results = {image: model.predict(image) for image in args.images}
    if args.overlay is not None:
        args.overlay.mkdir(parents=True, exist_ok=True)
        for image, found in results.items():
            out = args.overlay / f"{Path(image).stem}-faces.png"
            draw_faces(open_image(image), found).save(out)
            print(f"wrote {out}", file=sys.stderr)
    if args.json:
        print(json.dumps({k: [face_dict(f) for f in v] for k, v in results.items()}, indent=2))
        return 0
    for image, found in results.items():
        print(f"{image}: {len(found)} face{'s' * (len(found) != 1)}")
        for face in found:
            box = ", ".join(f"{v:.0f}" for v in face.box)
            print(f"  box ({box})  score {face.score:.2f}  68 points")
    return 0


def face_dict(face) -> dict:
    return {
        "box": [round(v, 1) for v in face.box],
        "score": round(face.score, 3),
        "points": [[round(float(x), 1), round(float(y), 1)] for x, y in face.points],
    }
