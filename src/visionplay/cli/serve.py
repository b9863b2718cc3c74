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
    parser.add_argument("--max-upload-mb", type=float, default=10.0,
                        help="largest upload accepted, in MB (default: 10)")  # fmt: skip
    parser.add_argument("--keep-uploads-s", type=int, default=300,
                        help="uploads and answers are deleted from the server's temp folder "
                        "this many seconds after they were written (default: 300)")  # fmt: skip
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from ..app import build_app
    from ..errors import InvalidInputError

    if not args.max_upload_mb > 0 or args.keep_uploads_s < 1:
        raise InvalidInputError("--max-upload-mb and --keep-uploads-s must be positive")
    demo = build_app(args.models_dir, keep_uploads_s=args.keep_uploads_s)
    demo.queue(default_concurrency_limit=2).launch(
        server_name=args.host, server_port=args.port, share=args.share,
        max_file_size=int(args.max_upload_mb * 1024 * 1024),
    )  # fmt: skip
    return 0
