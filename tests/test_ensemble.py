"""``visionplay ensemble``: classifiers of one dataset combined into one checkpoint, exported
as one ONNX file whose probabilities are the mean of the members' calibrated ones."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import visionplay
from visionplay.cli.main import main
from visionplay.errors import InvalidInputError
from visionplay.models.registry import get_config
from visionplay.train.build import build_model
from visionplay.train.checkpoints import save_checkpoint
from visionplay.train.ensemble import combine
from visionplay.train.export import export_checkpoint

CALIBRATION = {"temperature": 2.5, "offsets": [0.0] * 10 + [-1.0]}


def tiny_checkpoint(path, name="mnist", seed=0, calibration=None, width=4):
    torch.manual_seed(seed)
    model = build_model(name, width=width).eval()
    return save_checkpoint(
        path,
        name=name,
        model=model,
        cfg=get_config(name),
        args={},
        history=[],
        model_kwargs={"width": width},
        calibration=calibration,
        command=f"member {seed}",
    )


def test_an_ensemble_answers_with_its_members_mean_probability(tmp_path):
    members = [
        tiny_checkpoint(tmp_path / "a.pt", seed=0, calibration=CALIBRATION),
        tiny_checkpoint(tmp_path / "b.pt", seed=1, width=6),
    ]
    combine(members, tmp_path / "ensemble.pt", command="visionplay ensemble a.pt b.pt")
    x = np.random.default_rng(0).random((5, 1, 28, 28), dtype=np.float32)
    alone = []
    for i, member in enumerate(members):
        export_checkpoint(member, tmp_path / f"alone{i}")
        alone.append(visionplay.load("mnist", tmp_path / f"alone{i}").run(x))
    assert np.abs(alone[0] - alone[1]).max() > 1e-3  # the members disagree

    export_checkpoint(tmp_path / "ensemble.pt", tmp_path / "exported")
    ensemble = visionplay.load("mnist", tmp_path / "exported")
    np.testing.assert_allclose(ensemble.run(x), (alone[0] + alone[1]) / 2, atol=1e-5)
    training = json.loads(ensemble.metadata["training"])
    assert training["command"] == "visionplay ensemble a.pt b.pt"
    assert [m["command"] for m in training["members"]] == ["member 0", "member 1"]
    assert training["members"][0]["calibration"] == CALIBRATION


def test_only_classifiers_of_one_kind_are_combined(tmp_path):
    digits = tiny_checkpoint(tmp_path / "a.pt")
    garments = tiny_checkpoint(tmp_path / "b.pt", name="fashion_mnist")
    with pytest.raises(InvalidInputError, match="models of one name"):
        combine([digits, garments], tmp_path / "out.pt")
    checkpoint = torch.load(digits, weights_only=False)
    checkpoint["cfg"] = {**checkpoint["cfg"], "mean": [0.5]}
    torch.save(checkpoint, tmp_path / "other.pt")
    with pytest.raises(InvalidInputError, match="data configs differ"):
        combine([digits, tmp_path / "other.pt"], tmp_path / "out.pt")
    with pytest.raises(InvalidInputError, match="at least two"):
        combine([digits], tmp_path / "out.pt")
    combine([digits, digits], tmp_path / "pair.pt")
    with pytest.raises(InvalidInputError, match="only single classifiers"):
        combine([tmp_path / "pair.pt", digits], tmp_path / "out.pt")
    assert not (tmp_path / "out.pt").exists()


def test_the_command_refuses_in_one_line(tmp_path, capsys):
    digits = tiny_checkpoint(tmp_path / "a.pt")
    assert (
        main(
            [
                "ensemble",
                str(digits),
                str(tmp_path / "missing.pt"),
                "--out",
                str(tmp_path / "out.pt"),
            ]
        )
        == 2
    )
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "missing.pt" in error and "Traceback" not in error
    assert main(["ensemble", str(digits), str(digits), "--out", str(tmp_path / "ok.pt")]) == 0
    assert (tmp_path / "ok.pt").is_file()
