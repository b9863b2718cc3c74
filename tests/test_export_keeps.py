"""Export never loses a model: it refuses a dry run's checkpoint or a worse one over a model
already there (unless forced), keeps what it replaces one step back, and puts it back with
one command. The checkpoints are untrained FC2s with made-up training records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from visionplay.cli.main import main as cli
from visionplay.errors import VisionplayError
from visionplay.manifest import KEPT_ENTRY, PREVIOUS, read_manifest
from visionplay.models.registry import get_config
from visionplay.tasks import TASKS
from visionplay.train.build import build_model
from visionplay.train.checkpoints import save_checkpoint
from visionplay.train.export import export_checkpoint

NAME = "fc2"


def checkpoint(folder: Path, seed: int, test_acc: float, dry_run: bool = False) -> Path:
    """An FC2 checkpoint whose last epoch recorded ``test_acc``."""
    torch.manual_seed(seed)
    return save_checkpoint(
        folder / f"{NAME}-{seed}.pt",
        name=NAME,
        model=build_model(NAME),
        cfg=get_config(NAME),
        args={"dry_run": dry_run},
        model_kwargs={},
        history=[
            {
                "epoch": 1,
                "train_loss": 1.0,
                "train_acc": 0.5,
                "test_loss": 1.0,
                "test_acc": test_acc,
            }
        ],
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    """The model folder's files (not what is kept one step back)."""
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.fixture
def shipped(tmp_path) -> Path:
    """A models folder holding an FC2 that recorded 90% on the test set."""
    folder = tmp_path / "exported"
    result = export_checkpoint(checkpoint(tmp_path, 0, 0.9), folder)
    assert result.kept is None  # nothing was there to keep
    return folder


def test_a_dry_run_or_a_worse_model_does_not_replace_one_unless_forced(shipped, tmp_path):
    before = snapshot(shipped)
    with pytest.raises(VisionplayError, match="a dry run's checkpoint .* --force"):
        export_checkpoint(checkpoint(tmp_path, 1, 0.95, dry_run=True), shipped)
    with pytest.raises(VisionplayError, match=r"accuracy 80\.00%, worse than .* 90\.00%"):
        export_checkpoint(checkpoint(tmp_path, 2, 0.8), shipped)
    assert snapshot(shipped) == before and not (shipped / PREVIOUS).exists()
    # the command line says so in one line, exit 2
    assert cli(["export", "--onnx", str(tmp_path / f"{NAME}-2.pt"), "--out", str(shipped)]) == 2

    forced = export_checkpoint(tmp_path / f"{NAME}-2.pt", shipped, force=True)
    assert forced.kept == shipped / PREVIOUS / NAME
    assert read_manifest(shipped)["models"][NAME]["training"]["test_acc"] == 0.8


def test_a_dry_run_goes_where_no_model_is(tmp_path):
    result = export_checkpoint(checkpoint(tmp_path, 1, 0.1, dry_run=True), tmp_path / "mine")
    assert result.path.is_file() and result.kept is None


def test_what_export_replaces_is_kept_and_restored_by_one_command(shipped, tmp_path, capsys):
    before, entry = snapshot(shipped), read_manifest(shipped)["models"][NAME]
    better = export_checkpoint(checkpoint(tmp_path, 3, 0.95), shipped)  # better: no --force
    kept = shipped / PREVIOUS / NAME
    assert better.kept == kept
    files = {name: data for name, data in before.items() if name != "manifest.json"}
    assert {p.name: p.read_bytes() for p in kept.iterdir() if p.name != KEPT_ENTRY} == files
    assert json.loads((kept / KEPT_ENTRY).read_text())["entry"] == entry
    replaced, replaced_entry = snapshot(shipped), read_manifest(shipped)["models"][NAME]
    assert replaced != before

    capsys.readouterr()
    assert cli(["export", "--restore", NAME, "--out", str(shipped)]) == 0
    assert "restored" in capsys.readouterr().out
    assert snapshot(shipped) == before
    assert read_manifest(shipped)["models"][NAME] == entry
    # the model the restore replaced is kept in its turn: a second restore swaps them back
    assert cli(["export", "--restore", NAME, "--out", str(shipped)]) == 0
    assert snapshot(shipped) == replaced
    assert read_manifest(shipped)["models"][NAME] == replaced_entry


@pytest.mark.parametrize(
    ("name", "message"),
    [("mnist", "no earlier mnist is kept"), ("../fc2", "is not a model name")],
)
def test_a_restore_of_nothing_or_of_a_path_is_refused_in_one_line(shipped, capsys, name, message):
    assert cli(["export", "--restore", name, "--out", str(shipped)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_each_tasks_figure_knows_which_way_is_better():
    accuracy, nme = TASKS["classification"].figure, TASKS["keypoints"].figure
    assert accuracy.worse(0.8, 0.9) and not accuracy.worse(0.9, 0.9)
    assert nme.worse(0.06, 0.05) and not nme.worse(0.04, 0.05)
    assert TASKS["forecast"].figure.worse(0.003, 0.002)
    assert TASKS["generation"].figure.worse(0.5, 0.97)
    # the training record first; an ensemble's, which has none, from its evaluation
    assert accuracy.recorded({"training": {"test_acc": 0.9, "train_acc": 1.0}}) == (
        "training",
        0.9,
    )
    assert accuracy.recorded({"training": {"members": []}, "eval": {"accuracy": 0.99}}) == (
        "eval",
        0.99,
    )
    entry = {"training": {"val_nme": 0.05}}
    assert nme.recorded(entry) == ("training", 0.05) and accuracy.recorded({}) is None
