"""``visionplay export --onnx [CHECKPOINT...]``: trained checkpoints -> exported/NAME.onnx."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import VisionplayError


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("export", help="export trained checkpoints to ONNX")
    parser.add_argument(
        "checkpoints",
        nargs="*",
        type=Path,
        metavar="CHECKPOINT",
        help="checkpoint files (default: every runs/NAME/NAME.pt)",
    )
    parser.add_argument("--onnx", action="store_true", help="export to ONNX (the only format)")
    parser.add_argument("--runs", type=Path, default=Path("runs"), help="where trainers saved")
    parser.add_argument("--out", type=Path, default=Path("exported"))
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from ..train.export import (
        TOLERANCE,
        export_checkpoint,  # torch: only when exporting
    )

    checkpoints = args.checkpoints or sorted(
        p for p in args.runs.glob("*/*.pt") if p.stem == p.parent.name
    )
    if not checkpoints:
        raise VisionplayError(f"no checkpoints given and none under {args.runs}/NAME/NAME.pt")
    for checkpoint in checkpoints:
        result = export_checkpoint(checkpoint, args.out)
        print(
            f"{checkpoint} -> {result.path}  ({result.parameters:,} parameters, "
            f"max |onnxruntime - torch| = {result.max_abs_diff:.1e} <= {TOLERANCE:.0e})"
        )
    return 0
