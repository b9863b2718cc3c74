"""Train a Fashion-MNIST classifier from the registry on the real Fashion-MNIST.

    python trainers/fashion_mnist.py                       # the shipped model, its recipe
    python trainers/fashion_mnist.py --arch simple_cnn --epochs 10   # seed 003's model
    python trainers/fashion_mnist.py --arch conv4_fc2               # seed 004's 4 conv + 2 fc
    python trainers/fashion_mnist.py --dry-run             # one epoch on 512 images

Logs train and test accuracy every epoch into <out>/<arch>/metrics.json and curves.png.
Then: visionplay export --onnx <out>/<arch>/<arch>.pt

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

from __future__ import annotations

import argparse

import torch

from visionplay.models.registry import get_config
from visionplay.train.augment import FlipAndShift
from visionplay.train.build import build_model
from visionplay.train.data import hold_out, load_splits
from visionplay.train.loop import fit, pick_device, seed_everything
from visionplay.train.optim import one_cycle
from visionplay.train.settings import (
    TrainingSettings,
    add_training_args,
    exit_on_error,
    parse_training_args,
)

RECIPE = dict(
    arch="fashion_mnist",
    epochs=30,
    batch_size=128,
    lr=3e-3,
    weight_decay=5e-2,
    label_smoothing=0.1,
    holdout=5000,
)


def parse_settings(argv: list[str] | None = None) -> TrainingSettings:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    return parse_training_args(add_training_args(parser, "fashion_mnist", **RECIPE), argv)


def main(argv: list[str] | None = None) -> dict:
    settings = parse_settings(argv)
    seed_everything(settings.seed)
    device = pick_device(settings.device)

    # Data: every image goes through the serving preprocessing once, then lives in memory.
    cfg = get_config(settings.arch)
    train_set, test_set = load_splits(cfg, settings)
    # Kept back from training: the scores' calibration is fitted on these.
    train_set, calibration_set = hold_out(train_set, settings.holdout, settings.seed)

    # Model and optimisation; channels-last convolutions train faster on CPU.
    model = build_model(settings.arch, **settings.model_kwargs)
    model = model.to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    scheduler = one_cycle(optimizer, settings, len(train_set))

    # Garments are photographed facing either way and not always centred.
    history = fit(
        model,
        train_set,
        test_set,
        settings=settings,
        cfg=cfg,
        optimizer=optimizer,
        scheduler=scheduler,
        device=device,
        augment=FlipAndShift(pad=2),
        calibration_set=calibration_set,
    )
    return history[-1] if history else {}


if __name__ == "__main__":
    exit_on_error(main)
