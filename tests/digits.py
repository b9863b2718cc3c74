"""Digits drawn as pen strokes, the way a person draws them on the Draw tab's canvas.

Each digit is a list of polylines in a unit box (x right, y down). ``draw`` renders them
with PIL at any size, place and brush width, as black ink on a transparent canvas (a
picture, as the Photo tab or REST would get one); tests/drawn.py turns the same polylines
into the strokes JSON the canvas sends.
"""

from __future__ import annotations

from PIL import Image, ImageDraw

from visionplay.bench.browser import DIGITS

# The same shapes the bench's browser part draws, in one place.
STROKES = DIGITS


def placed(
    digit: str, size: float, centre: tuple[float, float], aspect: float
) -> list[list[tuple[float, float]]]:
    """The strokes of ``digit`` in canvas pixels: ``size`` tall, ``aspect`` as wide, around
    ``centre``."""
    left, top = centre[0] - size * aspect / 2, centre[1] - size / 2
    return [
        [(left + x * size * aspect, top + y * size) for x, y in stroke] for stroke in STROKES[digit]
    ]


def draw(
    digit: str,
    size: int = 200,
    width: int = 14,
    centre: tuple[int, int] = (200, 200),
    canvas: int = 400,
    aspect: float = 0.7,
) -> Image.Image:
    """Black strokes of ``digit``, ``size`` pixels tall, on a transparent RGBA canvas."""
    image = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    for points in placed(digit, size, centre, aspect):
        pen.line(points, fill=(0, 0, 0, 255), width=width, joint="curve")
        r = width / 2
        for x, y in (points[0], points[-1]):  # round pen ends, as a brush makes them
            pen.ellipse((x - r, y - r, x + r, y + r), fill=(0, 0, 0, 255))
    return image
