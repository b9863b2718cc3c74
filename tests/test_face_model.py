"""The face keypoint path end to end on a few real frames: train, export, load, predict
(API, CLI, app), eval; and the shipped model on the test frames."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from gradio_client import Client, handle_file
from PIL import Image
from test_trainer import trainer

import visionplay
from visionplay import faces
from visionplay.cli.main import main as cli
from visionplay.errors import InvalidInputError
from visionplay.train.data import load_face_frames
from visionplay.ui.face import FACE_HINT, NO_FACE, mark_faces
from visionplay.ui.widgets import EXAMPLES

FACE_EXAMPLES = sorted(EXAMPLES.glob("face_keypoints-*.jpg"))


@pytest.fixture(scope="module")
def tiny_face_model(data_dir, tmp_path_factory):
    """One epoch on 96 training frames, exported: a model that runs, not one that is good."""
    runs = tmp_path_factory.mktemp("runs")
    trainer("face_keypoints").main(
        [
            "--limit",
            "96",
            "--epochs",
            "1",
            "--batch-size",
            "32",
            "--data-dir",
            str(data_dir),
            "--out",
            str(runs),
        ]
    )
    exported = tmp_path_factory.mktemp("exported")
    assert (
        cli(
            [
                "export",
                "--onnx",
                str(runs / "face_keypoints" / "face_keypoints.pt"),
                "--out",
                str(exported),
            ]
        )
        == 0
    )
    return runs, exported


@pytest.fixture(scope="module")
def test_frames(data_dir):
    return load_face_frames(data_dir, train=False, limit=20)


def test_trainer_logs_validation_nme_and_measures_the_detector(tiny_face_model):
    runs, _ = tiny_face_model
    metrics = json.loads((runs / "face_keypoints" / "metrics.json").read_text())
    assert {"train_loss", "train_nme", "val_loss", "val_nme"} <= set(metrics["epochs"][0])
    checkpoint = torch.load(runs / "face_keypoints" / "face_keypoints.pt", weights_only=False)
    dx, dy, size = checkpoint["cfg"]["settings"]["detector_framing"]
    # The detector's boxes sit a little high on the 68 points and are a bit wider than them.
    assert abs(dx) < 0.1 and 0.05 < dy < 0.3 and 0.7 < size < 1.05


def test_exported_model_finds_faces_with_68_points(tiny_face_model):
    _, exported = tiny_face_model
    model = visionplay.load("face_keypoints", exported)
    assert isinstance(model, visionplay.KeypointModel)
    assert model.metadata["task"] == "keypoints"
    picture = np.asarray(Image.open(FACE_EXAMPLES[0]))  # a test frame the detector finds
    found = model.predict(picture)
    assert len(found) == 1
    face = found[0]
    assert face.points.shape == (68, 2) and np.isfinite(face.points).all()
    x0, y0, x1, y1 = face.box
    assert 0 <= x0 < x1 <= picture.shape[1] and 0 <= y0 < y1 <= picture.shape[0]
    assert model.predict(np.full((200, 300), 128, dtype=np.uint8)) == []


def test_two_faces_come_back_largest_first(tiny_face_model):
    _, exported = tiny_face_model
    model = visionplay.load("face_keypoints", exported)
    big = Image.open(FACE_EXAMPLES[1]).convert("L")
    small = big.resize((big.width * 2 // 3, big.height * 2 // 3))
    page = Image.new("L", (big.width + small.width + 40, max(big.height, small.height) + 40), 128)
    page.paste(small, (10, 10))
    page.paste(big, (small.width + 30, 10))
    found = model.predict(page)
    widths = [f.box[2] - f.box[0] for f in found]
    assert len(found) >= 2 and widths == sorted(widths, reverse=True)
    assert found[0].box[0] > small.width  # the big one is on the right


def test_predict_cli_prints_faces_and_writes_the_overlay(tiny_face_model, tmp_path, capsys):
    _, exported = tiny_face_model
    frame = tmp_path / "frame.png"
    Image.new("L", (120, 90), 40).save(tmp_path / "empty.png")
    source = FACE_EXAMPLES[0] if FACE_EXAMPLES else None
    if source is None:
        pytest.skip("no face example pictures")
    Image.open(source).save(frame)
    model_path = str(exported / "face_keypoints.onnx")
    assert (
        cli(
            [
                "predict",
                str(frame),
                str(tmp_path / "empty.png"),
                "--model",
                model_path,
                "--overlay",
                str(tmp_path / "drawn"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "frame.png: 1 face" in out and "empty.png: 0 faces" in out
    drawn = Image.open(tmp_path / "drawn" / "frame-faces.png")
    assert drawn.size == Image.open(frame).size
    assert cli(["predict", str(frame), "--model", model_path, "--json"]) == 0
    (face,) = json.loads(capsys.readouterr().out)[str(frame)]
    assert len(face["points"]) == 68 and len(face["box"]) == 4


def test_eval_cli_reports_the_three_nmes(tiny_face_model, shipped_faces, data_dir, capsys):
    _, exported = tiny_face_model
    assert (
        cli(
            [
                "eval",
                str(exported / "face_keypoints.onnx"),
                "--limit",
                "10",
                "--data-dir",
                str(data_dir),
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["test_true_box"]["frames"] == 10
    assert 0 < report["test_end_to_end"]["face_found"] <= 1
    assert report["validation_held_out_people"]["people"] >= 1
    # One epoch on 96 frames leaves the points about an eye gap from the truth (NME ~1):
    # worse on each figure than the shipped model's recorded one (a tiny model that beats
    # it was not the one measured), yet no further off than points in the crop (all 68 on
    # its farthest corner score ~1.8; points in the wrong frame, crop units for pixels,
    # score more).
    manifest = json.loads((shipped_faces.path.parent / "manifest.json").read_text())
    shipped = manifest["models"]["face_keypoints"]["eval"]
    for part in ("test_true_box", "test_end_to_end", "validation_held_out_people"):
        assert shipped[part]["nme"] < report[part]["nme"] < 2, part


def test_bad_input_names_the_problem(tiny_face_model):
    _, exported = tiny_face_model
    model = visionplay.load("face_keypoints", exported)
    with pytest.raises(InvalidInputError, match="not a readable image"):
        model.predict(b"not an image")
    with pytest.raises(InvalidInputError, match="must be HxW"):
        model.predict(np.zeros((4, 4, 7)))


# The shipped model (exported/face_keypoints.onnx), on real test frames.


@pytest.fixture(scope="module")
def shipped_faces():
    return visionplay.load("face_keypoints")


def test_shipped_model_is_accurate_on_test_frames(shipped_faces, test_frames):
    margin = shipped_faces.cfg.settings.margin
    errors = [
        faces.nme(shipped_faces.points_in(g, [faces.square_from_points(p, margin)])[0], p)
        for g, p in zip(test_frames.grays, test_frames.points, strict=True)
    ]
    assert np.mean(errors) < 0.08


def test_face_tab_over_http(app_url, tmp_path):
    client = Client(app_url, verbose=False)
    drawn, message = client.predict(handle_file(str(FACE_EXAMPLES[0])), True, api_name="/faces")
    assert message == "**1 face found**"
    assert Image.open(drawn).size == Image.open(FACE_EXAMPLES[0]).size

    blank = tmp_path / "blank.png"
    Image.new("RGB", (320, 240), "gray").save(blank)
    drawn, message = client.predict(handle_file(str(blank)), True, api_name="/faces")
    assert message == NO_FACE
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    drawn, message = client.predict(handle_file(str(broken)), True, api_name="/faces")
    assert drawn is None and "Could not read that picture" in message
    assert client.predict(None, True, api_name="/faces") == (None, FACE_HINT)


def test_toggling_the_lines_redraws_the_faces_found_before(monkeypatch):
    model = visionplay.load("face_keypoints")
    drawn, message, found = mark_faces(model, str(FACE_EXAMPLES[0]), True)
    assert message == "**1 face found**" and len(found) == 1
    monkeypatch.setattr(model, "predict", lambda *_: pytest.fail("detected the faces again"))
    plain, again, kept = mark_faces(model, str(FACE_EXAMPLES[0]), False, found)
    assert kept is found and again == message and plain.size == drawn.size
    assert not np.array_equal(np.asarray(plain), np.asarray(drawn))  # the lines are gone
