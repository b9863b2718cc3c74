"""The baseline of the bench's live part: Gradio's own webcam streaming, doing nothing.

A minimal Gradio app: ``gr.Image(sources=["webcam"], streaming=True)`` whose ``.stream``
handler returns each frame unchanged into an output ``gr.Image``, as Gradio's own
``streaming_simple`` demo does, asked for a frame every :data:`STREAM_EVERY_S` (the fake
camera's rate: Gradio's best case), unmirrored. What it gets done is what a page built on
Gradio's streaming could show, before any model runs. :mod:`.live` opens it in the same
Chromium, with the same fake camera, as the Face tab's live view, and measures in the page
how often the output picture changes and how long a frame takes to come back.

Run ``python -m visionplay.bench.streaming --port N`` to serve it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from .server import start_child

# Ask for a frame as often as the fake camera makes one (30 a second). Gradio's demo asks
# every 0.1 s; its default is 0.5 s.
STREAM_EVERY_S = 1 / 30
INPUT_ID, OUTPUT_ID = "stream-in", "stream-out"


def streaming_app():
    """The app: webcam in, the same frame out, no time limit."""
    import gradio as gr

    with gr.Blocks(title="bare webcam streaming") as demo:
        with gr.Row():
            camera = gr.Image(
                sources=["webcam"],
                streaming=True,
                type="numpy",
                # Unmirrored, so the frame number each clip frame carries reads back (the
                # flip is a canvas transform in the page: no cost either way).
                webcam_options=gr.WebcamOptions(mirror=False),
                elem_id=INPUT_ID,
                label="camera",
            )
            shown = gr.Image(elem_id=OUTPUT_ID, label="returned", streaming=True)

        def echo(frame: Any) -> Any:
            return frame

        camera.stream(
            echo,
            camera,
            shown,
            stream_every=STREAM_EVERY_S,
            time_limit=None,
            concurrency_limit=None,
            show_progress="hidden",
            api_name="echo",
        )
    return demo


def start_streaming_app(port: int, log: Path, timeout: float = 120):
    """The app in a child process on ``port``, Gradio's copies of the frames in a folder
    beside ``log``; it and its seconds to ready."""
    cache = log.with_suffix(".frames")
    command = [
        sys.executable,
        "-m",
        "visionplay.bench.streaming",
        "--port",
        str(port),
        "--cache",
        str(cache),
    ]
    return start_child(
        command, f"http://127.0.0.1:{port}/", log, timeout, "the bare webcam streaming page"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m visionplay.bench.streaming")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cache", help="where Gradio keeps each frame it sends back")
    args = parser.parse_args(argv)
    if args.cache:  # every frame returned is a file: a folder the bench removes after
        os.environ["GRADIO_TEMP_DIR"] = args.cache
    streaming_app().launch(server_name="127.0.0.1", server_port=args.port, quiet=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
