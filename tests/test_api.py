"""``visionplay.load``: the shipped MNIST model through onnxruntime."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys

import numpy as np
import pytest
from digits import STROKES, draw
from PIL import Image

import visionplay
from visionplay.errors import InvalidInputError, ModelNotFoundError, VisionplayError
from visionplay.train import handwriting


def test_load_reports_provider_and_config(shipped_mnist):
    assert shipped_mnist.provider in ("CPUExecutionProvider", "CUDAExecutionProvider")
    assert shipped_mnist.cfg.input_size == (1, 28, 28)
    assert shipped_mnist.labels == (*"0123456789", "not a digit")
    assert visionplay.load("mnist") is shipped_mnist  # one session per process
    # No threads left spinning after a run to slow the next model's (a generator, then
    # its reader); a bare onnxruntime session has them.
    options = shipped_mnist.session.get_session_options()
    assert options.get_session_config_entry("session.force_spinning_stop") == "1"


def test_reads_real_test_digits(shipped_mnist, mnist_test_images):
    images, labels = mnist_test_images
    predictions = shipped_mnist.predict_batch(list(images[:300]), top_k=1)
    accuracy = np.mean([p[0].index == y for p, y in zip(predictions, labels[:300], strict=True)])
    assert accuracy > 0.98


def test_every_input_kind_gives_the_same_answer(shipped_mnist, tmp_path):
    picture = draw("7")
    path = tmp_path / "seven.png"
    picture.save(path)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    answers = [
        shipped_mnist.predict(source, top_k=3)
        for source in (picture, np.asarray(picture), path, str(path), buffer.getvalue())
    ]
    assert all(a == answers[0] for a in answers)
    assert answers[0][0].label == "7"
    assert len(answers[0]) == 3
    assert answers[0][0].score >= answers[0][1].score >= answers[0][2].score


def test_reads_drawn_digits(shipped_mnist):
    """Stroke digits of every size, place and brush a person might use on the canvas."""
    variants = [
        {"size": 300, "width": 18},
        {"size": 120, "width": 8, "centre": (100, 110)},
        {"size": 80, "width": 3, "centre": (320, 300)},
        {"size": 220, "width": 40},
        {"size": 160, "width": 12, "centre": (260, 150), "aspect": 0.55},
    ]
    wrong = [
        (digit, variant, shipped_mnist.predict(draw(digit, **variant))[0].label)
        for digit in STROKES
        for variant in variants
    ]
    wrong = [w for w in wrong if w[2] != w[0]]
    assert len(wrong) <= 2, wrong  # 50 drawings


def test_reads_the_worlds_digits_and_knows_what_is_none(shipped_mnist):
    """Held-out templates (never trained on) in new hands: digits read as digits, and
    non-digits (held-out shapes, fonts and scribbles) called "not a digit"."""
    digits = [handwriting.digit_page(i, 21, held_out=True) for i in range(66)]
    others = [handwriting.not_digit_page(i, 22, held_out=True) for i in range(66)]
    answers = shipped_mnist.predict_batch([page for page, _, _ in digits + others], top_k=1)
    right = [
        top[0].label == label for (_, label, _), top in zip(digits + others, answers, strict=True)
    ]
    assert np.mean(right[:66]) >= 0.85 and np.mean(right[66:]) >= 0.85, right


def test_blank_input_raises_empty(shipped_mnist):
    with pytest.raises(visionplay.EmptyInputError):
        shipped_mnist.predict(Image.new("RGBA", (400, 400)))


def test_wrong_batch_shape(shipped_mnist):
    with pytest.raises(InvalidInputError, match=r"takes a batch of shape \(N, 1, 28, 28\)"):
        shipped_mnist.run(np.zeros((2, 28, 28), np.float32))


def test_missing_model_says_how_to_make_it(tmp_path):
    with pytest.raises(ModelNotFoundError, match="visionplay export --onnx"):
        visionplay.load("mnist", tmp_path)


def test_corrupt_model_file(tmp_path, shipped_mnist):
    broken = tmp_path / "mnist.onnx"
    broken.write_bytes(shipped_mnist.path.read_bytes()[:5000])
    with pytest.raises(VisionplayError, match="not a usable ONNX model"):
        visionplay.load(broken)


def test_load_by_path(tmp_path, shipped_mnist):
    copy = tmp_path / "digits.onnx"
    shutil.copy(shipped_mnist.path, copy)
    model = visionplay.load(copy)
    assert model.name == "digits" and model.cfg == shipped_mnist.cfg


def test_serving_imports_no_torch(tmp_path):
    """load(), predict and the app run on onnxruntime alone."""
    draw("3").save(tmp_path / "three.png")
    script = (
        "import sys, visionplay, visionplay.ui.app, visionplay.cli.main\n"
        f"print(visionplay.load('mnist').predict({str(tmp_path / 'three.png')!r})[0].label)\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3", "False"]
