"""Trainer settings: the flags parse into one frozen dataclass whose defaults are the
recipe, and whose fields are exactly the ``args`` a checkpoint stores."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest
from test_trainer import trainer

from visionplay.train.settings import TrainingSettings, add_training_args, parse_training_args

TRAINERS = ("mnist", "fashion_mnist", "cifar10", "face_keypoints", "timeseries")


@pytest.mark.parametrize("name", TRAINERS)
def test_no_flags_give_the_recipe(name):
    module = trainer(name)
    settings = module.parse_settings([])
    assert dataclasses.asdict(settings) == dataclasses.asdict(
        type(settings)(**module.RECIPE)
    )  # the flags' defaults and the dataclass's agree
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.epochs = 1


def parser() -> argparse.ArgumentParser:
    return add_training_args(
        argparse.ArgumentParser(),
        "mnist",
        arch="mnist",
        epochs=15,
        batch_size=128,
        lr=3e-3,
        weight_decay=5e-2,
    )


def test_a_dry_run_is_one_epoch_on_a_few_images():
    settings = parse_training_args(parser(), ["--dry-run", "--out", "elsewhere"])
    assert (settings.epochs, settings.limit, settings.dry_run) == (1, 512, True)
    assert settings.checkpoint_path == Path("elsewhere/mnist/mnist.pt")
    assert parse_training_args(parser(), ["--dry-run", "--limit", "64"]).limit == 64


def test_every_flag_is_a_field():
    """A flag the dataclass lacks would vanish from the checkpoint's args: refused."""
    extended = parser()
    extended.add_argument("--colour", default="red")
    with pytest.raises(TypeError, match="colour"):
        parse_training_args(extended, [])
    assert {f.name for f in dataclasses.fields(TrainingSettings)} == set(
        vars(parser().parse_args([]))
    )


def test_trainer_flags_of_their_own_reach_the_model_kwargs():
    faces = trainer("face_keypoints").parse_settings(["--pretrained"])
    assert faces.pretrained and faces.model_kwargs == {"pretrained": True}
    forecast = trainer("timeseries").parse_settings(["--horizon", "3"])
    assert forecast.horizon == 3 and forecast.model_kwargs == {"horizon": 3}
    assert "horizon" in dataclasses.asdict(forecast)  # stored with the checkpoint's args
