"""The tutorials' teaching architectures, for the layer table and tests.

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

from __future__ import annotations

import torch
from torch import nn

from ..config import IMAGENET, TUTORIAL_MLP, TUTORIAL_UNPOOL
from .registry import register_model


@register_model(TUTORIAL_MLP)
def mlp_1024(uniform_init: bool = False) -> nn.Module:
    """MLP-1024 (seed 000, Q1): 1x32x32 -> 1024 -> 2048 sigmoid -> 512 ReLU -> 20."""
    net = nn.Sequential(
        nn.Flatten(),
        nn.Linear(1024, 2048),
        nn.Sigmoid(),
        nn.Linear(2048, 512),
        nn.ReLU(),
        nn.Linear(512, 20),
    )
    if uniform_init:  # the tutorial's optional init: weights U[0, 1], biases 0
        for layer in net:
            if isinstance(layer, nn.Linear):
                nn.init.uniform_(layer.weight, 0, 1)
                nn.init.zeros_(layer.bias)
    return net


@register_model(IMAGENET)
def alexnet_style(num_classes: int = 1000) -> nn.Module:
    """AlexNet-style (seed 000, Q2): five convs, three max-pools, 43264 -> 4096 -> 1000."""
    return nn.Sequential(
        nn.Conv2d(3, 96, 11, stride=4, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(3, 2),  # 96x27x27
        nn.Conv2d(96, 256, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(3, 2),  # 256x13x13
        nn.Conv2d(256, 384, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(3, stride=1, padding=1),  # 256x13x13
        nn.Flatten(),  # 43264
        nn.Linear(256 * 13 * 13, 4096),
        nn.ReLU(),
        nn.Linear(4096, num_classes),
    )


class UnpoolAutoencoder(nn.Module):
    """Unpool encoder-decoder (seed 000, Q3): conv + max-pool three times on the way down
    (keeping the indices), real MaxUnpool2d + conv three times on the way up, 224 -> 28 -> 224.
    One pooling module per step, so the layer table shows every size."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.ModuleList(
            nn.Conv2d(a, b, 3, padding=1) for a, b in ((1, 8), (8, 16), (16, 32))
        )
        self.pools = nn.ModuleList(nn.MaxPool2d(2, stride=2, return_indices=True) for _ in range(3))
        self.unpools = nn.ModuleList(nn.MaxUnpool2d(2, stride=2) for _ in range(3))
        self.up = nn.ModuleList(
            nn.Conv2d(a, b, 3, padding=1) for a, b in ((32, 16), (16, 8), (8, 1))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        indices = []
        for conv, pool in zip(self.down, self.pools, strict=True):
            x, where = pool(torch.relu(conv(x)))
            indices.append(where)
        for unpool, conv, where in zip(self.unpools, self.up, reversed(indices), strict=True):
            x = torch.relu(conv(unpool(x, where)))
        return x


@register_model(TUTORIAL_UNPOOL)
def unpool_autoencoder() -> nn.Module:
    """Unpool encoder-decoder (seed 000, Q3): 1x224x224 down to 32x28x28 and back up."""
    return UnpoolAutoencoder()


@register_model(IMAGENET)
def vgg11(num_classes: int = 1000) -> nn.Module:
    """torchvision's VGG-11 (seed 004, task 8), untrained."""
    from torchvision.models import vgg11 as build

    return build(weights=None, num_classes=num_classes)


@register_model(IMAGENET)
def resnet18(num_classes: int = 1000) -> nn.Module:
    """torchvision's ResNet-18 (seed 004, task 9), untrained."""
    from torchvision.models import resnet18 as build

    return build(weights=None, num_classes=num_classes)
