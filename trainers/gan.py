"""Train a class-conditional GAN from the registry on MNIST or Fashion-MNIST (seed 005's
last task).

    python trainers/gan.py                         # mnist_gan, its recipe
    python trainers/gan.py --arch fashion_gan      # the garment generator, its recipe
    python trainers/gan.py --dry-run               # one epoch on 512 pictures
    torchrun --nproc-per-node 2 trainers/gan.py    # one process per device

The generator learns from the training pictures as the dataset's shipped classifier reads
them (its preprocessing); that classifier (exported/<reader>.onnx) also reads each
epoch's samples: conditional accuracy, Frechet distance, diversity (visionplay.train.
generated). Writes <out>/<arch>/<arch>.pt (resumable: the discriminator and optimizers
are in it), metrics.json, curves.png and samples-NNN.png (fixed seeds, a class a column).
Then: visionplay export --onnx <out>/<arch>/<arch>.pt, and visionplay eval <arch>.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from visionplay.inference import load
from visionplay.models.generators import ProjectionDiscriminator
from visionplay.models.registry import get_config, list_models
from visionplay.train import generated
from visionplay.train.build import build_model
from visionplay.train.data import load_splits
from visionplay.train.gan import Adversaries, GanSettings, fit_gan
from visionplay.train.loop import describe_run, log, pick_device, seed_everything
from visionplay.train.settings import add_training_args, exit_on_error, parse_training_args

RECIPE = dict(arch="mnist_gan", epochs=12, batch_size=64, lr=2e-4, weight_decay=0.0)
# What the garments' recipe changes: with the digits' discriminator, the garments' stopped
# telling real from generated after a few epochs (hinge loss near 2: every score near 0).
GARMENT_RECIPE = dict(
    discriminator_width=32,
    discriminator_lr=4e-4,
    epochs=15,
    # From epoch 9: terms for garments read as asked and varied ones; the generator
    # shipped is its mean over the last three epochs, which swing less than any one.
    terms_from=9,
    class_loss=0.5,
    mode_seeking=0.25,
    spread_floor=5.0,
    average_last=3,
)
RECIPES = {"fashion_gan": GARMENT_RECIPE}  # --arch: what its defaults change
SAMPLES_PER_CLASS = 100  # pictures of each class measured every epoch


def parse_settings(argv: list[str] | None = None) -> GanSettings:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    generators = [n for n in list_models() if get_config(n).task == "generation"]
    add_training_args(parser, "", GanSettings, archs=generators, **RECIPE)
    parser.set_defaults(**RECIPES.get(parser.parse_known_args(argv)[0].arch, {}))
    return parse_training_args(parser, argv, GanSettings)


def main(argv: list[str] | None = None) -> dict:
    settings = parse_settings(argv)
    seed_everything(settings.seed)
    device = pick_device(settings.device)

    # Data: the training pictures as the dataset's classifier sees them; the test
    # pictures' features are what the samples are measured against.
    cfg = get_config(settings.arch)
    reader = load(cfg.settings.reader)
    train_set, test_set = load_splits(reader.cfg, settings)
    test_pictures, test_labels = (t.numpy() for t in test_set.tensors)
    real_features = generated.features(generated.read(reader, test_pictures))

    def measure(pictures: np.ndarray, labels: np.ndarray) -> dict[str, float]:
        read = generated.read(reader, pictures)
        return generated.quality(read, labels, real_features, test_labels)

    # Models: the generator from the registry, its discriminator beside it.
    generator = build_model(settings.arch, **settings.model_kwargs).to(device)
    discriminator = ProjectionDiscriminator(
        cfg.num_classes, settings.discriminator_width, classify=settings.class_loss > 0
    ).to(device)
    log(describe_run(settings.arch, generator, len(train_set), device))
    adversaries = Adversaries(generator, discriminator, settings.lr, settings.discriminator_lr)

    history = fit_gan(
        adversaries,
        train_set,
        settings=settings,
        cfg=cfg,
        device=device,
        measure=measure,
        per_class=SAMPLES_PER_CLASS,
    )
    return history[-1] if history else {}


if __name__ == "__main__":
    torch.backends.cudnn.benchmark = True
    exit_on_error(main)
