"""The bench's live part: the Face tab's live camera view in Chromium, fed by a fake camera
playing real faces, beside Gradio's own webcam streaming (:mod:`.streaming`).

The camera is Chromium's fake capture device playing a Y4M clip made here from frames of
the youtube-faces *test* split (one face each, 68 known points; read as
``visionplay.train.data`` reads them, without torch). Each frame is scaled so that its
points' box is :data:`FACE_PX` tall and placed on a 640 x 480 frame, each at its own place
(:data:`POSITIONS`), held for :data:`HOLD_FRAMES` frames at 30 a second, in a loop; the
known points travel with it. Every clip frame also carries its number, a row of black and
white squares in a corner (:data:`MARK`), which the page reads back from each frame its
video shows (``static/frame_marks.js``). So the bench knows which frame was on screen when
the page captured the one it answered (its capture time is the answer's drawn time less
its ``data-latency-ms``), and scores the answer against that frame's known points.

Measured inside the page (``performance.now()``), by a recorder that watches the overlay
canvas' attributes (``static/live_recorder.js``; the page's contract: ``#face-live``,
``#face-live-start``, ``#face-live-stop``, ``#face-live-overlay`` with ``data-frames``,
``data-faces``, ``data-latency-ms``):

* ``face_live``: answers drawn per second; capture -> drawn latency (the page's own
  ``data-latency-ms``, one sample per new answer; p50/p95); NME (mean point error over the
  outer eye corners' distance, as ``visionplay eval`` reports it) of the answers that drew
  the face shown at capture where it was (its centre within :data:`MATCH_PX`), and the
  share that did not (no face, or one still where the previous face was: a face
  followed after it left); and how long after a face appears the page first draws it;
* ``still``: a clip of one frame, repeated with a camera's noise (normal,
  :data:`STILL_NOISE` grey levels a pixel and frame): each point's spread over the
  answers (the root of its x and y variances), as a share of the known eye-corner
  distance, averaged over the 68 points ("jitter");
* ``cameras``: :data:`CAMERAS` pages at once (each in its own browser context, its own
  camera), each one's answers per second, while a drawn digit goes to
  ``POST /predict/mnist`` every 100 ms (:func:`.mixed.probe`);
* ``replayed_cameras``: the same :data:`CAMERAS` cameras as the server sees them, without
  four Chromiums on its cores: plain HTTP clients, each sending what a page sends (the
  moving clip's frame of the moment, as small a JPEG, with the previous answer) once its
  answer is back and its camera has shown a new frame, the same probe beside them
  (:func:`replayed_cameras`). The pages above stand in for machines of their own, and
  take the server's cores; these clients take next to none;
* ``gradio_streaming``: Gradio's own webcam streaming with a handler that returns the
  frame, in the same Chromium with the same camera: how often a second its output picture
  changes (a MutationObserver on its ``img``'s ``src``; ``static/stream_recorder.js``), and
  from a frame's showing in its webcam's video to its copy decoded in the output picture
  (the number it carries says which frame it is).

Each part runs for ``seconds`` after a warm-up of :data:`WARMUP_S` from the first answer.
The figures are set against :data:`TARGETS`. Playwright and a Chromium are optional, as
for the browser part: without them the part is skipped with a note.
"""

from __future__ import annotations

import base64
import bisect
import csv
import http.client
import io
import json
import math
import os
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..errors import VisionplayError
from ..faces import LEFT_EYE_OUTER, NUM_POINTS, RIGHT_EYE_OUTER, nme
from .browser import (
    CHROMIUM_ARGS,
    VIEWPORT,
    _static_js,
    at_normal_priority,
    chromium_path,
    missing_browser,
)
from .camera import CAMERA_SIZE, fake_camera_args, noisy, write_y4m
from .mixed import probe
from .server import free_port, start_server, stop_server
from .streaming import INPUT_ID, STREAM_EVERY_S, start_streaming_app
from .timing import latency_figures

FRAME_SIZE = CAMERA_SIZE  # (width, height): a laptop camera's
CLIP_FPS = 30
FACE_PX = 160  # the known points' box height: a face at arm's length from that camera
# Where each face of the moving clip is centred: twelve places on a 4 x 3 grid, 100 px or
# more apart.
POSITIONS = tuple((x, y) for y in (140, 240, 340) for x in (150, 270, 370, 490))
MATCH_PX = 50  # an answer's face this far from the face shown, or farther, is not it
# Each clip frame's number: `bits` squares of `size` px, black 0 or white 1, bit 0 leftmost,
# in the bottom right corner, where no face is.
MARK = {"x": 536, "y": 460, "size": 12, "bits": 8, "width": CAMERA_SIZE[0]}
HOLD_FRAMES = 10  # a third of a second on each face
STILL_FRAMES = 30
STILL_NOISE = 2.0  # grey levels: a camera's noise on the still face
WARMUP_S = 2.0
CAMERAS = 4
FIRST_ANSWER_MS = 60_000  # the page's first answer, models loaded on a busy machine

# What the live view is for, and what the comparison is held to.
TARGETS = {
    "answers_per_s": 25.0,  # at least, one camera
    "p50_ms": 80.0,  # capture -> drawn, at most
    "jitter_pct": 2.0,  # at most, of the eye-corner distance
    "nme": 0.07,  # at most
    "camera_answers_per_s": 10.0,  # at least, each of CAMERAS at once
    "probe_p95_ms": 50.0,  # at most: the small request beside the cameras
}
# The figures the targets hold: each verdict's target, the part and the figure in it (a path
# of keys), and whether the target is a floor. Both kinds of cameras at once, the pages and
# the replayed clients, are held to the same two targets.
HELD = {
    "answers_per_s": ("answers_per_s", "face_live", "answers_per_s", True),
    "p50_ms": ("p50_ms", "face_live", "p50_ms", False),
    "jitter_pct": ("jitter_pct", "still", "jitter_pct", False),
    "nme": ("nme", "face_live", "nme", False),
    "camera_answers_per_s": ("camera_answers_per_s", "cameras", "min_answers_per_s", True),
    "probe_p95_ms": ("probe_p95_ms", "cameras", "probe/p95_ms", False),
    "replayed_camera_answers_per_s": (
        "camera_answers_per_s",
        "replayed_cameras",
        "min_answers_per_s",
        True,
    ),
    "replayed_probe_p95_ms": ("probe_p95_ms", "replayed_cameras", "probe/p95_ms", False),
}

# Beside the fake camera's flags: no throttling of pages that are not in front (four at once).
UNTHROTTLED_ARGS = [
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]

FRAME_MARKS_JS = _static_js("frame_marks.js")
LIVE_RECORDER_JS = _static_js("live_recorder.js")
STREAM_RECORDER_JS = _static_js("stream_recorder.js")

# --- the fake camera's clips -------------------------------------------------------------

DATA_ENV = "VISIONPLAY_DATA"  # the data directory, as the trainers and `eval` find it
FACE_FOLDER = "youtube-faces-keypoints"
CACHE_DIR = Path.home() / ".cache" / "visionplay"  # where train.data unpacks the archive


def face_files(data_dir: str | os.PathLike | None = None) -> Callable[[Sequence[str]], list]:
    """A reader of the face data's files (paths inside its folder, e.g. ``test/X.jpg``):
    from the folder in the data directory (``$VISIONPLAY_DATA``), its copy unpacked in the
    cache, or straight out of the ``youtube-faces-keypoints*.tar.gz`` there."""
    env = os.environ.get(DATA_ENV)
    root = Path(data_dir or env or CACHE_DIR / "data")
    for folder in (
        root,
        root / FACE_FOLDER,
        CACHE_DIR / FACE_FOLDER,
        CACHE_DIR / FACE_FOLDER / FACE_FOLDER,
    ):
        if (folder / "test_frames_keypoints.csv").is_file():
            return lambda names, folder=folder: [(folder / n).read_bytes() for n in names]
    if root.is_file() and root.name.endswith(".tar.gz"):
        archive = root
    else:
        archives = sorted(root.glob(f"{FACE_FOLDER}*.tar.gz")) if root.is_dir() else []
        if not archives:
            raise VisionplayError(
                f"no face keypoint data under {root}: expected {FACE_FOLDER}/ with "
                f"test_frames_keypoints.csv, or a .tar.gz of it; set {DATA_ENV}"
            )
        archive = archives[0]

    def from_archive(names: Sequence[str]) -> list[bytes]:
        wanted, found = set(names), {}
        with tarfile.open(archive, "r|gz") as tar:  # one pass, in the archive's order
            for member in tar:
                inside = member.name.split("/", 1)[-1] if "/" in member.name else member.name
                if member.isfile() and inside in wanted:
                    found[inside] = tar.extractfile(member).read()
        missing = wanted - set(found)
        if missing:
            raise VisionplayError(f"{archive} lacks {sorted(missing)[:3]}")
        return [found[n] for n in names]

    return from_archive


def faces_from_test_split(
    count: int, data_dir: str | os.PathLike | None = None
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``count`` frames of the test split, evenly spread over its CSV: each one's name, RGB
    pixels and 68 known points (x, y in its pixels)."""
    read = face_files(data_dir)
    (table,) = read(["test_frames_keypoints.csv"])
    rows = list(csv.reader(io.StringIO(table.decode())))[1:]  # the header numbers columns
    rows = rows[:: max(1, len(rows) // count)][:count]
    pictures = read([f"test/{row[0]}" for row in rows])
    return [
        (
            row[0],
            np.asarray(Image.open(io.BytesIO(data)).convert("RGB")),
            np.array(row[1:], np.float32).reshape(NUM_POINTS, 2),
        )
        for row, data in zip(rows, pictures, strict=True)
    ]


def place(
    rgb: np.ndarray, points: np.ndarray, centre: tuple[float, float], face_px: float = FACE_PX
) -> tuple[np.ndarray, np.ndarray]:
    """``rgb`` scaled so that its points' box is ``face_px`` tall, that box centred on
    ``centre`` of a :data:`FRAME_SIZE` frame filled with the picture's border colour: the
    frame, and the points where they now are."""
    height, width = rgb.shape[:2]
    scale = face_px / float(np.ptp(points[:, 1]))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    picture = Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR)
    stretch = np.array([size[0] / width, size[1] / height])
    moved = (points + 0.5) * stretch - 0.5  # pixel centres, as the resize maps them
    offset = np.round(np.array(centre) - (moved.min(0) + moved.max(0)) / 2).astype(int)
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    frame = Image.new("RGB", FRAME_SIZE, tuple(int(v) for v in np.median(border, axis=0)))
    frame.paste(picture, (int(offset[0]), int(offset[1])))
    return np.asarray(frame), (moved + offset).astype(np.float32)


def marked(frame: np.ndarray, number: int) -> np.ndarray:
    """``frame`` with ``number`` in its corner (:data:`MARK`)."""
    out = frame.copy()
    top, size = MARK["y"], MARK["size"]
    for bit in range(MARK["bits"]):
        left = MARK["x"] + bit * size
        out[top : top + size, left : left + size] = 255 if number >> bit & 1 else 0
    return out


def make_clips(
    folder: Path, data_dir: str | os.PathLike | None = None, still: bool = True
) -> dict[str, Any]:
    """The two Y4M clips in ``folder``, each frame numbered: ``moving`` (each test face at
    its own place, held :data:`HOLD_FRAMES` frames) and, if ``still``, ``still`` (the first
    of them in the middle, :data:`STILL_FRAMES` frames with a camera's noise); the known
    points of each face."""
    faces = faces_from_test_split(len(POSITIONS), data_dir)
    placed = [
        place(rgb, points, centre)
        for (_, rgb, points), centre in zip(faces, POSITIONS, strict=True)
    ]
    frames = [frame for frame, _ in placed for _ in range(HOLD_FRAMES)]
    moving = folder / "moving.y4m"
    write_y4m(moving, [marked(frame, i) for i, frame in enumerate(frames)], CLIP_FPS)
    clips = {
        "moving": moving,
        "faces": [frame for frame, _ in placed],  # each held HOLD_FRAMES frames of the clip
        "names": [name for name, _, _ in faces],
        "known": np.stack([points for _, points in placed]),  # (faces, 68, 2)
    }
    if still:
        middle = (FRAME_SIZE[0] / 2, FRAME_SIZE[1] / 2)
        frame, clips["still_known"] = place(faces[0][1], faces[0][2], middle)
        clips["still"] = folder / "still.y4m"
        noisy_frames = [marked(noisy(frame, STILL_NOISE, i), i) for i in range(STILL_FRAMES)]
        write_y4m(clips["still"], noisy_frames, CLIP_FPS)
    return clips


# --- what the page drew, against what was shown -------------------------------------------


def faces_of(answer: str) -> list[np.ndarray]:
    """An answer's faces (``data-faces``: per face 68 [x, y]) as (68, 2) arrays; anything
    else in it is left out."""
    try:
        faces = json.loads(answer)
    except ValueError:
        return []
    found = []
    for face in faces if isinstance(faces, list) else []:
        points = np.asarray(face, dtype=np.float64) if isinstance(face, list) else None
        if points is not None and points.shape == (NUM_POINTS, 2):
            found.append(points)
    return found


def nearest(faces: list[np.ndarray], known: np.ndarray) -> np.ndarray | None:
    """The answer's face whose centre is nearest the known face's, if within
    :data:`MATCH_PX`."""
    if not faces:
        return None
    distances = [float(np.hypot(*(face.mean(axis=0) - known.mean(axis=0)))) for face in faces]
    best = int(np.argmin(distances))
    return faces[best] if distances[best] < MATCH_PX else None


def shown_at(shown: list[list[float]], when: float) -> int:
    """The number of the frame the video showed at ``when`` (-1: none yet, or unread)."""
    at = bisect.bisect_right([t for t, _ in shown], when)
    return int(shown[at - 1][1]) if at else -1


def shown_when(shown: list[list[float]], number: int, before: float) -> float | None:
    """When the moving clip's frame ``number`` was last shown before ``before``: that
    showing, or where the video skipped it (a busy page shows not every frame), the last
    showing of a frame a little before it plus the frames between; None if none within the
    last half loop (a copy that late would be ambiguous)."""
    frames = len(POSITIONS) * HOLD_FRAMES
    frame_ms, loop_ms = 1000 / CLIP_FPS, frames * 1000 / CLIP_FPS
    for back in range(HOLD_FRAMES):
        wanted = (number - back) % frames
        for when, seen in reversed(shown):
            if when <= before - loop_ms / 2:
                break
            if seen == wanted and when <= before:
                return when + back * frame_ms
    return None


def accuracy(answers: list[list], shown: list[list[float]], known: np.ndarray) -> dict[str, Any]:
    """Each answer against the face shown when its frame was captured: NME where it drew
    that face, else a miss; and, for each face that came on screen after the window opened,
    how long until an answer drew it (None where none did while it was there)."""
    errors, seen, missed, unread = [], set(), 0, 0
    for drawn, _, latency, faces in answers:
        number = shown_at(shown, drawn - latency) if math.isfinite(latency) else -1
        if number < 0:
            unread += 1
            continue
        face = number // HOLD_FRAMES
        points = nearest(faces_of(faces), known[face])
        if points is None:
            missed += 1
        else:
            seen.add(face)
            errors.append(float(nme(points, known[face])))
    scored = len(answers) - unread
    figures: dict[str, Any] = {
        "answers_scored": scored,
        "missed": missed,
        "unread": unread,
        "faces_seen": len(seen),
    }
    if errors:
        figures |= {
            "nme": round(float(np.mean(errors)), 4),
            "nme_median": round(float(np.median(errors)), 4),
            "missed_share": round(missed / scored, 3),
        }
    found = appearances(answers, shown, known)
    if found:
        times = [t for t in found if t is not None]
        figures["appeared"] = len(found)
        figures["found_within_hold"] = len(times)
        if times:
            figures["found_p50_ms"] = round(float(np.median(times)), 1)
    return figures


def appearances(
    answers: list[list], shown: list[list[float]], known: np.ndarray
) -> list[float | None]:
    """For each face that came on screen after the first answer in ``answers``: ms from its
    first frame shown to the first answer that drew it from a frame showing it, or None if
    none did before it left."""
    if not answers:
        return []
    runs, current = [], None  # [face, first shown, last shown]
    for when, number in shown:
        if number < 0:
            continue
        face = number // HOLD_FRAMES
        if current is None or face != current[0]:
            current = [face, when, when]
            runs.append(current)
        current[2] = when
    opened, closed = answers[0][0], answers[-1][0]
    found: list[float | None] = []
    for face, began, ended in runs[1:-1]:  # whole runs only
        if began < opened or ended > closed:
            continue
        first = next(
            (
                drawn - began
                for drawn, _, latency, faces in answers
                if began <= drawn - latency <= ended
                and shown_at(shown, drawn - latency) // HOLD_FRAMES == face
                and nearest(faces_of(faces), known[face]) is not None
            ),
            None,
        )
        found.append(first)
    return found


def jitter(answers: list[list], known: np.ndarray) -> dict[str, Any]:
    """Each point's spread over the answers (the root of its x and y variances), as a
    percentage of the known eye-corner distance: the mean over the 68 points and the
    largest; and the answers' NME."""
    faces = [face for a in answers if (face := nearest(faces_of(a[3]), known)) is not None]
    figures: dict[str, Any] = {"answers_scored": len(faces), "no_face": len(answers) - len(faces)}
    if len(faces) >= 2:
        stacked = np.stack(faces)
        spread = np.sqrt(stacked.var(axis=0).sum(axis=-1))  # (68,)
        eye_gap = float(np.hypot(*(known[LEFT_EYE_OUTER] - known[RIGHT_EYE_OUTER])))
        figures |= {
            "jitter_pct": round(float(spread.mean() / eye_gap * 100), 3),
            "jitter_max_pct": round(float(spread.max() / eye_gap * 100), 3),
            "nme": round(float(np.mean([nme(f, known) for f in faces])), 4),
        }
    return figures


def window(record: dict[str, Any], start: list[float], end: list[float]) -> dict[str, Any]:
    """Answers per second between two marks, and the latency of the answers inside."""
    (began, first), (ended, last) = start, end
    answers = [a for a in record["answers"] if began < a[0] <= ended]
    figures: dict[str, Any] = {
        "answers": last - first,
        "answers_per_s": round((last - first) / (ended - began) * 1000, 2),
    }
    latencies = [a[2] for a in answers if math.isfinite(a[2])]
    return figures | latency_figures(latencies, most=True)


# --- the pages ----------------------------------------------------------------------------


class NoLiveView(Exception):
    """The app's Face tab has no live view to drive."""


def open_live(context, url: str, watch_frames: bool = True):
    """A page on the app's Face tab, its live view started and answering, the recorder in;
    with ``watch_frames``, also reading the number of each frame its video shows (a
    readback of every frame: the parts that score answers against the frame need it, and
    the cameras part leaves it out, as it would take the cores its probe measures)."""
    from playwright.sync_api import TimeoutError as Timeout

    page = context.new_page()
    page.goto(url)
    page.get_by_role("tab", name="Face").click()
    try:
        page.wait_for_selector("#face-live-start", state="attached", timeout=30_000)
    except Timeout:
        page.close()
        raise NoLiveView("the Face tab has no live view (#face-live-start)") from None
    page.locator("#face-live-start").click()
    page.wait_for_selector("#face-live-overlay", state="attached", timeout=FIRST_ANSWER_MS)
    if watch_frames:
        page.evaluate(FRAME_MARKS_JS, MARK)
    page.evaluate(LIVE_RECORDER_JS, watch_frames)
    page.wait_for_function(
        "() => window.__vpLive.answers.length > 0", timeout=FIRST_ANSWER_MS, polling=100
    )
    return page


def measure_pages(
    pages: list, seconds: float, warmup_s: float, during: Callable[[float], Any] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, list]], Any]:
    """After ``warmup_s``, a window of ``seconds`` on every page at once (``during`` runs
    through it, else a wait), then each page stopped: each page's rate and latency, its
    record (the answers in the window; every frame its video showed), and what ``during``
    returned."""
    pages[0].wait_for_timeout(warmup_s * 1000)
    starts = [page.evaluate("() => window.__vpLiveMark()") for page in pages]
    done = during(seconds) if during else pages[0].wait_for_timeout(seconds * 1000)
    ends = [page.evaluate("() => window.__vpLiveMark()") for page in pages]
    figures, records = [], []
    for page, start, end in zip(pages, starts, ends, strict=True):
        record = page.evaluate("() => window.__vpLive")
        figures.append(window(record, start, end))
        answers = [a for a in record["answers"] if start[0] < a[0] <= end[0]]
        records.append({"answers": answers, "shown": record["shown"]})
    for page in pages:
        try:
            page.locator("#face-live-stop").click(timeout=5_000)
        finally:
            page.close()
    return figures, records, done


def gradio_streaming(context, seconds: float, warmup_s: float, folder: Path) -> dict[str, Any]:
    """The bare streaming page (:mod:`.streaming`): its output picture's changes a second
    over ``seconds``, after ``warmup_s`` from the first; and for each frame it shows, the
    time from that frame's showing in the webcam's video to its copy decoded."""
    port = free_port()
    server, startup = start_streaming_app(port, folder / "streaming.log")
    try:
        page = context.new_page()
        try:
            page.goto(f"http://127.0.0.1:{port}/")
            page.locator(f"#{INPUT_ID}").get_by_text("Click to Access Webcam").click()
            record = page.locator(f"#{INPUT_ID} button.capture-button")
            record.wait_for(timeout=FIRST_ANSWER_MS)
            page.evaluate(FRAME_MARKS_JS, MARK)
            page.evaluate(STREAM_RECORDER_JS)
            record.click()
            page.wait_for_function(
                "() => window.__vpStream.updates.length > 0",
                timeout=FIRST_ANSWER_MS,
                polling=100,
            )
            page.wait_for_timeout(warmup_s * 1000)
            began, first = page.evaluate("() => window.__vpStreamMark()")
            page.wait_for_timeout(seconds * 1000)
            ended, last = page.evaluate("() => window.__vpStreamMark()")
            rec = page.evaluate("() => window.__vpStream")
        finally:
            page.close()
    finally:
        stop_server(server)
    figures: dict[str, Any] = {
        "startup_s": round(startup, 2),
        "stream_every_s": round(STREAM_EVERY_S, 4),
        "updates": last - first,
        "updates_per_s": round((last - first) / (ended - began) * 1000, 2),
    }
    latencies = []
    for drawn, number in rec["drawn"]:
        if began < drawn <= ended and number >= 0:
            showing = shown_when(rec["shown"], number, drawn)
            if showing is not None:
                latencies.append(drawn - showing)
    return figures | latency_figures(latencies)


def page_jpeg(frame: np.ndarray) -> str:
    """A camera frame as the live view sends it: :data:`~visionplay.ui.face.LIVE_WIDTH`
    wide, a JPEG of the page's quality, in base64."""
    from ..ui.face import LIVE_QUALITY, LIVE_WIDTH

    picture = Image.fromarray(frame)
    height = round(picture.height * LIVE_WIDTH / picture.width)
    out = io.BytesIO()
    small = picture.resize((LIVE_WIDTH, height), Image.Resampling.BILINEAR)
    small.save(out, "JPEG", quality=round(LIVE_QUALITY * 100))
    return base64.b64encode(out.getvalue()).decode()


def replay_camera(
    port: int, faces: list[str], first: int, stop: threading.Event, answers: list
) -> None:
    """One camera as the live view drives the server, until ``stop``: the clip's frame of
    the moment (each face of ``faces`` held :data:`HOLD_FRAMES` frames at
    :data:`CLIP_FPS`, from face ``first`` on) with the previous answer, sent once the
    answer is back and a new frame has come; each answer's (arrival, seconds taken) into
    ``answers``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started, sent, previous = time.perf_counter(), -1, None
    try:
        while not stop.is_set():
            now = time.perf_counter() - started
            number = int(now * CLIP_FPS)
            if number == sent:  # no new frame since the last one sent: wait for it
                time.sleep((number + 1) / CLIP_FPS - now)
                continue
            sent = number
            face = faces[(first + number // HOLD_FRAMES) % len(faces)]
            body = json.dumps({"frame": face, "previous": previous, "t": now})
            began = time.perf_counter()
            connection.request(
                "POST", "/live/face_keypoints", body, {"Content-Type": "application/json"}
            )
            response = connection.getresponse()
            data = response.read()
            if response.status != 200:
                raise VisionplayError(f"POST /live/face_keypoints: HTTP {response.status}")
            previous = json.loads(data)
            arrived = time.perf_counter()
            answers.append((arrived, arrived - began))
    finally:
        connection.close()


def replayed_cameras(
    port: int, faces: list[np.ndarray], cameras: int, seconds: float, warmup_s: float
) -> dict[str, Any]:
    """``cameras`` :func:`replay_camera` clients at once, each starting on its own face,
    the probe beside them for ``seconds`` after ``warmup_s``: each one's answers a second
    and the answers' round trips."""
    sent = [page_jpeg(face) for face in faces]
    stop = threading.Event()
    answers: list[list] = [[] for _ in range(cameras)]
    clients = [
        threading.Thread(target=replay_camera, args=(port, sent, i * 3, stop, answers[i]))
        for i in range(cameras)
    ]
    for client in clients:
        client.start()
    try:
        time.sleep(warmup_s)
        began = time.perf_counter()
        probed = probe(port, seconds) if serves(port, "mnist") else None
        ended = time.perf_counter()
    finally:
        stop.set()
        for client in clients:
            client.join()
    inside = [[a for a in each if began < a[0] <= ended] for each in answers]
    rates = [round(len(each) / (ended - began), 2) for each in inside]
    trips = [took * 1000 for each in inside for _, took in each]
    found: dict[str, Any] = {"cameras": cameras, "answers_per_s": rates}
    found |= {"min_answers_per_s": min(rates)} | latency_figures(trips)
    return found | ({"probe": probed} if probed else {})


# The parts, in the order they run: the first three on the moving clip, one Chromium; the
# still clip in a second (the fake camera is the browser's); then the replayed cameras.
IN_BROWSERS = (("moving", ("face_live", "gradio_streaming", "cameras")), ("still", ("still",)))
PARTS = (*(name for _, names in IN_BROWSERS for name in names), "replayed_cameras")


def bench_live(
    directory: Path,
    seconds: float = 10.0,
    parts: Sequence[str] = PARTS,
    cameras: int = CAMERAS,
    warmup_s: float = WARMUP_S,
    data_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """The live part (see the module's docstring): ``visionplay serve`` over ``directory``
    and the bare streaming page, each of ``parts`` ``seconds`` long after ``warmup_s``."""
    directory = Path(directory)
    missing = missing_browser()
    if missing:
        return {"skipped": missing}
    from playwright.sync_api import sync_playwright

    result: dict[str, Any] = {
        "seconds": seconds,
        "clip": {
            "faces": len(POSITIONS),
            "hold_frames": HOLD_FRAMES,
            "fps": CLIP_FPS,
            "size": list(FRAME_SIZE),
            "face_px": FACE_PX,
            "still_noise": STILL_NOISE,
        },
        "targets": TARGETS,
    }
    with (
        tempfile.TemporaryDirectory() as tmp,
        ThreadPoolExecutor(1) as worker,
        sync_playwright() as p,
    ):
        folder = Path(tmp)
        making = worker.submit(make_clips, folder, data_dir, "still" in parts)  # meanwhile:
        on_app = [part for part in parts if part != "gradio_streaming"]
        no_view = ""
        if on_app and not (directory / "face_keypoints.onnx").exists():
            no_view = f"no face_keypoints model in {directory}"
        server, url, port = None, "", 0
        if on_app and not no_view:
            port = free_port()
            server, startup = start_server(directory, port, folder / "server.log")
            result["startup_s"] = round(startup, 2)
            url = f"http://127.0.0.1:{port}/"
        try:
            clips = making.result()
        except VisionplayError as error:
            if server:
                stop_server(server)
            return {"skipped": str(error)}
        result["clip"]["names"] = clips["names"]

        def one_camera(context) -> dict[str, Any]:
            page = open_live(context(), url)
            (figures,), (record,), _ = measure_pages([page], seconds, warmup_s)
            return figures | accuracy(record["answers"], record["shown"], clips["known"])

        def still(context) -> dict[str, Any]:
            page = open_live(context(), url)
            (figures,), (record,), _ = measure_pages([page], seconds, warmup_s)
            return figures | jitter(record["answers"], clips["still_known"])

        def at_once(context) -> dict[str, Any]:
            """``cameras`` pages, each its own context and camera, the probe beside them."""
            pages = [open_live(context(), url, watch_frames=False) for _ in range(cameras)]
            during = (lambda s: probe(port, s)) if serves(port, "mnist") else None
            figures, _, probed = measure_pages(pages, seconds, warmup_s, during)
            rates = [f["answers_per_s"] for f in figures]
            found = {"cameras": cameras, "pages": figures, "answers_per_s": rates}
            found["min_answers_per_s"] = min(rates)
            return found | ({"probe": probed} if probed else {})

        runs = {
            "face_live": one_camera,
            "gradio_streaming": lambda context: gradio_streaming(
                context(), seconds, warmup_s, folder
            ),
            "cameras": at_once,
            "still": still,
        }
        try:
            for clip, names in IN_BROWSERS:
                names = [name for name in names if name in parts]
                if not names:
                    continue
                args = [*CHROMIUM_ARGS, *fake_camera_args(clips[clip]), *UNTHROTTLED_ARGS]
                browser = p.chromium.launch(executable_path=chromium_path(), args=args)

                def context(browser=browser):
                    return browser.new_context(viewport=VIEWPORT, permissions=["camera"])

                try:
                    with at_normal_priority():
                        for name in names:
                            if no_view and name != "gradio_streaming":
                                result[name] = {"skipped": no_view}
                                continue
                            try:
                                result[name] = runs[name](context)
                            except NoLiveView as error:
                                no_view = str(error)
                                result[name] = {"skipped": no_view}
                finally:
                    browser.close()
            if "replayed_cameras" in parts:
                result["replayed_cameras"] = (
                    {"skipped": no_view}
                    if no_view
                    else replayed_cameras(port, clips["faces"], cameras, seconds, warmup_s)
                )
        finally:
            if server:
                stop_server(server)
    return result


def serves(port: int, model: str) -> bool:
    """Whether the server on ``port`` serves ``model`` (its protocol's ready route)."""
    import urllib.request

    url = f"http://127.0.0.1:{port}/v2/models/{model}/ready"
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except OSError:
        return False


# --- the report ---------------------------------------------------------------------------


def verdicts(result: dict[str, Any]) -> dict[str, bool]:
    """Each target the run measured (:data:`HELD`): met or not."""
    met = {}
    for verdict, (target, part, path, floor) in HELD.items():
        value: Any = result.get(part, {})
        for key in path.split("/"):
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            met[verdict] = value >= TARGETS[target] if floor else value <= TARGETS[target]
    return met


def format_live(result: dict[str, Any]) -> list[str]:
    """The live part's lines of the printed report."""
    if "skipped" in result:
        return ["", f"live: skipped ({result['skipped']})"]
    nan = float("nan")
    clip = result["clip"]
    lines = [
        "",
        f"live: headless Chromium, a fake camera playing {clip['faces']} youtube-faces test "
        f"frames ({clip['size'][0]}x{clip['size'][1]}, {clip['fps']} fps); "
        f"{result['seconds']:g} s each, timed in the page",
    ]
    titles = {
        "face_live": "Face tab's live view",
        "gradio_streaming": "Gradio's webcam streaming",
        "cameras": "cameras at once",
        "still": "still face",
        "replayed_cameras": "cameras at once, replayed by HTTP clients",
    }
    for name, title in titles.items():
        part = result.get(name)
        if part is None:
            continue
        if "skipped" in part:
            lines.append(f"  {title}: skipped ({part['skipped']})")
        elif name == "face_live":
            found = (
                f"; a face that appears drawn {part['found_p50_ms']:.0f} ms after (p50; "
                f"{part['found_within_hold']} of {part['appeared']} while it was there)"
                if "found_p50_ms" in part
                else ""
            )
            lines.append(
                f"  {title}: {part['answers_per_s']:.1f} answers/s, capture -> drawn p50 "
                f"{part.get('p50_ms', nan):.1f} ms, p95 {part.get('p95_ms', nan):.1f} ms; NME "
                f"{part.get('nme', nan):.4f} (median {part.get('nme_median', nan):.4f}) where "
                f"it drew the face shown, {part['missed']} of {part['answers_scored']} answers "
                f"did not ({part['faces_seen']} of {clip['faces']} faces seen){found}"
            )
        elif name == "gradio_streaming":
            lines.append(
                f"  {title}, a handler that does nothing (stream_every "
                f"{part['stream_every_s']:.3f} s): {part['updates_per_s']:.1f} updates/s, "
                f"shown in the webcam -> its copy decoded p50 {part.get('p50_ms', nan):.1f} ms, "
                f"p95 {part.get('p95_ms', nan):.1f} ms"
            )
        elif name in ("cameras", "replayed_cameras"):
            rates = ", ".join(f"{rate:.1f}" for rate in part["answers_per_s"])
            text = f"  {part['cameras']} {title}: {rates} answers/s"
            if "p50_ms" in part:
                text += f" (round trip p50 {part['p50_ms']:.1f} ms, p95 {part['p95_ms']:.1f} ms)"
            if probed := part.get("probe"):
                text += (
                    f"; POST /predict/mnist every 100 ms beside them: p50 "
                    f"{probed['p50_ms']:.1f} ms, p95 {probed['p95_ms']:.1f} ms "
                    f"({probed['errors']} errors)"
                )
            lines.append(text)
        else:
            lines.append(
                f"  {title} (noise {clip['still_noise']:g} grey levels): jitter "
                f"{part.get('jitter_pct', nan):.2f} % of the eye-corner distance (worst point "
                f"{part.get('jitter_max_pct', nan):.2f} %), {part['answers_per_s']:.1f} "
                "answers/s"
            )
    if met := verdicts(result):
        lines.append(
            "  targets: " + ", ".join(f"{k} {'met' if ok else 'NOT met'}" for k, ok in met.items())
        )
    return lines
