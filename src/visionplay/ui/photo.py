"""The Photo tab: one garment or object in a photo, read by the model the user picks: any
picture classifier in the model folders, the shipped ones first."""

from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np

from ..errors import InvalidInputError
from ..locations import Folders
from .widgets import EXAMPLES, chosen, classify, model_picker, offered, tolerant

PHOTO_HINT = "Upload, paste or take a photo of one garment or object."
PHOTO_MODELS = ("fashion_mnist", "cifar10")  # registry keys, in the order the tab offers them


def photo_tab(directory: Folders) -> None:
    offer = offered(directory, "classification", PHOTO_MODELS)
    with gr.Tab("Photo", id="photo"):
        if not offer.models:
            gr.Markdown(offer.problem)
            return
        with gr.Row():
            with gr.Column(scale=3):
                # A file path keeps the upload as it is (mode, bit depth, EXIF) for our reader.
                photo = tolerant(
                    gr.Image(
                        label="Photo",
                        type="filepath",
                        image_mode=None,
                        sources=["upload", "clipboard", "webcam"],
                        elem_id="photo-input",
                    )
                )
                choice = model_picker(offer, "photo-model")
                examples = sorted(EXAMPLES.glob("*.png"))
                example_rows = [[str(p), p.stem.split("-")[0]] for p in examples]
                example_rows = [row for row in example_rows if row[1] in offer.models]
                if example_rows:
                    gr.Examples(example_rows, [photo, choice], label="Examples")
            with gr.Column(scale=2):
                label = gr.Label(num_top_classes=5, label="Prediction", elem_id="photo-label")
                gr.Markdown("What the model sees:")
                seen = gr.Image(
                    show_label=False,
                    type="numpy",
                    format="png",
                    interactive=False,
                    height=224,
                    buttons=[],
                    elem_id="photo-seen",
                )
                message = gr.Markdown(PHOTO_HINT, elem_id="photo-message")

        def read(value: Any, name: str) -> tuple[dict | None, np.ndarray | None, str]:
            try:
                model = chosen(offer, name)
            except InvalidInputError as err:
                return None, None, f"**{err}**"
            return classify(model, value, top_k=5, hint=PHOTO_HINT)

        outputs = [label, seen, message]
        photo.change(read, [photo, choice], outputs, show_progress="hidden", api_name="photo")
        choice.change(read, [photo, choice], outputs, show_progress="hidden", api_name=False)
