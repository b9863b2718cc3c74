"""The generators through ``load()``: deterministic per seed, walks, clear refusals, and a
dry-run train -> export -> generate."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import visionplay
from visionplay.errors import InvalidInputError
from visionplay.models.generators import ProjectionDiscriminator
from visionplay.models.registry import get_config
from visionplay.tasks import Generator
from visionplay.tasks.generation import picture_grid, slerp
from visionplay.train.build import build_model
from visionplay.train.checkpoints import save_checkpoint
from visionplay.train.export import export_checkpoint
from visionplay.train.gan import (
    GeneratorTerms,
    class_hinge,
    class_spreads,
    mode_seeking_penalty,
    spread_shortfall,
)

TRAINER = Path(__file__).parents[1] / "trainers" / "gan.py"


@pytest.fixture(scope="module")
def generator(tmp_path_factory) -> Generator:
    """An untrained fashion_gan, exported: its pictures are noise, its contract is not."""
    folder = tmp_path_factory.mktemp("gan")
    torch.manual_seed(0)
    model = build_model("fashion_gan").eval()
    checkpoint = save_checkpoint(
        folder / "fashion_gan.pt",
        name="fashion_gan",
        model=model,
        cfg=get_config("fashion_gan"),
        args={},
        model_kwargs={},
        history=[],
    )
    export_checkpoint(checkpoint, folder / "exported")
    return visionplay.load("fashion_gan", folder / "exported")


def test_the_same_seed_draws_the_same_pictures(generator):
    first = generator.generate([0, 3, 9], seed=7)
    assert first.shape == (3, 28, 28) and first.dtype == np.uint8
    np.testing.assert_array_equal(first, generator.generate([0, 3, 9], seed=7))
    assert not np.array_equal(first, generator.generate([0, 3, 9], seed=8))
    # A seed starts the same way whatever the count.
    np.testing.assert_array_equal(first[:2], generator.generate([0, 3], seed=7))


def test_labels_by_name_or_index(generator):
    np.testing.assert_array_equal(
        generator.generate(["Trouser", "Bag"], seed=1), generator.generate([1, "8"], seed=1)
    )
    assert generator.predict("Sandal").shape == (28, 28)


def test_a_walk_goes_from_one_seed_to_the_other(generator):
    strip = generator.walk("Dress", seed_from=1, seed_to=2, steps=6)
    assert strip.shape == (6, 28, 28)
    np.testing.assert_array_equal(strip[0], generator.generate(["Dress"], seed=1)[0])
    np.testing.assert_array_equal(strip[-1], generator.generate(["Dress"], seed=2)[0])
    start, end = np.ones(4, np.float32), -np.arange(4, dtype=np.float32)
    ends = slerp(start, end, np.array([0.0, 1.0], np.float32))
    np.testing.assert_allclose(ends, [start, end], atol=1e-6)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda g: g.generate(["cat"]), "no class 'cat'"),
        (lambda g: g.generate([10]), "no class 10"),
        (lambda g: g.generate([-1]), "no class -1"),
        (lambda g: g.generate([True]), "no class True"),
        (lambda g: g.generate([]), "1 to 4096 pictures"),
        (lambda g: g.generate([0] * 4097), "1 to 4096 pictures"),
        (lambda g: g.generate([0], seed=-1), "seed must be"),
        (lambda g: g.generate([0], seed=1.5), "seed must be"),
        (lambda g: g.walk(0, 1, 2, steps=1), "2 to 64 steps"),
        (lambda g: g.run(np.zeros((2, 3), np.float32), np.zeros(2, np.int64)), "shape (N, 64)"),
        (lambda g: g.run(np.full((1, 64), np.nan, np.float32), np.zeros(1)), "finite"),
        (lambda g: g.run(np.zeros((2, 64), np.float32), np.zeros(3)), "one label per z"),
    ],
)
def test_bad_requests_are_refused_in_one_line(generator, call, message):
    with pytest.raises(InvalidInputError) as caught:
        call(generator)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_the_grid_holds_every_picture(generator):
    pictures = generator.generate(list(range(10)), seed=0)
    sheet = np.asarray(picture_grid(pictures, columns=5, gap=2))
    assert sheet.shape == (2 * 30 + 2, 5 * 30 + 2)
    np.testing.assert_array_equal(sheet[2:30, 2:30], pictures[0])
    np.testing.assert_array_equal(sheet[32:60, 122:150], pictures[9])


def gan_trainer():
    spec = importlib.util.spec_from_file_location("gan_trainer", TRAINER)
    trainer = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = trainer
    spec.loader.exec_module(trainer)
    return trainer


def test_each_generator_trains_by_its_own_recipe():
    trainer = gan_trainer()
    digits = trainer.parse_settings([])
    assert (digits.arch, digits.epochs, digits.model_kwargs) == ("mnist_gan", 12, {})
    assert (digits.discriminator_width, digits.discriminator_lr) == (16, None)
    garments = trainer.parse_settings(["--arch", "fashion_gan"])
    recipe = {key: getattr(garments, key) for key in trainer.GARMENT_RECIPE}
    assert recipe == trainer.GARMENT_RECIPE and recipe != {k: getattr(digits, k) for k in recipe}
    assert (garments.batch_size, garments.lr) == (digits.batch_size, digits.lr)  # the rest stays
    mine = trainer.parse_settings(
        ["--arch", "fashion_gan", "--epochs", "3", "--discriminator-width", "8"]
    )
    assert (mine.epochs, mine.discriminator_width, mine.discriminator_lr) == (3, 8, 4e-4)
    assert (mine.average_last, mine.class_loss) == (3, 0.5)  # the recipe's, under the flags


def test_mode_seeking_pays_for_pictures_of_one_class_lying_apart():
    torch.manual_seed(0)
    z, labels = torch.randn(8, 4), torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    alike = torch.zeros(8, 1, 2, 2)
    apart = torch.rand(8, 1, 2, 2)
    assert mode_seeking_penalty(apart, z, labels) < mode_seeking_penalty(alike, z, labels)
    # Only neighbours of one class are pairs: (0, 1) here, drawn alike.
    mixed = torch.tensor([5, 5, 1, 2, 3, 4, 6, 7])
    one_pair = apart.clone()
    one_pair[1] = one_pair[0]
    assert mode_seeking_penalty(one_pair, z, mixed) == mode_seeking_penalty(alike, z, labels)
    trainer = gan_trainer()
    assert trainer.parse_settings([]).mode_seeking == 0
    late = trainer.parse_settings(["--mode-seeking", "0.5", "--terms-from", "9"])
    assert (late.mode_seeking, late.terms_from) == (0.5, 9)


def test_the_spread_floor_pays_only_for_classes_drawn_closer_than_real_ones():
    # Real pictures: class 0 all alike, class 1 half black and half white.
    real = torch.zeros(8, 1, 2, 2)
    real[6:] = 1
    spreads = class_spreads(real, torch.tensor([0, 0, 0, 0, 1, 1, 1, 1]), 2, pairs=4000)
    assert spreads[0] == 0 and spreads[1] == pytest.approx(0.5, abs=0.03)

    spreads = torch.tensor([0.5, 0.5])
    labels = torch.tensor([0, 0, 1, 1, 1])
    fake = torch.zeros(5, 1, 2, 2)
    fake[1] = 0.5  # class 0's pair lies as far apart as real ones
    assert spread_shortfall(fake, labels, spreads) == 0.5  # class 1's lie together: (0 + 1) / 2
    fake[3] = 1  # class 1's pairs: 1, 0 and 1 apart, farther on average than real ones
    assert spread_shortfall(fake, labels, spreads) == 0
    fake[3] = 0.3  # class 1's pairs: 0.3, 0 and 0.3 apart, 0.2 on average: 60 % short
    assert spread_shortfall(fake, labels, spreads) == pytest.approx(0.3)  # (0 + 0.6) / 2
    assert gan_trainer().parse_settings(["--spread-floor", "2"]).spread_floor == 2
    # A batch's last pictures may hold no two of one class: no pay, and no NaN.
    strangers = torch.tensor([0, 1, 2])
    assert spread_shortfall(fake[:3], strangers, torch.full((3,), 0.5)) == 0
    assert mode_seeking_penalty(fake[:3], torch.randn(3, 4), strangers) == 0


def test_the_class_loss_pays_for_pictures_the_discriminator_reads_as_another_class():
    torch.manual_seed(0)
    pictures, labels = torch.rand(8, 1, 28, 28), torch.arange(8) % 3
    plain = ProjectionDiscriminator(num_classes=3, width=4)
    scores, logits = plain(pictures, labels)
    assert scores.shape == (8,) and logits is None
    classifying = ProjectionDiscriminator(num_classes=3, width=4, classify=True)
    scores, logits = classifying(pictures, labels)
    assert scores.shape == (8,) and logits.shape == (8, 3)

    sure = torch.nn.functional.one_hot(labels, 3).float() * 5  # read as asked, by 5 logits
    wrong = sure.roll(1, dims=1)  # read as the next class, by 5 logits
    z = torch.randn(8, 4)
    assert class_hinge(sure, labels) == 0 and class_hinge(sure, labels, margin=5) == 0
    assert class_hinge(sure, labels, margin=6) == 1  # wins, but by 1 too little
    assert class_hinge(wrong, labels) == 5 and class_hinge(wrong, labels, margin=1) == 6
    mixed = torch.where((labels == 0)[:, None], wrong, sure)  # 3 of 8 misread
    assert class_hinge(mixed, labels) == pytest.approx(5 * 3 / 8)
    assert GeneratorTerms(class_loss=2.0)(pictures, z, labels, wrong) == 10
    assert GeneratorTerms(class_loss=2.0, class_margin=1)(pictures, z, labels, sure) == 0
    assert GeneratorTerms()(pictures, z, labels, wrong) == 0
    mine = gan_trainer().parse_settings(["--class-loss", "0.5", "--class-margin", "2"])
    assert (mine.class_loss, mine.class_margin) == (0.5, 2)


def test_dry_run_trains_exports_and_generates(data_dir, tmp_path):
    last = gan_trainer().main(
        ["--dry-run", "--workers", "0", "--data-dir", str(data_dir), "--out", str(tmp_path)]
    )
    assert {"d_loss", "g_loss", "conditional_accuracy", "frechet_distance"} <= set(last)
    run = tmp_path / "dry-run" / "mnist_gan"
    assert (run / "samples-001.png").is_file() and (run / "metrics.json").is_file()

    export_checkpoint(run / "mnist_gan.pt", tmp_path / "exported")
    served = visionplay.load("mnist_gan", tmp_path / "exported")
    assert served.generate(list(range(10)), seed=3).shape == (10, 28, 28)
    assert served.metadata["task"] == "generation"


def test_resume_continues_the_same_run(data_dir, tmp_path):
    flags = [
        "--arch",
        "fashion_gan",
        "--limit",
        "256",
        "--workers",
        "0",
        "--lr",
        "5e-4",
        "--discriminator-width",
        "8",
        "--discriminator-lr",
        "1e-3",
        "--spread-floor",
        "1",
        "--terms-from",
        "2",
        "--class-loss",
        "1",
        "--average-last",
        "2",
        "--data-dir",
        str(data_dir),
        "--out",
        str(tmp_path),
    ]
    trainer = gan_trainer()
    trainer.main([*flags, "--epochs", "2"])
    straight = json.loads((tmp_path / "fashion_gan" / "metrics.json").read_text())["epochs"]

    again = tmp_path / "again"
    trainer.main([*flags, "--epochs", "1", "--out", str(again)])
    checkpoint = torch.load(again / "fashion_gan" / "fashion_gan.pt", weights_only=True)
    adversaries = checkpoint["optimizer"]
    assert {"discriminator", "g_optimizer", "d_optimizer", "average"} <= set(adversaries)
    # What ships after two epochs is the mean of the generator's weights at their ends.
    first = checkpoint["model"]
    two = torch.load(tmp_path / "fashion_gan" / "fashion_gan.pt", weights_only=True)
    shipped, last = two["model"], two["optimizer"]["generator"]
    for key in ("1.embed.weight", "1.project.1.running_mean"):  # weights and statistics
        assert not torch.equal(shipped[key], last[key])
        assert torch.allclose(shipped[key], (first[key] + last[key]) / 2, atol=1e-6)
    first_layer = adversaries["discriminator"]["features.0.bias"]
    assert first_layer.shape == (8,) and "classify.weight" in adversaries["discriminator"]
    assert adversaries["d_optimizer"]["param_groups"][0]["lr"] == 1e-3
    assert adversaries["g_optimizer"]["param_groups"][0]["lr"] == 5e-4
    others = {
        "--discriminator-width 8": ["--discriminator-width", "16"],
        "--class-loss 1.0": ["--class-loss", "0"],
        "--model-kwargs '{}'": ["--model-kwargs", '{"width": 8}'],
    }
    for trained, other in others.items():
        with pytest.raises(InvalidInputError, match=trained):
            trainer.main([*flags, "--epochs", "2", "--out", str(again), "--resume", *other])
    trainer.main([*flags, "--epochs", "2", "--out", str(again), "--resume"])
    resumed = json.loads((again / "fashion_gan" / "metrics.json").read_text())["epochs"]
    assert len(resumed) == 2
    with pytest.raises(InvalidInputError, match="averages the generator over its last 2 of 2"):
        trainer.main([*flags, "--epochs", "3", "--out", str(again), "--resume"])
    for key in ("d_loss", "g_loss", "conditional_accuracy"):
        assert resumed[-1][key] == pytest.approx(straight[-1][key], rel=1e-4)


def test_torchrun_trains_with_every_generator_term(data_dir, tmp_path):
    """DDP over gloo wants every parameter in each step's graph: the discriminator's
    classifier is, in epoch 1 where the class term weighs 0 as in epoch 2 where it counts."""
    out = tmp_path / "runs"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(TRAINER),
        "--arch",
        "fashion_gan",
        "--limit",
        "256",
        "--epochs",
        "2",
        "--workers",
        "0",
        "--discriminator-width",
        "8",
        "--class-loss",
        "1",
        "--spread-floor",
        "1",
        "--mode-seeking",
        "0.25",
        "--terms-from",
        "2",
        "--data-dir",
        str(data_dir),
        "--out",
        str(out),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "x 2 processes" in done.stdout and done.stdout.count("saved ") == 1
    history = json.loads((out / "fashion_gan" / "metrics.json").read_text())["epochs"]
    assert [h["epoch"] for h in history] == [1, 2]
