"""Digits drawn as pen strokes, the way a person draws them on the Draw tab's canvas.

Each digit is a list of polylines in a unit box (x right, y down). ``draw`` renders them
with PIL at any size, place and brush width, as black ink on a transparent canvas (a
picture, as the Photo tab or REST would get one); tests/drawn.py turns the same polylines
into the strokes JSON the canvas sends.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw


def _arc(cx, cy, rx, ry, start, end, steps=24):
    return [
        (cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
        for a in np.linspace(start, end, steps)
    ]


STROKES: dict[str, list[list[tuple[float, float]]]] = {
    "0": [_arc(0.5, 0.5, 0.32, 0.48, 0, 360)],
    "1": [[(0.35, 0.2), (0.55, 0.02), (0.55, 1.0)]],
    "2": [_arc(0.5, 0.28, 0.32, 0.26, 190, 360) + [(0.75, 0.45), (0.15, 1.0), (0.9, 1.0)]],
    "3": [_arc(0.48, 0.26, 0.3, 0.24, 200, 450), _arc(0.48, 0.74, 0.34, 0.26, 270, 520)],
    "4": [[(0.65, 1.0), (0.65, 0.0), (0.1, 0.68), (0.95, 0.68)]],
    "5": [[(0.85, 0.02), (0.25, 0.02), (0.2, 0.45)] + _arc(0.5, 0.68, 0.36, 0.3, 230, 500)],
    "6": [[(0.75, 0.02), (0.3, 0.4)] + _arc(0.5, 0.7, 0.3, 0.3, 180, 540)],
    "7": [[(0.1, 0.03), (0.9, 0.03), (0.4, 1.0)]],
    "8": [_arc(0.5, 0.25, 0.25, 0.23, 90, 450), _arc(0.5, 0.73, 0.32, 0.27, -90, 270)],
    "9": [_arc(0.48, 0.3, 0.3, 0.28, 0, 360), [(0.78, 0.3), (0.72, 1.0)]],
}


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
    left, top = centre[0] - size * aspect / 2, centre[1] - size / 2
    for stroke in STROKES[digit]:
        points = [(left + x * size * aspect, top + y * size) for x, y in stroke]
        pen.line(points, fill=(0, 0, 0, 255), width=width, joint="curve")
        r = width / 2
        for x, y in (points[0], points[-1]):  # round pen ends, as a brush makes them
            pen.ellipse((x - r, y - r, x + r, y + r), fill=(0, 0, 0, 255))
    return image
