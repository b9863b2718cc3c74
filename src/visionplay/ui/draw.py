"""The Draw tab: a sketchpad whose digit the MNIST model reads as it is drawn."""

from __future__ import annotations

import os
from typing import Any

import gradio as gr
import numpy as np

from .widgets import classify, tolerant, try_load

DRAW_HINT = "Draw a digit anywhere on the canvas: any size, any stroke."


def draw_tab(directory: str | os.PathLike | None) -> None:
    model, problem = try_load("mnist", directory)
    with gr.Tab("Draw", id="mnist"):
        if model is None:
            gr.Markdown(problem)
            return
        with gr.Row():
            with gr.Column(scale=3):
                sketch = tolerant(
                    gr.Sketchpad(
                        label="Draw a digit",
                        type="numpy",
                        image_mode="RGBA",
                        canvas_size=(400, 400),
                        brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"),
                        layers=False,
                        transforms=(),
                        height=500,  # room for the whole 400x400 canvas at 100 %
                        elem_id="digit-sketchpad",
                        elem_classes=["brush-ready"],
                    )
                )
                clear = gr.Button("Clear", elem_id="digit-clear")
            with gr.Column(scale=2):
                label = gr.Label(num_top_classes=3, label="Prediction", elem_id="digit-label")
                gr.Markdown("What the model sees (28x28):")
                seen = gr.Image(
                    show_label=False,
                    type="numpy",
                    format="png",  # lossless blocks, and faster to encode than webp
                    interactive=False,
                    height=224,
                    buttons=[],
                    elem_id="digit-seen",
                )
                message = gr.Markdown(DRAW_HINT, elem_id="digit-message")

        def read(value: Any) -> tuple[dict | None, np.ndarray | None, str]:
            return classify(model, value, top_k=3, hint=DRAW_HINT)

        # Only the newest drawing matters: later strokes replace queued ones.
        sketch.change(
            read, sketch, [label, seen, message],
            trigger_mode="always_last", show_progress="hidden", api_name="draw",
        )  # fmt: skip
        clear.click(lambda: (None, None, None, DRAW_HINT), None, [sketch, label, seen, message],
                    api_name=False)  # fmt: skip
