"""The Gradio app: a thin layer of tabs over :func:`visionplay.load`, one module per tab
(:mod:`.draw`, :mod:`.photo`, :mod:`.face`, :mod:`.forecast`, :mod:`.generate`,
:mod:`.learn`) and their shared pieces in :mod:`.widgets`.

Each tab loads its model when the app is built; a model that is missing or broken turns
its tab into a message saying how to make it, and the other tabs keep working.
:func:`queued` bounds the app's queue, for everyone and for each client.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import gradio as gr

from ..admission import MOST_PER_CLIENT, MOST_QUEUED
from ..locations import Folders
from .draw import draw_tab
from .face import face_tab
from .forecast import forecast_tab
from .generate import generate_tab
from .learn import learn_tab
from .photo import photo_tab
from .widgets import BRUSH_READY_JS


def build_app(directory: Folders = None, keep_uploads_s: int = 300) -> gr.Blocks:
    """All tabs over the models in ``directory``, a folder or several searched in order
    (default: the stack, :func:`visionplay.locations.models_dirs`).
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


# Events in their handlers at once. Their work waits for a core in the admission policy
# (visionplay.admission), which knows small from large, so Gradio's queue need not hold a
# small event behind large ones.
EVENTS_AT_ONCE = 16


def queued(demo: gr.Blocks, per_client: int = MOST_PER_CLIENT) -> gr.Blocks:
    """``demo`` with its queue bounded: a full queue, or a client with ``per_client``
    events already in it, is answered at once with a message."""
    demo.queue(max_size=MOST_QUEUED, default_concurrency_limit=EVENTS_AT_ONCE)
    queue, push = demo._queue, demo._queue.push  # Gradio's own; requirements.txt pins it

    async def push_bounded(body: Any, request: Any, username: str | None) -> tuple:
        client = client_address(request)
        if sum(client_address(e.request) == client for e in events_in(queue)) >= per_client:
            return (
                False,
                (
                    f"You have {per_client} requests waiting or running already: "
                    "wait for one to finish"
                ),
                "queue_full",
            )
        return await push(body, request, username)

    queue.push = push_bounded
    return demo


def events_in(queue: Any) -> chain:
    """Every event in Gradio's ``queue``, waiting or running."""
    running = (e for job in queue.active_jobs if job for e in job)
    return chain(waiting_in(queue), running)


def waiting_in(queue: Any) -> list:
    """The events waiting in Gradio's ``queue`` (one line per concurrency group)."""
    return [e for line in queue.event_queue_per_concurrency_id.values() for e in line.queue]


def client_address(request: Any) -> str | None:
    client = getattr(request, "client", None)
    return getattr(client, "host", None)
