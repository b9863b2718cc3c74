"""Trainer settings: each flag is made from a field of a frozen dataclass (its name, type,
default and help), a trainer's recipe changes the defaults, and what the flags parse into
is exactly the ``args`` a checkpoint stores."""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_trainer import trainer

from visionplay.train.settings import (
    TrainingSettings,
    add_flags,
    add_training_args,
    parse_training_args,
    setting,
)

TRAINERS = ("mnist", "fashion_mnist", "cifar10", "face_keypoints", "timeseries", "gan")
RECIPE = dict(arch="mnist", epochs=15, batch_size=128, lr=3e-3, weight_decay=5e-2)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Toy:
    name: str
    size: int = setting(3, "how big", metavar="N")
    scale: float | None = None
    where: Path = Path("here")
    options: dict[str, Any] = setting(factory=dict)
    loud: bool = False
    colour: bool = True


def toy(argv: list[str], **defaults: Any) -> Toy:
    parser = add_flags(argparse.ArgumentParser(), Toy, defaults=defaults)
    return Toy(**vars(parser.parse_args(argv)))


def parser() -> argparse.ArgumentParser:
    return add_training_args(argparse.ArgumentParser(), "mnist", **RECIPE)


def test_flags_parse_into_the_fields():
    settings = toy(
        ["--name", "x", "--size", "4", "--scale", "0.5", "--where", "there"]
        + ["--options", '{"widths": [8]}', "--loud", "--no-colour"]
    )
    assert settings == Toy(
        name="x",
        size=4,
        scale=0.5,
        where=Path("there"),
        options={"widths": [8]},
        loud=True,
        colour=False,
    )


def test_defaults_and_help_come_from_the_field():
    assert toy(["--name", "x"]) == Toy(name="x")
    text = add_flags(argparse.ArgumentParser(), Toy).format_help()
    assert "--size N" in text and "how big" in text
    assert "--no-colour" in text and "--loud" in text  # a switch away from the default


def test_a_recipe_default_overrides_the_fields_and_a_flag_the_recipe():
    assert toy([], name="x", size=5).size == 5
    assert toy(["--size", "7"], name="x", size=5).size == 7
    assert toy(["--colour"], name="x", colour=False).colour  # the switch turns around


def test_a_field_without_a_default_is_a_required_flag(capsys):
    with pytest.raises(SystemExit):
        toy([])
    assert "the following arguments are required: --name" in capsys.readouterr().err


def test_a_recipe_for_no_field_is_refused():
    with pytest.raises(TypeError, match="no field epoch$"):
        add_training_args(argparse.ArgumentParser(), "mnist", **RECIPE, epoch=3)


def test_a_field_of_a_type_without_a_parser_needs_one_in_its_metadata():
    @dataclasses.dataclass
    class Pair:
        pair: tuple[int, int] = (1, 2)

    with pytest.raises(TypeError, match="give the field a 'type'"):
        add_flags(argparse.ArgumentParser(), Pair)

    @dataclasses.dataclass
    class Parsed:
        pair: tuple[int, int] = setting((1, 2), type=lambda t: tuple(map(int, t.split(","))))

    assert add_flags(argparse.ArgumentParser(), Parsed).parse_args(["--pair", "3,4"]).pair == (3, 4)


@pytest.mark.parametrize(
    ("name", "argv", "message"),
    [
        ("mnist", ["--epochs", "many"], "argument --epochs: invalid int value: 'many'"),
        ("mnist", ["--arch", "nope"], "argument --arch: invalid choice: 'nope'"),
        ("cifar10", ["--model-kwargs", "{oops"], "argument --model-kwargs: invalid loads value"),
        ("gan", ["--average-last", "0"], "must be a whole number, 1 or more; got '0'"),
    ],
)
def test_bad_values_give_a_one_line_error(name, argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        trainer(name).parse_settings(argv)
    last = capsys.readouterr().err.splitlines()[-1]
    assert exit_.value.code == 2 and ": error: " in last and message in last


@pytest.mark.parametrize("name", TRAINERS)
def test_no_flags_give_the_recipe(name):
    module = trainer(name)
    settings = module.parse_settings([])
    assert settings == type(settings)(**module.RECIPE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.epochs = 1


def test_the_flags_are_the_fields_the_checkpoint_stores():
    """A trainer's own fields are flags too, so ``asdict`` holds every flag given."""
    module = trainer("mnist")
    settings = module.parse_settings(["--not-digits", "5"])
    assert settings.not_digits == 5 and dataclasses.asdict(settings)["not_digits"] == 5
    assert set(vars(parser().parse_args([]))) == {
        f.name for f in dataclasses.fields(TrainingSettings)
    }


def test_a_dry_run_is_one_epoch_on_a_few_images(capsys):
    settings = parse_training_args(parser(), ["--dry-run", "--out", "elsewhere"])
    said = capsys.readouterr().out  # where it writes, and that it is not where a real run does
    assert said.startswith("dry run:") and "elsewhere/dry-run/mnist/" in said
    assert "not elsewhere/mnist/" in said and "--force" in said
    parse_training_args(parser(), ["--out", "elsewhere"])
    assert capsys.readouterr().out == ""
    assert (settings.epochs, settings.limit, settings.dry_run) == (1, 512, True)
    # apart from a real run's, which `visionplay export` takes by default
    assert settings.checkpoint_path == Path("elsewhere/dry-run/mnist/mnist.pt")
    assert parse_training_args(parser(), ["--dry-run", "--limit", "64"]).limit == 64


def test_trainer_flags_of_their_own_reach_the_model_kwargs():
    faces = trainer("face_keypoints").parse_settings(["--pretrained"])
    assert faces.pretrained and faces.model_kwargs == {"pretrained": True}
    forecast = trainer("timeseries").parse_settings(["--horizon", "3"])
    assert forecast.horizon == 3 and forecast.model_kwargs == {"horizon": 3}
    assert "horizon" in dataclasses.asdict(forecast)  # stored with the checkpoint's args


def test_the_command_line_builds_its_flags_without_torch():
    """``visionplay experiment``'s flags come from the settings, which serving may import."""
    script = (
        "import sys\n"
        "from visionplay.cli.main import build_parser\n"
        "args = build_parser().parse_args(['experiment', 'permute', '--epochs', '2'])\n"
        "from visionplay.tutorials.experiments import permutation_settings\n"
        "print(permutation_settings(args).epochs, 'torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "False"]
