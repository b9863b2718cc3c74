"""The app over HTTP, through gradio_client, as a program would call it."""

from __future__ import annotations

import base64

import gradio as gr
import numpy as np
import pytest
from drawn import strokes
from gradio_client import Client

from visionplay.ui.app import build_app
from visionplay.ui.draw import DRAW_HINT
from visionplay.ui.photo import PHOTO_MODELS
from visionplay.ui.widgets import classify


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def test_draw_tab_reads_a_drawn_seven(client):
    reply = client.predict(strokes("7", size=150, width=10, centre=(120, 260)), api_name="/draw")
    assert reply["label"] == "7"
    assert [c["label"] for c in reply["confidences"]][0] == "7"
    assert len(reply["confidences"]) == 3
    assert reply["message"] == "" and reply["read"] == "1 stroke, 3 points"
    seen = np.frombuffer(base64.b64decode(reply["seen"]), np.uint8)
    assert seen.size == 28 * 28 and seen.max() == 255  # the model's input, as it saw it


def test_empty_canvas_gives_a_hint_not_an_error(client):
    for empty in ("[]", ""):
        reply = client.predict(empty, api_name="/draw")
        assert reply["label"] is None and reply["seen"] is None and reply["confidences"] == []
        assert reply["message"] == DRAW_HINT
    reply = client.predict('[{"width": 18, "points": [[1, 500]]}]', api_name="/draw")
    assert reply["label"] is None
    assert reply["message"] == (
        "Could not read that drawing: stroke 1, point 1 (1, 500) is outside the 400 x 400 canvas"
    )


TAB_MODELS = ("mnist", *PHOTO_MODELS, "face_keypoints", "timeseries")
TAB_INPUTS = ("digit-draw", "photo-input", "face-input", "series-input")


def test_missing_model_turns_the_tab_into_instructions(tmp_path, capsys):
    demo = build_app(tmp_path)  # an empty models folder
    blocks = list(demo.blocks.values())
    notes = "\n\n".join(str(b.value) for b in blocks if isinstance(b, gr.Markdown))
    for name in TAB_MODELS:
        note = f"**The {name} model is not available:** its file `{name}.onnx` is missing. "
        assert f"{note}Make it with `visionplay export --onnx`" in notes, name
    assert str(tmp_path) not in notes  # the page names no folder of the server...
    log = capsys.readouterr().err
    for name in TAB_MODELS:  # ...its log says where each model was looked for
        assert f"the {name} model is not available: no exported model {name!r} " in log
        assert f"(looked in {tmp_path};" in log
    # Instructions instead of the tab: none of its inputs are built.
    assert not {getattr(b, "elem_id", None) for b in blocks} & set(TAB_INPUTS)


def test_classify_names_unreadable_input(shipped_mnist):
    label, seen, message = classify(shipped_mnist, {"composite": np.zeros((5, 5, 2))}, 3, DRAW_HINT)
    assert label is None and seen is None and "must be HxW" in message


def test_learn_tab_explores_architectures(client):
    table, info = client.predict("lenet5", api_name="/explore")
    assert ["6", "Flatten", "(1, 400)", 0] in table["value"]["data"]
    assert "Total parameters: **61,706**" in info and "Not exported" in info
    _, info = client.predict("mnist", api_name="/explore")
    assert "opset ai.onnx 18" in info and "`probabilities`" in info
