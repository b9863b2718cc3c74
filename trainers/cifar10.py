"""Train a CIFAR-10 classifier from the registry on CIFAR-10.

    python trainers/cifar10.py                         # the shipped model, its recipe
    python trainers/cifar10.py --arch cifar_net        # seed 002's CIFAR-Net (Adam 1e-3 there)
    python trainers/cifar10.py --arch vgg_cifar        # seed 002's VGG with BatchNorm
    python trainers/cifar10.py --dry-run               # one epoch on 512 images

Data: torchvision's CIFAR10 (downloaded into --data-dir), or an image-folder tree
train/<class>/*.jpg + test/<class>/*.jpg, or a <data-dir>/cifar10*.tar.gz of one.
Then: visionplay export --onnx <out>/<arch>/<arch>.pt

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

from __future__ import annotations

import argparse

import torch
from torch.utils.data import TensorDataset

from visionplay.augment import AlternatingFlip, FlipAndShift
from visionplay.models.objects import FlipShiftTTA, init_whitening
from visionplay.registry import get_config
from visionplay.training import (
    Lookahead,
    add_training_args,
    build_model,
    exit_on_error,
    fit,
    load_splits,
    parse_training_args,
    pick_device,
    seed_everything,
    steps_per_epoch,
)

# airbench94's recipe. Learning rate and weight decay are per 1024 images and decoupled
# from momentum (https://myrtle.ai/learn/how-to-train-your-resnet-5-hyperparameters/).
RECIPE = dict(
    arch="cifar10", epochs=12, batch_size=1024, lr=11.5, weight_decay=0.0153, label_smoothing=0.2
)
MOMENTUM = 0.85
BIAS_LR_SCALE = 64.0  # BatchNorm shifts learn 64x faster (their scales are frozen)
WHITEN_BIAS_EPOCHS = 3  # the whitening stem's bias trains this long, then freezes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_training_args(parser, "cifar10", **RECIPE)
    return parse_training_args(parser, argv)


def sgd(model: torch.nn.Module, args: argparse.Namespace) -> torch.optim.SGD:
    """Nesterov SGD with the per-1024-image, momentum-decoupled lr and wd turned into
    PyTorch's (mean loss over the batch)."""
    steps_per_kilo = 1024 * (1 + 1 / (1 - MOMENTUM)) / args.batch_size
    lr = args.lr / steps_per_kilo
    decay = args.weight_decay * args.batch_size / (1024 * (1 + 1 / (1 - MOMENTUM)))
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    # BatchNorm shifts are the 1-d parameters of BatchNorm layers.
    norm_names = {
        f"{module_name}.bias"
        for module_name, module in model.named_modules()
        if isinstance(module, torch.nn.BatchNorm2d)
    }
    shifts = [p for n, p in trainable if n in norm_names]
    others = [p for n, p in trainable if n not in norm_names]
    bias_lr = lr * BIAS_LR_SCALE
    return torch.optim.SGD(
        [
            dict(params=shifts, lr=bias_lr, weight_decay=decay / bias_lr),
            dict(params=others, lr=lr, weight_decay=decay / lr),
        ],
        momentum=MOMENTUM,
        nesterov=True,
    )


def triangle(progress: float, start: float = 0.2, peak: float = 0.23, end: float = 0.07) -> float:
    """Learning-rate multiplier: linear from ``start`` up to 1 at ``peak``, then to ``end``."""
    if progress < peak:
        return start + (1 - start) * progress / peak
    return 1 + (end - 1) * (progress - peak) / (1 - peak)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    seed_everything(args.seed)
    device = pick_device(args.device)

    # Data: every image goes through the serving preprocessing once, then lives in memory.
    train_set, test_set = load_splits(get_config(args.arch), args)
    images, labels = train_set.tensors

    # Model; channels-last convolutions are faster on CPU and GPU alike.
    model = build_model(args.arch, **args.model_kwargs)
    model = model.to(device, memory_format=torch.channels_last)
    tta = next((m for m in model.modules() if isinstance(m, FlipShiftTTA)), None)
    stem = tta.net[0] if tta is not None else None
    if stem is not None:  # whiten from the first 5,000 training images
        init_whitening(stem, model[0](images[:5000].to(device)))

    # Optimisation: Nesterov SGD on a triangular schedule, with Lookahead on top.
    optimizer = sgd(model, args)
    total_steps = args.epochs * steps_per_epoch(len(train_set), args.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: triangle(s / total_steps))
    optimizer = Lookahead(optimizer, model, total_steps)

    # Augmentation: seed 002's (crop 32 after zero padding 4, random flip) for its models;
    # airbench's (reflect padding 2, alternating flip) for the shipped one.
    if tta is None:
        augment, flip = FlipAndShift(pad=4), None
    else:
        train_set = TensorDataset(AlternatingFlip.mirror_half(images, args.seed), labels)
        shift, flip = FlipAndShift(pad=2, flip=False, padding_mode="reflect"), AlternatingFlip()
        augment = torch.nn.Sequential(shift, flip)
    tta_level = tta.level if tta is not None else 0

    def start_epoch(epoch: int) -> None:
        if flip is not None:
            flip.set_epoch(epoch)
        if stem is not None:
            stem.bias.requires_grad_(epoch <= WHITEN_BIAS_EPOCHS)
        if tta is not None:  # test-time augmentation costs 6 passes: score it once, at the end
            tta.level = tta_level if epoch == args.epochs else 0

    history = fit(
        model, train_set, test_set, args=args, optimizer=optimizer, scheduler=scheduler,
        device=device, augment=augment, on_epoch_start=start_epoch,
    )  # fmt: skip
    return history[-1] if history else {}


if __name__ == "__main__":
    exit_on_error(main)
