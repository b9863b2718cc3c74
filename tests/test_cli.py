"""The command line, called in-process: answers on stdout, one-line errors on stderr."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from digits import draw
from torch.utils.data import TensorDataset

from visionplay.cli.main import main
from visionplay.experiments import permute_pixels, permuted


@pytest.fixture
def seven(tmp_path):
    path = tmp_path / "seven.png"
    draw("7").save(path)
    return path


def test_predict_text(seven, capsys):
    assert main(["predict", str(seven), "--model", "mnist"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{seven}: 7 ")


def test_predict_json_top_k(seven, capsys):
    assert main(["predict", str(seven), "--model", "mnist", "--json", "-k", "5"]) == 0
    answer = json.loads(capsys.readouterr().out)[str(seven)]
    assert len(answer) == 5 and answer[0]["label"] == "7"
    assert sum(p["score"] for p in answer) <= 1.0 + 1e-6


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["predict", "missing.png", "--model", "mnist"], "no such image file"),
        (["predict", __file__, "--model", "mnist"], "not a readable image"),
        (["predict", __file__, "--model", "nosuchmodel"], "no exported model 'nosuchmodel'"),
        (["export", "--onnx", "--runs", "/nonexistent"], "no checkpoints"),
    ],
)
def test_errors_are_one_line_and_non_zero(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_eval_prints_accuracy_json(data_dir, shipped_mnist, tmp_path, capsys, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(shipped_mnist.path, models / "mnist.onnx")
    monkeypatch.setenv("VISIONPLAY_DATA", str(data_dir))
    monkeypatch.setenv("VISIONPLAY_MODELS", str(models))
    png = tmp_path / "confusion.png"
    assert main(["eval", "mnist", "--limit", "1000", "--confusion", str(png), "--record"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["images"] == 1000 and report["dataset"] == "mnist"
    assert report["accuracy"] > 0.98
    assert png.read_bytes()[:4] == b"\x89PNG"
    recorded = json.loads((models / "manifest.json").read_text())["models"]["mnist"]["eval"]
    assert recorded["accuracy"] == report["accuracy"]


def test_eval_as_drawn(data_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("VISIONPLAY_DATA", str(data_dir))
    monkeypatch.chdir(tmp_path)  # the confusion matrix goes to runs/eval/ by default
    assert main(["eval", "mnist", "--as-drawn", "--limit", "200"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["split"].startswith("test, redrawn") and report["accuracy"] > 0.9
    assert (tmp_path / "runs/eval/mnist-as-drawn-confusion.png").is_file()


def test_permutation_experiment_table(data_dir, tmp_path, capsys):
    out = tmp_path / "permute"
    argv = ["experiment", "permute", "--limit", "600", "--workers", "0",
            "--data-dir", str(data_dir), "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "FC2(8)" in printed and "6,442" in printed and "6,422" in printed
    result = json.loads((out / "permute.json").read_text())
    assert set(result["table"]) == {"fc2", "cnn_small"}
    assert all(0 <= acc <= 1 for row in result["table"].values() for acc in row.values())
    assert sorted(result["permutation"]) == list(range(28 * 28))
    images = np.array(result["examples"]["images"], np.uint8)
    assert images.shape == (8, 28, 28) and len(result["examples"]["labels"]) == 8
    plain = images[0]
    shuffled = permuted(plain, result["permutation"])
    assert not np.array_equal(plain, shuffled)
    np.testing.assert_array_equal(np.sort(plain.ravel()), np.sort(shuffled.ravel()))
    # the picture the panel shows is the one the models were trained on
    as_trained = permute_pixels(TensorDataset(torch.from_numpy(images[:1, None]), torch.zeros(1)),
                                torch.tensor(result["permutation"])).tensors[0][0, 0]  # fmt: skip
    np.testing.assert_array_equal(as_trained.numpy(), shuffled)
    assert (out / "permute.png").read_bytes()[:4] == b"\x89PNG"
