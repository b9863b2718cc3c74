"""Pen strokes, as the Draw tab's canvas sends them: checked, then drawn with PIL the way
the canvas draws them.

A drawing is a list of strokes; a stroke is a pen width and the points the pen went
through, in canvas pixels: x to the right, y down, (0, 0) the top-left corner of a
``CANVAS`` x ``CANVAS`` page. As JSON (what the canvas sends, :func:`to_json`)::

    [{"width": 18, "points": [[120.0, 110.5], [280.0, 111.0], [170.5, 300.0]]}, ...]

The canvas (``ui/draw.py``) paints each stroke black with round caps and round joins:
the ink is every spot of the page within ``width / 2`` of the stroke's polyline (a lone
point is a dot). :func:`render` draws that same shape with PIL, so the model reads what
the user saw, and a trainer can synthesise digits drawn with the canvas's own pens.

Everything that arrives is hostile until :func:`check` has read it: a bounded size,
at most ``MAX_STROKES`` strokes and ``MAX_POINTS`` points in all, finite coordinates on
the page, widths in ``[MIN_WIDTH, MAX_WIDTH]``. A refusal is one
:class:`~visionplay.errors.InvalidInputError` line naming what is wrong.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from .errors import InvalidInputError

CANVAS = 400  # the page's side in pixels
MAX_STROKES = 100
MAX_POINTS = 5000  # over all strokes; the canvas keeps a point only 1.5 px from the last
MIN_WIDTH, MAX_WIDTH = 1.0, 64.0  # what a drawing sent may hold
# The Draw tab's pen slider: lowest, highest, to start with; the made-up drawings the digit
# reader learns from are drawn with these pens too.
PEN_WIDTHS = (6, 40, 18)
MAX_CHARS = 256_000  # JSON text read at most (5,000 points take about 70,000)


_PAIRS, _PLAIN = (list, tuple), (int, float)  # exact types: bool is an int, but not a number here


@dataclass(frozen=True)
class Stroke:
    """One pen stroke: its width and the points it went through, in canvas pixels."""

    width: float
    points: tuple[tuple[float, float], ...]


def check(value: Any) -> list[Stroke]:
    """The strokes in ``value``: JSON text, or the list it holds (dicts with ``width`` and
    ``points``, or :class:`Stroke` objects); None or empty text is an empty drawing.
    Raises :class:`InvalidInputError` naming the first thing wrong."""
    if value is None:
        return []
    if isinstance(value, (str, bytes, bytearray)):
        value = _parse(value)
    if not isinstance(value, list):
        raise InvalidInputError(f"strokes must be a list, got {_kind(value)}")
    if len(value) > MAX_STROKES:
        raise InvalidInputError(f"{len(value):,} strokes: at most {MAX_STROKES} are read")
    strokes, total = [], 0
    for i, item in enumerate(value, 1):
        stroke = _stroke(item, f"stroke {i}")
        total += len(stroke.points)
        if total > MAX_POINTS:
            raise InvalidInputError(
                f"over {MAX_POINTS:,} points in all: at most that many are read"
            )
        strokes.append(stroke)
    return strokes


def render(strokes: Any, size: int = CANVAS, supersample: int = 1) -> Image.Image:
    """The drawing as the canvas shows it: black ink (0) on a white (255) ``size`` x ``size``
    "L" page, the canvas scaled to fit. Takes anything :func:`check` does (and checks it).

    PIL does not smooth edges; ``supersample=4`` draws at four times the size and shrinks
    the result, for edges shaded as the browser's are (which matters at small sizes)."""
    if not isinstance(size, int) or not 1 <= size <= 4096:
        raise InvalidInputError(
            f"size must be a whole number of pixels from 1 to 4096, got {size!r}"
        )
    if supersample not in (1, 2, 3, 4):
        raise InvalidInputError(f"supersample must be 1, 2, 3 or 4, got {supersample!r}")
    if not (isinstance(strokes, list) and all(isinstance(s, Stroke) for s in strokes)):
        strokes = check(strokes)
    side = size * supersample
    scale = side / CANVAS
    page = Image.new("L", (side, side), 255)
    pen = ImageDraw.Draw(page)
    for stroke in strokes:
        # A canvas point (x, y) is a position, pixel i spans [i, i + 1); PIL's coordinates
        # are pixel centres: half a pixel to the left and up.
        points = [(x * scale - 0.5, y * scale - 0.5) for x, y in stroke.points]
        width = stroke.width * scale
        if len(points) > 1 and width > 1:
            pen.line(points, fill=0, width=round(width))
        radius = width / 2
        for x, y in points:  # round caps and joins: a disc on every point
            pen.ellipse(
                (x - radius + 0.5, y - radius + 0.5, x + radius - 0.5, y + radius - 0.5), fill=0
            )
    return page if supersample == 1 else page.resize((size, size), Image.Resampling.BOX)


def arc(
    cx: float, cy: float, rx: float, ry: float, start: float, end: float, steps: int = 0
) -> list[tuple[float, float]]:
    """``steps`` points (by default one per 10 degrees) on an ellipse from angle ``start``
    to ``end`` (degrees; 0 is to the right, 90 is down, as y grows downwards): a curve of a
    drawing in a unit box, as the made-up digits and the bench's pen draw them."""
    steps = steps or max(4, int(abs(end - start) / 10))
    return [
        (cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
        for a in np.linspace(start, end, steps)
    ]


def to_json(strokes: Sequence[Stroke] | Sequence[dict]) -> str:
    """The drawing as the canvas sends it (compact JSON)."""
    plain = [
        {"width": s.width, "points": [list(p) for p in s.points]} if isinstance(s, Stroke) else s
        for s in strokes
    ]
    return json.dumps(plain, separators=(",", ":"))


def point_count(strokes: Sequence[Stroke]) -> int:
    return sum(len(stroke.points) for stroke in strokes)


def describe(strokes: Sequence[Stroke]) -> str:
    """What a drawing is made of, in words: "2 strokes, 143 points"."""
    return describe_counts(len(strokes), point_count(strokes))


def describe_counts(count: int, points: int) -> str:
    return f"{count} stroke{'s' * (count != 1)}, {points} point{'s' * (points != 1)}"


def _parse(text: str | bytes | bytearray) -> Any:
    if len(text) > MAX_CHARS:
        raise InvalidInputError(
            f"the strokes' JSON is {len(text):,} characters: at most {MAX_CHARS:,} are read"
        )
    if not text.strip():
        return []
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:  # JSONDecodeError is a ValueError
        reason = (
            err.msg
            if isinstance(err, json.JSONDecodeError)
            else ("nested too deep" if isinstance(err, RecursionError) else "a number too long")
        )
        raise InvalidInputError(f"the strokes are not valid JSON: {reason}") from None


def _stroke(item: Any, where: str) -> Stroke:
    if isinstance(item, Stroke):
        item = {"width": item.width, "points": item.points}
    if not isinstance(item, dict):
        raise InvalidInputError(
            f"{where} must be an object with width and points, got {_kind(item)}"
        )
    extra = sorted(set(item) - {"width", "points"}, key=str)
    if extra:
        raise InvalidInputError(
            f"{where} has an unknown key {str(extra[0])[:40]!r} (a stroke has width and points)"
        )
    width = _number(item.get("width"), f"{where}: width")
    if not MIN_WIDTH <= width <= MAX_WIDTH:
        raise InvalidInputError(
            f"{where}: width {width:g} is outside {MIN_WIDTH:g} to {MAX_WIDTH:g}"
        )
    points = item.get("points")
    if not isinstance(points, (list, tuple)) or not points:
        raise InvalidInputError(
            f"{where}: points must be a non-empty list of [x, y], got {_kind(points)}"
        )
    if len(points) > MAX_POINTS:
        raise InvalidInputError(
            f"{where} has {len(points):,} points: at most {MAX_POINTS:,} are read in all"
        )
    checked = []
    for j, point in enumerate(points, 1):
        if type(point) in _PAIRS and len(point) == 2:  # the common case, quickly
            x, y = point
            if type(x) in _PLAIN and type(y) in _PLAIN and 0 <= x <= CANVAS and 0 <= y <= CANVAS:
                checked.append((float(x), float(y)))  # (NaN fails the comparisons)
                continue
        if not isinstance(point, (list, tuple)) or len(point) != 2:
            raise InvalidInputError(f"{where}, point {j} must be [x, y], got {_kind(point)}")
        x = _number(point[0], f"{where}, point {j}: x")
        y = _number(point[1], f"{where}, point {j}: y")
        if not (0 <= x <= CANVAS and 0 <= y <= CANVAS):
            raise InvalidInputError(
                f"{where}, point {j} ({x:g}, {y:g}) is outside the {CANVAS} x {CANVAS} canvas"
            )
        checked.append((x, y))
    return Stroke(width, tuple(checked))


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInputError(f"{what} must be a number, got {_kind(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer past float's range
        number = math.inf
    if not math.isfinite(number):
        raise InvalidInputError(f"{what} is not a finite number: {number}")
    return number


def _kind(value: Any) -> str:
    """A short, safe description of what arrived instead (never the whole of it)."""
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    if isinstance(value, str):
        return f"text {value[:20]!r}" + ("..." if len(value) > 20 else "")
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
