"""Entry point: ``visionplay <command> ...``."""

from __future__ import annotations

import argparse
import sys

from ..errors import VisionplayError, not_installed
from . import bench, ensemble, experiment, export, listing, predict, serve, summary
from . import eval as eval_command

COMMANDS = (serve, predict, listing, eval_command, export, ensemble, experiment, summary, bench)


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
        return fail(args.command, str(err))
    except OSError as err:  # a last resort: the system refused a file or name the command got
        return fail(args.command, os_error_text(err))
    except ModuleNotFoundError as err:  # a part of the install left out: say which to add
        missing = not_installed(err)
        if missing is None:
            raise
        return fail(args.command, str(missing))
    except KeyboardInterrupt:
        return 130


def fail(command: str, message: str) -> int:
    """The error as one line on stderr (a file name may hold a newline), and exit status 2."""
    print(f"visionplay {command}: error: {' '.join(message.splitlines())}", file=sys.stderr)
    return 2


def os_error_text(err: OSError) -> str:
    reason = err.strerror or str(err) or type(err).__name__
    return f"{err.filename}: {reason}" if err.filename is not None else reason


if __name__ == "__main__":
    sys.exit(main())
