"""Face keypoints: a face detector (an exported model of its own, named in the file's
settings), then the keypoint model on each face's crop."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .. import faces, tracking
from ..config import DataConfig
from ..errors import ModelNotFoundError, VisionplayError
from ..preprocess import ImageLike, open_image, to_gray
from ..tracking import Following
from .base import Figure, Model
from .detection import FaceDetector

# The detector of a file that names none: one exported before the detector was a model of
# its own (its framing was measured on another detector's boxes, so its crops sit a little
# off; export it again from a checkpoint the face trainer framed).
DEFAULT_DETECTOR = "face_detector"


@dataclass(frozen=True)
class Face:
    """One face: its detector box (x0, y0, x1, y1), its (x, y) points in the standard
    68-point order, both in the picture's pixels, and the detector's confidence."""

    box: tuple[float, float, float, float]
    points: np.ndarray
    score: float

    def to_json(self) -> dict[str, Any]:
        """Pixels to a tenth: finer is below what the model resolves."""
        return {
            "box": [round(float(v), 1) for v in self.box],
            "score": round(float(self.score), 3),
            "points": np.round(self.points.astype(np.float64), 1).tolist(),
        }


class KeypointModel(Model):
    """A face keypoint model behind a face detector: ``predict(picture)`` finds every face
    and returns each with its points, largest face first ([] when there is none). The
    graph itself reads a 96x96 grey crop and answers the points in crop units."""

    task = "keypoints"
    figure = Figure(
        "NME", "nme", higher_is_better=False, evaluated=("validation_held_out_people", "nme")
    )
    output_name = "points"
    answer_key = "faces"
    bytes_input = "an encoded picture: every face's box, 68 points and score"
    max_pictures = 1

    def __init__(self, path: Path, session: Any) -> None:
        super().__init__(path, session)
        self.detector_name = self.cfg.settings.detector or DEFAULT_DETECTOR
        self.side = self.cfg.input_size[-1]
        self.margin = self.cfg.settings.margin
        self.framing = self.cfg.settings.detector_framing
        self.num_points = self.cfg.settings.num_points

    @classmethod
    def output_shape(cls, cfg: DataConfig) -> tuple[int, ...]:
        return (cfg.settings.num_points, 2)

    def describe(self) -> str:
        return f"puts {self.num_points} points on each face {self.detector_name} finds"

    @property
    def detector(self) -> FaceDetector:
        """The exported detector the file names, opened on first use (``load`` opens this
        model under its lock, which opening another one inside would wait on forever)."""
        return find_detector(self.detector_name, self.path.parent)

    def predict(self, image: ImageLike) -> list[Face]:
        return self.predict_batch([image])[0]

    def predict_batch(self, images: Iterable[ImageLike]) -> list[list[Face]]:
        """Faces in each picture; all the crops go through the network in one pass."""
        if self.framing is None:
            raise VisionplayError(
                f"{self.path.name} has no detector framing (trainers/face_keypoints.py "
                "measures it); without it faces cannot be cropped the way the model was trained"
            )
        pictures = [open_image(image) for image in images]
        found = [self.detector.find(np.asarray(p.convert("RGB"))) for p in pictures]
        grays = [to_gray(picture) for picture in pictures]
        squares = [
            [faces.square_from_detection(d.box, self.framing, self.margin) for d in detections]
            for detections in found
        ]
        crops = [
            faces.crop(g, sq, self.side)
            for g, row in zip(grays, squares, strict=True)
            for sq in row
        ]
        coords = iter(self.run(np.stack(crops)[:, None]) if crops else [])
        return [
            [
                Face(d.box, faces.from_crop(next(coords), sq, self.side), d.score)
                for d, sq in zip(detections, row, strict=True)
            ]
            for detections, row in zip(found, squares, strict=True)
        ]

    def follow(self, rgb: np.ndarray, previous: Any = None, t: float = 0.0) -> Following:
        """The faces in one frame of a video (HxWx3 uint8) seen at ``t`` seconds, followed
        from ``previous``, the answer to the frame before (or its JSON): see
        :mod:`visionplay.tracking`."""
        return tracking.follow(self, rgb, previous, t)

    def track(self, frames: Iterable[np.ndarray], fps: float) -> list[Following]:
        """Every frame's faces, each frame's answer following the one before."""
        return tracking.track(self, frames, fps)

    def points_in(self, gray: np.ndarray, squares: Sequence[faces.Square]) -> np.ndarray:
        """(n, points, 2), in picture pixels, for faces framed by known ``squares``."""
        crops = np.stack([faces.crop(gray, square, self.side) for square in squares])[:, None]
        coords = self.run(crops)
        return np.stack(
            [faces.from_crop(c, sq, self.side) for c, sq in zip(coords, squares, strict=True)]
        )

    def to_json(self, answer: list[Face]) -> list[dict[str, Any]]:
        return [face.to_json() for face in answer]

    def to_text(self, answer: list[Face]) -> list[str]:
        lines = [f"{len(answer)} face{'s' * (len(answer) != 1)}"]
        for face in answer:
            box = ", ".join(f"{v:.0f}" for v in face.box)
            lines.append(f"  box ({box})  score {face.score:.2f}  {len(face.points)} points")
        return lines

    def draw(self, picture: Image.Image, answer: list[Face], lines: bool = True) -> Image.Image:
        """Boxes and points, joined along the face's contours if ``lines``."""
        return faces.draw_faces(picture, answer, lines=lines)

    def output_names(self, pictures: bool) -> tuple[str, ...]:
        return ("boxes", "points", "scores") if pictures else (self.output_name,)

    def picture_outputs(self, pictures: Sequence[bytes], **options: Any) -> dict[str, np.ndarray]:
        found = self.predict(pictures[0], **options)
        return {
            "boxes": np.reshape([f.box for f in found], (-1, 4)),
            "points": np.reshape([f.points for f in found], (-1, self.num_points, 2)),
            "scores": np.array([f.score for f in found], dtype=np.float32),
        }


def find_detector(name: str, folder: Path) -> FaceDetector:
    """The exported detector ``name``: beside the keypoint model, else in the models folder
    (a keypoint model exported on its own uses the shipped detector)."""
    from ..inference import load  # inference imports the tasks

    try:
        detector = load(name, folder)
    except ModelNotFoundError:
        detector = load(name)
    if not isinstance(detector, FaceDetector):
        raise VisionplayError(f"{name} is a {detector.task} model, not a face detector")
    return detector
