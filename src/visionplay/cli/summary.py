"""``visionplay summary ARCH``: each layer's output shape and parameters; ``--list``."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("summary", help="layer table of a registered architecture")
    parser.add_argument("arch", nargs="?", help="registered architecture, e.g. lenet5")
    parser.add_argument("--list", action="store_true", help="list every registered architecture")
    parser.add_argument(
        "--model-kwargs",
        type=json.loads,
        default={},
        metavar="JSON",
        help="keyword arguments for the architecture, e.g. '{\"n_hidden\": 8}'",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from ..errors import VisionplayError
    from ..train.summary import (
        format_summary,
        list_table,
        summarize,  # torch: only here
    )

    if args.list:
        print(list_table())
        return 0
    if not args.arch:
        raise VisionplayError("name an architecture (see `visionplay summary --list`)")
    try:
        layers = summarize(args.arch, **args.model_kwargs)
    except TypeError as err:
        raise VisionplayError(f"bad --model-kwargs for {args.arch}: {err}") from None
    # The leaf layers hold every parameter (tests/test_summary.py checks it for the registry).
    print(format_summary(args.arch, layers, sum(layer.parameters for layer in layers)))
    return 0
