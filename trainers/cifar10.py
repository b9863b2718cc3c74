"""Train a CIFAR-10 classifier from the registry on CIFAR-10.

    python trainers/cifar10.py                         # the shipped model, its recipe
    python trainers/cifar10.py --arch cifar_net        # seed 002's CIFAR-Net (Adam 1e-3 there)
    python trainers/cifar10.py --arch vgg_cifar        # seed 002's VGG with BatchNorm
    python trainers/cifar10.py --dry-run               # one epoch on 512 images

Data: torchvision's CIFAR10 (downloaded into --data-dir), or an image-folder tree
train/<class>/*.jpg + test/<class>/*.jpg, or a <data-dir>/cifar10*.tar.gz of one. A tree of
classes of your own makes a model of them (name it with --name):

    python trainers/cifar10.py --data-dir my_photos --arch cifar_net --name pets
Then: visionplay export --onnx <out>/<arch>/<arch>.pt

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

from __future__ import annotations

import argparse

import torch
from torch.utils.data import TensorDataset

from visionplay.models.objects import FlipShiftTTA, WhiteningStem
from visionplay.models.registry import get_config
from visionplay.train.augment import AlternatingFlip, FlipAndShift
from visionplay.train.build import build_model
from visionplay.train.data import hold_out, load_splits, with_tree_classes
from visionplay.train.loop import fit, pick_device, seed_everything
from visionplay.train.optim import Lookahead, steps_per_epoch
from visionplay.train.settings import (
    TrainingSettings,
    add_training_args,
    exit_on_error,
    parse_training_args,
)

# airbench94's recipe. Learning rate and weight decay are per 1024 images and decoupled
# from momentum (https://myrtle.ai/learn/how-to-train-your-resnet-5-hyperparameters/).
RECIPE = dict(
    arch="cifar10",
    epochs=26,  # airbench94 runs 10 on the official data; 26 fill two hours of 2 CPU cores
    batch_size=1024,
    lr=11.5,
    weight_decay=0.0153,
    label_smoothing=0.2,
    holdout=2500,
)
MOMENTUM = 0.85
BIAS_LR_SCALE = 64.0  # BatchNorm shifts learn 64x faster (their scales are frozen)
WHITEN_BIAS_EPOCHS = 3  # the whitening stem's bias trains this long, then freezes
WHITEN_IMAGES = 5000  # the whitening stem is set from this many training images


def parse_settings(argv: list[str] | None = None) -> TrainingSettings:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    return parse_training_args(add_training_args(parser, "cifar10", **RECIPE), argv)


def sgd(model: torch.nn.Module, settings: TrainingSettings) -> torch.optim.SGD:
    """Nesterov SGD with the per-1024-image, momentum-decoupled lr and wd turned into
    PyTorch's (mean loss over the batch)."""
    steps_per_kilo = 1024 * (1 + 1 / (1 - MOMENTUM)) / settings.batch_size
    lr = settings.lr / steps_per_kilo
    decay = settings.weight_decay * settings.batch_size / (1024 * (1 + 1 / (1 - MOMENTUM)))
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
    settings = parse_settings(argv)
    seed_everything(settings.seed)
    device = pick_device(settings.device)

    # Data: every image goes through the serving preprocessing once, then lives in memory.
    # An image-folder tree of your own classes (--data-dir) names them: see docs/your-own-model.md.
    cfg = with_tree_classes(get_config(settings.arch), settings.data_dir)
    if cfg.num_classes != get_config(settings.arch).num_classes:
        settings = settings.with_model_kwargs(num_classes=cfg.num_classes)
    train_set, test_set = load_splits(cfg, settings)
    # Kept back from training: the scores' calibration is fitted on these.
    train_set, calibration_set = hold_out(train_set, settings.holdout, settings.seed)
    images, labels = train_set.tensors

    # Model; channels-last convolutions are faster on CPU and GPU alike. The shipped one
    # (airbench's) has a whitening stem, set here from data, and test-time flips.
    model = build_model(settings.arch, **settings.model_kwargs)
    model = model.to(device, memory_format=torch.channels_last)
    tta = model.net if isinstance(model.net, FlipShiftTTA) else None
    stem = next((m for m in model.modules() if isinstance(m, WhiteningStem)), None)
    if stem is not None:
        stem.whiten(model.normalize(images[:WHITEN_IMAGES].to(device)))

    # Optimisation: Nesterov SGD on a triangular schedule, with Lookahead on top.
    optimizer = sgd(model, settings)
    total_steps = settings.epochs * steps_per_epoch(len(train_set), settings.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: triangle(s / total_steps))
    optimizer = Lookahead(optimizer, model, total_steps)

    # Augmentation: seed 002's (crop 32 after zero padding 4, random flip) for its models;
    # airbench's (reflect padding 2, alternating flip) for the shipped one.
    if tta is None:
        augment, flip = FlipAndShift(pad=4), None
    else:
        train_set = TensorDataset(AlternatingFlip.mirror_half(images, settings.seed), labels)
        shift, flip = FlipAndShift(pad=2, flip=False, padding_mode="reflect"), AlternatingFlip()
        augment = torch.nn.Sequential(shift, flip)
    tta_level = tta.level if tta is not None else 0

    def start_epoch(epoch: int) -> None:
        if flip is not None:
            flip.set_epoch(epoch)
        if stem is not None:
            stem.bias.requires_grad_(epoch <= WHITEN_BIAS_EPOCHS)
        if tta is not None:  # test-time augmentation costs 6 passes: score it once, at the end
            tta.level = tta_level if epoch == settings.epochs else 0

    history = fit(
        model,
        train_set,
        test_set,
        settings=settings,
        cfg=cfg,
        optimizer=optimizer,
        scheduler=scheduler,
        device=device,
        augment=augment,
        on_epoch_start=start_epoch,
        calibration_set=calibration_set,
    )
    return history[-1] if history else {}


if __name__ == "__main__":
    exit_on_error(main)
