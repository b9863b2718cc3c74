"""MNIST-shaped classifiers (1x28x28 in): the seed zoo (10 classes) and the shipped reader
(10 digits and "not a digit").

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

from __future__ import annotations

from torch import nn

from ..config import MNIST, MNIST_OPEN_SET
from .common import small_vgg
from .registry import register_model


@register_model(MNIST)
def lenet5(num_classes: int = 10) -> nn.Module:
    """LeNet-5 (seed 001): sigmoid convs and average pooling, flattens to 400."""
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2),
        nn.Sigmoid(),
        nn.AvgPool2d(2),
        nn.Conv2d(6, 16, kernel_size=5),
        nn.Sigmoid(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120),
        nn.Sigmoid(),
        nn.Linear(120, 84),
        nn.Sigmoid(),
        nn.Linear(84, num_classes),
    )


@register_model(MNIST)
def fc2(n_hidden: int = 8, num_classes: int = 10) -> nn.Module:
    """FC2 (seed 002): 784 -> n -> n -> 10 with ReLU; 6,442 parameters at n = 8."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(28 * 28, n_hidden),
        nn.ReLU(),
        nn.Linear(n_hidden, n_hidden),
        nn.ReLU(),
        nn.Linear(n_hidden, num_classes),
    )


@register_model(MNIST)
def cnn_small(n_features: int = 6, num_classes: int = 10) -> nn.Module:
    """CNN-small (seed 002): two 5x5 conv + max-pool stages; 6,422 parameters at n = 6."""
    n = n_features
    return nn.Sequential(
        nn.Conv2d(1, n, kernel_size=5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(n, n, kernel_size=5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(n * 4 * 4, 50),
        nn.ReLU(),
        nn.Linear(50, num_classes),
    )


@register_model(MNIST_OPEN_SET)
def mnist(width: int = 32, num_classes: int = 11, dropout: float = 0.2) -> nn.Module:
    """The shipped digit reader: small VGG with BatchNorm, 28 -> 14 -> 7, global average pool;
    ten digits and "not a digit"."""
    return small_vgg(1, num_classes, width, dropout)
