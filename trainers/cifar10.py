"""Train a CIFAR-10 classifier from the registry on CIFAR-10.

    python trainers/cifar10.py                         # the shipped model, its recipe
    python trainers/cifar10.py --arch cifar_net        # seed 002's CIFAR-Net (Adam 1e-3 there)
    python trainers/cifar10.py --arch vgg_cifar        # seed 002's VGG with BatchNorm
    python trainers/cifar10.py --dry-run               # one epoch on 512 images

Data: torchvision's CIFAR10 (downloaded into --data-dir), or an image-folder tree
train/<class>/*.jpg + test/<class>/*.jpg, or a <data-dir>/cifar10*.tar.gz of one.
Then: visionplay export --onnx <out>/<arch>/<arch>.pt
"""

from __future__ import annotations

import argparse

import torch

from visionplay.augment import FlipAndShift
from visionplay.registry import get_config
from visionplay.training import (
    add_training_args,
    build_model,
    fit,
    load_splits,
    one_cycle,
    parse_training_args,
    pick_device,
    seed_everything,
)

RECIPE = dict(
    arch="cifar10", epochs=20, batch_size=256, lr=3e-3, weight_decay=5e-2, label_smoothing=0.2
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    return parse_training_args(add_training_args(parser, "cifar10", **RECIPE), argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    seed_everything(args.seed)
    device = pick_device(args.device)

    # Data: every image goes through the serving preprocessing once, then lives in memory.
    train_set, test_set = load_splits(get_config(args.arch), args)

    # Model and optimisation; channels-last convolutions are faster on CPU and GPU alike.
    model = build_model(args.arch, **args.model_kwargs)
    model = model.to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    scheduler = one_cycle(optimizer, args, len(train_set))

    # Seed 002's augmentation: random crop 32 after padding 4, horizontal flip.
    history = fit(
        model, train_set, test_set, args=args, optimizer=optimizer, scheduler=scheduler,
        device=device, augment=FlipAndShift(pad=4),
    )  # fmt: skip
    return history[-1] if history else {}


if __name__ == "__main__":
    main()
