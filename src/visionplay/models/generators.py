"""Class-conditional GANs for 1x28x28 pictures (seed 005's last task): the generators are
registered and shipped; their discriminators only train them.

The generator is DCGAN's shape (Radford et al. 2016) with the class joined to the latent
vector (Mirza and Osindero 2014); the discriminator is a projection discriminator (Miyato
and Koyama 2018) with spectral normalisation on every layer (Miyato et al. 2018), trained
with the hinge loss: the usual way to make a small conditional GAN train reliably.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ..config import FASHION_GAN, MNIST_GAN
from .registry import register_model


class ConditionalGenerator(nn.Module):
    """(z, label) -> a (1, 28, 28) picture in [0, 1]: the latent vector and the class's
    embedding, projected to 7x7, then two transposed-conv upsamplings to 28x28."""

    def __init__(self, latent: int = 64, num_classes: int = 10, width: int = 32) -> None:
        super().__init__()
        self.latent, self.width = latent, width
        self.embed = OneHotEmbedding(num_classes, latent)
        self.project = nn.Sequential(
            nn.Linear(2 * latent, 4 * width * 7 * 7, bias=False),
            nn.BatchNorm1d(4 * width * 7 * 7),
            nn.ReLU(),
        )
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(4 * width, 2 * width, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(),  # 14x14
            nn.ConvTranspose2d(2 * width, 1, 4, stride=2, padding=1),
            nn.Sigmoid(),  # 28x28
        )

    def forward(self, z: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        joined = torch.cat([z, self.embed(label)], dim=1)
        return self.upsample(self.project(joined).view(-1, 4 * self.width, 7, 7))


class OneHotEmbedding(nn.Embedding):
    """``nn.Embedding``'s numbers, computed as a one-hot row times the table: in ONNX a
    Gather on an identity matrix, then a Gemm. OpenCV 4.x holds a 1-D input as a column,
    so a Gather on it gains an axis that Concat refuses; its Gemm flattens that axis
    away. (A one-hot made by Equal fails too: OpenCV's broadcast against the class
    indices turns the dynamic batch axis into 1 while it imports the graph.)"""

    def forward(self, label: torch.Tensor) -> torch.Tensor:
        table = self.weight
        identity = torch.eye(len(table), dtype=table.dtype, device=table.device)
        return F.linear(F.embedding(label, identity), table.t())


class MinibatchSpread(nn.Module):
    """One more feature map: the spread of the features over each group of ``group``
    pictures (Karras et al. 2018), so that the discriminator sees when a batch's pictures
    are all alike and the generator cannot pay for realism with variety."""

    def __init__(self, group: int = 4) -> None:
        super().__init__()
        self.group = group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        group = self.group if n % self.group == 0 else 1
        grouped = x.view(-1, group, c, h, w)  # pictures 0-3, 4-7, ... form the groups
        spread = grouped.var(1, unbiased=False).add(1e-8).sqrt().mean(dim=(1, 2, 3))
        spread = spread.repeat_interleave(group).view(n, 1, 1, 1)
        return torch.cat([x, spread.expand(n, 1, h, w)], 1)


class ProjectionDiscriminator(nn.Module):
    """(picture, label) -> a realness score: conv features summed over the picture, a
    linear score, plus the inner product of the features with the class's embedding. With
    ``classify``, also an auxiliary classifier's logits over the same features (Odena et
    al. 2017): it learns the real pictures' classes and tells the generator which of its
    pictures read as another class."""

    def __init__(self, num_classes: int = 10, width: int = 32, classify: bool = False) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            spectral_norm(nn.Conv2d(1, w, 4, stride=2, padding=1)),
            nn.LeakyReLU(0.1),  # 14
            spectral_norm(nn.Conv2d(w, 2 * w, 4, stride=2, padding=1)),
            nn.LeakyReLU(0.1),  # 7
            MinibatchSpread(),
            spectral_norm(nn.Conv2d(2 * w + 1, 4 * w, 3, padding=1)),
            nn.LeakyReLU(0.1),
        )
        self.score = spectral_norm(nn.Linear(4 * w, 1))
        self.embed = spectral_norm(nn.Embedding(num_classes, 4 * w))
        self.classify = nn.Linear(4 * w, num_classes) if classify else None

    def forward(
        self, picture: torch.Tensor, label: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The realness scores, and the class logits (None without ``classify``). Real
        and generated pictures must not share a group: give them separately, or joined
        with each part's length divisible by the group size."""
        grid = self.features(picture * 2 - 1)
        features = grid.sum(dim=(2, 3))
        score = self.score(features).squeeze(1) + (self.embed(label) * features).sum(1)
        if self.classify is None:
            return score, None
        return score, self.classify(grid.mean(dim=(2, 3)))


@register_model(MNIST_GAN)
def mnist_gan(latent: int = 64, num_classes: int = 10, width: int = 32) -> nn.Module:
    """The shipped digit generator: class-conditional DCGAN, 64-d latent, 28x28 out."""
    return ConditionalGenerator(latent, num_classes, width)


@register_model(FASHION_GAN)
def fashion_gan(latent: int = 64, num_classes: int = 10, width: int = 32) -> nn.Module:
    """The shipped garment generator: class-conditional DCGAN, 64-d latent, 28x28 out."""
    return ConditionalGenerator(latent, num_classes, width)
