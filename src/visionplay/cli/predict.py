"""``visionplay predict FILE... --model NAME``: each file's answer from the model, as text
or JSON: the top classes of a picture, every face with its box and points (``--overlay``
draws them), or a series' forecast (a text or CSV file of numbers).

A video (by its extension: :data:`VIDEO_EXTENSIONS`) given to a face keypoint model has its
faces followed frame to frame (:func:`visionplay.tracking.follow`, as the Face tab's live
view does): ``--overlay DIR`` writes DIR/<name>-faces.mp4, every frame with its faces
drawn, and DIR/<name>-faces.json, every frame's points.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from .. import tracking
from ..errors import InvalidInputError
from ..files import atomic_write
from ..inference import load
from ..locations import models_dirs
from ..manifest import listed_models
from ..preprocess import max_pixels, open_image
from ..tasks import KeypointModel, Model
from ..tasks.classification import TOP_K

VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm")
MOST_FRAMES = 18_000  # ten minutes at 30 frames a second
DEFAULT_FPS = 30.0  # for a video that does not say its own


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "predict", help="classify pictures, find faces and their points, or forecast a series"
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="FILE",
        help="picture files (for a forecaster: text or CSV files of numbers)",
    )
    parser.add_argument(
        "--model",
        "-m",
        required=True,
        help=f"exported model ({', '.join(predicting_models()) or 'none yet'}; "
        "`visionplay list` shows them all)",
    )
    parser.add_argument("--top-k", "-k", type=int, default=TOP_K, help="classes per image (>= 1)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument(
        "--overlay",
        type=Path,
        default=None,
        metavar="DIR",
        help="write each picture with its answer drawn (the faces) to DIR/<name>-faces.png; "
        "a video to DIR/<name>-faces.mp4, with every frame's points in DIR/<name>-faces.json",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.top_k < 1:  # checked here, not by argparse, so the error is one line
        raise InvalidInputError(f"--top-k must be at least 1; got {args.top_k}")
    model = load(args.model)
    if model.task == "generation":
        raise InvalidInputError(
            f"{model.name} is a generator: it draws pictures of a class rather than reading "
            f"files; ask GET /generate/{model.name}?label=CLASS of `visionplay serve`, its "
            "Generate tab, or load(name).generate(labels)"
        )
    options = model.options_from(top_k=args.top_k)
    pictures = [name for name in args.inputs if not is_video(name)]
    answers = {name: model.predict(Path(name), **options) for name in pictures}
    if args.overlay is not None:
        write_overlays(model, answers, args.overlay)
    videos = {
        name: follow_video(model, Path(name), args.overlay)
        for name in args.inputs
        if is_video(name)
    }
    if args.json:
        shown = {k: videos[k] if k in videos else model.to_json(answers[k]) for k in args.inputs}
        print(json.dumps(shown, indent=2))
        return 0
    for name in args.inputs:
        first, *rest = video_text(videos[name]) if name in videos else model.to_text(answers[name])
        print(f"{name}: {first}", *rest, sep="\n")
    return 0


def predicting_models() -> list[str]:
    """The models ``predict`` reads files with: every one but the generators."""
    listed = listed_models(models_dirs())
    return sorted(m.name for m in listed if m.hidden_by is None and m.task != "generation")


def write_overlays(model, answers: dict, folder: Path) -> None:
    """Each picture with its answer drawn on it, as folder/<name>-<model>.png."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, answer in answers.items():
        out = folder / f"{Path(name).stem}-{model.answer_key}.png"
        model.draw(open_image(name), answer).save(out)
        print(f"wrote {out}", file=sys.stderr)


def is_video(name: str) -> bool:
    return Path(name).suffix.lower() in VIDEO_EXTENSIONS


def follow_video(model: Model, path: Path, overlay: Path | None) -> dict[str, Any]:
    """Every frame's faces, followed (JSON: the video's fps and size, then per frame its
    time and faces); with ``overlay``, the video with its faces drawn and that JSON written
    there too."""
    if not isinstance(model, KeypointModel):
        raise InvalidInputError(f"{path.name}: videos are read by a face keypoint model only")
    video, drawn = open_video(path), None
    try:
        fps, size = video_format(video, path)
        drawn = VideoOut(overlay, path, model, fps, size) if overlay is not None else None
        frames, previous = [], None
        for i, rgb in enumerate(video_frames(video, path)):
            previous = tracking.follow(model, rgb, previous, i / fps)
            frames.append({"t": round(i / fps, 4), "faces": faces_json(previous)})
            if drawn is not None:
                drawn.write(rgb, previous)
    except BaseException:
        if drawn is not None:
            drawn.discard()
        raise
    finally:
        video.release()
    followed = {"fps": fps, "size": list(size), "frames": frames}
    if drawn is not None:
        drawn.close(followed)
    return followed


def faces_json(answer: tracking.Following) -> list[dict[str, Any]]:
    return [face.to_json(state=False) for face in answer.faces]


def video_text(followed: dict[str, Any]) -> list[str]:
    frames = followed["frames"]
    seen = sum(1 for frame in frames if frame["faces"])
    most = max((len(frame["faces"]) for frame in frames), default=0)
    return [
        f"{len(frames)} frames at {followed['fps']:g} a second; faces in {seen}, at most {most}"
    ]


def open_video(path: Path) -> cv2.VideoCapture:
    if not path.is_file():
        raise InvalidInputError(f"no such video file: {path.name}")
    with ffmpeg_quiet():
        video = cv2.VideoCapture(str(path))
    if not video.isOpened():
        raise InvalidInputError(f"{path.name} is not a video OpenCV can read")
    return video


def video_format(video: cv2.VideoCapture, path: Path) -> tuple[float, tuple[int, int]]:
    """The video's frames a second and frame size, checked against the limits."""
    fps = video.get(cv2.CAP_PROP_FPS)
    fps = fps if math.isfinite(fps) and 0 < fps <= 1000 else DEFAULT_FPS
    size = (int(video.get(cv2.CAP_PROP_FRAME_WIDTH)), int(video.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    if size[0] * size[1] > max_pixels():
        raise InvalidInputError(
            f"{path.name}'s frames are {size[0]:,} x {size[1]:,} pixels; at most "
            f"{max_pixels() / 1e6:g} megapixels are read (--max-pixels)"
        )
    if video.get(cv2.CAP_PROP_FRAME_COUNT) > MOST_FRAMES:
        raise InvalidInputError(too_long(path))
    return fps, size


def too_long(path: Path) -> str:
    return f"{path.name} is over {MOST_FRAMES:,} frames long: cut it shorter"


def video_frames(video: cv2.VideoCapture, path: Path):
    """The frames as HxWx3 uint8 RGB; a video with none is refused."""
    count = 0
    while True:
        with ffmpeg_quiet():
            ok, bgr = video.read()
        if not ok:
            break
        count += 1
        if count > MOST_FRAMES:
            raise InvalidInputError(too_long(path))
        yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if not count:
        raise InvalidInputError(f"{path.name} has no frame OpenCV can read")


@contextlib.contextmanager
def ffmpeg_quiet() -> Iterator[None]:
    """FFmpeg, inside OpenCV, writes its complaints about a damaged file straight to the
    process's stderr; the command says what is wrong in one line of its own instead."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class VideoOut:
    """DIR/<name>-faces.mp4 (mp4v), written frame by frame to a temporary file renamed into
    place at the end with the JSON beside it, so a failure leaves no half-written video."""

    def __init__(self, folder: Path, path: Path, model: Model, fps: float, size) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.model = model
        self.out = folder / f"{path.stem}-{model.answer_key}.mp4"
        fd, self.tmp = tempfile.mkstemp(prefix=f".{self.out.stem}.", suffix=".mp4", dir=folder)
        os.close(fd)
        self.writer = cv2.VideoWriter(self.tmp, cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        if not self.writer.isOpened():
            self.discard()
            raise InvalidInputError(f"cannot write an mp4v video to {self.out.name}")

    def write(self, rgb: np.ndarray, answer: tracking.Following) -> None:
        drawn = self.model.draw(Image.fromarray(rgb), list(answer.faces))
        self.writer.write(cv2.cvtColor(np.asarray(drawn), cv2.COLOR_RGB2BGR))

    def close(self, followed: dict[str, Any]) -> None:
        self.writer.release()
        os.chmod(self.tmp, 0o644)  # mkstemp makes 0600; the video is the user's to share
        os.replace(self.tmp, self.out)
        text = json.dumps(followed, separators=(",", ":")) + "\n"
        saved = atomic_write(self.out.with_suffix(".json"), lambda tmp: Path(tmp).write_text(text))
        print(f"wrote {self.out} and {saved.name}", file=sys.stderr)

    def discard(self) -> None:
        self.writer.release()
        Path(self.tmp).unlink(missing_ok=True)
