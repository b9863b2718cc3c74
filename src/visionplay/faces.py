"""Faces: what a face detector answers, the crop framing shared by training and serving
(and its calibration on a detector's boxes), the 68-point layout, the NME metric and the
overlay drawing. numpy, OpenCV and PIL only (no torch).

The keypoint model sees a square, grayscale crop around one face. The square is framed
from a *face box*: the bounding box of the 68 points when they are known (training,
evaluation on true boxes), or the detector's box mapped onto the same framing by a
calibration the face trainer measures on the training frames and exports with the model
(``cfg.settings.detector_framing``). So a crop looks the same whichever box made it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .errors import VisionplayError

NUM_POINTS = 68
# Overlays: a dot's radius and a line's width as shares of the face's side (see pen).
DOT_SHARE, LINE_SHARE = 90, 160
LEFT_EYE_OUTER, RIGHT_EYE_OUTER = 36, 45  # the NME normaliser, as 300-W reports it

# The standard 68-point layout as (name, first, last, closed) runs of consecutive points.
CONTOURS = (
    ("jaw", 0, 16, False),
    ("right brow", 17, 21, False),
    ("left brow", 22, 26, False),
    ("nose bridge", 27, 30, False),
    ("nostrils", 31, 35, False),
    ("right eye", 36, 41, True),
    ("left eye", 42, 47, True),
    ("outer lip", 48, 59, True),
    ("inner lip", 60, 67, True),
)


def _mirror_permutation() -> np.ndarray:
    """Index of each point's mirror partner: after a horizontal flip point i is point
    FLIP[i] (jaw 0<->16, brows 17<->26, eyes 36<->45, mouth corners 48<->54, ...)."""
    pairs = [(i, 16 - i) for i in range(17)]  # jaw
    pairs += [(17 + i, 26 - i) for i in range(5)]  # brows
    pairs += [(27 + i, 27 + i) for i in range(4)]  # nose bridge, on the midline
    pairs += [(31 + i, 35 - i) for i in range(5)]  # nostrils
    pairs += list(zip((36, 37, 38, 39, 40, 41), (45, 44, 43, 42, 47, 46), strict=True))  # eyes
    pairs += [(48 + i, 54 - i) for i in range(7)]  # upper outer lip
    pairs += [(55 + i, 59 - i) for i in range(5)]  # lower outer lip
    pairs += [(60 + i, 64 - i) for i in range(5)]  # upper inner lip
    pairs += [(65 + i, 67 - i) for i in range(3)]  # lower inner lip
    flip = np.empty(NUM_POINTS, dtype=np.int64)
    for a, b in pairs:
        flip[a], flip[b] = b, a
    return flip


FLIP = _mirror_permutation()


@dataclass(frozen=True)
class Square:
    """A square region of an image: centre and side, in pixels."""

    cx: float
    cy: float
    side: float

    def scaled(self, factor: float) -> Square:
        return Square(self.cx, self.cy, self.side * factor)


def square_from_points(points: np.ndarray, margin: float) -> Square:
    """The crop for known points: centred on their box, ``margin`` times its longer side."""
    low, high = points.min(0), points.max(0)
    cx, cy = (low + high) / 2
    return Square(float(cx), float(cy), float(margin * (high - low).max()))


def square_from_detection(box: Sequence[float], framing: Sequence[float], margin: float) -> Square:
    """The crop for a detector box (x0, y0, x1, y1): the points' box predicted from it by
    ``framing`` = (dx, dy, size), each a fraction of the box width, then as above."""
    x0, y0, x1, y1 = box
    width = x1 - x0
    dx, dy, size = framing
    cx, cy = (x0 + x1) / 2 + dx * width, (y0 + y1) / 2 + dy * width
    return Square(float(cx), float(cy), float(margin * size * width))


def crop_matrix(square: Square, side: int) -> np.ndarray:
    """2x3 affine map from image pixels to the ``side`` x ``side`` crop's pixels."""
    scale = side / square.side
    # Pixel centres: image point (cx, cy) lands on the crop's centre, (side - 1) / 2.
    return np.array(
        [
            [scale, 0.0, (side - 1) / 2 - scale * square.cx],
            [0.0, scale, (side - 1) / 2 - scale * square.cy],
        ]
    )


def crop(gray: np.ndarray, square: Square, side: int) -> np.ndarray:
    """The ``side`` x ``side`` float32 crop of a [0, 1] grayscale image; outside the
    picture, its edge pixels are repeated."""
    gray = np.ascontiguousarray(gray, dtype=np.float32)
    scale = side / square.side
    if scale < 0.5:  # shrink by area averaging first: bilinear sampling alone would alias
        height, width = gray.shape
        size = (max(1, round(width * 2 * scale)), max(1, round(height * 2 * scale)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        fx, fy = size[0] / width, size[1] / height
        square = Square(
            (square.cx + 0.5) * fx - 0.5, (square.cy + 0.5) * fy - 0.5, square.side * fx
        )
    return cv2.warpAffine(
        gray,
        crop_matrix(square, side),
        (side, side),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def to_crop(points: np.ndarray, square: Square, side: int) -> np.ndarray:
    """Image pixels -> crop coordinates in [0, 1] (0 and 1 are the crop's outer edges)."""
    m = crop_matrix(square, side)
    return (points @ m[:, :2].T + m[:, 2] + 0.5) / side


def from_crop(coords: np.ndarray, square: Square, side: int) -> np.ndarray:
    """Crop coordinates in [0, 1] -> image pixels (the inverse of :func:`to_crop`)."""
    m = crop_matrix(square, side)
    return (coords * side - 0.5 - m[:, 2]) / m[0, 0]


def nme(predicted, true):
    """Mean point-to-point error over the 68 points, divided by the outer-eye-corner
    distance; ``(..., 68, 2)`` in the same units, one value per face. Written with array
    operators only, so numpy arrays (evaluation) and torch tensors (training) both work."""
    error = (((predicted - true) ** 2).sum(-1) ** 0.5).mean(-1)
    eye_gap = ((true[..., LEFT_EYE_OUTER, :] - true[..., RIGHT_EYE_OUTER, :]) ** 2).sum(-1) ** 0.5
    return error / eye_gap


@dataclass(frozen=True)
class Detection:
    """A face box (x0, y0, x1, y1) in image pixels, the detector's confidence, and the
    face's six points (x, y) in the detector's order (eyes, nose tip, mouth, ears; the
    person's right first), where the detector gives them."""

    box: tuple[float, float, float, float]
    score: float
    keypoints: tuple[tuple[float, float], ...] = ()

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.box
        return max(0.0, x1 - x0) * max(0.0, y1 - y0)

    def to_json(self) -> dict[str, Any]:
        """Pixels to a tenth, as a :class:`~visionplay.tasks.keypoints.Face` gives them."""
        return {
            "box": [round(float(v), 1) for v in self.box],
            "score": round(float(self.score), 3),
            "keypoints": [[round(float(x), 1), round(float(y), 1)] for x, y in self.keypoints],
        }


class Detector(Protocol):
    """What finds faces: :class:`~visionplay.tasks.detection.FaceDetector`."""

    def find(self, rgb: np.ndarray, *, single_pass: bool = False) -> list[Detection]: ...


def match(detections: list[Detection], points: np.ndarray) -> Detection | None:
    """The largest detection containing the centre of the known points, if any."""
    cx, cy = (points.min(0) + points.max(0)) / 2
    for detection in detections:
        x0, y0, x1, y1 = detection.box
        if x0 <= cx <= x1 and y0 <= cy <= y1:
            return detection
    return None


def calibrate(
    detections: Sequence[Detection], points: Sequence[np.ndarray]
) -> tuple[float, float, float]:
    """(dx, dy, size) for :func:`square_from_detection`: medians, over faces the detector
    found, of the points' box centre offset and longer side, as fractions of box width."""
    offsets = []
    for detection, face in zip(detections, points, strict=True):
        x0, y0, x1, y1 = detection.box
        width = x1 - x0
        low, high = face.min(0), face.max(0)
        centre = (low + high) / 2
        offsets.append(
            (
                (centre[0] - (x0 + x1) / 2) / width,
                (centre[1] - (y0 + y1) / 2) / width,
                (high - low).max() / width,
            )
        )
    dx, dy, size = np.median(np.array(offsets), axis=0)
    return float(dx), float(dy), float(size)


def as_rgb(picture: np.ndarray) -> np.ndarray:
    """An HxWx3 uint8 picture from a [0, 1] grayscale one (or an RGB one, as it is)."""
    if picture.ndim == 3:
        return picture
    return np.repeat(np.uint8(np.clip(picture, 0, 1) * 255 + 0.5)[..., None], 3, axis=2)


def calibrate_framing(
    detector: Detector, pictures: Sequence[np.ndarray], points: Sequence[np.ndarray]
) -> tuple[tuple[float, float, float], float]:
    """How ``detector``'s boxes sit on faces of known ``points``: the framing for
    :func:`square_from_detection` (see :func:`calibrate`) and the share of ``pictures``
    (RGB uint8, or [0, 1] grayscale) it found their face on. Each picture is searched as
    the keypoint model searches a photo (``find``'s default)."""
    found, matched = [], []
    for picture, face in zip(pictures, points, strict=True):
        detection = match(detector.find(as_rgb(picture)), face)
        if detection is not None:
            found.append(detection)
            matched.append(face)
    if not found:
        raise VisionplayError("the detector found none of the faces: no framing to measure")
    return calibrate(found, matched), round(len(found) / len(pictures), 4)


def draw_detections(image: Image.Image, detections: Sequence[Detection]) -> Image.Image:
    """A copy of ``image`` with each detection's box and its points."""
    canvas = image.convert("RGB")
    draw = ImageDraw.Draw(canvas)
    for detection in detections:
        radius, width = pen(detection.box)
        draw.rectangle(detection.box, outline=(255, 196, 0), width=width)
        for x, y in detection.keypoints:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(255, 40, 80))
    return canvas


def pen(box: Sequence[float]) -> tuple[float, int]:
    """A dot's radius and a line's width for a face of ``box``, in pixels: both follow the
    face's size, so a small face in a group photo stays readable and a large one is not
    drawn in hairlines."""
    side = max(box[2] - box[0], box[3] - box[1])
    return max(0.5, side / DOT_SHARE), max(1, round(side / LINE_SHARE))


def draw_faces(image: Image.Image, faces: Sequence, lines: bool = True) -> Image.Image:
    """A copy of ``image`` with each face's box, its 68 points and (``lines``) the contours
    joining jaw, brows, nose, eyes and lips. ``faces`` have ``box`` and ``points``."""
    canvas = image.convert("RGB")
    draw = ImageDraw.Draw(canvas)
    for face in faces:
        radius, width = pen(face.box)
        draw.rectangle(face.box, outline=(255, 196, 0), width=width)
        points = [tuple(map(float, p)) for p in face.points]
        if lines:
            for _, first, last, closed in CONTOURS:
                run = points[first : last + 1]
                draw.line(run + run[:1] if closed else run, fill=(0, 200, 255), width=width)
        for x, y in points:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(255, 40, 80))
    return canvas
