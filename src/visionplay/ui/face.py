"""The Face tab: every face in a picture, boxed, with its 68 points drawn."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import gradio as gr
from PIL import Image

from ..admission import ADMISSION, is_large
from ..errors import VisionplayError
from ..preprocess import open_image, picture_pixels
from ..tasks import Face, KeypointModel
from .widgets import EXAMPLES, tolerant, try_load

FACE_HINT = "Upload, paste or take a picture with one or more faces in it."
NO_FACE = (
    "**No face found.** The detector finds upright, roughly frontal faces at least "
    "8 % of the picture's shorter side across."
)
# The longest side of the picture the tab sends back: the page shows it smaller still, and
# Gradio encodes what it is sent after the tab's turn, beside every other request.
SHOWN_SIDE = 1600


def mark_faces(
    model: KeypointModel, value: Any, lines: bool, found: list | None = None
) -> tuple[Any, str, list | None]:
    """The picture with every face's box and points drawn, a count (or why not), and the
    faces, which a later call with ``found`` draws again without detecting them again."""
    if value is None:
        return None, FACE_HINT, None
    large = is_large(pixels=picture_pixels(value) if isinstance(value, str) else 0)
    with ADMISSION.turn(large):
        try:
            picture = open_image(value)
            found = model.predict(picture) if found is None else found
        except VisionplayError as err:
            return None, f"**Could not read that picture:** {err}", None
        shown, scaled = smaller(picture, found)
        if not found:
            return shown, NO_FACE, found
        count = f"**{len(found)} faces found**" if len(found) > 1 else "**1 face found**"
        return model.draw(shown, scaled, lines=lines), count, found


def smaller(picture: Image.Image, found: list[Face]) -> tuple[Image.Image, list[Face]]:
    """The picture (in RGB) and its faces, scaled down to :data:`SHOWN_SIDE` at most."""
    picture = picture.convert("RGB")
    scale = SHOWN_SIDE / max(picture.size)
    if scale >= 1:
        return picture, found
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    shown = picture.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    scaled = [
        dataclasses.replace(
            face, box=tuple(v * scale for v in face.box), points=face.points * scale
        )
        for face in found
    ]
    return shown, scaled


def face_tab(directory: str | os.PathLike | None) -> None:
    model, problem = try_load("face_keypoints", directory)
    with gr.Tab("Face", id="face_keypoints"):
        if model is None:
            gr.Markdown(problem)
            return
        with gr.Row():
            with gr.Column():
                photo = tolerant(
                    gr.Image(
                        label="Picture",
                        type="filepath",
                        image_mode=None,
                        sources=["upload", "clipboard", "webcam"],
                        elem_id="face-input",
                    )
                )
                lines = gr.Checkbox(
                    value=True,
                    label="Join the points (jaw, brows, nose, eyes, lips)",
                    elem_id="face-lines",
                )
                examples = sorted(EXAMPLES.glob("face_keypoints-*.jpg"))
                if examples:
                    gr.Examples([[str(p)] for p in examples], [photo], label="Examples")
            with gr.Column():
                marked = gr.Image(
                    label="Faces and their 68 points",
                    type="pil",
                    interactive=False,
                    buttons=["download"],
                    elem_id="face-output",
                )
                message = gr.Markdown(FACE_HINT, elem_id="face-message")

        # The picture on show and its faces: toggling the lines only redraws them (the
        # Haar detection is most of a request's time).
        faces = gr.State(None)

        def read(value: Any, join: bool, seen: tuple | None = None) -> tuple[Any, str, tuple]:
            known = seen[1] if seen and seen[0] == value else None  # None: detect them
            drawn, text, found = mark_faces(model, value, join, known)
            return drawn, text, (value, found)

        outputs = [marked, message, faces]
        photo.change(read, [photo, lines], outputs, show_progress="hidden", api_name="faces")
        lines.change(read, [photo, lines, faces], outputs, show_progress="hidden", api_name=False)
