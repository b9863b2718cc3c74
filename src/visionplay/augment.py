"""Batch augmentations on tensors (run on whatever device trains)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class DigitAugment(nn.Module):
    """What changes between people drawing the same digit: slant, size, place, pen width.

    Random affine (rotation, shear, scale, shift) and a random stroke-width change
    blended between erosion and dilation. Kept inside the range the digit preprocessing
    leaves (it already fixes box size, centre and gross stroke width).
    """

    def __init__(
        self,
        degrees: float = 12.0,
        shear: float = 0.15,
        scale: tuple[float, float] = (0.85, 1.1),
        shift: float = 0.1,
        stroke: float = 0.6,
    ) -> None:
        super().__init__()
        self.degrees, self.shear, self.scale, self.shift, self.stroke = (
            degrees, shear, scale, shift, stroke,
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]

        def uniform(low: float, high: float) -> torch.Tensor:
            return torch.rand(n) * (high - low) + low

        angle = uniform(-self.degrees, self.degrees) * math.pi / 180
        shear = uniform(-self.shear, self.shear)
        scale = uniform(*self.scale)
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        theta = torch.stack(
            [
                torch.stack([cos, -sin + shear, uniform(-self.shift, self.shift)], 1),
                torch.stack([sin, cos, uniform(-self.shift, self.shift)], 1),
            ],
            1,
        ).to(x)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")

        # Blend towards a dilated (thicker) or eroded (thinner) copy by a random amount.
        amount = uniform(-self.stroke, self.stroke).to(x).view(n, 1, 1, 1)
        dilated = F.max_pool2d(x, 3, stride=1, padding=1)
        eroded = -F.max_pool2d(-x, 3, stride=1, padding=1)
        target = torch.where(amount > 0, dilated, eroded)
        return x + amount.abs() * (target - x)


class FlipAndShift(nn.Module):
    """Random horizontal flip and random crop after zero padding by ``pad`` (a shift of up to
    ``pad`` pixels): the usual recipe for photos of objects (seed 002's CIFAR recipe)."""

    def __init__(self, pad: int = 2, flip: bool = True) -> None:
        super().__init__()
        self.pad, self.flip = pad, flip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, channels, height, width = x.shape
        padded = F.pad(x, (self.pad,) * 4)
        # Each sample's window in its padded image, by broadcast indexing (n, c, h, w).
        dy = torch.randint(0, 2 * self.pad + 1, (n, 1, 1, 1), device=x.device)
        dx = torch.randint(0, 2 * self.pad + 1, (n, 1, 1, 1), device=x.device)
        x = padded[
            torch.arange(n, device=x.device).view(n, 1, 1, 1),
            torch.arange(channels, device=x.device).view(1, channels, 1, 1),
            dy + torch.arange(height, device=x.device).view(1, 1, height, 1),
            dx + torch.arange(width, device=x.device).view(1, 1, 1, width),
        ]
        if self.flip:
            mirrored = torch.rand(n, device=x.device) < 0.5
            x = torch.where(mirrored.view(n, 1, 1, 1), x.flip(3), x)
        return x
