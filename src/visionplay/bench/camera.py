"""A camera Chromium can be shown: frames written as a Y4M file, which Chromium plays in a
loop as its webcam when started with :data:`FAKE_CAMERA_ARGS` and the file's path.

    chromium --use-fake-ui-for-media-stream --use-fake-device-for-media-stream \
             --use-file-for-fake-video-capture=clip.y4m

Y4M is one text line (size, frame rate, 4:2:0 chroma) then, per frame, ``FRAME`` and the
raw Y, U and V planes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from ..errors import InvalidInputError

CAMERA_SIZE = (640, 480)  # width, height: what a laptop's webcam gives by default


def fake_camera_args(y4m: str | os.PathLike) -> list[str]:
    """Chromium's flags for a camera that plays ``y4m``, allowed without asking."""
    return [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={Path(y4m).resolve()}",
    ]


def write_y4m(path: str | os.PathLike, frames_rgb: Iterable[np.ndarray], fps: int = 30) -> Path:
    """Frames (HxWx3 uint8 RGB, all one size, even sides) as a Y4M file at ``fps``: BT.601
    4:2:0, what Chromium's fake camera reads."""
    path = Path(path)
    size = None
    with open(path, "wb") as out:
        for rgb in frames_rgb:
            if size is None:
                size = _checked_size(rgb)
                width, height = size
                out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
            elif (rgb.shape[1], rgb.shape[0]) != size:
                raise InvalidInputError(f"every frame must be {size[0]}x{size[1]}; got {rgb.shape}")
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YUV_I420).tobytes())
    if size is None:
        raise InvalidInputError("no frames to write")
    return path


def _checked_size(rgb: np.ndarray) -> tuple[int, int]:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidInputError(f"frames must be HxWx3 uint8 RGB; got {rgb.dtype} {rgb.shape}")
    height, width = rgb.shape[:2]
    if width % 2 or height % 2:
        raise InvalidInputError(f"4:2:0 frames need even sides; got {width}x{height}")
    return width, height


def on_camera(
    rgb: np.ndarray, points: np.ndarray, size: tuple[int, int] = CAMERA_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """A picture (and its known points) as a camera of ``size`` would show it: scaled to
    fill the frame's height or width, centred on grey."""
    width, height = size
    scale = min(width / rgb.shape[1], height / rgb.shape[0])
    shown = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
    resized = cv2.resize(rgb, shown, interpolation=cv2.INTER_CUBIC)
    left, top = (width - shown[0]) // 2, (height - shown[1]) // 2
    frame = np.full((height, width, 3), 128, np.uint8)
    frame[top : top + shown[1], left : left + shown[0]] = resized
    # Pixel centres: a point at x in the picture lands at (x + 0.5) * scale - 0.5.
    fx, fy = shown[0] / rgb.shape[1], shown[1] / rgb.shape[0]
    moved = (points + 0.5) * (fx, fy) - 0.5 + (left, top)
    return frame, moved


def noisy(frame: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """``frame`` with a camera sensor's noise: Gaussian, ``sigma`` grey levels."""
    rng = np.random.default_rng(seed)
    return np.clip(frame + rng.normal(0, sigma, frame.shape), 0, 255).astype(np.uint8)
