"""Faces followed frame to frame (visionplay.tracking): the One Euro filter steadies a still
face and keeps up with a moving one; following a real test frame keeps its face as
accurately as the detector's path; a lost face makes the detector search at once, and a
face gone is dropped; ``POST /live/NAME`` answers and refuses bad requests in one line; the
CLI follows a video's faces into an overlaid video and its points."""

from __future__ import annotations

import base64
import io
import json

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

import visionplay
from visionplay import faces, tracking
from visionplay.bench.camera import noisy, on_camera
from visionplay.cli.main import main
from visionplay.serve.rest import ServeSettings, create_app

FPS = 30


@pytest.fixture(scope="module")
def model():
    return visionplay.load("face_keypoints")


@pytest.fixture(scope="module")
def camera(data_dir) -> tuple[np.ndarray, np.ndarray]:
    """A real test frame as a small camera shows it (as the live page sends it), and its
    known points in that frame's pixels."""
    from visionplay.preprocess import open_image
    from visionplay.train.data import find_face_folder, load_face_frames

    frames = load_face_frames(data_dir, train=False, limit=1)
    picture = open_image(find_face_folder(data_dir) / "test" / frames.names[0]).convert("RGB")
    return on_camera(np.asarray(picture), frames.points[0], (320, 240))


def still(frame: np.ndarray, count: int) -> list[np.ndarray]:
    return [noisy(frame, 3, seed) for seed in range(count)]


# --- The One Euro filter ----------------------------------------------------------------------


def test_one_euro_steadies_still_points_and_keeps_up_with_moving_ones():
    rng = np.random.default_rng(0)
    face = rng.uniform(100, 200, (68, 2))
    noise = rng.normal(0, 1.0, (60, 68, 2))  # a pixel's jitter on a 100 px face
    state, kept = None, []
    for i in range(60):
        state = tracking.FILTER(face + noise[i], i / FPS, state, size=100)
        kept.append(state.value)
    assert np.std(kept[20:], axis=0).mean() < 0.5 * noise[20:].std(axis=0).mean()
    json.dumps({"velocity": state.velocity.tolist(), "t": state.t})  # plain numbers

    speed = np.array([150.0, -60.0])  # pixels a second: a face crossing the frame
    state = None
    for i in range(30):
        state = tracking.FILTER(face + speed * i / FPS, i / FPS, state, size=100)
    lag = np.abs(state.value - (face + speed * 29 / FPS)).max()
    slow = tracking.OneEuro(beta=0.0)  # a plain low-pass filter of the same rest cutoff
    state = None
    for i in range(30):
        state = slow(face + speed * i / FPS, i / FPS, state, size=100)
    assert lag < 1.0 < np.abs(state.value - (face + speed * 29 / FPS)).max() / 5


def test_one_euro_refuses_time_going_back():
    state = tracking.FILTER.start(np.zeros((68, 2)), 1.0)
    with pytest.raises(visionplay.VisionplayError, match="later than the previous"):
        tracking.FILTER(np.zeros((68, 2)), 1.0, state)


# --- Following faces --------------------------------------------------------------------------


def test_following_keeps_the_face_as_accurately_as_the_detector(model, camera):
    frame, known = camera
    answers = tracking.track(model, still(frame, 12), FPS)
    assert [len(a.faces) for a in answers] == [1] * 12
    (detected,) = model.predict(Image.fromarray(frame))
    followed = np.mean([faces.nme(a.faces[0].points, known) for a in answers[2:]])
    assert followed < faces.nme(detected.points, known) + 0.02
    assert followed < 0.1
    # The detector ran on the first frame only, then once SEARCH_EVERY frames later.
    every = tracking.SEARCH_EVERY
    assert [a.search_in for a in answers[:3]] == [every, every - 1, every - 2]


def test_a_lost_face_is_searched_for_at_once(model, camera, monkeypatch):
    """The crop of a previous face twice its size no longer frames it as training did: the
    points change size past what a face does in a frame, so the detector searches this
    frame, and finds the face where it is."""
    frame, known = camera
    first = tracking.follow(model, frame, None, 0.0)
    face = first.faces[0]
    centre = (face.points.min(0) + face.points.max(0)) / 2
    grown = tracking.Followed(face.box, centre + 2 * (face.points - centre), 1.0, face.velocity)
    searches = []
    detect = tracking.detect
    monkeypatch.setattr(tracking, "detect", lambda *a: searches.append(1) or detect(*a))
    answer = tracking.follow(model, frame, tracking.Following((grown,), 0.0, first.size, 5), 0.03)
    assert searches and len(answer.faces) == 1
    assert faces.nme(answer.faces[0].points, known) < 0.1


def test_a_face_gone_is_dropped_after_the_searches_miss_it(model, camera):
    frame, _ = camera
    answer = tracking.follow(model, frame, None, 0.0)
    blank = np.full_like(frame, 128)
    counts = []
    for i in range(1, 4):
        searched = replace_search(answer)
        answer = tracking.follow(model, noisy(blank, 3, i), searched, i / FPS)
        counts.append(len(answer.faces))
    assert counts[-1] == 0 and counts.index(0) < tracking.MOST_MISSES


def replace_search(answer: tracking.Following) -> tracking.Following:
    """The answer, due for a search (as it is every SEARCH_EVERY frames)."""
    return tracking.Following(answer.faces, answer.t, answer.size, 0)


def test_another_frame_size_starts_afresh(model, camera):
    frame, _ = camera
    answer = tracking.follow(model, frame, None, 0.0).to_json()
    bigger = cv2.resize(frame, (480, 360))
    again = tracking.follow(model, bigger, answer, 0.03)
    assert again.size == (480, 360) and len(again.faces) == 1


# --- POST /live/NAME --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(ServeSettings(max_body=2 << 20))) as client:
        yield client


def encoded(frame: np.ndarray, kind: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format=kind)
    return buffer.getvalue()


def request(frame: bytes, previous=None, t: float = 0.0) -> str:
    return json.dumps({"frame": base64.b64encode(frame).decode(), "previous": previous, "t": t})


def test_the_route_follows_a_face(client, camera):
    frame, known = camera
    first = client.post("/live/face_keypoints", content=encoded(frame))  # a picture alone
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["size"] == [320, 240] and answer["ms"] > 0
    for i in range(1, 4):
        reply = client.post(
            "/live/face_keypoints", content=request(encoded(frame), answer, i / FPS)
        )
        assert reply.status_code == 200, reply.text
        answer = reply.json()
    (face,) = answer["faces"]
    assert faces.nme(np.array(face["points"]), known) < 0.1
    assert answer["search_in"] == tracking.SEARCH_EVERY - 3


def previous_with(camera, **change) -> dict:
    """A valid previous answer for the camera frame, with one face changed by ``change``."""
    frame, known = camera
    face = {
        "box": [0, 0, 10, 10],
        "points": known.tolist(),
        "score": 1.0,
        "velocity": np.zeros((68, 2)).tolist(),
        "misses": 0,
    }
    return {"faces": [{**face, **change}], "t": 1.0, "size": [320, 240], "search_in": 3}


def bad_requests(camera) -> dict[str, tuple[str | bytes, str]]:
    frame, known = camera
    jpeg = encoded(frame)
    big = encoded(np.zeros((800, 1400, 3), np.uint8))
    face = previous_with(camera)["faces"][0]
    return {
        "not JSON": (b"{nope", "not valid JSON"),
        "NaN": (request(jpeg).replace('"t": 0.0', '"t": NaN'), "only finite numbers"),
        "unknown key": (request(jpeg)[:-1] + ', "x": 1}', "unknown key 'x'"),
        "bad base64": ('{"frame": "@@@", "t": 0}', "not valid base64"),
        "not a picture": (request(b"hello there"), "not a readable image"),
        "GIF": (request(encoded(frame, "GIF")), "a live frame is JPEG, PNG or WebP"),
        "oversized": (request(big), "a live frame has at most"),
        "67 points": (
            request(jpeg, previous_with(camera, points=known[:67].tolist()), 2.0),
            "68 [x, y] pairs",
        ),
        "infinite": (
            request(jpeg, previous_with(camera, velocity=[[1e400, 0]] * 68), 2.0),
            "finite numbers",
        ),
        "points far off": (
            request(jpeg, previous_with(camera, points=(known + 1e5).tolist()), 2.0),
            "finite numbers of at most",
        ),
        "one spot": (
            request(jpeg, previous_with(camera, points=[[5, 5]] * 68), 2.0),
            "span under",
        ),
        "too many faces": (
            request(jpeg, {**previous_with(camera), "faces": [face] * 5}, 2.0),
            "at most 4 faces",
        ),
        "time back": (request(jpeg, previous_with(camera), 0.5), "later than the previous"),
        "misses": (
            request(jpeg, previous_with(camera, misses=7), 2.0),
            "misses must be a whole number",
        ),
    }


CASES = [
    "not JSON",
    "NaN",
    "unknown key",
    "bad base64",
    "not a picture",
    "GIF",
    "oversized",
    "67 points",
    "infinite",
    "points far off",
    "one spot",
    "too many faces",
    "time back",
    "misses",
]


@pytest.mark.parametrize("case", CASES)
def test_the_route_refuses_in_one_line(client, camera, case):
    body, expected = bad_requests(camera)[case]
    reply = client.post("/live/face_keypoints", content=body)
    assert reply.status_code == 400, reply.text
    message = reply.json()["error"]
    assert expected in message and "\n" not in message and "/" not in message.split(":")[0]


def test_the_route_takes_face_keypoint_models_only(client, camera):
    reply = client.post("/live/mnist", content=encoded(camera[0]))
    assert (
        reply.status_code == 400
        and "mnist follows no faces: it is a classification model" in reply.json()["error"]
    )


# --- visionplay predict clip.mp4 --------------------------------------------------------------


def test_the_cli_follows_a_video(model, camera, tmp_path, capsys):
    frame, known = camera
    clip = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 15, (320, 240))
    for rgb in still(frame, 6):
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    out = tmp_path / "out"
    assert main(["predict", str(clip), "-m", "face_keypoints", "--overlay", str(out)]) == 0
    assert "6 frames at 15 a second; faces in 6" in capsys.readouterr().out
    followed = json.loads((out / "clip-faces.json").read_text())
    assert len(followed["frames"]) == 6 and followed["size"] == [320, 240]
    points = np.array(followed["frames"][-1]["faces"][0]["points"])
    assert faces.nme(points, known) < 0.1
    drawn = cv2.VideoCapture(str(out / "clip-faces.mp4"))
    assert drawn.get(cv2.CAP_PROP_FRAME_COUNT) == 6
    drawn.release()


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"not a video at all", "not a video OpenCV can read"), (None, "no such video file")],
)
def test_the_cli_refuses_a_bad_video_in_one_line(tmp_path, capsys, content, expected):
    clip = tmp_path / "clip.mp4"
    if content is not None:
        clip.write_bytes(content)
    assert main(["predict", str(clip), "-m", "face_keypoints"]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1
