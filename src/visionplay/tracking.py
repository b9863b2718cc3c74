"""Faces followed through the frames of a video or a camera: the live path of the face
keypoint model. numpy, OpenCV and PIL only (no torch).

One frame's answer is made from that frame and the previous frame's answer alone, so a
server keeps nothing between requests: whoever follows the faces (the Face tab's live view,
``POST /live/NAME``, :func:`track`, ``visionplay predict clip.mp4``) sends each answer back
with the next frame. Each face the previous answer holds is framed from its points exactly
as training frames its crops from known points (:func:`faces.square_from_points`), and all
of a frame's crops run through the network in one batch. The face detector runs in one
pass over the whole frame only

- when there is no face yet, or one was lost (its points jumped or changed size more than
  a face does between two frames: :func:`still_there`);
- every :data:`SEARCH_EVERY` frames, to pick up new faces and to confirm the followed ones
  (the network answers a face-like shape on whatever it is shown, so only the detector
  tells that a face has gone); a face it misses :data:`MOST_MISSES` times in a row, with a
  search on every frame meanwhile, is dropped.

The points a caller sees are smoothed by a One Euro filter (Casiez, Roussel and Vogel,
CHI 2012): a low-pass filter whose cutoff rises with the points' speed, so a still face
stops shimmering and a moving one is not trailed. Its state (the smoothed points, their
speed and the frame's time) is plain numbers, carried in the answer.

A live request, as the page and ``POST /live/NAME`` send it, is JSON::

    {"frame": "<base64 of a JPEG, PNG or WebP>", "previous": <the last answer or null>,
     "t": <the frame's time in seconds>}

or an encoded picture alone (a first frame). It is hostile until read here: frames of
bounded pixels in those formats only, and a previous answer whose every number is checked
(counts, shapes, finite values inside the frame's reach) before any is used.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from . import faces
from .errors import InvalidInputError, shown, whole_number
from .preprocess import open_unloaded, rgb_array, to_gray

if TYPE_CHECKING:
    from .tasks import KeypointModel, Model

MOST_FACES = 4  # faces followed at once: each is a crop through the network every frame
# Frames between searches of the whole frame: a face that has gone is followed at most
# this long (plus MOST_MISSES), and a new face waits as long to be found.
SEARCH_EVERY = 5
MOST_MISSES = 2  # searches in a row that miss a followed face before it is dropped
# How much a face's points may change between two frames and still be the same face: their
# box's longer side by this factor either way, its centre by this share of that side.
# Measured on the test frames: a face its crop holds stays well inside; the face seen in a
# crop framed twice its size does not, nor mostly one seen at a crop's edge. A crop on part
# of a face, or on no face, can still answer a face-like shape in place: searches catch those.
MOST_RESIZE = 1.25
MOST_SHIFT = 0.25
# Live frames are sent small: the crops are 96 px, and a frame's bytes cross the network.
LIVE_FORMATS = ("JPEG", "PNG", "WEBP")
LIVE_MAX_PIXELS = 1280 * 720
MOST_SECONDS = 1e8  # a frame's time: seconds since the follower's clock started
MOST_SPEED = 1e6  # pixels a second: far past any face, short of overflowing the filter
MIN_FACE_SIDE = 4.0  # pixels: a previous face's points must span at least this


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    """The smoothing factor of a first-order low-pass filter at ``cutoff`` Hz, ``dt`` s apart."""
    return 1.0 / (1.0 + 1.0 / (2 * math.pi * cutoff * dt))


@dataclass(frozen=True)
class Smoothed:
    """The One Euro filter's state: the smoothed points, their smoothed speed (units a
    second) and the time of the frame they are for (seconds)."""

    value: np.ndarray
    velocity: np.ndarray
    t: float


@dataclass(frozen=True)
class OneEuro:
    """The One Euro filter over a face's points (..., points, 2), every coordinate at once.

    ``min_cutoff`` (Hz) is the cutoff at rest: lower, less jitter and more lag. ``beta``
    raises it with the face's speed, the mean of its points' smoothed velocities, measured
    in ``size``s a second (pass the face's size, so one setting suits a face near the
    camera and one far from it): a point's own speed is mostly its noise while the face is
    still, and would keep the cutoff up. ``d_cutoff`` (Hz) smooths the velocities."""

    # Chosen on the test frames with a camera's noise, still and moving (test_tracking.py):
    # a still face's jitter well down, a moving face's error barely up.
    min_cutoff: float = 1.0
    beta: float = 60.0
    d_cutoff: float = 1.0

    def start(self, x: np.ndarray, t: float) -> Smoothed:
        x = np.asarray(x, dtype=np.float64)
        return Smoothed(x, np.zeros_like(x), float(t))

    def __call__(self, x: np.ndarray, t: float, state: Smoothed | None, size: float = 1.0):
        """The state after the points ``x`` seen at ``t``; ``state`` None starts afresh."""
        if state is None:
            return self.start(x, t)
        dt = t - state.t
        if not dt > 0:
            raise InvalidInputError(
                f"a frame's time must be later than the previous frame's ({state.t:g} s); "
                f"got {t:g} s"
            )
        x = np.asarray(x, dtype=np.float64)
        rate = (x - state.value) / dt
        velocity = state.velocity + _alpha(self.d_cutoff, dt) * (rate - state.velocity)
        face = velocity.mean(axis=-2, keepdims=True)
        speed = np.linalg.norm(face, axis=-1, keepdims=True) / size
        cutoff = self.min_cutoff + self.beta * speed
        value = state.value + _alpha(cutoff, dt) * (x - state.value)
        return Smoothed(value, velocity, float(t))


FILTER = OneEuro()


@dataclass(frozen=True)
class Followed:
    """One face followed: its box (x0, y0, x1, y1) as the detector would draw it, its 68
    smoothed points, both in the frame's pixels, the detector's score when it found the
    face; and what the next frame needs: the points' smoothed speed (pixels a second) and
    the searches in a row that missed the face."""

    box: tuple[float, float, float, float]
    points: np.ndarray
    score: float
    velocity: np.ndarray
    misses: int = 0

    def to_json(self, state: bool = True) -> dict[str, Any]:
        """As :meth:`Face.to_json <visionplay.tasks.keypoints.Face.to_json>` gives a face,
        points to a hundredth (the filter's state: rounder would shake a still face), and
        with ``state`` what the next frame needs."""
        face = {
            "box": [round(float(v), 1) for v in self.box],
            "score": round(float(self.score), 3),
            "points": np.round(self.points, 2).tolist(),
        }
        if state:
            face["velocity"] = np.round(self.velocity, 1).tolist()
            face["misses"] = self.misses
        return face


@dataclass(frozen=True)
class Following:
    """One frame's answer: its faces (largest first), its time (seconds), its size
    (width, height: the points are in its pixels) and the frames until the next search."""

    faces: tuple[Followed, ...]
    t: float
    size: tuple[int, int]
    search_in: int

    def to_json(self) -> dict[str, Any]:
        return {
            "faces": [face.to_json() for face in self.faces],
            "t": self.t,
            "size": list(self.size),
            "search_in": self.search_in,
        }

    @classmethod
    def from_json(cls, data: Any) -> Following:
        """A previous answer as a client sends it back, checked whole."""
        return _read_following(data)


def follow(
    model: KeypointModel,
    rgb: np.ndarray,
    previous: Following | dict | None = None,
    t: float = 0.0,
) -> Following:
    """The faces in ``rgb`` (an HxWx3 uint8 frame) seen at ``t`` seconds, following those of
    ``previous`` (the answer to the frame before, or its JSON; None for a first frame). A
    previous answer for a frame of another size is ignored."""
    if model.framing is None:
        raise InvalidInputError(
            f"{model.path.name} has no detector framing: faces cannot be cropped from a "
            "detector's boxes the way the model was trained (trainers/face_keypoints.py)"
        )
    rgb = rgb_array(rgb, "a frame must be")
    size = (rgb.shape[1], rgb.shape[0])
    before = _before(previous, size, t)
    gray = to_gray(Image.fromarray(rgb))
    seen, lost = _followed(model, gray, before.faces if before else ())
    if before is None or lost or before.search_in <= 0:
        seen = _searched(model, rgb, gray, seen)
        search_in = SEARCH_EVERY
    else:
        search_in = before.search_in - 1
    smoothed = [_smoothed(face, before, t, model.framing) for face in seen]
    found = _distinct([face for face in smoothed if face.misses < MOST_MISSES])
    if not found or any(face.misses for face in found):
        search_in = 0  # look again at once
    return Following(tuple(found[:MOST_FACES]), float(t), size, search_in)


def track(model: KeypointModel, frames: Iterable[np.ndarray], fps: float) -> list[Following]:
    """Every frame's answer, frame ``i`` seen at ``i / fps`` seconds."""
    if not (isinstance(fps, (int, float)) and 0 < fps <= 1000):
        raise InvalidInputError(f"fps must be a number above 0, at most 1000; got {shown(fps)}")
    answers: list[Following] = []
    for i, rgb in enumerate(frames):
        answers.append(follow(model, rgb, answers[-1] if answers else None, i / fps))
    return answers


# --- One frame's steps ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Seen:
    """A face in this frame before smoothing: the previous frame's face (None: just found),
    its points as the network answers them, its box (the detector's, for a face just
    found), its score and the searches in a row that missed it."""

    before: Followed | None
    raw: np.ndarray
    box: tuple[float, float, float, float]
    score: float
    misses: int


def _before(previous: Following | dict | None, size: tuple[int, int], t: float):
    """The previous answer, if it is one for this frame's size; ``t`` checked against it."""
    if not (isinstance(t, (int, float)) and 0 <= t <= MOST_SECONDS):
        raise InvalidInputError(f"t must be seconds from 0 to {MOST_SECONDS:g}; got {shown(t)}")
    if previous is None:
        return None
    before = previous if isinstance(previous, Following) else Following.from_json(previous)
    if before.size != size:
        return None
    if not t > before.t:
        raise InvalidInputError(
            f"t must be later than the previous answer's ({before.t:g} s); got {t:g} s"
        )
    return before


def _followed(
    model: KeypointModel, gray: np.ndarray, before: tuple[Followed, ...]
) -> tuple[list[_Seen], bool]:
    """Each previous face, framed from its points, through the network in one batch; and
    whether any was lost."""
    if not before:
        return [], False
    squares = [faces.square_from_points(face.points, model.margin) for face in before]
    raws = model.points_in(gray, squares)
    seen = [
        _Seen(face, raw, face.box, face.score, face.misses)
        for face, raw in zip(before, raws, strict=True)
        if still_there(face.points, raw)
    ]
    return seen, len(seen) < len(before)


def still_there(before: np.ndarray, now: np.ndarray) -> bool:
    """Whether points ``now`` can be the face that was at ``before`` a frame ago: their
    box's side within :data:`MOST_RESIZE` of what it was, its centre moved at most
    :data:`MOST_SHIFT` of that side."""
    if not np.isfinite(now).all():
        return False
    side_before, centre_before = _extent(before)
    side, centre = _extent(now)
    resize = side / side_before
    shift = float(np.hypot(*(centre - centre_before))) / side_before
    return 1 / MOST_RESIZE <= resize <= MOST_RESIZE and shift <= MOST_SHIFT


def _extent(points: np.ndarray) -> tuple[float, np.ndarray]:
    """The longer side and the centre of the points' box."""
    low, high = points.min(0), points.max(0)
    return float((high - low).max()), (low + high) / 2


def _searched(
    model: KeypointModel, rgb: np.ndarray, gray: np.ndarray, seen: list[_Seen]
) -> list[_Seen]:
    """The followed faces, each confirmed by a detection or a miss counted, then the
    detections no followed face explains, as new faces (all in one batch)."""
    found = detect(model, rgb)
    kept = [
        replace(face, misses=0 if any(_is(d, face.raw, model) for d in found) else face.misses + 1)
        for face in seen
    ]
    new = [d for d in found if not any(_is(d, face.raw, model) for face in seen)]
    new = new[: max(0, MOST_FACES - len(kept))]
    if not new:
        return kept
    squares = [faces.square_from_detection(d.box, model.framing, model.margin) for d in new]
    raws = model.points_in(gray, squares)
    return kept + [
        _Seen(None, raw, tuple(d.box), d.score, 0) for d, raw in zip(new, raws, strict=True)
    ]


def detect(model: KeypointModel, rgb: np.ndarray) -> list[faces.Detection]:
    """The model's face detector on the whole frame in its one-pass (live) mode, largest
    face first."""
    return model.detector.find(rgb, single_pass=True)


def _is(detection: faces.Detection, points: np.ndarray, model: KeypointModel) -> bool:
    """Whether ``detection`` is the face of ``points``: its box holds their centre, and is
    about as wide as the box the framing predicts for them (half to twice)."""
    x0, y0, x1, y1 = detection.box
    side, (cx, cy) = _extent(points)
    expected = side / model.framing[2]
    return x0 <= cx <= x1 and y0 <= cy <= y1 and 0.5 <= (x1 - x0) / expected <= 2


def box_from_points(points: np.ndarray, framing) -> tuple[float, float, float, float]:
    """The box the detector would draw round a face of these points: the framing of
    :func:`faces.square_from_detection`, undone."""
    dx, dy, size = framing
    side, (cx, cy) = _extent(points)
    width = side / size
    x, y = cx - dx * width, cy - dy * width
    return (x - width / 2, y - width / 2, x + width / 2, y + width / 2)


def _smoothed(face: _Seen, before: Following | None, t: float, framing) -> Followed:
    """The face with its points through the filter (started afresh for a new face, whose
    box is the detector's)."""
    if face.before is None or before is None:
        state = FILTER.start(face.raw, t)
        return Followed(face.box, state.value, face.score, state.velocity, face.misses)
    previous = Smoothed(face.before.points, face.before.velocity, before.t)
    state = FILTER(face.raw, t, previous, size=_extent(face.before.points)[0])
    box = box_from_points(state.value, framing)
    return Followed(box, state.value, face.score, state.velocity, face.misses)


def _distinct(found: list[Followed]) -> list[Followed]:
    """Largest first, without a face whose centre lies in a larger one's box (two faces
    followed onto one)."""
    found = sorted(found, key=lambda f: -_extent(f.points)[0])
    kept: list[Followed] = []
    for face in found:
        cx, cy = _extent(face.points)[1]
        if not any(k.box[0] <= cx <= k.box[2] and k.box[1] <= cy <= k.box[3] for k in kept):
            kept.append(face)
    return kept


# --- What a client sends ----------------------------------------------------------------------


def answer(model: Model, body: bytes | str) -> dict[str, Any]:
    """The JSON answer to a live request (see the module's head): the frame's faces and
    what the next request sends back. A model of another task refuses in one line."""
    frame, previous, t = read_request(body)
    return model.follow(decode_frame(frame), previous, t).to_json()


REQUEST_KEYS = {"frame", "previous", "t"}


def read_request(body: bytes | str) -> tuple[bytes, Any, float]:
    """The frame's bytes, the previous answer (JSON, checked later against the frame) and
    the frame's time, from a live request's body: its JSON, or a picture alone."""
    if not isinstance(body, (bytes, bytearray, str)):
        raise InvalidInputError(
            f"a live request is JSON text or a picture's bytes; got {_kind(body)}"
        )
    text = body.encode() if isinstance(body, str) else bytes(body)
    if not text.strip():
        raise InvalidInputError("the request is empty: send a frame (see POST /live/NAME)")
    if not text.lstrip().startswith(b"{"):
        return text, None, 0.0  # a picture alone
    request = _parse(text)
    unknown = sorted(set(request) - REQUEST_KEYS)
    if unknown:
        raise InvalidInputError(
            f"the request has an unknown key {shown(unknown[0])!r} (frame, previous, t)"
        )
    frame = request.get("frame")
    if not isinstance(frame, str):
        raise InvalidInputError("the request's frame must be a picture's bytes in base64")
    t = request.get("t", 0.0)
    if type(t) not in (int, float):
        raise InvalidInputError(f"t must be a number of seconds; got {shown(t)}")
    return _unbase64(frame), request.get("previous"), float(t)


def _kind(value: Any) -> str:
    return type(value).__name__


def _parse(text: bytes) -> dict[str, Any]:
    """Strict JSON: no NaN or Infinity, an object at the top."""

    def refuse(name: str) -> None:
        raise InvalidInputError(f"the request holds {name}: only finite numbers are read")

    try:
        data = json.loads(text, parse_constant=refuse)
    except (ValueError, RecursionError) as err:
        if isinstance(err, InvalidInputError):
            raise
        reason = err.msg if isinstance(err, json.JSONDecodeError) else "nested too deep"
        raise InvalidInputError(f"the request is not valid JSON: {reason}") from None
    if not isinstance(data, dict):
        raise InvalidInputError("the request must be a JSON object with frame, previous and t")
    return data


def _unbase64(text: str) -> bytes:
    """A frame's bytes from base64, with or without a data URL's head."""
    if text.startswith("data:"):
        text = text.partition(",")[2]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInputError("the request's frame is not valid base64") from None


def decode_frame(data: bytes) -> np.ndarray:
    """A live frame's pixels (HxWx3 uint8), read from its header first: a JPEG, PNG or
    WebP of at most :data:`LIVE_MAX_PIXELS` pixels."""
    image = open_unloaded(io.BytesIO(data), "the frame")
    if image.format not in LIVE_FORMATS:
        raise InvalidInputError(f"the frame is {image.format}; a live frame is JPEG, PNG or WebP")
    width, height = image.size
    if width * height > LIVE_MAX_PIXELS:
        raise InvalidInputError(
            f"the frame is {width:,} x {height:,} pixels; a live frame has at most "
            f"{LIVE_MAX_PIXELS:,} (send it smaller: the crops are 96 px)"
        )
    try:
        image.load()
    except (OSError, SyntaxError, ValueError):
        raise InvalidInputError(
            "the frame is not a readable picture: damaged or cut short"
        ) from None
    return np.asarray(image.convert("RGB"))


# --- A previous answer, sent back -------------------------------------------------------------

ANSWER_KEYS = {"faces", "t", "size", "search_in", "ms"}  # ms: the server's time, not read
FACE_KEYS = {"box", "points", "score", "velocity", "misses"}


def _read_following(data: Any) -> Following:
    where = "the previous answer"
    _keys(data, ANSWER_KEYS, {"faces", "t", "size", "search_in"}, where)
    size = data["size"]
    if not (isinstance(size, list) and len(size) == 2):
        raise InvalidInputError(f"{where}'s size must be [width, height]; got {shown(size)}")
    width, height = (whole_number(v, f"{where}'s size", 1, 100_000) for v in size)
    t = _number(data["t"], f"{where}'s t", 0, MOST_SECONDS)
    search_in = whole_number(data["search_in"], f"{where}'s search_in", 0, SEARCH_EVERY)
    found = data["faces"]
    if not isinstance(found, list) or len(found) > MOST_FACES:
        raise InvalidInputError(f"{where}'s faces must be a list of at most {MOST_FACES} faces")
    reach = 4.0 * max(width, height)  # a face may hang off the frame, not lie far from it
    read = tuple(_read_face(face, f"previous face {i}", reach) for i, face in enumerate(found, 1))
    return Following(read, t, (width, height), search_in)


def _read_face(data: Any, where: str, reach: float) -> Followed:
    _keys(data, FACE_KEYS, FACE_KEYS, where)
    points = _points(data["points"], f"{where}'s points", reach)
    if _extent(points)[0] < MIN_FACE_SIDE:
        raise InvalidInputError(f"{where}'s points span under {MIN_FACE_SIDE:g} pixels")
    box = data["box"]
    if not (isinstance(box, list) and len(box) == 4):
        raise InvalidInputError(f"{where}'s box must be [x0, y0, x1, y1]; got {shown(box)}")
    return Followed(
        tuple(_number(v, f"{where}'s box", -reach, reach) for v in box),
        points,
        _number(data["score"], f"{where}'s score", -1e6, 1e6),
        _points(data["velocity"], f"{where}'s velocity", MOST_SPEED),
        whole_number(data["misses"], f"{where}'s misses", 0, MOST_MISSES - 1),
    )


def _keys(data: Any, allowed: set[str], needed: set[str], where: str) -> None:
    if not isinstance(data, dict):
        raise InvalidInputError(f"{where} must be an object; got {shown(data)}")
    unknown, missing = sorted(set(data) - allowed, key=str), sorted(needed - set(data))
    if unknown:
        raise InvalidInputError(f"{where} has an unknown key {shown(unknown[0])!r}")
    if missing:
        raise InvalidInputError(f"{where} has no {missing[0]}")


def _number(value: Any, what: str, low: float, high: float) -> float:
    if type(value) not in (int, float) or not low <= value <= high:
        raise InvalidInputError(
            f"{what} must be numbers from {low:g} to {high:g}; got {shown(value)}"
        )
    return float(value)


def _points(value: Any, what: str, most: float) -> np.ndarray:
    """(68, 2) finite numbers of at most ``most`` either way."""
    pairs = isinstance(value, list) and len(value) == faces.NUM_POINTS
    if not (pairs and all(isinstance(p, list) and len(p) == 2 for p in value)):
        raise InvalidInputError(f"{what} must be {faces.NUM_POINTS} [x, y] pairs")
    if not all(type(v) in (int, float) for p in value for v in p):
        raise InvalidInputError(f"{what} must be numbers")
    array = np.array(value, dtype=np.float64)
    if not (np.isfinite(array).all() and np.abs(array).max() <= most):
        raise InvalidInputError(f"{what} must be finite numbers of at most {most:g} either way")
    return array
