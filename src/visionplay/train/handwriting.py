"""Drawings made up on the Draw tab's canvas: digits in the hands of the world, and
drawings that are not digits, for teaching the digit reader and for testing it.

MNIST's digits are American school hands: ones that are a bare bar, closed fours, sevens
without a bar. People elsewhere write a one with a long up-stroke and no foot, cross their
sevens, leave a four's top open, put a straight tail on a nine and a loop in a two. And
people draw letters, faces and scribbles on a digit pad. Both kinds are written here as
templates, strokes in a unit box (x to the right, y down), and :func:`drawn` turns one
into strokes on the canvas as a hand would: slanted, stretched, wobbling, at any size and
place, with one of the canvas's pens. :func:`digit_page` and :func:`not_digit_page` render
them as the Draw tab does (:func:`visionplay.strokes.render`): pages a model prepares as it
prepares every picture (``prepare_digit``). :func:`redrawn` puts a real (MNIST) digit on the
canvas as a careless hand might: tiny or huge, hairline or fat, binarised.

Templates come in two sets: ``TRAIN`` teaches, ``HELD_OUT`` (other shapes, other hands,
other fonts) only measures, so a figure on it says how the reader does on drawings unlike
any it learnt from.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .. import strokes as pen
from ..config import NOT_A_DIGIT
from ..strokes import arc

Points = list[tuple[float, float]]


def line(*points: tuple[float, float]) -> Points:
    return list(points)


def dot(x: float, y: float) -> Points:
    return [(x, y)]


@dataclass(frozen=True)
class Template:
    """One way to draw something: its label (a digit, or :data:`NOT_A_DIGIT`), a name for
    reports, and its strokes in a unit box."""

    label: str
    name: str
    strokes: tuple[Points, ...]


def _d(label: str, name: str, *strokes: Points) -> Template:
    return Template(label, name, tuple(strokes))


def _n(name: str, *strokes: Points) -> Template:
    return Template(NOT_A_DIGIT, name, tuple(strokes))


def _rays(count: int, inner: float, outer: float) -> list[Points]:
    """Spokes around the middle of the box, as a sun's rays."""
    angles = np.linspace(0, 2 * math.pi, count, endpoint=False)
    return [
        line(
            (0.5 + inner * math.cos(a), 0.5 + inner * math.sin(a)),
            (0.5 + outer * math.cos(a), 0.5 + outer * math.sin(a)),
        )
        for a in angles
    ]


def _spiral(turns: float) -> Points:
    return [
        (0.5 + 0.08 * t * math.cos(2.2 * t), 0.5 + 0.08 * t * math.sin(2.2 * t))
        for t in np.linspace(0.3, turns * 2.9, 40)
    ]


# Digits, first as MNIST writes them, then as other hands do.
DIGITS_TRAIN = [
    _d("0", "oval", arc(0.5, 0.5, 0.4, 0.5, -90, 270)),
    _d("0", "overlapping oval", arc(0.5, 0.5, 0.4, 0.5, -60, 320)),
    _d("0", "narrow", arc(0.5, 0.5, 0.25, 0.5, -100, 265)),
    _d("1", "bar", line((0.5, 0.0), (0.5, 1.0))),
    _d("1", "slanted bar", line((0.7, 0.0), (0.35, 1.0))),
    _d("1", "flag", line((0.3, 0.25), (0.6, 0.0), (0.6, 1.0))),
    _d("1", "long up-stroke, no foot", line((0.1, 0.45), (0.65, 0.0), (0.65, 1.0))),
    _d(
        "1",
        "flag and foot",
        line((0.25, 0.25), (0.55, 0.0), (0.55, 1.0)),
        line((0.25, 1.0), (0.85, 1.0)),
    ),
    _d(
        "2",
        "plain",
        arc(0.5, 0.3, 0.38, 0.3, 190, 370) + line((0.85, 0.4), (0.1, 1.0), (0.95, 1.0)),
    ),
    _d(
        "2",
        "looped",
        arc(0.5, 0.28, 0.38, 0.28, 190, 370)
        + line((0.85, 0.4), (0.25, 0.9))
        + arc(0.25, 0.82, 0.12, 0.1, 90, 450)[2:]
        + line((0.3, 0.9), (0.95, 0.95)),
    ),
    _d(
        "2",
        "curved base",
        arc(0.5, 0.3, 0.4, 0.3, 180, 380) + line((0.55, 0.45), (0.1, 1.0), (0.9, 0.95)),
    ),
    _d("3", "round", arc(0.45, 0.26, 0.36, 0.26, 200, 450), arc(0.45, 0.74, 0.4, 0.26, 270, 520)),
    _d(
        "3",
        "one stroke",
        arc(0.45, 0.25, 0.36, 0.25, 200, 440) + arc(0.45, 0.75, 0.4, 0.25, 280, 520),
    ),
    _d(
        "3",
        "flat top",
        line((0.1, 0.0), (0.85, 0.0), (0.4, 0.42)),
        arc(0.45, 0.7, 0.42, 0.3, 260, 520),
    ),
    _d("4", "closed, one stroke", line((0.7, 1.0), (0.7, 0.0), (0.05, 0.68), (0.95, 0.68))),
    _d(
        "4",
        "closed, two strokes",
        line((0.65, 0.0), (0.05, 0.68), (0.95, 0.68)),
        line((0.68, 0.3), (0.68, 1.0)),
    ),
    _d(
        "4",
        "open top",
        line((0.2, 0.0), (0.1, 0.62), (0.95, 0.62)),
        line((0.72, 0.05), (0.72, 1.0)),
    ),
    _d(
        "5",
        "one stroke",
        line((0.85, 0.0), (0.25, 0.0), (0.2, 0.45)) + arc(0.5, 0.68, 0.4, 0.32, 230, 500),
    ),
    _d(
        "5",
        "top bar last",
        line((0.25, 0.02), (0.2, 0.45)) + arc(0.5, 0.68, 0.4, 0.32, 230, 500),
        line((0.25, 0.0), (0.9, 0.02)),
    ),
    _d("6", "curved", arc(1.0, 0.62, 0.72, 0.62, 250, 180) + arc(0.5, 0.7, 0.32, 0.3, 180, 540)),
    _d("6", "straight", line((0.75, 0.0), (0.25, 0.55)) + arc(0.5, 0.72, 0.3, 0.28, 200, 560)),
    _d(
        "6",
        "big belly",
        arc(0.85, 0.45, 0.6, 0.45, 255, 180) + arc(0.5, 0.68, 0.45, 0.32, 180, 535),
    ),
    _d("7", "plain", line((0.05, 0.0), (0.95, 0.0), (0.4, 1.0))),
    _d("7", "crossed", line((0.05, 0.0), (0.95, 0.0), (0.4, 1.0)), line((0.3, 0.5), (0.9, 0.5))),
    _d("7", "hooked", line((0.08, 0.18), (0.05, 0.0), (0.95, 0.02), (0.45, 1.0))),
    _d("7", "curved stem", line((0.05, 0.0), (0.95, 0.0)) + arc(-0.3, 0.05, 1.25, 0.95, 0, 60)),
    _d("8", "two loops", arc(0.5, 0.24, 0.3, 0.24, 90, 450), arc(0.5, 0.74, 0.38, 0.26, -90, 270)),
    _d(
        "8",
        "one stroke",
        arc(0.5, 0.24, 0.32, 0.24, 0, -270)[::-1]
        + arc(0.5, 0.74, 0.38, 0.26, -90, 270)
        + arc(0.5, 0.24, 0.32, 0.24, 90, 0)[::-1],
    ),
    _d("9", "straight tail", arc(0.48, 0.28, 0.38, 0.28, 0, 360), line((0.86, 0.28), (0.8, 1.0))),
    _d("9", "curved tail", arc(0.48, 0.28, 0.38, 0.28, 0, 360) + arc(0.3, 0.3, 0.56, 0.7, 0, 100)),
    _d("9", "one stroke", arc(0.48, 0.28, 0.38, 0.28, -20, -380) + line((0.86, 0.2), (0.86, 1.0))),
]

# Things drawn on a digit pad that are not digits. Letters and signs that people could
# read as a digit (O, I, l, S, Z, B, G, q, g, b, T, ...) are left out.
SHAPES_TRAIN = [
    _n("A", line((0.0, 1.0), (0.5, 0.0), (1.0, 1.0)), line((0.22, 0.6), (0.78, 0.6))),
    _n("E", line((0.9, 0.0), (0.1, 0.0), (0.1, 1.0), (0.9, 1.0)), line((0.1, 0.5), (0.7, 0.5))),
    _n("F", line((0.9, 0.0), (0.1, 0.0), (0.1, 1.0)), line((0.1, 0.48), (0.7, 0.48))),
    _n(
        "H",
        line((0.1, 0.0), (0.1, 1.0)),
        line((0.9, 0.0), (0.9, 1.0)),
        line((0.1, 0.5), (0.9, 0.5)),
    ),
    _n("K", line((0.15, 0.0), (0.15, 1.0)), line((0.85, 0.0), (0.15, 0.55), (0.9, 1.0))),
    _n("M", line((0.0, 1.0), (0.1, 0.0), (0.5, 0.7), (0.9, 0.0), (1.0, 1.0))),
    _n("N", line((0.1, 1.0), (0.1, 0.0), (0.9, 1.0), (0.9, 0.0))),
    _n(
        "R",
        line((0.15, 1.0), (0.15, 0.0))
        + arc(0.45, 0.26, 0.4, 0.26, -90, 90)
        + line((0.15, 0.52), (0.9, 1.0)),
    ),
    _n("W", line((0.0, 0.0), (0.25, 1.0), (0.5, 0.3), (0.75, 1.0), (1.0, 0.0))),
    _n("X", line((0.0, 0.0), (1.0, 1.0)), line((1.0, 0.0), (0.0, 1.0))),
    _n("Y", line((0.0, 0.0), (0.5, 0.5), (1.0, 0.0)), line((0.5, 0.5), (0.5, 1.0))),
    _n("e", line((0.1, 0.5), (0.9, 0.5)) + arc(0.5, 0.5, 0.4, 0.45, 0, -300)),
    _n(
        "m",
        line((0.05, 1.0), (0.05, 0.2))
        + arc(0.28, 0.35, 0.22, 0.2, 180, 360)
        + line((0.5, 0.35), (0.5, 1.0)),
        arc(0.72, 0.35, 0.22, 0.2, 180, 360) + line((0.94, 0.35), (0.94, 1.0)),
    ),
    _n(
        "h",
        line((0.15, 0.0), (0.15, 1.0)),
        arc(0.5, 0.6, 0.35, 0.25, 180, 360) + line((0.85, 0.6), (0.85, 1.0)),
    ),
    _n(
        "smiley",
        arc(0.5, 0.5, 0.5, 0.5, 0, 360),
        dot(0.33, 0.35),
        dot(0.67, 0.35),
        arc(0.5, 0.55, 0.25, 0.2, 20, 160),
    ),
    _n("square", line((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0))),
    _n("triangle", line((0.5, 0.0), (1.0, 1.0), (0.0, 1.0), (0.5, 0.0))),
    _n("star", line((0.5, 0.0), (0.8, 1.0), (0.0, 0.38), (1.0, 0.38), (0.2, 1.0), (0.5, 0.0))),
    _n(
        "heart",
        arc(0.27, 0.27, 0.25, 0.25, 135, 360)
        + arc(0.75, 0.27, 0.25, 0.25, 180, 405)
        + line((0.5, 1.0), (0.09, 0.45)),
    ),
    _n(
        "house",
        line((0.1, 0.4), (0.1, 1.0), (0.9, 1.0), (0.9, 0.4)),
        line((0.0, 0.45), (0.5, 0.0), (1.0, 0.45)),
    ),
    _n("sun", arc(0.5, 0.5, 0.22, 0.22, 0, 360), *_rays(8, 0.32, 0.5)),
    _n("arrow", line((0.0, 0.5), (1.0, 0.5)), line((0.7, 0.2), (1.0, 0.5), (0.7, 0.8))),
    _n(
        "hash",
        line((0.35, 0.0), (0.25, 1.0)),
        line((0.75, 0.0), (0.65, 1.0)),
        line((0.0, 0.33), (1.0, 0.33)),
        line((0.0, 0.67), (1.0, 0.67)),
    ),
    _n("spiral", _spiral(2.0)),
    _n("wave", [(t, 0.5 + 0.3 * math.sin(4 * math.pi * t)) for t in np.linspace(0, 1, 30)]),
    _n("tick", line((0.0, 0.55), (0.35, 1.0), (1.0, 0.0))),
    _n(
        "stick figure",
        arc(0.5, 0.15, 0.15, 0.15, 0, 360),
        line((0.5, 0.3), (0.5, 0.7)),
        line((0.15, 0.45), (0.85, 0.45)),
        line((0.2, 1.0), (0.5, 0.7), (0.8, 1.0)),
    ),
    _n("infinity", arc(0.25, 0.5, 0.25, 0.22, 0, 360) + arc(0.75, 0.5, 0.25, 0.22, 180, 540)),
    _n("人", line((0.5, 0.0), (0.45, 0.45), (0.0, 1.0)), line((0.47, 0.4), (1.0, 1.0))),
    _n(
        "大",
        line((0.0, 0.35), (1.0, 0.35)),
        line((0.5, 0.0), (0.45, 0.5), (0.0, 1.0)),
        line((0.5, 0.45), (1.0, 1.0)),
    ),
    _n(
        "山",
        line((0.5, 0.0), (0.5, 1.0)),
        line((0.05, 0.35), (0.05, 1.0), (0.95, 1.0), (0.95, 0.35)),
    ),
    _n(
        "田",
        line((0.0, 0.0), (0.0, 1.0)),
        line((0.0, 0.0), (1.0, 0.0), (1.0, 1.0)),
        line((0.5, 0.0), (0.5, 1.0)),
        line((0.0, 0.5), (1.0, 0.5)),
        line((0.0, 1.0), (1.0, 1.0)),
    ),
]

# Only for measuring: shapes and hands the reader never learns from.
DIGITS_HELD_OUT = [
    _d("0", "round", arc(0.5, 0.5, 0.5, 0.5, -90, 275)),
    _d("1", "flag, slanted", line((0.15, 0.35), (0.75, 0.0), (0.55, 1.0))),
    _d("1", "serifs", line((0.3, 0.2), (0.55, 0.0), (0.55, 1.0)), line((0.2, 1.0), (0.9, 1.0))),
    _d("2", "z-like", line((0.1, 0.1), (0.5, 0.0), (0.9, 0.15), (0.1, 1.0), (0.9, 1.0))),
    _d("3", "wide", arc(0.5, 0.26, 0.45, 0.26, 190, 440), arc(0.5, 0.74, 0.45, 0.26, 280, 530)),
    _d(
        "4",
        "open, slanted",
        line((0.3, 0.0), (0.0, 0.65), (1.0, 0.65)),
        line((0.8, 0.1), (0.65, 1.0)),
    ),
    _d(
        "5",
        "round belly",
        line((0.9, 0.0), (0.3, 0.0), (0.22, 0.4)) + arc(0.5, 0.65, 0.4, 0.35, 240, 500),
    ),
    _d(
        "6", "big loop", arc(0.9, 0.55, 0.65, 0.55, 240, 180) + arc(0.45, 0.65, 0.4, 0.35, 180, 540)
    ),
    _d(
        "7",
        "crossed, curved",
        line((0.0, 0.05), (0.5, 0.0), (1.0, 0.0)) + arc(-0.2, 0.0, 1.2, 1.0, 0, 65),
        line((0.25, 0.55), (0.8, 0.5)),
    ),
    _d("8", "tilted", arc(0.55, 0.25, 0.3, 0.25, 90, 450), arc(0.45, 0.74, 0.38, 0.26, -90, 270)),
    _d(
        "9",
        "straight, slanted",
        arc(0.55, 0.28, 0.38, 0.28, 0, 360),
        line((0.93, 0.28), (0.6, 1.0)),
    ),
]
SHAPES_HELD_OUT = [
    _n("P", line((0.15, 1.0), (0.15, 0.0)) + arc(0.45, 0.27, 0.4, 0.27, -90, 90)),
    _n("V", line((0.0, 0.0), (0.5, 1.0), (1.0, 0.0))),
    _n("U", line((0.05, 0.0)) + arc(0.5, 0.55, 0.45, 0.45, 180, 0) + line((0.95, 0.0))),
    _n("k", line((0.15, 0.0), (0.15, 1.0)), line((0.8, 0.4), (0.15, 0.75), (0.85, 1.0))),
    _n("w", line((0.0, 0.3), (0.25, 1.0), (0.5, 0.5), (0.75, 1.0), (1.0, 0.3))),
    _n(
        "cat face",
        arc(0.5, 0.6, 0.45, 0.4, 0, 360),
        line((0.1, 0.4), (0.15, 0.0), (0.4, 0.22)),
        line((0.6, 0.22), (0.85, 0.0), (0.9, 0.4)),
        dot(0.35, 0.55),
        dot(0.65, 0.55),
    ),
    _n(
        "flower",
        arc(0.5, 0.5, 0.12, 0.12, 0, 360),
        *[
            arc(0.5 + 0.3 * math.cos(a), 0.5 + 0.3 * math.sin(a), 0.16, 0.16, 0, 360)
            for a in np.linspace(0, 2 * math.pi, 6, endpoint=False)
        ],
    ),
    _n("zigzag", line((0.0, 0.2), (0.2, 0.8), (0.4, 0.2), (0.6, 0.8), (0.8, 0.2), (1.0, 0.8))),
    _n("fish", arc(0.4, 0.5, 0.4, 0.25, 30, 330) + line((1.0, 0.2), (1.0, 0.8), (0.75, 0.38))),
    _n(
        "口",
        line((0.0, 0.1), (0.0, 0.9)),
        line((0.0, 0.1), (1.0, 0.1), (1.0, 0.9)),
        line((0.0, 0.9), (1.0, 0.9)),
    ),
    _n(
        "木",
        line((0.0, 0.3), (1.0, 0.3)),
        line((0.5, 0.0), (0.5, 1.0)),
        line((0.5, 0.35), (0.0, 0.85)),
        line((0.5, 0.35), (1.0, 0.85)),
    ),
]


def _resampled(points: Points, step: float = 0.02) -> np.ndarray:
    """A polyline with a point every ``step`` along it (a dot stays a dot)."""
    p = np.asarray(points, dtype=np.float64)
    if len(p) < 2:
        return p
    lengths = np.linalg.norm(np.diff(p, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(lengths)])
    targets = np.linspace(0.0, along[-1], max(2, int(along[-1] / step) + 1))
    return np.stack([np.interp(targets, along, p[:, 0]), np.interp(targets, along, p[:, 1])], 1)


@dataclass(frozen=True)
class Hand:
    """How much a hand bends a template: slant, rotation, aspect, wobble."""

    rotation: float = 10.0  # degrees either way
    slant: float = 0.3  # shear either way
    aspect: tuple[float, float] = (0.55, 1.15)  # width over height, times the template's
    wobble: float = 0.035  # of the box: smooth bends along the strokes
    jitter: float = 0.03  # of the box: each stroke's own offset (strokes rarely meet exactly)


def drawn(template: Template, rng: np.random.Generator, hand: Hand = Hand()) -> list[pen.Stroke]:
    """``template`` as one person might draw it on the canvas: bent by ``hand``, scaled to
    a random height, put somewhere on the canvas, with a random canvas pen."""
    angle = math.radians(rng.uniform(-hand.rotation, hand.rotation))
    shear = rng.uniform(-hand.slant, hand.slant)
    aspect = rng.uniform(*hand.aspect)
    cos, sin = math.cos(angle), math.sin(angle)
    bend = np.array([[aspect, shear], [0.0, 1.0]]) @ np.array([[cos, -sin], [sin, cos]]).T
    waves = rng.normal(0, 1, (2, 3, 2))  # smooth bends: three low waves per axis

    def wobble(p: np.ndarray) -> np.ndarray:
        k = np.arange(1, 4) * math.pi
        phase = p[:, :1] * k + p[:, 1:] * k[::-1]
        bends = np.stack([(np.sin(phase + w[:, 0]) * w[:, 1]).sum(1) for w in waves], 1)
        return p + hand.wobble / 3 * bends

    shapes = [wobble(_resampled(s)) + rng.normal(0, hand.jitter, 2) for s in template.strokes]
    shapes = [(s - 0.5) @ bend for s in shapes]
    every = np.concatenate(shapes)
    low, high = every.min(0), every.max(0)
    height = rng.uniform(100, 340)
    scale = height / max(high[1] - low[1], (high[0] - low[0]) * 0.5, 1e-6)
    size = (high - low) * scale
    width = rng.uniform(
        pen.PEN_WIDTHS[0], min(pen.PEN_WIDTHS[1], height / 5)
    )  # no pen fills the loops
    margin = width / 2 + 1
    room = np.maximum(pen.CANVAS - 2 * margin - size, 0)
    corner = margin + rng.uniform(0, 1, 2) * room
    return [
        pen.Stroke(
            width,
            tuple(
                map(tuple, np.clip(np.round((s - low) * scale + corner, 1), 0, pen.CANVAS).tolist())
            ),
        )
        for s in shapes
    ]


def chaikin(points: np.ndarray) -> np.ndarray:
    """One round of Chaikin's corner cutting: each corner replaced by two points a quarter
    of the way along its sides; the ends stay."""
    a, b = points[:-1], points[1:]
    cut = np.stack([0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b], 1).reshape(-1, 2)
    return np.concatenate([points[:1], cut, points[-1:]])


def scribble(rng: np.random.Generator) -> Template:
    """A random scribble: one to three strokes through random points, rounded off
    (Chaikin's corner cutting) or left sharp, too tangled to be a digit."""
    strokes = []
    for _ in range(rng.integers(1, 4)):
        points = rng.uniform(0, 1, (rng.integers(5, 10), 2))
        for _ in range(rng.integers(0, 4)):
            points = chaikin(points)
        strokes.append([tuple(p) for p in points])
    return Template(NOT_A_DIGIT, "scribble", tuple(strokes))


# Letters and signs in fonts matplotlib ships (it is a dependency already): printed
# shapes no template here draws. Digit-like ones are left out, as above.
FONT_CHARACTERS = "ACEFHKLMNPRUVWXYacdefhkmnpruvwxy#%&@+ΣΩΔΦλπψжЯ"
TRAIN_FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf")
HELD_OUT_FONTS = ("DejaVuSansMono.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSans-Oblique.ttf")


def font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@functools.cache
def font_face(font: str, size: int) -> ImageFont.FreeTypeFont:
    """``font`` at ``size`` pixels, read from its file once (a set prints thousands)."""
    return ImageFont.truetype(str(font_dir() / font), size)


def printed(character: str, font: str, rng: np.random.Generator) -> Image.Image:
    """``character`` in ``font`` at a random size and slant, black on a white page."""
    face = font_face(font, int(rng.uniform(120, 260)))
    page = Image.new("L", (pen.CANVAS, pen.CANVAS), 255)
    ImageDraw.Draw(page).text(
        (pen.CANVAS / 2, pen.CANVAS / 2), character, fill=0, font=face, anchor="mm"
    )
    slant = rng.uniform(-0.25, 0.25)
    page = page.transform(
        page.size,
        Image.Transform.AFFINE,
        (1, slant, -slant * pen.CANVAS / 2, 0, 1, 0),
        fillcolor=255,
    )
    return page


Page = tuple[Image.Image, str, str]  # a white page with black ink, its label, what it is


def digit_page(index: int, seed: int, held_out: bool = False) -> Page:
    """Digit number ``index`` of a set made from ``seed``: the templates in turn (the
    held-out ones with ``held_out``), drawn by :func:`drawn` and rendered as the Draw tab
    renders a drawing. The same arguments give the same page."""
    templates = DIGITS_HELD_OUT if held_out else DIGITS_TRAIN
    template = templates[index % len(templates)]
    rng = np.random.default_rng([seed, index])
    return pen.render(drawn(template, rng)), template.label, f"{template.label} {template.name}"


def not_digit_page(index: int, seed: int, held_out: bool = False) -> Page:
    """Page number ``index`` of a set of non-digits made from ``seed``: in turn a shape
    template, a printed letter or sign, and a scribble (the held-out shapes and fonts with
    ``held_out``)."""
    rng = np.random.default_rng([seed, index])
    shapes = SHAPES_HELD_OUT if held_out else SHAPES_TRAIN
    fonts = HELD_OUT_FONTS if held_out else TRAIN_FONTS
    if index % 3 == 0:
        template = shapes[(index // 3) % len(shapes)]
        return pen.render(drawn(template, rng)), NOT_A_DIGIT, template.name
    if index % 3 == 1:
        character = FONT_CHARACTERS[rng.integers(len(FONT_CHARACTERS))]
        font = fonts[rng.integers(len(fonts))]
        return printed(character, font, rng), NOT_A_DIGIT, f"printed {character}"
    return pen.render(drawn(scribble(rng), rng)), NOT_A_DIGIT, "scribble"


def redrawn(digit: Image.Image, rng: np.random.Generator, canvas: int = pen.CANVAS) -> Image.Image:
    """A scanned digit as someone might draw it on the canvas: 40-360 px tall, anywhere,
    with a pen from hairline to fat, binarised (so no anti-aliasing helps the reader).
    Returns the canvas's transparent page with black ink."""
    gray = digit.convert("L")
    ys, xs = np.nonzero(np.asarray(gray) > 30)
    crop = gray.crop((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
    height = int(rng.integers(40, 361))
    width = min(canvas - 10, max(1, round(crop.width * height / crop.height)))
    big = np.asarray(crop.resize((width, height), Image.Resampling.BICUBIC))
    # A signed odd filter size: > 1 fattens the strokes, < -1 thins them, else as scanned.
    thickening = int(rng.integers(-1, 2)) * (2 * int(rng.integers(0, max(1, height // 25))) + 1)
    if thickening > 1:
        big = square_filter(big, thickening, np.max)
    elif thickening < -1:
        big = square_filter(big, -thickening, np.min)
    ink = Image.fromarray(np.uint8(big > 100) * 255)
    if ink.getbbox() is None:  # thinned away: keep the plain upscaled digit
        ink = Image.fromarray(np.uint8(np.asarray(crop.resize((width, height))) > 100) * 255)
    page = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    left = int(rng.integers(0, canvas - width + 1))
    top = int(rng.integers(0, canvas - height + 1))
    page.paste((0, 0, 0, 255), (left, top), ink)
    return page


def square_filter(pixels: np.ndarray, size: int, reduce: Callable) -> np.ndarray:
    """PIL's ``MaxFilter(size)`` (``reduce=np.max``) or ``MinFilter``, in two passes of one
    axis each: a square window is separable, and big windows cost PIL size^2 per pixel."""
    for axis in (0, 1):
        edges = [(0, 0), (0, 0)]
        edges[axis] = (size // 2, size // 2)
        windows = np.lib.stride_tricks.sliding_window_view(
            np.pad(pixels, edges, mode="edge"), size, axis=axis
        )
        pixels = reduce(windows, axis=-1)
    return pixels


class RedrawnDigits:
    """A page maker, as :func:`digit_page` is, over a set of real digits (a torchvision
    dataset of PIL images and label numbers): page ``index`` is digit ``index`` of the set,
    :func:`redrawn` with a generator from ``seed`` and ``index``."""

    def __init__(self, digits) -> None:
        self.digits = digits

    def __call__(self, index: int, seed: int) -> Page:
        image, target = self.digits[index % len(self.digits)]
        page = redrawn(image, np.random.default_rng([seed, index]))
        return page, str(target), "redrawn"
