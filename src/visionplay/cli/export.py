"""``visionplay export --onnx [CHECKPOINT...]``: trained checkpoints -> exported/NAME.onnx;
``visionplay export --restore NAME``: the model the last export replaced, back in place."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InvalidInputError, VisionplayError
from ..locations import DRY_RUN_DIR
from ..manifest import PREVIOUS, restore_previous


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "export",
        help="export trained checkpoints to ONNX",
        description="Export checkpoints to ONNX. A model already in --out is replaced only "
        "by a checkpoint that is no dry run's and records a figure no worse than it (unless "
        f"--force), and is kept in {PREVIOUS}/NAME/ there: --restore NAME puts it back.",
    )
    parser.add_argument(
        "checkpoints",
        nargs="*",
        type=Path,
        metavar="CHECKPOINT",
        help="checkpoint files (default: every RUNS/NAME/NAME.pt)",
    )
    parser.add_argument("--onnx", action="store_true", help="export to ONNX (the only format)")
    parser.add_argument(
        "--runs",
        type=Path,
        default=Path("runs"),
        help="where trainers saved (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("exported"),
        help="the models' folder to export to (default: %(default)s)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace a model even with a dry run's checkpoint or a worse one",
    )
    parser.add_argument(
        "--restore",
        metavar="NAME",
        default=None,
        help=f"put back the model the last export of NAME replaced (kept in OUT/{PREVIOUS}/)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.restore is not None:
        return restore(args)
    from ..train.export import (
        TOLERANCE,
        export_checkpoint,  # torch: only when exporting
    )

    checkpoints = args.checkpoints or sorted(
        p for p in args.runs.glob("*/*.pt") if p.stem == p.parent.name
    )
    if not checkpoints:
        raise VisionplayError(
            f"no checkpoints given and none under {args.runs}/NAME/NAME.pt (a dry run's are "
            f"under {args.runs}/{DRY_RUN_DIR}/: name one to export it)"
        )
    for checkpoint in checkpoints:
        result = export_checkpoint(checkpoint, args.out, force=args.force)
        print(
            f"{checkpoint} -> {result.path}  ({result.parameters:,} parameters, "
            f"max |onnxruntime - torch| = {result.max_abs_diff:.1e} <= {TOLERANCE:.0e})"
        )
        if result.kept is not None:
            print(
                f"  the model it replaced is kept in {result.kept}/ "
                f"(`visionplay export --restore {result.name} --out {args.out}` puts it back)"
            )
    return 0


def restore(args: argparse.Namespace) -> int:
    """``--restore NAME``: no checkpoints, no torch; the files and entry swap places."""
    if args.checkpoints:
        raise InvalidInputError("--restore NAME takes no checkpoints")
    path = restore_previous(args.out, args.restore)
    print(
        f"restored {path}; the model it replaced is kept in "
        f"{args.out / PREVIOUS / args.restore}/ (--restore again swaps them back)"
    )
    return 0
