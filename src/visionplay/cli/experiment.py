"""``visionplay experiment permute``: the tutorials' experiments, run for real.

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("experiment", help="run one of the tutorials' experiments")
    kinds = parser.add_subparsers(dest="experiment", required=True, metavar="EXPERIMENT")
    permute = kinds.add_parser(
        "permute", help="FC2 vs CNN-small on MNIST with plain and with shuffled pixels"
    )
    permute.add_argument("--epochs", type=int, default=1, help="seed 002 trains one epoch")
    permute.add_argument("--batch-size", type=int, default=64)
    permute.add_argument("--lr", type=float, default=0.01)
    permute.add_argument("--seed", type=int, default=0)
    permute.add_argument("--data-dir", type=Path, default=None, help="default: $VISIONPLAY_DATA")
    permute.add_argument("--limit", type=int, default=None, help="only the first N images")
    permute.add_argument("--workers", type=int, default=2)
    permute.add_argument("--out", type=Path, default=Path("runs/permute"))
    permute.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from ..train.settings import TrainingSettings
    from ..tutorials.experiments import (
        format_table,
        permutation_experiment,
        save_permutation_result,
    )

    settings = TrainingSettings(
        arch="fc2",  # the first of the two models the experiment trains (it trains both)
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=0.0,
        augment=False,
        seed=args.seed,
        data_dir=args.data_dir,
        limit=args.limit,
        workers=args.workers,
        out=args.out,
    )
    result = permutation_experiment(settings)
    print(format_table(result))
    json_path, png_path = save_permutation_result(result, args.out)
    print(f"saved {json_path} and {png_path}")
    return 0
