"""The strokes the Draw tab's canvas sends: refused with one line unless sound, rendered as
the canvas draws them, and read right by the digit model."""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import pytest
from drawn import strokes as digit_strokes
from PIL import Image

from visionplay import strokes as pen
from visionplay.errors import InvalidInputError
from visionplay.ui.draw import DRAW_HINT, answer


def line(points, width=18):
    return [{"width": width, "points": points}]


def test_a_drawing_is_read_from_json_or_lists():
    text = '[{"width": 18, "points": [[10, 20], [30.5, 40]]}, {"width": 6, "points": [[0, 400]]}]'
    drawing = pen.check(text)
    assert drawing == [
        pen.Stroke(18.0, ((10.0, 20.0), (30.5, 40.0))),
        pen.Stroke(6.0, ((0.0, 400.0),)),
    ]
    assert pen.check(json.loads(text)) == drawing == pen.check(drawing)
    assert pen.check(pen.to_json(drawing)) == drawing
    for empty in (None, "", "  ", "[]", []):
        assert pen.check(empty) == []
    assert pen.describe(drawing) == "2 strokes, 3 points"
    assert pen.describe(drawing[1:]) == "1 stroke, 1 point"


NESTED = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("{", "the strokes are not valid JSON: Expecting property name"),
        ("<p>Hello</p>", "the strokes are not valid JSON"),
        (NESTED, "not valid JSON: nested too deep"),
        ("[" + "1" * 5000 + "]", "not valid JSON: a number too long"),
        ("x" * 300_000, "the strokes' JSON is 300,000 characters: at most 256,000 are read"),
        ('{"width": 18}', "strokes must be a list, got an object"),
        (42, "strokes must be a list, got 42"),
        (line([[1, 1]]) * 101, "101 strokes: at most 100 are read"),
        (line([[1, 1]] * 3000) * 2, "over 5,000 points in all"),
        (line([[1, 1]] * 5001), "stroke 1 has 5,001 points: at most 5,000 are read in all"),
        ([1], "stroke 1 must be an object with width and points, got 1"),
        ([{"width": 9, "points": [[1, 1]], "color": 1}], "stroke 1 has an unknown key 'color'"),
        ([{"points": [[1, 1]]}], "stroke 1: width must be a number, got None"),
        (line([[1, 1]], width=True), "stroke 1: width must be a number, got True"),
        (line([[1, 1]], width="18"), "stroke 1: width must be a number, got text '18'"),
        ('[{"width": NaN, "points": [[1, 1]]}]', "stroke 1: width is not a finite number: nan"),
        (line([[1, 1]], width=0.5), "stroke 1: width 0.5 is outside 1 to 64"),
        (line([[1, 1]], width=65), "stroke 1: width 65 is outside 1 to 64"),
        (line([]), "stroke 1: points must be a non-empty list of [x, y], got a list of 0"),
        (line("abc"), "points must be a non-empty list of [x, y], got text 'abc'"),
        (line([[1, 1], [2]]), "stroke 1, point 2 must be [x, y], got a list of 1"),
        (line([[1, 1, 1]]), "stroke 1, point 1 must be [x, y], got a list of 3"),
        (line([["1", 2]]), "stroke 1, point 1: x must be a number, got text '1'"),
        (line([[1, None]]), "stroke 1, point 1: y must be a number, got None"),
        ('[{"width": 9, "points": [[1, Infinity]]}]', "point 1: y is not a finite number: inf"),
        ('[{"width": 9, "points": [[1e999, 1]]}]', "point 1: x is not a finite number: inf"),
        (line([[10**400, 1]]), "point 1: x is not a finite number: inf"),
        (line([[1, 1]]) + line([[401, 5]]), "stroke 2, point 1 (401, 5) is outside the 400 x 400"),
        (line([[-0.5, 5]]), "stroke 1, point 1 (-0.5, 5) is outside the 400 x 400 canvas"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None,
)
def test_bad_strokes_are_refused_with_one_line(value, problem):
    with pytest.raises(InvalidInputError) as refused:
        pen.check(value)
    message = str(refused.value)
    assert problem in message
    assert "\n" not in message and len(message) < 160  # one line, never the input itself


def test_render_refuses_what_check_refuses():
    with pytest.raises(InvalidInputError, match="outside the 400 x 400 canvas"):
        pen.render(line([[500, 5]]))
    with pytest.raises(InvalidInputError, match="size must be a whole number"):
        pen.render([], size=0)
    with pytest.raises(InvalidInputError, match="supersample must be 1, 2, 3 or 4"):
        pen.render([], supersample=8)


def ink(image: Image.Image) -> np.ndarray:
    return np.asarray(image) < 128


def box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def test_a_stroke_is_inked_as_the_canvas_inks_it():
    """A round-capped line of width 20 from (100, 200) to (300, 200): the canvas inks every
    pixel whose centre lies within 10 px of the segment, x 90..309 and y 190..209, 200 x 20
    plus the two half-disc caps."""
    page = pen.render(line([[100, 200], [300, 200]], width=20))
    assert page.mode == "L" and page.size == (400, 400)
    assert set(np.unique(np.asarray(page))) == {0, 255}  # black ink on a white page
    (x0, y0, x1, y1) = box(ink(page))
    assert abs(x0 - 90) <= 1 and abs(x1 - 309) <= 1 and abs(y0 - 190) <= 1 and abs(y1 - 209) <= 1
    assert ink(page).sum() == pytest.approx(200 * 20 + math.pi * 10**2, rel=0.03)


def test_joins_are_round_and_a_lone_point_is_a_dot():
    dot = ink(pen.render(line([[200, 200]], width=10)))
    assert box(dot) == (195, 195, 204, 204) and dot.sum() == pytest.approx(math.pi * 25, rel=0.15)
    # A sharp corner: the ink around the join is a disc, as lineJoin "round" draws it.
    corner = ink(pen.render(line([[100, 100], [200, 300], [300, 100]], width=30)))
    ys, xs = np.nonzero(corner)
    assert ys.max() == pytest.approx(300 + 15, abs=1)  # the disc's bottom, not a mitre's tip
    assert corner[315 - 1, 200] and not corner[300 + 16, 200]


def test_render_scales_and_smooths():
    drawing = pen.check(line([[100, 200], [300, 200]], width=20))
    small = ink(pen.render(drawing, size=100))
    x0, y0, x1, y1 = box(small)
    assert abs(x0 - 22) <= 1 and abs(x1 - 77) <= 1 and abs(y0 - 47) <= 1 and abs(y1 - 52) <= 1
    smooth = np.asarray(pen.render(drawing, supersample=4))
    assert ((smooth > 0) & (smooth < 255)).any()  # shaded edges, as a browser draws them
    sharp = np.asarray(pen.render(drawing))
    assert (255 - smooth.astype(float)).sum() == pytest.approx(
        (255 - sharp.astype(float)).sum(), rel=0.02
    )


@pytest.mark.parametrize("digit", list("0123456789"))
def test_the_stroke_digits_read_right(shipped_mnist, digit):
    """Each digit of digits.py, sent as strokes: the Draw tab's answer names it, with what
    the model saw."""
    sent = digit_strokes(digit)
    reply = answer(shipped_mnist, sent)
    assert reply["label"] == digit, reply["confidences"]
    assert len(reply["confidences"]) == 3 and reply["message"] == ""
    assert reply["read"] == pen.describe(pen.check(sent))
    seen = np.frombuffer(base64.b64decode(reply["seen"]), np.uint8).reshape(28, 28)
    assert seen.max() == 255 and seen[0, 0] == 0  # bright ink on black, MNIST style


def test_an_empty_or_bad_drawing_is_a_message_not_an_answer(shipped_mnist):
    for empty in ("", "[]", None):
        assert answer(shipped_mnist, empty) == {
            "label": None,
            "confidences": [],
            "seen": None,
            "read": "",
            "message": DRAW_HINT,
        }
    reply = answer(shipped_mnist, line([[1, 1]], width=99))
    assert reply["label"] is None and reply["message"] == (
        "Could not read that drawing: stroke 1: width 99 is outside 1 to 64"
    )
