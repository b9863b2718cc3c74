"""Fashion-MNIST classifiers (1x28x28 in, 10 garment classes out).

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

from __future__ import annotations

from torch import nn

from ..config import FASHION_MNIST
from .common import small_vgg
from .registry import register_model


@register_model(FASHION_MNIST)
def simple_cnn(num_classes: int = 10) -> nn.Module:
    """SimpleCNN (seed 003): one 3x3 conv of 32, max-pool, 6272 -> 128 -> 10."""
    return nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 14 * 14, 128),
        nn.ReLU(),
        nn.Linear(128, num_classes),
    )


@register_model(FASHION_MNIST)
def conv4_fc2(num_classes: int = 10, dropout: float = 0.3) -> nn.Module:
    """Four conv layers and two fully connected ones (seed 004, task 10)."""
    return nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 32, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(64, 64, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 256),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(256, num_classes),
    )


@register_model(FASHION_MNIST)
def fashion_mnist(width: int = 32, num_classes: int = 10, dropout: float = 0.3) -> nn.Module:
    """The shipped garment classifier: the same small VGG as the digit reader."""
    return small_vgg(1, num_classes, width, dropout)
