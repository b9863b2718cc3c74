"""The Draw tab's server function over HTTP, as its page calls it (one POST to Gradio's
component_server route with the strokes): answers, hostile bodies, unknown functions."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from drawn import strokes

from visionplay import strokes as pen
from visionplay.config import NOT_A_DIGIT
from visionplay.train import handwriting
from visionplay.ui.draw import DRAW_HINT, NOT_A_DIGIT_HINT


@pytest.fixture(scope="module")
def ask(app_url):
    """POST a body to the canvas's server function ``answer``, as the page does."""
    config = httpx.get(f"{app_url}config", timeout=30).json()
    (canvas,) = [
        c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "digit-draw"
    ]

    def post(data, fn_name: str = "answer") -> httpx.Response:
        body = {"data": data, "component_id": canvas, "fn_name": fn_name, "session_hash": "t1"}
        return httpx.post(f"{app_url}gradio_api/component_server/", json=body, timeout=30)

    return post


def test_the_page_gets_its_answer_in_one_post(ask):
    reply = ask(strokes("4"))
    assert reply.status_code == 200
    answer = reply.json()
    assert answer["label"] == "4" and answer["read"] == "1 stroke, 4 points"
    assert answer["message"] == "" and len(answer["seen"]) == 1048  # 784 bytes in base64


# What issue 18 saw read as digits: an "A" as 4 at 93 %, a smiley as 0, a scribble as 8.
NOT_DIGITS = {
    "A": next(t for t in handwriting.SHAPES_TRAIN if t.name == "A"),
    "smiley": next(t for t in handwriting.SHAPES_TRAIN if t.name == "smiley"),
    "scribble": handwriting.scribble(np.random.default_rng(5)),
}


@pytest.mark.parametrize("name", NOT_DIGITS)
def test_a_drawing_that_is_no_digit_is_called_so_with_a_hint(ask, name):
    drawing = handwriting.drawn(NOT_DIGITS[name], np.random.default_rng(11))
    answer = ask(pen.to_json(drawing)).json()
    assert answer["label"] == NOT_A_DIGIT, answer["confidences"]
    assert answer["message"] == NOT_A_DIGIT_HINT and answer["seen"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("[]", DRAW_HINT),
        ("<p>Hello</p>", "Could not read that drawing: the strokes are not valid JSON"),
        ([{"width": 18, "points": [[1, 1]]}] * 101, "Could not read that drawing: 101 strokes"),
        ({"width": 18}, "Could not read that drawing: strokes must be a list, got an object"),
    ],
)
def test_bad_strokes_get_a_message(ask, data, message):
    reply = ask(data)
    assert reply.status_code == 200
    assert reply.json()["label"] is None and reply.json()["message"].startswith(message)


def test_a_file_in_the_body_is_refused_before_gradio_reads_it(ask):
    passwd = {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}
    reply = ask([{"width": 18, "points": [[1, 1]], "image": passwd}])
    assert reply.status_code == 400 and "uploaded to this app" in reply.json()["detail"]
    assert "root:" not in reply.text


@pytest.mark.parametrize("fn_name", ["preprocess", "__init__", "postprocess", "nothing"])
def test_only_the_server_function_is_callable(ask, fn_name):
    reply = ask("[]", fn_name)
    assert reply.status_code == 404 and "root:" not in reply.text
