"""CIFAR-10 classifiers (3x32x32 in, 10 object classes out).

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import CIFAR10
from .common import conv_bn_relu, mirror
from .registry import register_model


@register_model(CIFAR10)
def cifar_net(num_classes: int = 10) -> nn.Module:
    """CIFAR-Net (seed 002): two 5x5 conv + max-pool stages, 400 -> 120 -> 84 -> 10."""
    return nn.Sequential(
        nn.Conv2d(3, 6, kernel_size=5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, kernel_size=5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, num_classes),
    )


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


class DiracConv(nn.Conv2d):
    """3x3 conv whose first ``cin`` filters start as the identity, so a fresh deep net
    passes its input through (airbench's initialisation)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(cin, cout, 3, padding=1, bias=False)
        nn.init.dirac_(self.weight.data[:cin])


def _frozen_scale_bn(channels: int) -> nn.BatchNorm2d:
    """BatchNorm that learns only its shift: the scale is left to the next conv's weights."""
    bn = nn.BatchNorm2d(channels, eps=1e-12, momentum=0.4)
    bn.weight.requires_grad_(False)
    return bn


def _pooled_block(cin: int, cout: int) -> nn.Sequential:
    """conv, then max-pool before BN (cheaper: BN and the second conv run at 1/4 size)."""
    return nn.Sequential(
        DiracConv(cin, cout),
        nn.MaxPool2d(2),
        _frozen_scale_bn(cout),
        nn.GELU(),
        DiracConv(cout, cout),
        _frozen_scale_bn(cout),
        nn.GELU(),
    )


class FlipShiftTTA(nn.Module):
    """Test-time augmentation in the graph: in eval mode the logits are averaged over the
    image and its mirror (level 1), and also over both mirrored one-pixel diagonal shifts
    (level 2), as airbench scores. Training mode runs the plain network."""

    def __init__(self, net: nn.Module, level: int = 2) -> None:
        super().__init__()
        self.net, self.level = net, level

    def _mirrored(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (self.net(x) + self.net(mirror(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training or self.level == 0:
            return self.net(x)
        logits = self._mirrored(x)
        if self.level == 1:
            return logits
        h, w = x.shape[-2:]
        padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
        shifted = 0.5 * (self._mirrored(padded[..., :h, :w]) + self._mirrored(padded[..., 2:, 2:]))
        return 0.5 * (logits + shifted)


class WhiteningStem(nn.Conv2d):
    """airbench's first layer: 2x2 filters that whiten the input patches, set once from
    training images (:meth:`whiten`) and frozen; only its bias learns."""

    def __init__(self, in_channels: int, filters: int, kernel_size: int = 2) -> None:
        super().__init__(in_channels, filters, kernel_size, padding=0, bias=True)
        self.weight.requires_grad_(False)

    def whiten(self, images: torch.Tensor) -> None:
        """Set the filters from ``images`` (normalised, N x C x H x W)."""
        init_whitening(self, images)


def init_whitening(stem: nn.Conv2d, images: torch.Tensor, eps: float = 5e-4) -> None:
    """Set the stem's filters to whiten its input patches (airbench): the eigenvectors of
    the patch covariance of ``images`` (normalised, N x 3 x H x W), each scaled by
    1/sqrt(eigenvalue), in + and - pairs so GELU keeps both signs."""
    k = stem.kernel_size
    c = images.shape[1]
    patches = images.unfold(2, k[0], 1).unfold(3, k[1], 1).transpose(1, 3)
    patches = patches.reshape(-1, c * k[0] * k[1]).double()
    covariance = patches.T @ patches / len(patches)
    eigenvalues, eigenvectors = torch.linalg.eigh(covariance)
    filters = (eigenvectors.T / torch.sqrt(eigenvalues + eps)[:, None]).flip(0)
    filters = filters.reshape(-1, c, *k).to(stem.weight)
    with torch.no_grad():
        stem.weight.copy_(torch.cat([filters, -filters]))


@register_model(CIFAR10)
def cifar10(
    widths: tuple[int, int, int] = (64, 256, 256), tta: int = 2, num_classes: int = 10
) -> nn.Module:
    """The shipped object classifier: airbench94's network, with test-time flips.

    A frozen 2x2 whitening stem (set from data: ``WhiteningStem.whiten``), three pooled
    double-conv blocks (31 -> 15 -> 7 -> 3), global max-pool, a scaled linear head, and
    flip/shift test-time augmentation in eval mode. Widths (64, 128, 128) are airbench93's.
    """
    a, b, c = widths
    net = nn.Sequential(
        WhiteningStem(3, 24),
        nn.GELU(),
        _pooled_block(24, a),
        _pooled_block(a, b),
        _pooled_block(b, c),
        nn.AdaptiveMaxPool2d(1),
        nn.Flatten(),
        nn.Linear(c, num_classes, bias=False),
        Scale(1 / 9),
    )
    return FlipShiftTTA(net, level=tta)
