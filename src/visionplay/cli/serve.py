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
    max_bytes = int(args.max_upload_mb * 1024 * 1024)
    demo = build_app(args.models_dir, keep_uploads_s=args.keep_uploads_s)
    demo.queue(default_concurrency_limit=2)
    if args.share:  # Gradio's tunnel carries its own app only: no REST routes there
        demo.launch(server_name=args.host, server_port=args.port, share=True,
                    max_file_size=max_bytes)  # fmt: skip
        return 0
    import gradio as gr
    import uvicorn

    from ..rest import create_app

    # One port: the REST routes first, the Gradio app mounted under them at "/".
    app = gr.mount_gradio_app(create_app(args.models_dir, max_bytes), demo, path="/",
                              max_file_size=max_bytes)  # fmt: skip
    print(f"visionplay: the app on http://{args.host}:{args.port}/, "
          f"REST at /v2/models/NAME/infer and /predict/NAME", flush=True)  # fmt: skip
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
