"""The Gradio app: a thin layer of tabs over :func:`visionplay.load`, one module per tab
(:mod:`.draw`, :mod:`.photo`, :mod:`.face`, :mod:`.forecast`, :mod:`.generate`,
:mod:`.learn`) and their shared pieces in :mod:`.widgets`.

Each tab loads its model when the app is built; a model that is missing or broken turns
its tab into a message saying how to make it, and the other tabs keep working.
"""

from __future__ import annotations

import os

import gradio as gr

from .draw import draw_tab
from .face import face_tab
from .forecast import forecast_tab
from .generate import generate_tab
from .learn import learn_tab
from .photo import photo_tab
from .widgets import BRUSH_READY_JS


def build_app(directory: str | os.PathLike | None = None, keep_uploads_s: int = 300) -> gr.Blocks:
    """All tabs over the models in ``directory`` (default :func:`.inference.models_dir`).
    Uploads and answers written to Gradio's temp folder are deleted once older than
    ``keep_uploads_s`` (checked as often): the browser shows an upload from there while
    its user looks at it, so not at the end of the request."""
    with gr.Blocks(title="visionplay", delete_cache=(keep_uploads_s, keep_uploads_s)) as demo:
        gr.Markdown("# visionplay\nSmall vision models, live, through onnxruntime.")
        with gr.Tabs():
            draw_tab(directory)
            photo_tab(directory)
            face_tab(directory)
            forecast_tab(directory)
            generate_tab(directory)
            learn_tab(directory)
        demo.load(None, js=BRUSH_READY_JS)
    return demo
