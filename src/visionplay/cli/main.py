"""Entry point: ``visionplay <command> ...``."""

from __future__ import annotations

import argparse
import sys

from ..errors import VisionplayError
from . import bench, experiment, export, predict, serve, summary
from . import eval as eval_command

COMMANDS = (serve, predict, eval_command, export, experiment, summary, bench)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="visionplay", description="Train, export and serve small vision models."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except VisionplayError as err:
        print(f"visionplay {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
