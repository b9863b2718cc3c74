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

from visionplay.augment import FlipAndShift
from visionplay.registry import get_config
from visionplay.training import (
    add_training_args,
    build_model,
    exit_on_error,
    fit,
    load_splits,
    one_cycle,
    parse_training_args,
    pick_device,
    seed_everything,
)

RECIPE = dict(
    arch="fashion_mnist", epochs=30, batch_size=128, lr=3e-3, weight_decay=5e-2, label_smoothing=0.1
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    return parse_training_args(add_training_args(parser, "fashion_mnist", **RECIPE), argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    seed_everything(args.seed)
    device = pick_device(args.device)

    # Data: every image goes through the serving preprocessing once, then lives in memory.
    train_set, test_set = load_splits(get_config(args.arch), args)

    # Model and optimisation; channels-last convolutions train about a quarter faster on CPU.
    model = build_model(args.arch, **args.model_kwargs)
    model = model.to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    scheduler = one_cycle(optimizer, args, len(train_set))

    # Garments are photographed facing either way and not always centred.
    history = fit(
        model, train_set, test_set, args=args, optimizer=optimizer, scheduler=scheduler,
        device=device, augment=FlipAndShift(pad=2),
    )  # fmt: skip
    return history[-1] if history else {}


if __name__ == "__main__":
    exit_on_error(main)
