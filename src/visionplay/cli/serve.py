"""``visionplay serve``: the Gradio app on the exported models."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("serve", help="start the web app")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: this machine only)"
    )
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    parser.add_argument(
        "--models-dir", type=Path, default=None, help="default: $VISIONPLAY_MODELS or exported/"
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from ..app import build_app

    build_app(args.models_dir).queue(default_concurrency_limit=2).launch(
        server_name=args.host, server_port=args.port, share=args.share
    )
    return 0
