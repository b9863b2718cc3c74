"""``visionplay experiment permute``: the tutorials' experiments, run for real.

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    # Here, as in run(): importing the command's module stays light (numpy, the settings).
    from ..tutorials.experiments import add_permutation_flags

    parser = subparsers.add_parser("experiment", help="run one of the tutorials' experiments")
    kinds = parser.add_subparsers(dest="experiment", required=True, metavar="EXPERIMENT")
    permute = kinds.add_parser(
        "permute", help="FC2 vs CNN-small on MNIST with plain and with shuffled pixels"
    )
    add_permutation_flags(permute).set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from ..tutorials.experiments import (
        format_table,
        permutation_experiment,
        permutation_settings,
        save_permutation_result,
    )

    result = permutation_experiment(permutation_settings(args))
    print(format_table(result))
    json_path, png_path = save_permutation_result(result, args.out)
    print(f"saved {json_path} and {png_path}")
    return 0
