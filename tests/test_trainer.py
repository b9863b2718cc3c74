"""trainers/mnist.py end to end on a slice of real MNIST: train, crash, resume, export."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import visionplay
from visionplay.cli.main import main as cli
from visionplay.errors import VisionplayError
from visionplay.files import atomic_write
from visionplay.train import checkpoints
from visionplay.train.build import build_model

TRAINERS = Path(__file__).parents[1] / "trainers"


def trainer(name: str = "mnist"):
    spec = importlib.util.spec_from_file_location(f"{name}_trainer", TRAINERS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import would: its dataclasses look themselves up
    spec.loader.exec_module(module)
    return module


def tiny_run(data_dir, out, *extra) -> list[str]:
    """Two epochs of CNN-small on 256 images: seconds, yet every step of the real thing."""
    return [
        "--arch",
        "cnn_small",
        "--epochs",
        "2",
        "--limit",
        "256",
        "--batch-size",
        "64",
        "--workers",
        "0",
        "--data-dir",
        str(data_dir),
        "--out",
        str(out),
        *extra,
    ]


def run(data_dir, out, *extra):
    return trainer().main(tiny_run(data_dir, out, *extra))


@pytest.mark.parametrize(
    ("script", "arch", "dataset"),
    [
        ("mnist", "lenet5", "mnist"),
        ("mnist", "mnist", "mnist"),  # MNIST, digits in other hands, and "not a digit"
        ("fashion_mnist", "simple_cnn", "fashion_mnist"),
        ("cifar10", "cifar_net", "cifar10"),  # from the JPEG archive, unpacked once
        ("cifar10", "cifar10", "cifar10"),  # the airbench recipe: whitening, Lookahead, TTA
    ],
)
def test_dry_run_writes_checkpoint_metrics_and_curves(script, arch, dataset, data_dir, tmp_path):
    trainer(script).main(
        [
            "--dry-run",
            "--arch",
            arch,
            "--workers",
            "0",
            "--data-dir",
            str(data_dir),
            "--out",
            str(tmp_path),
        ]
    )
    out = tmp_path / "dry-run" / arch  # never where a real run writes
    assert not (tmp_path / arch).exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert [e["epoch"] for e in metrics["epochs"]] == [1]
    expected = {"train_loss", "train_acc", "test_loss", "test_acc", "images_per_s"}
    assert expected <= set(metrics["epochs"][0])
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"
    checkpoint = torch.load(out / f"{arch}.pt", weights_only=False)
    assert checkpoint["name"] == arch and checkpoint["cfg"]["dataset"] == dataset
    # every classifier's recipe keeps images back and fits its scores' temperature on them
    assert checkpoint["calibration"]["temperature"] != 1.0  # fitted: the search starts at 1
    assert 0 < checkpoint["calibration"]["images"] < 512  # a fifth of a dry run


def killed_run(data_dir, out) -> list[str]:
    """Three epochs of the shipped digit net, narrowed, on 4,096 images (and a few made-up
    drawings of each kind): about a second an epoch here, so a kill lands inside one."""
    return tiny_run(
        data_dir,
        out,
        "--arch",
        "mnist",
        "--model-kwargs",
        '{"width": 8}',
        "--epochs",
        "3",
        "--limit",
        "4096",
        "--drawn-digits",
        "128",
        "--not-digits",
        "128",
        "--redrawn-digits",
        "128",
    )


def test_sigkill_mid_epoch_then_resume_reaches_the_same_result(data_dir, tmp_path):
    straight = trainer().main(killed_run(data_dir, tmp_path / "straight"))

    out = tmp_path / "killed"
    checkpoint = out / "mnist" / "mnist.pt"
    command = [sys.executable, str(TRAINERS / "mnist.py"), *killed_run(data_dir, out)]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not checkpoint.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # into epoch 2
        os.kill(child.pid, signal.SIGKILL)
    finally:
        assert child.wait(timeout=30) == -signal.SIGKILL
    # what the kill left: the whole checkpoint of epoch 1, nothing half-written beside it
    assert len(checkpoints.load_checkpoint(checkpoint)["history"]) == 1
    assert [p.name for p in checkpoint.parent.glob("*.pt")] == ["mnist.pt"]

    resumed = trainer().main([*killed_run(data_dir, out), "--resume"])
    assert resumed["epoch"] == 3
    for key in ("train_loss", "train_acc", "test_loss", "test_acc"):
        assert resumed[key] == pytest.approx(straight[key], rel=1e-6), key
    calibrations = [
        checkpoints.load_checkpoint(o / "mnist" / "mnist.pt")["calibration"]
        for o in (tmp_path / "straight", out)
    ]
    assert calibrations[0]["temperature"] == pytest.approx(calibrations[1]["temperature"])


def test_resume_with_another_network_is_refused_in_one_line(data_dir, tmp_path):
    run(data_dir, tmp_path, "--model-kwargs", '{"n_features": 4}')
    trained = re.escape("""trained with --model-kwargs '{"n_features": 4}'""")
    with pytest.raises(VisionplayError, match=trained):
        run(data_dir, tmp_path, "--resume")  # the architecture's default width
    assert run(data_dir, tmp_path, "--resume", "--model-kwargs", '{"n_features": 4}')["epoch"] == 2


def test_resuming_a_checkpoint_without_its_optimizer_is_refused_in_one_line(data_dir, tmp_path):
    run(data_dir, tmp_path)
    path = tmp_path / "cnn_small" / "cnn_small.pt"
    state = checkpoints.load_checkpoint(path)
    state["optimizer"] = state["scheduler"] = None  # as an exported checkpoint holds them
    torch.save(state, path)
    with pytest.raises(VisionplayError, match="holds no optimizer or schedule state"):
        run(data_dir, tmp_path, "--resume")


def test_a_failed_write_leaves_the_old_file(tmp_path):
    path = atomic_write(tmp_path / "model.pt", lambda tmp: Path(tmp).write_bytes(b"good"))

    def crash_halfway(tmp: str) -> None:
        Path(tmp).write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, crash_halfway)
    assert path.read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temp file left behind


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


def test_export_never_replaces_a_model_with_one_that_fails_parity(tmp_path, monkeypatch):
    from visionplay.errors import VisionplayError
    from visionplay.models.registry import get_config
    from visionplay.train import export

    def checkpoint(seed: int) -> Path:
        torch.manual_seed(seed)
        return checkpoints.save_checkpoint(
            tmp_path / f"fc2-{seed}.pt",
            name="fc2",
            model=build_model("fc2"),
            cfg=get_config("fc2"),
            args={},
            model_kwargs={},
            history=[],
        )

    shipped = tmp_path / "exported"
    export.export_checkpoint(checkpoint(0), shipped)
    before = {p.name: p.read_bytes() for p in shipped.iterdir()}
    monkeypatch.setattr(export, "parity", lambda *args: 0.5)  # a graph that disagrees
    with pytest.raises(VisionplayError, match="left as it was"):
        export.export_checkpoint(checkpoint(1), shipped)
    assert {p.name: p.read_bytes() for p in shipped.iterdir()} == before


def test_torchrun_with_two_cpu_processes(data_dir, tmp_path):
    """DDP over gloo: one progress bar and log, one checkpoint, and export takes it."""
    from visionplay.train.export import export_checkpoint

    out = tmp_path / "runs"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(TRAINERS / "mnist.py"),
        "--dry-run",
        "--arch",
        "cnn_small",
        "--workers",
        "0",
        "--data-dir",
        str(data_dir),
        "--out",
        str(out),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "x 2 processes" in done.stdout
    assert done.stdout.count("epoch  1 ") == 1 and done.stdout.count("saved ") == 1  # rank 0
    run = out / "dry-run" / "cnn_small"
    assert [p.name for p in run.glob("*.pt")] == ["cnn_small.pt"]
    history = checkpoints.load_checkpoint(run / "cnn_small.pt")["history"]
    # A dry run's two steps leave the network at chance: about one test digit in ten right,
    # and a loss about ln 10 = 2.303. Far from that, the figures are not the share right and
    # the mean loss over the test digits (a count, a percentage, a sum).
    (record,) = history
    assert 0.05 < record["test_acc"] < 0.3 and abs(record["test_loss"] - 2.303) < 0.2
    result = export_checkpoint(run / "cnn_small.pt", tmp_path / "exported")
    assert result.max_abs_diff < 1e-4


def test_torchrun_killed_after_epoch_one_resumes(data_dir, tmp_path):
    """Both processes pick epoch 1's checkpoint up; rank 0 says so once and writes epoch 2.
    Resuming with another schedule is refused with a message, not a traceback."""
    out = tmp_path / "runs"
    checkpoint = out / "cnn_small" / "cnn_small.pt"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(TRAINERS / "mnist.py"),
        "--arch",
        "cnn_small",
        "--workers",
        "0",
        "--epochs",
        "2",
        "--limit",
        "4096",
        "--data-dir",
        str(data_dir),
        "--out",
        str(out),
    ]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not checkpoint.exists() and child.poll() is None:
            time.sleep(0.05)
    finally:
        child.terminate()  # torchrun passes it on to both processes
        child.wait(timeout=60)
    assert [h["epoch"] for h in checkpoints.load_checkpoint(checkpoint)["history"]] == [1]

    done = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("resumed ") == 1 and done.stdout.count("epoch  2 ") == 1
    assert [h["epoch"] for h in checkpoints.load_checkpoint(checkpoint)["history"]] == [1, 2]

    longer = [*command, "--epochs", "3", "--resume"]  # the last --epochs wins
    done = subprocess.run(longer, capture_output=True, text=True, timeout=600)
    # Each process says why and exits 2; torchrun then reports the failed children.
    assert done.returncode != 0 and "exitcode  : 2" in done.stderr
    assert "mnist.py: error:" in done.stderr and "learning-rate schedule" in done.stderr
    assert "InvalidInputError" not in done.stderr  # no traceback of ours
