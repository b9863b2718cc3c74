"""The Draw tab: a canvas of our own whose digit the MNIST model reads while it is drawn.

The tab is one ``gr.HTML`` (``#digit-draw``): a plain 2D canvas with pointer events
(``#digit-sketchpad``; mouse, touch and stylus draw alike), a pen width, Undo and Clear
(``#digit-clear``), and beside it the answer (``#digit-label``: the top class, the top
three scores and which drawing they are for), what the model sees (``#digit-seen``, the
28x28 input) and a message (``#digit-message``: the hint on an empty canvas). Above it,
``#digit-model`` picks the reader: any classifier of one 28x28 grey picture in the model
folders, mnist first; the page sends the one picked with each drawing.

The canvas sends its strokes as JSON (:mod:`visionplay.strokes`, a few kilobytes; no
picture is uploaded) to :func:`answer` through gr.HTML's server functions: one POST, its
reply drawn by the page. While the pen moves it asks at most every ``LIVE_INTERVAL_MS``
and never with an answer outstanding (the newest drawing replaces any waiting one, so
nothing piles up); on pen-up it asks at once. A Gradio event would cost a queue join, an
event stream and the page's state updates: 45 ms p50 a round trip doing nothing, on the
bench's two cores, against 10 ms for the POST (BENCHMARKS.md, "Drawing in a browser").
An answer to an older drawing than the one shown, or to one since cleared, is dropped.

Programs get the same answer from the ``draw`` API endpoint (gradio_client's
``api_name="/draw"`` with the strokes JSON and, optionally, a model's name), which goes
through Gradio's queue.
"""

from __future__ import annotations

import base64
import html
from typing import Any

import gradio as gr

from .. import strokes as pen
from ..config import NOT_A_DIGIT
from ..errors import InvalidInputError
from ..locations import Folders
from ..tasks import Classifier, Model
from ..tasks.classification import TOP_K
from .widgets import chosen, classify, model_picker, offered, static_text, with_model

DRAWN_INPUT = (1, 28, 28)  # what a reader of the canvas reads: one grey 28x28 picture

DRAW_HINT = "Draw a digit anywhere on the canvas: any size, any stroke."
NOT_A_DIGIT_HINT = "That does not look like a digit to the model: draw one digit, 0 to 9."
MIN_STEP = 1.5  # canvas pixels the pen moves before the canvas keeps another point
LIVE_INTERVAL_MS = 40  # while the pen moves, at most one question this often

# The page's parts are files beside this module (static/draw.*), linted as what they are.
# The numbers they need come from the constants above and visionplay.strokes, filled into
# the template: the canvas's size, the pen widths, and for the script (which reads them from
# the template's root) the limits, the step, the interval and the hint.
TEMPLATE = static_text("draw.html").format(
    canvas=pen.CANVAS,
    pen_min=pen.PEN_WIDTHS[0],
    pen_max=pen.PEN_WIDTHS[1],
    pen_start=pen.PEN_WIDTHS[2],
    max_strokes=pen.MAX_STROKES,
    max_points=pen.MAX_POINTS,
    min_step=MIN_STEP,
    interval=LIVE_INTERVAL_MS,
    hint=html.escape(DRAW_HINT),
)
CSS = static_text("draw.css")
# Runs once the widget is on the page, with its root, value and server functions (see
# gr.HTML's js_on_load and server_functions, and the script's head). gr.HTML would rebuild
# any node that differs from its template, but only when the rendered template changes, and
# this one reads no prop: it never does.
SCRIPT = static_text("draw.js")


# An answer that reads nothing, to which a message is added.
NOTHING: dict[str, Any] = {"label": None, "confidences": [], "seen": None, "read": ""}


def answer(model: Classifier, value: Any) -> dict[str, Any]:
    """What the tab shows for a drawing (strokes JSON, as the canvas sends it): ``label``
    (the top class, or None when there is nothing to read), ``confidences`` (the top
    three, as gr.Label has them), ``seen`` (the 28x28 input the model read: base64 of its
    784 bytes, row by row, 0 black to 255 white), ``read`` (what the drawing was made of:
    "1 stroke, 3 points"), ``model`` (the reader, with an answer) and ``message`` (empty,
    the hint for an empty canvas, or what is wrong with the strokes, or
    :data:`NOT_A_DIGIT_HINT` when the reader says "not a digit").

    Its pieces: :func:`visionplay.strokes.check` and :func:`~visionplay.strokes.render`,
    then :func:`.widgets.classify` (``model.prepare``, the same as for any picture)."""
    try:
        drawing = pen.check(value)
    except InvalidInputError as err:
        return {**NOTHING, "message": f"Could not read that drawing: {err}"}
    if not drawing:
        return {**NOTHING, "message": DRAW_HINT}
    # The page enlarges the 28x28 input itself.
    scores, seen, message = classify(
        model, pen.render(drawing), top_k=TOP_K, hint=DRAW_HINT, scale=1
    )
    if not scores:
        return {**NOTHING, "read": pen.describe(drawing), "message": message.replace("**", "")}
    label = next(iter(scores))
    return {
        "label": label,
        "confidences": [{"label": k, "confidence": round(v, 6)} for k, v in scores.items()],
        "seen": base64.b64encode(seen.tobytes()).decode(),
        "read": pen.describe(drawing),
        "model": model.name,
        "message": NOT_A_DIGIT_HINT if label == NOT_A_DIGIT else message,
    }


def reads_the_canvas(model: Model) -> bool:
    return tuple(model.cfg.input_size) == DRAWN_INPUT


def draw_tab(directory: Folders) -> None:
    offer = offered(directory, "classification", ("mnist",), fits=reads_the_canvas)
    with gr.Tab("Draw", id="mnist"):
        if not offer.models:
            gr.Markdown(offer.problem)
            return

        def draw(strokes: str, model: str = "") -> dict:
            """A model's reading of a drawing: strokes JSON as the Draw tab's canvas sends
            it, [{"width": 18, "points": [[x, y], ...]}, ...] on a 400x400 canvas, and the
            name of one of the tab's models (empty: the first, mnist). Answers label,
            confidences (top 3), seen (the 28x28 input: base64 of 784 bytes, row by row),
            read, model and message."""
            try:
                reader = chosen(offer, model)
            except InvalidInputError as err:
                return {**NOTHING, "message": str(err)}
            return answer(reader, strokes)

        draw.__annotations__ = {"strokes": str, "model": str, "return": dict}  # for gr.api

        def answer_call(call: Any) -> dict:  # `server.answer(strokes, model)` in the page
            return draw(*with_model(call))

        answer_call.__name__ = "answer"
        model_picker(offer, "digit-model")
        gr.HTML(
            value="[]",
            html_template=TEMPLATE,
            css_template=CSS,
            js_on_load=SCRIPT,
            apply_default_css=False,
            server_functions=[answer_call],
            elem_id="digit-draw",
        )
        gr.api(draw, api_name="draw")
