"""The Face tab: every face in a picture, boxed, with its 68 points drawn; and a live view
that follows the faces a camera sees. ``#face-model`` picks the keypoint model (any in the
model folders, face_keypoints first), each with the detector its file names.

The live view is one ``gr.HTML`` of our own (``static/face_live.*``; the page's code is in
``face_live.js``). Its contract, which tests and tools rely on:

- ``#face-live`` holds it; ``#face-live-start`` starts the camera, ``#face-live-stop``
  stops the camera and the requests (two buttons, each disabled while it has nothing to do);
- ``#face-live-overlay``, the canvas on the video, carries ``data-frames`` (answers drawn
  since the page loaded), ``data-faces`` (JSON: the latest answer, per face its 68
  ``[x, y]`` in the camera frame's own pixels) and ``data-latency-ms`` (that answer's
  capture-to-drawn time, ``performance.now()`` based);
- ``#face-live-stats`` shows the answers a second and the latency; ``#face-live-message``
  why the camera is not on (refused, absent, or a page a browser allows no camera on).

Each camera frame goes to ``POST /live/NAME``, NAME the model picked (:mod:`visionplay.serve.rest`,
served beside the app by ``visionplay serve``) downscaled to :data:`LIVE_WIDTH` px as a
JPEG, with the previous answer: :func:`visionplay.tracking.answer`. Where the app runs
without the REST routes (``demos/app.py``) the page asks the tab's own server function
instead, the same answer through gr.HTML's one POST.
"""

from __future__ import annotations

import dataclasses
import html
import json
import time
from typing import Any

import gradio as gr
from PIL import Image

from .. import faces as layout
from .. import tracking
from ..admission import ADMISSION, is_large
from ..errors import VisionplayError
from ..locations import Folders
from ..preprocess import open_image, picture_pixels
from ..tasks import Face, KeypointModel
from .widgets import (
    EXAMPLES,
    Offered,
    chosen,
    kept_pick,
    model_picker,
    offered,
    static_text,
    tolerant,
    with_model,
)

FACE_HINT = "Upload, paste or take a picture with one or more faces in it."
NO_FACE = (
    "**No face found.** The detector finds faces turned up to about half profile, from "
    "about a twentieth of the picture's width across to filling it."
)
# The longest side of the picture the tab sends back: the page shows it smaller still, and
# Gradio encodes what it is sent after the tab's turn, beside every other request.
SHOWN_SIDE = 1600
# The live view's frames: this wide (the crops are 96 px; a face a quarter of the frame
# wide still fills one), as JPEGs of this quality.
LIVE_WIDTH = 320
LIVE_QUALITY = 0.8
LIVE_HINT = "Press Start to follow the faces your camera sees, live."
SAY_UPLOAD = " Uploading a picture above still works."
CAMERA_REFUSED = (
    "The camera was not allowed: allow it for this page in the browser's settings, then "
    "press Start again." + SAY_UPLOAD
)
NO_CAMERA = "No camera could be opened (none found, or another program holds it)." + SAY_UPLOAD
INSECURE_PAGE = (
    "This page cannot use a camera: browsers allow one only on https:// pages and on "
    "localhost." + SAY_UPLOAD
)
LIVE_TEMPLATE = static_text("face_live.html").format(
    width=LIVE_WIDTH,
    quality=LIVE_QUALITY,
    route="live/",  # and the model's name
    contours=html.escape(json.dumps([[a, b, c] for _, a, b, c in layout.CONTOURS])),
    dot_share=layout.DOT_SHARE,
    line_share=layout.LINE_SHARE,
    refused=html.escape(CAMERA_REFUSED),
    missing=html.escape(NO_CAMERA),
    insecure=html.escape(INSECURE_PAGE),
    hint=html.escape(LIVE_HINT),
)
LIVE_CSS = static_text("face_live.css")
LIVE_SCRIPT = static_text("face_live.js")


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


def follow_frame(model: KeypointModel, request: str) -> dict[str, Any]:
    """A live frame's answer (:func:`visionplay.tracking.answer`) in its turn, with the
    server's milliseconds, or ``{"error": ...}``: what ``POST /live/NAME`` answers."""
    began = time.perf_counter()
    try:
        with ADMISSION.turn(False):  # tracking refuses a frame large enough to count
            answer = tracking.answer(model, request)
    except VisionplayError as err:
        return {"error": str(err)}
    answer["ms"] = round((time.perf_counter() - began) * 1e3, 1)
    return answer


def live_view(offer: Offered) -> None:
    """The camera, its faces followed by the model picked: see the module's head."""

    def follow(call: Any) -> dict:  # `server.follow(request, model)` in the page
        request, model = with_model(call)
        try:
            return follow_frame(chosen(offer, model), request)
        except VisionplayError as err:
            return {"error": str(err)}

    gr.HTML(
        value="",
        html_template=LIVE_TEMPLATE,
        css_template=LIVE_CSS,
        js_on_load=LIVE_SCRIPT,
        apply_default_css=False,
        server_functions=[follow],  # `server.follow` in the page
    )


def face_tab(directory: Folders) -> None:
    offer = offered(directory, "keypoints", ("face_keypoints",))
    with gr.Tab("Face", id="face_keypoints"):
        if not offer.models:
            gr.Markdown(offer.problem)
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
                choice = model_picker(offer, "face-model")
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

        # The picture on show and its faces: toggling the lines only redraws them (finding
        # the faces is most of a request's time).
        faces = gr.State(None)

        def read(
            value: Any, join: bool, name: str = "", seen: tuple | None = None
        ) -> tuple[Any, str, tuple | None]:
            try:
                model = chosen(offer, name)
            except VisionplayError as err:
                return None, f"**{err}**", None
            known = seen[2] if seen and seen[:2] == (value, name) else None  # None: detect
            drawn, text, found = mark_faces(model, value, join, known)
            return drawn, text, (value, name, found)

        outputs, kept = [marked, message, faces], kept_pick(choice, offer)
        inputs = [photo, lines, kept]
        photo.change(read, inputs, outputs, show_progress="hidden", api_name="faces")
        lines.change(read, [*inputs, faces], outputs, show_progress="hidden", api_name=False)
        picked = [photo, lines, choice]
        choice.change(read, picked, outputs, show_progress="hidden", api_name=False)
        with gr.Accordion("Live: your camera's faces, followed", open=True):
            live_view(offer)
