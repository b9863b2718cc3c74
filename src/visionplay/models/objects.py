"""CIFAR-10 classifiers (3x32x32 in, 10 object classes out)."""

from __future__ import annotations

import torch
from torch import nn

from ..config import CIFAR10
from ..registry import register_model
from .common import conv_bn_relu


@register_model(CIFAR10)
def cifar_net(num_classes: int = 10) -> nn.Module:
    """CIFAR-Net (seed 002): two 5x5 conv + max-pool stages, 400 -> 120 -> 84 -> 10."""
    return nn.Sequential(
        nn.Conv2d(3, 6, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, num_classes),
    )  # fmt: skip


VGG_CIFAR_CFG = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


@register_model(CIFAR10)
def vgg_cifar(num_classes: int = 10) -> nn.Module:
    """VGG with BatchNorm (seed 002 calls it VGG16; its layer list is VGG-11's), 512 -> 10."""
    layers: list[nn.Module] = []
    channels = 3
    for item in VGG_CIFAR_CFG:
        if item == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers.append(conv_bn_relu(channels, item))
            channels = item
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512, num_classes))


class Scale(nn.Module):
    """Multiply by a constant: keeps logits small at the start, as airbench does."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


def _pooled_block(cin: int, cout: int) -> nn.Sequential:
    """conv, then max-pool before BN (cheaper: BN and the second conv run at 1/4 size)."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.MaxPool2d(2),
        nn.BatchNorm2d(cout), nn.GELU(),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.GELU(),
    )  # fmt: skip


@register_model(CIFAR10)
def cifar10(widths: tuple[int, int, int] = (64, 256, 256), num_classes: int = 10) -> nn.Module:
    """The shipped object classifier, after airbench's layout: a 2x2 stem, three pooled
    double-conv blocks (32 -> 16 -> 8 -> 4), global max-pool, a scaled linear head."""
    a, b, c = widths
    return nn.Sequential(
        nn.Conv2d(3, 24, kernel_size=2, padding=1, bias=False), nn.GELU(),
        _pooled_block(24, a), _pooled_block(a, b), _pooled_block(b, c),
        nn.AdaptiveMaxPool2d(1), nn.Flatten(),
        nn.Linear(c, num_classes, bias=False), Scale(1 / 9),
    )  # fmt: skip
