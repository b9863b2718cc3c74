"""Pieces shared by several architectures."""

from __future__ import annotations

import torch
from torch import nn

from ..config import DataConfig
from ..tasks import task_class


class Normalize(nn.Module):
    """(x - mean) / std per channel, as a layer, so it is folded into the exported graph."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class Normalized(nn.Sequential):
    """``normalize`` then ``net`` (the registry architecture). A Sequential, so that the
    weights keep the keys (``0.*``, ``1.*``) of the checkpoints already saved."""

    def __init__(self, normalize: nn.Module, net: nn.Module) -> None:
        super().__init__(normalize, net)

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """A ``condition`` (a generator's class labels) goes to ``net`` as it is."""
        x = self.normalize(x)
        return self.net(x) if condition is None else self.net(x, condition)

    @property
    def normalize(self) -> nn.Module:
        return self[0]

    @property
    def net(self) -> nn.Module:
        return self[1]


def with_normalization(net: nn.Module, cfg: DataConfig) -> Normalized:
    """The model as trained, checkpointed and exported: pixels in [0, 1] go in. Series
    go in as they are (the generator's are centred, within [-1, 1])."""
    front = Normalize(cfg.mean, cfg.std) if task_class(cfg.task).takes_pixels else nn.Identity()
    return Normalized(front, net)


def conv_bn_relu(cin: int, cout: int, kernel_size: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def small_vgg(in_channels: int, num_classes: int, width: int, dropout: float) -> nn.Sequential:
    """Three stages of two 3x3 conv+BN+ReLU (width, 2x, 4x), pooling between, global pool."""
    w = width
    return nn.Sequential(
        conv_bn_relu(in_channels, w),
        conv_bn_relu(w, w),
        nn.MaxPool2d(2),
        conv_bn_relu(w, 2 * w),
        conv_bn_relu(2 * w, 2 * w),
        nn.MaxPool2d(2),
        conv_bn_relu(2 * w, 4 * w),
        conv_bn_relu(4 * w, 4 * w),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(4 * w, num_classes),
    )


def mirror(x: torch.Tensor) -> torch.Tensor:
    """``x.flip(-1)``, as a gather on a constant index: the same pixels, exported as a Gather,
    which every ONNX runtime has (a flip exports as a negative-step Slice, which OpenCV 4.x
    cannot run)."""
    width = x.shape[-1]
    return x.index_select(-1, torch.arange(width - 1, -1, -1, device=x.device))
