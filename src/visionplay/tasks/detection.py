"""Face detection: a picture in, every face's box, score and six points out.

The network (MediaPipe's BlazeFace full range, converted by trainers/face_detector.py)
reads a picture letterboxed into its square input and answers one row per anchor: box
and point offsets, then a face logit. Everything around it is here, in numpy: the
letterbox, the anchors and their decoding, and MediaPipe's weighted non-maximum
suppression, which blends the boxes of one face rather than keeping only the best.

Two ways to search a picture (:meth:`FaceDetector.find`): one pass on the whole frame (the
live path), or the photo path: the whole picture, the same zoomed out (the network misses
a face that fills its input) and overlapping tiles of it (a face a twentieth of the
picture wide then covers enough of the input to be found), all in one batch.

No torch here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from ..config import DataConfig
from ..errors import InvalidInputError
from ..faces import Detection, draw_detections
from ..preprocess import ImageLike, max_pixels, open_image, rgb_array
from .base import Model

# The photo path's tiles: squares this share of the picture's longer side, overlapping by
# at least this share of a tile, so a face narrower than the overlap is whole in one.
TILE = 0.4
OVERLAP = 0.25
# The network misses a face that fills most of its input: the photo path also reads the
# whole picture shrunk to this share of the input's side, black around it.
ZOOMED_OUT = 0.5
# There, a small face is a few pixels, and its box poor: the pass answers only for faces
# at least this share of the picture wide (the whole picture sees them large enough too).
ZOOMED_OUT_LEAST = 0.25
# A box within this share of a tile's side from an edge the tile shares with the rest of
# the picture may be a cut face: the whole picture or the next tile sees it whole.
CUT_EDGE = 0.02
# Logits are clipped before the sigmoid, as MediaPipe does.
LOGIT_CLIP = 100.0


@dataclass(frozen=True)
class Window:
    """A rectangle of the picture (pixels) and where the letterbox put it in the input:
    input pixel = (picture pixel - corner) * scale + offset."""

    x0: float
    y0: float
    width: float
    height: float
    fill: float = 1.0  # the share of the input's side the window's longer side takes
    least: float = 0.0  # the narrowest face it answers for, a share of its longer side
    scale: tuple[float, float] = (1.0, 1.0)
    offset: tuple[float, float] = (0.0, 0.0)

    def to_picture(self, xy: np.ndarray) -> np.ndarray:
        """Input pixels (..., 2) -> picture pixels."""
        return (xy - self.offset) / self.scale + (self.x0, self.y0)


def letterbox(rgb: np.ndarray, window: Window, side: int) -> tuple[np.ndarray, Window]:
    """The ``window`` of an HxWx3 uint8 picture, resized to fit a ``side`` x ``side`` black
    square (aspect ratio kept, centred), as (3, side, side) float32 in [0, 1]; and the
    window with the letterbox's scale and offset. Shrinking averages areas (no aliasing)."""
    x0, y0 = round(window.x0), round(window.y0)
    cut = rgb[y0 : y0 + round(window.height), x0 : x0 + round(window.width)]
    height, width = cut.shape[:2]
    fit = side * window.fill / max(height, width)
    size = (max(1, min(side, round(width * fit))), max(1, min(side, round(height * fit))))
    shrink = size[0] < width
    resized = cv2.resize(cut, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    left, top = (side - size[0]) // 2, (side - size[1]) // 2
    canvas = np.zeros((side, side, 3), np.uint8)
    canvas[top : top + size[1], left : left + size[0]] = resized
    placed = Window(
        x0,
        y0,
        width,
        height,
        window.fill,
        window.least,
        (size[0] / width, size[1] / height),
        (float(left), float(top)),
    )
    return canvas.transpose(2, 0, 1).astype(np.float32) / 255.0, placed


def windows(width: int, height: int, side: int, single_pass: bool) -> list[Window]:
    """The whole picture; then (the photo path) the whole picture zoomed out, for a face
    that fills it, and overlapping square tiles of it, for small faces (none where a tile
    would be smaller than the input: enlarging shows the network nothing new)."""
    whole = Window(0, 0, width, height)
    if single_pass:
        return [whole]
    views = [whole, Window(0, 0, width, height, fill=ZOOMED_OUT, least=ZOOMED_OUT_LEAST)]
    tile = round(TILE * max(width, height))
    if tile < side:
        return views
    xs, ys = tile_starts(width, tile), tile_starts(height, tile)
    return views + [Window(x, y, min(tile, width), min(tile, height)) for y in ys for x in xs]


def tile_starts(length: int, tile: int) -> list[int]:
    """Where tiles of ``tile`` pixels start along ``length``: evenly spread, overlapping
    by at least :data:`OVERLAP` of a tile."""
    if length <= tile:
        return [0]
    count = math.ceil((length - tile) / (tile * (1 - OVERLAP))) + 1
    return [round(v) for v in np.linspace(0, length - tile, count)]


def anchors(grid: int) -> np.ndarray:
    """(grid * grid, 2) anchor centres in [0, 1], row-major (MediaPipe's SSD anchors for
    one layer of stride input / grid, offset half a cell, of fixed size)."""
    centres = (np.arange(grid, dtype=np.float32) + 0.5) / grid
    ys, xs = np.meshgrid(centres, centres, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def decode(
    rows: np.ndarray, centres: np.ndarray, side: int, min_score: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One input's rows (anchors, 4 + 2k + 1) -> the boxes (n, 4: x0, y0, x1, y1), points
    (n, k, 2), both in input pixels, and scores (n,) of the rows scoring ``min_score`` or
    more. Offsets are in input pixels from the anchor's centre (MediaPipe: x, y, w, h)."""
    logits = np.clip(rows[:, -1], -LOGIT_CLIP, LOGIT_CLIP)
    scores = 1.0 / (1.0 + np.exp(-logits))
    keep = scores >= min_score
    rows, scores, origin = rows[keep], scores[keep], centres[keep] * side
    centre, size = rows[:, 0:2] + origin, rows[:, 2:4]
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    points = rows[:, 4:-1].reshape(len(rows), (rows.shape[1] - 5) // 2, 2) + origin[:, None]
    return boxes, points, scores


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one box with each of ``boxes`` (x0, y0, x1, y1)."""
    low, high = np.maximum(box[:2], boxes[:, :2]), np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(high - low, 0, None), axis=1)
    area = np.prod(np.clip(box[2:] - box[:2], 0, None))
    areas = np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 0, None), axis=1)
    union = area + areas - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def weighted_nms(
    boxes: np.ndarray, points: np.ndarray, scores: np.ndarray, threshold: float
) -> list[Detection]:
    """MediaPipe's weighted non-maximum suppression: the best remaining box and every box
    overlapping it by more than ``threshold`` are one face, whose box and points are their
    score-weighted mean and whose score is the best one's. Largest face first."""
    order = np.argsort(-scores, kind="stable")
    found = []
    while len(order):
        overlap = iou(boxes[order[0]], boxes[order])
        group, order = order[overlap > threshold], order[overlap <= threshold]
        weights = scores[group] / scores[group].sum()
        box = weights @ boxes[group]
        spots = np.tensordot(weights, points[group], axes=1)
        found.append(
            Detection(
                tuple(float(v) for v in box),
                float(scores[group[0]]),
                tuple((float(x), float(y)) for x, y in spots),
            )
        )
    return sorted(found, key=lambda d: -d.area)


def answered(boxes: np.ndarray, window: Window, width: int, height: int) -> np.ndarray:
    """Which boxes (picture pixels) ``window`` answers for: those at least its ``least``
    wide and not within :data:`CUT_EDGE` of an edge it shares with the rest of the picture
    (a face a tile may have cut, which another window sees whole)."""
    longer = max(window.width, window.height)
    margin = CUT_EDGE * longer
    x1, y1 = window.x0 + window.width, window.y0 + window.height
    cut = boxes[:, 2] - boxes[:, 0] < window.least * longer
    if window.x0 > 0:
        cut |= boxes[:, 0] < window.x0 + margin
    if window.y0 > 0:
        cut |= boxes[:, 1] < window.y0 + margin
    if x1 < width:
        cut |= boxes[:, 2] > x1 - margin
    if y1 < height:
        cut |= boxes[:, 3] > y1 - margin
    return ~cut


def checked_rgb(rgb: Any) -> np.ndarray:
    """``rgb`` if it is an HxWx3 uint8 array within the pixel limit, else a one-line refusal."""
    rgb = rgb_array(rgb, "find takes")
    pixels, limit = rgb.shape[0] * rgb.shape[1], max_pixels()
    if pixels > limit:
        raise InvalidInputError(f"the picture has {pixels:,} pixels; at most {limit:,} are read")
    return rgb


class FaceDetector(Model):
    """A face detector: ``find(rgb)`` or ``predict(picture)`` -> every face as a
    :class:`~visionplay.faces.Detection` (box, score, six points; picture pixels), largest
    first, [] when there is none. The graph itself reads (N, 3, S, S) letterboxed pictures
    in [0, 1] and answers (N, anchors, 4 + 2k + 1) rows."""

    task = "detection"
    output_name = "anchors"
    answer_key = "faces"
    bytes_input = "an encoded picture: every face's box, score and points"
    max_pictures = 1

    def __init__(self, path: Path, session: Any) -> None:
        super().__init__(path, session)
        self.settings = self.cfg.settings
        self.side = self.cfg.input_size[-1]
        self.centres = anchors(self.settings.grid)

    @classmethod
    def output_shape(cls, cfg: DataConfig) -> tuple[int, ...]:
        return (cfg.settings.grid**2, 4 + 2 * len(cfg.settings.keypoints) + 1)

    def prepare(self, raw: ImageLike) -> np.ndarray:
        """A picture as the graph reads it in one pass: letterboxed whole."""
        rgb = np.asarray(open_image(raw).convert("RGB"))
        height, width = rgb.shape[:2]
        return letterbox(rgb, Window(0, 0, width, height), self.side)[0]

    def find(self, rgb: np.ndarray, *, single_pass: bool = False) -> list[Detection]:
        """Faces in an HxWx3 uint8 RGB picture, largest first. ``single_pass``: one run on
        the whole frame (live video); else the photo path: the whole picture, zoomed out,
        and its tiles, in one batch, their boxes merged."""
        rgb = checked_rgb(rgb)
        # Tiles never need more pixels than the input has: search a copy of at most that.
        small = rgb if single_pass else shrunk(rgb, round(self.side / TILE))
        height, width = small.shape[:2]
        views = [
            letterbox(small, window, self.side)
            for window in windows(width, height, self.side, single_pass)
        ]
        rows = self.run(np.stack([pixels for pixels, _ in views]))
        found = self.merged(rows, [window for _, window in views], width, height)
        factor = (width / rgb.shape[1], height / rgb.shape[0])
        return [scaled(detection, factor) for detection in found]

    def merged(
        self, rows: np.ndarray, placed: Sequence[Window], width: int, height: int
    ) -> list[Detection]:
        """The faces of every pass (``rows``, one per window ``placed``) in the picture's
        pixels, each window's kept where it answers for them, merged by weighted NMS."""
        parts = []
        for out, window in zip(rows, placed, strict=True):
            boxes, points, scores = decode(out, self.centres, self.side, self.settings.min_score)
            boxes = window.to_picture(boxes.reshape(-1, 2, 2)).reshape(-1, 4)
            keep = answered(boxes, window, width, height)
            parts.append((boxes[keep], window.to_picture(points[keep]), scores[keep]))
        boxes, points, scores = (np.concatenate(part) for part in zip(*parts, strict=True))
        return weighted_nms(boxes, points, scores, self.settings.nms_iou)

    def predict(self, image: ImageLike) -> list[Detection]:
        return self.predict_batch([image])[0]

    def predict_batch(self, images: Iterable[ImageLike]) -> list[list[Detection]]:
        """Faces in each picture (path, bytes, PIL image or array), by the photo path."""
        return [self.find(np.asarray(open_image(image).convert("RGB"))) for image in images]

    def to_json(self, answer: list[Detection]) -> list[dict[str, Any]]:
        return [detection.to_json() for detection in answer]

    def to_text(self, answer: list[Detection]) -> list[str]:
        lines = [f"{len(answer)} face{'s' * (len(answer) != 1)}"]
        for detection in answer:
            box = ", ".join(f"{v:.0f}" for v in detection.box)
            lines.append(f"  box ({box})  score {detection.score:.2f}")
        return lines

    def draw(self, picture: Image.Image, answer: list[Detection], **style: Any) -> Image.Image:
        """Boxes and points."""
        return draw_detections(picture, answer)

    def output_names(self, pictures: bool) -> tuple[str, ...]:
        return ("boxes", "scores", "keypoints") if pictures else (self.output_name,)

    def picture_outputs(self, pictures: Sequence[bytes], **options: Any) -> dict[str, np.ndarray]:
        found = self.predict(pictures[0])
        points = len(self.settings.keypoints)
        return {
            "boxes": np.reshape([d.box for d in found], (-1, 4)).astype(np.float32),
            "scores": np.array([d.score for d in found], dtype=np.float32),
            "keypoints": np.reshape([d.keypoints for d in found], (-1, points, 2)).astype(
                np.float32
            ),
        }


def shrunk(rgb: np.ndarray, most: int) -> np.ndarray:
    """``rgb`` resized (by area) so that its longer side is at most ``most`` pixels."""
    height, width = rgb.shape[:2]
    factor = most / max(height, width)
    if factor >= 1:
        return rgb
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def scaled(detection: Detection, factor: tuple[float, float]) -> Detection:
    """A detection on a picture resized by ``factor`` (x, y), back on the original."""
    fx, fy = factor
    x0, y0, x1, y1 = detection.box
    return Detection(
        (x0 / fx, y0 / fy, x1 / fx, y1 / fy),
        detection.score,
        tuple((x / fx, y / fy) for x, y in detection.keypoints),
    )
