"""Trained classifiers of one dataset -> one checkpoint that answers with the mean of their
calibrated probabilities (:class:`~visionplay.models.ensemble.MeanOfProbabilities`).
Export turns it into one ONNX file like any other classifier's."""

from __future__ import annotations

import os
from pathlib import Path

from ..config import DataConfig
from ..errors import InvalidInputError
from ..models.ensemble import MeanOfProbabilities
from ..tasks import task_class
from .checkpoints import load_checkpoint, member_model, save_checkpoint

MEMBER_KEYS = (
    "name",
    "arch",
    "model_kwargs",
    "calibration",
    "command",
    "history",
    "args",
    "torch_version",
)


def combine(
    paths: list[str | os.PathLike], out: str | os.PathLike, command: str | None = None
) -> Path:
    """Save at ``out`` the ensemble of the classifier checkpoints at ``paths``: the same
    name and data config, each member's weights and calibration kept, its training record
    in the checkpoint's ``members``."""
    if len(paths) < 2:
        raise InvalidInputError("an ensemble needs at least two checkpoints")
    checkpoints = [load_checkpoint(p) for p in paths]
    first = checkpoints[0]
    for path, checkpoint in zip(paths[1:], checkpoints[1:], strict=True):
        if checkpoint["name"] != first["name"]:
            raise InvalidInputError(
                f"{path} is a {checkpoint['name']} model and {paths[0]} a {first['name']}: "
                "an ensemble's members must be models of one name"
            )
        if checkpoint["cfg"] != first["cfg"]:
            raise InvalidInputError(
                f"{path} and {paths[0]} read their input differently (their data configs "
                "differ): an ensemble's members must share one"
            )
    cfg = DataConfig.from_dict(first["cfg"])
    if not task_class(cfg.task).softmax or any(c.get("members") for c in checkpoints):
        raise InvalidInputError("only single classifiers can be combined into an ensemble")
    members = [{k: c.get(k) for k in MEMBER_KEYS} for c in checkpoints]
    model = MeanOfProbabilities([member_model(m) for m in members])
    for built, checkpoint in zip(model.members, checkpoints, strict=True):
        built[0].load_state_dict(checkpoint["model"])  # [1]: its calibration
    return save_checkpoint(
        out,
        name=first["name"],
        model=model,
        cfg=cfg,
        history=[],
        model_kwargs={},
        args={"members": [str(p) for p in paths]},
        members=members,
        command=command,
    )
