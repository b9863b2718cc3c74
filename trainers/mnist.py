"""Train an MNIST classifier from the registry on the real MNIST.

    python trainers/mnist.py                      # the shipped model, its recipe
    python trainers/mnist.py --arch lenet5 --epochs 5
    python trainers/mnist.py --dry-run            # one epoch on 512 images, to check the set-up

Writes <out>/<arch>/<arch>.pt (resumable, self-describing), metrics.json and curves.png
(train loss is on augmented digits with label smoothing, so it sits above test loss).
Then: visionplay export --onnx <out>/<arch>/<arch>.pt
"""

from __future__ import annotations

import argparse

import torch

from visionplay.augment import DigitAugment
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
    arch="mnist", epochs=15, batch_size=128, lr=3e-3, weight_decay=5e-2, label_smoothing=0.1
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    return parse_training_args(add_training_args(parser, "mnist", **RECIPE), argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    seed_everything(args.seed)
    device = pick_device(args.device)

    # Data: every digit goes through the serving preprocessing once, then lives in memory.
    train_set, test_set = load_splits(get_config(args.arch), args)

    # Model and optimisation; channels-last convolutions train about a quarter faster on CPU.
    model = build_model(args.arch, **args.model_kwargs)
    model = model.to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    scheduler = one_cycle(optimizer, args, len(train_set))

    # Slant, size, place and pen width vary between people drawing the same digit.
    history = fit(
        model, train_set, test_set, args=args, optimizer=optimizer, scheduler=scheduler,
        device=device, augment=DigitAugment(),
    )  # fmt: skip
    return history[-1] if history else {}


if __name__ == "__main__":
    exit_on_error(main)
