"""Weights checksums: checkpoints and exported files carry one, and a damaged file is refused
with one line, keeping the old export."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

import visionplay
from visionplay import integrity
from visionplay.cli.main import main
from visionplay.config import DataConfig
from visionplay.errors import VisionplayError
from visionplay.inference import models_dir
from visionplay.models.registry import get_config
from visionplay.train import checkpoints
from visionplay.train.build import build_model
from visionplay.train.export import export_checkpoint

SHIPPED = ("mnist", "fashion_mnist", "cifar10", "face_keypoints", "timeseries")


def flip(data: bytes, start: int, count: int = 2000) -> bytes:
    """``data`` with ``count`` bytes inverted from ``start``."""
    damaged = bytearray(data)
    for i in range(start, start + count):
        damaged[i] ^= 0xFF
    return bytes(damaged)


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def fc2_checkpoint(tmp_path) -> Path:
    torch.manual_seed(0)
    return checkpoints.save_checkpoint(
        tmp_path / "fc2.pt",
        name="fc2",
        model=build_model("fc2"),
        cfg=get_config("fc2"),
        args={},
        model_kwargs={},
        history=[],
    )


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_files_carry_their_checksums(name, capsys):
    data = (models_dir() / f"{name}.onnx").read_bytes()
    parts = integrity.model_parts(data)
    assert parts.metadata[integrity.WEIGHTS_KEY] == integrity.graph_sha256(parts)
    checkpoint = checkpoints.load_checkpoint(models_dir() / f"{name}.pt")
    assert checkpoint[checkpoints.WEIGHTS_KEY] == checkpoints.state_dict_sha256(checkpoint["model"])
    assert capsys.readouterr().err == ""  # no "carries no weights checksum" warning


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoints_rebuild_from_themselves(name):
    """The weights exported beside each model load into the architecture the checkpoint
    names (strictly: every key in place), with no trainer imported."""
    checkpoint = checkpoints.load_checkpoint(models_dir() / f"{name}.pt")
    model = checkpoints.model_from_checkpoint(checkpoint)
    assert set(model.state_dict()) == set(checkpoint["model"])
    assert DataConfig.from_dict(checkpoint["cfg"]).dataset == get_config(name).dataset


def test_export_writes_both_checksums(fc2_checkpoint, tmp_path):
    result = export_checkpoint(fc2_checkpoint, tmp_path / "exported")
    parts = integrity.model_parts(result.path.read_bytes())
    graph = onnx.load(result.path).graph.SerializeToString()
    assert parts.metadata[integrity.WEIGHTS_KEY] == integrity.graph_sha256(parts)
    assert bytes(parts.graph[0]) == graph  # the reader finds exactly the graph onnx reads
    shipped = checkpoints.load_checkpoint(result.path.with_suffix(".pt"))
    assert shipped[checkpoints.WEIGHTS_KEY] == torch.load(fc2_checkpoint)[checkpoints.WEIGHTS_KEY]


def test_checkpoint_with_changed_weights_is_damaged(fc2_checkpoint, tmp_path):
    state = torch.load(fc2_checkpoint)
    largest = max(state["model"].values(), key=torch.numel)
    largest.view(-1)[0] += 1.0  # the checksum stays the one saved
    changed = tmp_path / "changed.pt"
    torch.save(state, changed)
    with pytest.raises(VisionplayError, match=r"changed\.pt is damaged"):
        checkpoints.load_checkpoint(changed)


def test_checkpoint_without_checksum_is_accepted_with_a_warning(fc2_checkpoint, capsys):
    state = torch.load(fc2_checkpoint)
    del state[checkpoints.WEIGHTS_KEY]
    torch.save(state, fc2_checkpoint)
    loaded = checkpoints.load_checkpoint(fc2_checkpoint)
    assert loaded["name"] == "fc2"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "carries no weights checksum" in err


def test_flipped_checkpoint_is_refused_and_the_old_export_kept(tmp_path, capsys):
    out = tmp_path / "exported"
    out.mkdir()
    for name in ("mnist.onnx", "mnist.pt", "manifest.json"):
        shutil.copy(models_dir() / name, out / name)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    data = (models_dir() / "mnist.pt").read_bytes()
    damaged = tmp_path / "mnist.pt"
    damaged.write_bytes(flip(data, len(data) // 2))

    assert main(["export", "--onnx", str(damaged), "--out", str(out)]) == 2
    assert "mnist.pt is damaged: its weights do not match their checksum" in one_error_line(capsys)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def graph_start(data: bytes) -> tuple[int, int]:
    """Where the serialized graph (layers and weights) lies in an ONNX file's bytes."""
    graph = bytes(integrity.model_parts(data).graph[0])
    return data.index(graph), len(graph)


def test_onnx_with_flipped_weights_is_refused(tmp_path):
    data = (models_dir() / "mnist.onnx").read_bytes()
    start, size = graph_start(data)
    damaged = tmp_path / "mnist.onnx"
    damaged.write_bytes(flip(data, start + size // 2))
    with pytest.raises(integrity.DamagedModelError) as refused:
        visionplay.load(damaged)
    assert str(refused.value) == (
        "mnist.onnx is damaged: its weights do not match their checksum; re-export it"
    )
    assert str(tmp_path) not in str(refused.value)  # clients see these: no server folders


def test_intact_copy_loads_and_answers_as_the_shipped_model(tmp_path, shipped_mnist):
    copy = tmp_path / "mnist.onnx"
    shutil.copy(models_dir() / "mnist.onnx", copy)
    batch = np.random.default_rng(0).random((2, 1, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(visionplay.load(copy).run(batch), shipped_mnist.run(batch))


def test_onnx_without_checksum_loads(tmp_path):
    proto = onnx.load(models_dir() / "mnist.onnx")
    kept = [e for e in proto.metadata_props if e.key != integrity.WEIGHTS_KEY]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    older = tmp_path / "older.onnx"
    onnx.save(proto, older)
    assert visionplay.load(older).cfg.task == "classification"


def bad_checkpoint(kind: str, tmp_path: Path) -> Path:
    data = (models_dir() / "mnist.pt").read_bytes()
    contents = {
        "truncated": data[: len(data) // 2],
        "empty": b"",
        "random": np.random.default_rng(0).bytes(5000),
        "text": b"these are not the weights\nyou are looking for\n",
    }
    path = tmp_path / f"{kind}.pt"
    path.write_bytes(contents[kind])
    return path


@pytest.mark.parametrize("kind", ["truncated", "empty", "random", "text"])
def test_export_of_a_file_that_is_no_checkpoint_is_one_line(kind, tmp_path, capsys):
    path = bad_checkpoint(kind, tmp_path)
    assert main(["export", "--onnx", str(path), "--out", str(tmp_path / "out")]) == 2
    assert f"{kind}.pt is not a visionplay checkpoint (" in one_error_line(capsys)
    assert not (tmp_path / "out").exists()


class RunsCode:
    """A pickle that would create a file if unpickled with code allowed."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_a_checkpoint_cannot_run_code(tmp_path):
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.pt"
    torch.save({"name": "fc2", "cfg": {}, "model_kwargs": {}, "model": RunsCode(marker)}, evil)
    with pytest.raises(VisionplayError, match="evil.pt is not a visionplay checkpoint"):
        checkpoints.load_checkpoint(evil)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("contents", "reason"),
    [([1, 2], "it holds a list"), ({"model": {}}, "no name, cfg, model_kwargs")],
)
def test_a_torch_file_that_is_no_checkpoint(contents, reason, tmp_path):
    path = tmp_path / "other.pt"
    torch.save(contents, path)
    with pytest.raises(VisionplayError, match=reason):
        checkpoints.load_checkpoint(path)
