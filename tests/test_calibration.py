"""The scores' temperature: fitted on training images kept back, folded into the graph."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

import visionplay
from visionplay.models.registry import get_config
from visionplay.train import checkpoints, export
from visionplay.train.build import build_model
from visionplay.train.calibration import (
    calibrate,
    expected_calibration_error,
    fit_temperature,
    reject_offset,
)
from visionplay.train.data import hold_out
from visionplay.train.loop import calibration_line


def test_fit_temperature_finds_the_temperature_the_labels_were_drawn_with():
    generator = torch.Generator().manual_seed(0)
    logits = 4 * torch.randn(20_000, 10, generator=generator)
    for true in (0.5, 2.0):
        labels = torch.multinomial(torch.softmax(logits / true, 1), 1, generator=generator)[:, 0]
        assert fit_temperature(logits, labels) == pytest.approx(true, rel=0.05)


def test_calibrate_brings_the_held_out_ece_down_and_keeps_every_answer():
    generator = torch.Generator().manual_seed(1)
    images = torch.randn(4000, 8, generator=generator)
    weights = torch.randn(8, 5, generator=generator)
    labels = torch.multinomial(torch.softmax(images @ weights, 1), 1, generator=generator)[:, 0]
    overconfident = torch.nn.Linear(8, 5, bias=False)
    overconfident.weight.data = 6 * weights.T  # the right order of scores, far too sure
    fitted = calibrate(overconfident, TensorDataset(images, labels), torch.device("cpu"))
    assert fitted["temperature"] == pytest.approx(6, rel=0.15)
    assert fitted["ece_after"] < fitted["ece_before"] / 3
    assert fitted["nll_after"] < fitted["nll_before"]
    assert fitted["images"] == 4000


def test_the_reject_offset_keeps_the_reject_class_from_real_images():
    generator = torch.Generator().manual_seed(2)
    logits = torch.randn(10_000, 4, generator=generator)
    labels = torch.randint(0, 4, (10_000,), generator=generator)
    logits[:, 3] += 1.0  # class 3, "none of these", takes far too many of the others
    offset = reject_offset(logits, labels, reject=3, most=0.01)
    real = labels != 3
    called = (logits + torch.tensor([0, 0, 0, offset])).argmax(1) == 3
    share = called[real].sum().item() / real.sum().item()
    assert offset < 0 and 0.005 < share <= 0.01  # no further than it must
    logits[:, 3] -= 10.0  # already rare: nothing to take away
    assert reject_offset(logits, labels, reject=3, most=0.01) == 0.0


def test_calibrate_fits_the_reject_offset_before_the_temperature():
    generator = torch.Generator().manual_seed(3)
    images = torch.randn(3000, 3, generator=generator)
    labels = images.argmax(1)
    eager = torch.nn.Linear(3, 3, bias=True)
    eager.weight.data, eager.bias.data = 5 * torch.eye(3), torch.tensor([0.0, 0.0, 1.5])
    fitted = calibrate(eager, TensorDataset(images, labels), torch.device("cpu"), reject=2)
    assert fitted["offsets"][:2] == [0.0, 0.0] and fitted["offsets"][2] < 0
    assert fitted["false_rejects_after"] <= 0.001 < fitted["false_rejects_before"]
    assert fitted["rejects_caught_after"] > 0.9 and fitted["temperature"] > 0


def test_expected_calibration_error_on_known_cases():
    # Calibrated: a score of 0.8 right four times in five, 0.6 three in five.
    scores = np.array([0.8] * 5 + [0.6] * 5)
    right = np.array([1, 1, 1, 1, 0, 1, 1, 1, 0, 0], dtype=bool)
    assert expected_calibration_error(scores, right) == pytest.approx(0.0)
    # Under-confident: always right at 0.9 -> off by 0.1; over-confident by 0.5 on half.
    assert expected_calibration_error(np.full(10, 0.9), np.ones(10, bool)) == pytest.approx(0.1)
    half = np.array([1.0] * 5 + [0.5] * 5)
    hits = np.array([0] * 5 + [1] * 5, bool)
    assert expected_calibration_error(half, hits) == pytest.approx(0.5 * 1.0 + 0.5 * 0.5)
    assert expected_calibration_error(np.array([]), np.array([], bool)) == 0.0


def test_hold_out_keeps_back_the_same_images_apart_from_the_rest():
    data = TensorDataset(torch.arange(1000.0)[:, None], torch.arange(1000))
    train, held = hold_out(data, 100, seed=3)
    again, held_again = hold_out(data, 100, seed=3)
    assert len(train) == 900 and len(held) == 100
    assert torch.equal(held.tensors[1], held_again.tensors[1])
    assert not set(held.tensors[1].tolist()) & set(train.tensors[1].tolist())
    assert torch.equal(train.tensors[0][:, 0].long(), train.tensors[1])  # rows stay together
    assert hold_out(data, 0) == (data, None)
    small, kept = hold_out(TensorDataset(torch.zeros(50, 1)), 100)
    assert (len(small), len(kept)) == (40, 10)  # a dry run's few images: a fifth


def test_export_puts_the_checkpoints_calibration_before_the_softmax(tmp_path):
    torch.manual_seed(0)
    net = build_model("cnn_small").eval()
    checkpoint = checkpoints.save_checkpoint(
        tmp_path / "cnn_small.pt",
        name="cnn_small",
        model=net,
        cfg=get_config("cnn_small"),
        args={},
        model_kwargs={},
        history=[],
        calibration={"temperature": 2.5, "offsets": [0.0] * 9 + [-1.5]},
    )
    export.export_checkpoint(checkpoint, tmp_path / "exported")
    model = visionplay.load("cnn_small", tmp_path / "exported")
    pixels = np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32)
    with torch.no_grad():
        offsets = torch.tensor([0.0] * 9 + [-1.5])
        expected = torch.softmax((net(torch.from_numpy(pixels)) + offsets) / 2.5, 1).numpy()
    np.testing.assert_allclose(model.run(pixels), expected, atol=1e-5)
    assert '"temperature": 2.5' in model.metadata["calibration"]


def test_a_dry_runs_calibration_is_not_shown_as_a_figure():
    fitted = {"temperature": 26918.4, "images": 102, "ece_before": 0.5, "ece_after": 0.1}
    assert "temperature 26918.400" in calibration_line(fitted)
    line = calibration_line(fitted, dry_run=True)
    assert line.startswith("dry run:") and "26918" not in line and "ECE" not in line
