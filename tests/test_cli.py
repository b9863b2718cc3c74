"""The command line, called in-process: answers on stdout, one-line errors on stderr."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from digits import draw
from torch.utils.data import TensorDataset

from visionplay.bench.server import free_port
from visionplay.cli.main import main
from visionplay.errors import NotInstalledError
from visionplay.tutorials.experiments import permute_pixels, permuted

ROOT = Path(__file__).resolve().parents[1]


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


LONG = "a" * 300  # longer than a file name may be (255 bytes on Linux)


def bad_argv(case: str, tmp_path, seven) -> list[str]:
    """The command line for each kind of bad input the CLI must answer in one line."""
    if case == "fifo":
        os.mkfifo(tmp_path / "pipe.png")
    (tmp_path / "a-file").touch()
    overlay_on_a_file = ["--overlay", str(tmp_path / "a-file")]
    cases = {
        "long model name": ["predict", str(seven), "-m", LONG],
        "long eval name": ["eval", LONG],
        "long image name": ["predict", str(tmp_path / f"{LONG}.png"), "-m", "mnist"],
        "directory": ["predict", str(tmp_path), "-m", "mnist"],
        "device": ["predict", "/dev/zero", "-m", "mnist"],
        "fifo": ["predict", str(tmp_path / "pipe.png"), "-m", "mnist"],
        "top-k 0": ["predict", str(seven), "-m", "mnist", "-k", "0"],
        "top-k -5": ["predict", str(seven), "-m", "mnist", "-k", "-5"],
        "eval limit 0": ["eval", "mnist", "--limit", "0"],
        "eval batch size 0": ["eval", "mnist", "--batch-size", "0"],
        # an OSError no check foresaw: the overlay folder is a file
        "overlay is a file": ["predict", str(seven), "-m", "face_keypoints", *overlay_on_a_file],
    }
    return cases[case]


EXPECTED = {
    "long model name": "no exported model",
    "long eval name": "no exported model",
    "long image name": "File name too long",
    "directory": "is a directory",
    "device": "zero is not a regular file",
    "fifo": "pipe.png is not a regular file",
    "top-k 0": "--top-k must be at least 1; got 0",
    "top-k -5": "--top-k must be at least 1; got -5",
    "eval limit 0": "--limit must be at least 1",
    "eval batch size 0": "--batch-size must be at least 1",
    "overlay is a file": "a-file: File exists",
}


@pytest.mark.parametrize("case", EXPECTED)
def test_bad_input_is_one_line_and_exit_2(case, tmp_path, seven, capsys):
    assert main(bad_argv(case, tmp_path, seven)) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err, captured.err
    assert EXPECTED[case] in captured.err and "no such image file" not in captured.err
    assert captured.out == ""  # nothing answered for a refused command


def test_eval_prints_accuracy_json(data_dir, shipped_mnist, tmp_path, capsys, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(shipped_mnist.path, models / "mnist.onnx")
    monkeypatch.setenv("VISIONPLAY_DATA", str(data_dir))
    monkeypatch.setenv("VISIONPLAY_MODELS", str(models))
    png = tmp_path / "confusion.png"
    assert main(["eval", "mnist", "--limit", "1000", "--confusion", str(png), "--record"]) == 0
    printed = capsys.readouterr()
    report = json.loads(printed.out)
    assert report["images"] == 1000 and report["dataset"] == "mnist"
    assert report["accuracy"] > 0.98
    # The ECE is at least the gap between the mean top score and the accuracy.
    assert report["ece"] >= abs(report["mean_top_score"] - report["accuracy"]) - 1e-5
    assert png.read_bytes()[:4] == b"\x89PNG"
    recorded = json.loads((models / "manifest.json").read_text())["models"]["mnist"]["eval"]
    assert recorded["accuracy"] == report["accuracy"]
    # The reader with "not a digit": how often it says so of real digits, and how it does on
    # drawings made up on seeds its trainer never drew from (as many as --limit allows).
    assert 0 <= report["test_called_not_a_digit"] < 0.01
    made_up = report["made_up"]
    assert [r["drawings"] for r in made_up.values()] == [1000] * 4
    assert made_up["not digits, held-out shapes and fonts"]["right"] > 0.9
    assert made_up["digits, trained templates, new hands"]["right"] > 0.95
    assert "| made-up drawings |" in printed.err  # the table for a reader


def test_eval_as_drawn(data_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("VISIONPLAY_DATA", str(data_dir))
    monkeypatch.chdir(tmp_path)  # the confusion matrix goes to runs/eval/ by default
    assert main(["eval", "mnist", "--as-drawn", "--limit", "200"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["split"].startswith("test, redrawn") and report["accuracy"] > 0.9
    assert (tmp_path / "runs/eval/mnist-as-drawn-confusion.png").is_file()


def test_permutation_experiment_table(data_dir, tmp_path, capsys):
    out = tmp_path / "permute"
    argv = [
        "experiment",
        "permute",
        "--limit",
        "600",
        "--workers",
        "0",
        "--data-dir",
        str(data_dir),
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "FC2(8)" in printed and "6,442" in printed and "6,422" in printed
    result = json.loads((out / "permute.json").read_text())
    assert set(result["table"]) == {"fc2", "cnn_small"}
    assert result["train_images"] == result["test_images"] == 600  # --limit, both splits
    for row in result["table"].values():
        assert set(row) == {"plain", "permuted"}
        for accuracy in row.values():
            # a share of the whole test split: a whole number of its 600 images right
            right = accuracy * result["test_images"]
            assert 0 <= right <= 600 and right == pytest.approx(round(right), abs=1e-6)
            assert f"{accuracy:.2%}" in printed  # the table printed is the one saved
    assert sorted(result["permutation"]) == list(range(28 * 28))
    images = np.array(result["examples"]["images"], np.uint8)
    assert images.shape == (8, 28, 28) and len(result["examples"]["labels"]) == 8
    plain = images[0]
    shuffled = permuted(plain, result["permutation"])
    assert not np.array_equal(plain, shuffled)
    np.testing.assert_array_equal(np.sort(plain.ravel()), np.sort(shuffled.ravel()))
    # the picture the panel shows is the one the models were trained on
    as_trained = permute_pixels(
        TensorDataset(torch.from_numpy(images[:1, None]), torch.zeros(1)),
        torch.tensor(result["permutation"]),
    ).tensors[0][0, 0]
    np.testing.assert_array_equal(as_trained.numpy(), shuffled)
    assert (out / "permute.png").read_bytes()[:4] == b"\x89PNG"


def test_predict_refuses_a_generator_in_one_line_and_does_not_offer_one(seven, capsys):
    assert main(["predict", str(seven), "--model", "mnist_gan"]) == 2
    captured = capsys.readouterr()
    assert "mnist_gan is a generator" in captured.err and captured.err.count("\n") == 1
    assert "GET /generate/mnist_gan" in captured.err and captured.out == ""
    offered = predict_flag("--model").help
    assert "mnist" in offered and "face_keypoints" in offered and "_gan" not in offered


def test_eval_compare_refuses_a_missing_folder(tmp_path, capsys):
    argv = ["eval", "timeseries", "--compare", str(tmp_path / "missing")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--compare" in err and "no such folder" in err and err.count("\n") == 1


@pytest.mark.parametrize("flag", ["--port", "--out", "--runs", "--warmup", "--batch"])
def test_the_common_flags_say_their_defaults(flag):
    """Each of these flags, wherever a command takes it, says what it means and its
    default (a required one has none to say)."""
    import argparse

    from visionplay.cli.main import build_parser

    found = []

    def walk(parser: argparse.ArgumentParser) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    walk(sub)
            elif flag in action.option_strings:
                found.append(action)

    walk(build_parser())
    assert found
    for action in found:
        assert action.help, f"{flag} has no help"
        assert action.required or "(default: %(default)s)" in action.help, action.help


def predict_flag(flag: str):
    import argparse

    from visionplay.cli.main import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return next(a for a in commands.choices["predict"]._actions if flag in a.option_strings)


def test_without_onnxruntime_load_and_the_commands_say_what_to_install(seven, capsys, monkeypatch):
    """No flavour of onnxruntime installed (the package alone, without [cpu] or [gpu])."""
    import visionplay
    from visionplay import inference

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` fails
    monkeypatch.setattr(inference, "_cache", {})  # no session opened before
    with pytest.raises(NotInstalledError, match=r"visionplay\[cpu\].*visionplay\[gpu\]"):
        visionplay.load("mnist")
    assert main(["predict", str(seven), "--model", "mnist"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("visionplay predict: error: onnxruntime is not installed: pip install")
    assert err.count("\n") == 1
    # serve says so before it starts (a child process: were it to start, the timeout ends it)
    serve = (
        "import sys; sys.modules['onnxruntime'] = None\n"
        "from visionplay.cli.main import main\n"
        f"sys.exit(main(['serve', '--port', '{free_port()}']))"
    )
    served = subprocess.run(
        [sys.executable, "-c", serve], capture_output=True, text=True, timeout=120
    )
    assert served.returncode == 2 and served.stdout == ""
    assert served.stderr.startswith("visionplay serve: error: onnxruntime is not installed")
    assert served.stderr.count("\n") == 1 and 'visionplay[cpu]"' in served.stderr


@pytest.mark.parametrize("missing", ["torch", "torchvision.datasets", "onnx", "matplotlib"])
def test_a_missing_training_package_is_one_line_naming_the_extra(missing, capsys, monkeypatch):
    """What each command that imports the training side says in an install without it
    (tests/test_wheel.py runs them in one); any other missing module stays a bug."""
    from visionplay.cli import summary

    def needs(package: str):
        def run(args) -> int:
            raise ModuleNotFoundError(f"No module named {package!r}", name=package)

        return run

    monkeypatch.setattr(summary, "run", needs(missing))
    assert main(["summary", "--list"]) == 2
    err = capsys.readouterr().err
    top = missing.partition(".")[0]
    assert err == (
        f"visionplay summary: error: this command needs the training side ({top} is not "
        'installed): pip install "visionplay[train]"\n'
    )
    monkeypatch.setattr(summary, "run", needs("no_such_module"))
    with pytest.raises(ModuleNotFoundError):
        main(["summary", "--list"])


def test_the_training_packages_named_are_the_train_extras():
    """A package added to [train] and not to TRAINING_PACKAGES would end in a traceback."""
    tomllib = pytest.importorskip("tomllib")
    from visionplay.errors import TRAINING_PACKAGES

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extra = project["optional-dependencies"]["train"]
    assert {re.split(r"[<>=\[ ;]", spec)[0] for spec in extra} == TRAINING_PACKAGES
