"""trainers/mnist.py end to end on a slice of real MNIST: train, crash, resume, export."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

import visionplay
from visionplay import training
from visionplay.cli.main import main as cli

TRAINERS = Path(__file__).parents[1] / "trainers"


def trainer(name: str = "mnist"):
    spec = importlib.util.spec_from_file_location(f"{name}_trainer", TRAINERS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_run(data_dir, out, *extra) -> list[str]:
    """Two epochs of CNN-small on 256 images: seconds, yet every step of the real thing."""
    return ["--arch", "cnn_small", "--epochs", "2", "--limit", "256", "--batch-size", "64",
            "--workers", "0", "--data-dir", str(data_dir), "--out", str(out), *extra]  # fmt: skip


def run(data_dir, out, *extra):
    return trainer().main(tiny_run(data_dir, out, *extra))


@pytest.mark.parametrize(
    ("script", "arch", "dataset"),
    [
        ("mnist", "lenet5", "mnist"),
        ("fashion_mnist", "simple_cnn", "fashion_mnist"),
        ("cifar10", "cifar_net", "cifar10"),  # from the JPEG archive, unpacked once
        ("cifar10", "cifar10", "cifar10"),  # the airbench recipe: whitening, Lookahead, TTA
    ],
)
def test_dry_run_writes_checkpoint_metrics_and_curves(script, arch, dataset, data_dir, tmp_path):
    trainer(script).main(["--dry-run", "--arch", arch, "--workers", "0",
                          "--data-dir", str(data_dir), "--out", str(tmp_path)])  # fmt: skip
    out = tmp_path / arch
    metrics = json.loads((out / "metrics.json").read_text())
    assert [e["epoch"] for e in metrics["epochs"]] == [1]
    expected = {"train_loss", "train_acc", "test_loss", "test_acc", "images_per_s"}
    assert expected <= set(metrics["epochs"][0])
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"
    checkpoint = torch.load(out / f"{arch}.pt", weights_only=False)
    assert checkpoint["name"] == arch and checkpoint["cfg"]["dataset"] == dataset


def test_resume_after_a_crash_reaches_the_same_result(data_dir, tmp_path, monkeypatch):
    straight = run(data_dir, tmp_path / "straight")

    real_epoch = training.train_one_epoch
    calls = []

    def crash_in_second_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(training, "train_one_epoch", crash_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        trainer().main(tiny_run(data_dir, tmp_path / "crashed"))
    monkeypatch.undo()
    resumed = run(data_dir, tmp_path / "crashed", "--resume")

    for key in ("train_loss", "test_loss", "test_acc"):
        assert resumed[key] == pytest.approx(straight[key], rel=1e-6)


def test_export_and_predict_from_the_command_line(data_dir, tmp_path, capsys):
    run(data_dir, tmp_path / "runs", "--model-kwargs", '{"n_features": 4}')
    exported = tmp_path / "exported"
    assert cli(["export", "--onnx", "--runs", str(tmp_path / "runs"), "--out", str(exported)]) == 0
    assert "max |onnxruntime - torch|" in capsys.readouterr().out

    manifest = json.loads((exported / "manifest.json").read_text())["models"]["cnn_small"]
    assert manifest["training"]["epochs"] == 2
    assert manifest["parameters"] == 4268  # CNN-small with 4 feature maps, rebuilt by export
    assert manifest["parity_max_abs_diff"] < 1e-4
    model = visionplay.load("cnn_small", exported)
    assert model.metadata["model_name"] == "cnn_small"
    assert json.loads(model.metadata["labels"]) == list("0123456789")
