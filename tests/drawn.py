"""The stroke digits of ``digits.py`` as the Draw tab's canvas sends them: strokes JSON in
canvas pixels (:mod:`visionplay.strokes`), for the app's API and the unit tests."""

from __future__ import annotations

from digits import STROKES

from visionplay import strokes as pen


def strokes(
    digit: str,
    size: int = 200,
    width: float = 18,
    centre: tuple[float, float] = (200, 200),
    aspect: float = 0.7,
) -> str:
    """``digit`` drawn ``size`` pixels tall with a pen ``width`` wide around ``centre``, as
    digits.draw places it."""
    left, top = centre[0] - size * aspect / 2, centre[1] - size / 2
    return pen.to_json([
        {"width": width, "points": [[round(left + x * size * aspect, 1), round(top + y * size, 1)]
                                    for x, y in stroke]}
        for stroke in STROKES[digit]
    ])  # fmt: skip
