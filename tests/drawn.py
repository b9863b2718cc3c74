"""The stroke digits of ``digits.py`` as the Draw tab's canvas sends them: strokes JSON in
canvas pixels (:mod:`visionplay.strokes`), for the app's API and the unit tests."""

from __future__ import annotations

from digits import placed

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
    return pen.to_json(
        [
            {"width": width, "points": [[round(x, 1), round(y, 1)] for x, y in stroke]}
            for stroke in placed(digit, size, centre, aspect)
        ]
    )
