"""Batch augmentations on tensors (run on whatever device trains).

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

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
        shift: float = 0.08,
        stroke: float = 0.6,
    ) -> None:
        super().__init__()
        self.degrees, self.shear, self.scale, self.shift, self.stroke = (
            degrees,
            shear,
            scale,
            shift,
            stroke,
        )

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
    """Random horizontal flip and random crop after padding by ``pad`` (a shift of up to
    ``pad`` pixels): the usual recipe for photos of objects (seed 002's CIFAR recipe).
    ``padding_mode`` is F.pad's: "constant" (zeros) or "reflect"."""

    def __init__(self, pad: int = 2, flip: bool = True, padding_mode: str = "constant") -> None:
        super().__init__()
        self.pad, self.flip, self.padding_mode = pad, flip, padding_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, channels, height, width = x.shape
        padded = F.pad(x, (self.pad,) * 4, mode=self.padding_mode)
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


class AlternatingFlip(nn.Module):
    """airbench's flip: a fixed random half of the images is stored mirrored
    (``mirror_half``) and every other epoch mirrors them all, so each image is seen both
    ways in any two epochs in a row; independent random flips repeat one way half the time.
    """

    def __init__(self) -> None:
        super().__init__()
        self.mirror = False

    def set_epoch(self, epoch: int) -> None:
        self.mirror = epoch % 2 == 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flip(-1) if self.mirror else x

    @staticmethod
    def mirror_half(images: torch.Tensor, seed: int = 0) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        chosen = torch.rand(len(images), generator=generator) < 0.5
        return torch.where(chosen.view(-1, 1, 1, 1), images.flip(-1), images)


class KeypointAugment(nn.Module):
    """Face crops with their points, moved together: random scale, rotation and shift of
    the crop window, horizontal flip (left/right point indices swapped), brightness,
    contrast and gamma jitter, blur (a camera out of focus or in motion, a small face
    enlarged) and a flat patch over part of the face (a hand, glasses' glare, a microphone).

    Takes context crops ``context`` times wider than the output, framed like the serving
    crop (:func:`visionplay.train.data.face_crops`), and (N, K, 2) points in their [0, 1]
    coordinates. With no jitter it returns exactly the serving crop: the window is the
    context's centre, sampled at pixel centres.
    """

    moves_targets = True

    def __init__(
        self,
        flip_index: torch.Tensor,
        context: float = 2.0,
        scale: tuple[float, float] = (0.9, 1.3),
        degrees: float = 30.0,
        shift: float = 0.08,
        flip: bool = True,
        light: float = 0.4,
        blur: float = 2.0,
        occlude: float = 0.3,
    ) -> None:
        super().__init__()
        self.register_buffer("flip_index", torch.as_tensor(flip_index, dtype=torch.long))
        self.context, self.scale, self.degrees, self.shift = context, scale, degrees, shift
        self.flip, self.light, self.blur, self.occlude = flip, light, blur, occlude

    def forward(self, x: torch.Tensor, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, _, side, _ = x.shape
        out_side = round(side / self.context)

        def uniform(low: float, high: float) -> torch.Tensor:
            return torch.rand(n, device=x.device) * (high - low) + low

        # Output grid (in [-1, 1]) -> context grid: A @ g + t, A = zoom * rotation * mirror.
        zoom = uniform(*self.scale) / self.context
        angle = uniform(-self.degrees, self.degrees) * math.pi / 180
        mirror = torch.where(uniform(0, 1) < 0.5, -1.0, 1.0) if self.flip else torch.ones(n)
        mirror = mirror.to(x.device)
        cos, sin = torch.cos(angle) * zoom, torch.sin(angle) * zoom
        a = torch.stack(
            [torch.stack([cos * mirror, -sin], 1), torch.stack([sin * mirror, cos], 1)], 1
        )
        t = torch.stack([uniform(-self.shift, self.shift), uniform(-self.shift, self.shift)], 1) * 2
        theta = torch.cat([a, t[:, :, None]], 2)
        grid = F.affine_grid(theta, [n, 1, out_side, out_side], align_corners=False)
        crops = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

        # The points go the other way: g = A^-1 (p - t), in the same [-1, 1] units.
        p = points * 2 - 1
        p = torch.linalg.solve(a, (p - t[:, None, :]).transpose(1, 2)).transpose(1, 2)
        p = (p + 1) / 2
        flipped = mirror < 0
        p[flipped] = p[flipped][:, self.flip_index]

        # Light: brightness, contrast around the mean, and gamma.
        shape = (n, 1, 1, 1)
        gamma = torch.exp(uniform(-self.light, self.light)).view(shape)
        crops = crops.clamp(0, 1) ** gamma
        mean = crops.mean((1, 2, 3), keepdim=True)
        contrast = (1 + uniform(-self.light, self.light)).view(shape)
        brightness = uniform(-self.light, self.light).view(shape) / 3
        crops = ((crops - mean) * contrast + mean + brightness).clamp(0, 1)
        return self.occluded(self.blurred(crops)), p

    def blurred(self, crops: torch.Tensor) -> torch.Tensor:
        """Half the crops blurred, each by its own Gaussian of up to ``blur`` pixels."""
        n = len(crops)
        if self.blur <= 0:
            return crops
        sigma = torch.rand(n, device=crops.device) * self.blur
        sigma = torch.where(torch.rand(n, device=crops.device) < 0.5, sigma, 0.0)
        radius = math.ceil(3 * self.blur)
        taps = torch.arange(-radius, radius + 1, device=crops.device, dtype=crops.dtype)
        kernel = torch.exp(-0.5 * (taps / sigma.clamp(min=1e-3)[:, None]) ** 2)
        kernel = (kernel / kernel.sum(1, keepdim=True))[:, None, None, :]  # (n, 1, 1, k)
        # The batch as channels, one kernel per channel: a separable blur in two passes.
        x = F.pad(crops.transpose(0, 1), (radius, radius, radius, radius), mode="replicate")
        x = F.conv2d(x, kernel, groups=n)
        x = F.conv2d(x, kernel.transpose(2, 3), groups=n)
        return x.transpose(0, 1)

    def occluded(self, crops: torch.Tensor) -> torch.Tensor:
        """A share ``occlude`` of the crops with a flat grey rectangle over a part of
        them; the points stay where the face is."""
        n, _, height, width = crops.shape
        if self.occlude <= 0:
            return crops
        device = crops.device
        chosen = torch.rand(n, 1, 1, 1, device=device) < self.occlude
        size = (torch.rand(n, 2, device=device) * 0.3 + 0.15) * width  # a side of 15-45 %
        corner = torch.rand(n, 2, device=device) * (width - size)
        ys = torch.arange(height, device=device).view(1, height, 1)
        xs = torch.arange(width, device=device).view(1, 1, width)
        inside = (
            (xs >= corner[:, 0, None, None])
            & (xs < (corner[:, 0] + size[:, 0])[:, None, None])
            & (ys >= corner[:, 1, None, None])
            & (ys < (corner[:, 1] + size[:, 1])[:, None, None])
        )[:, None]
        grey = torch.rand(n, 1, 1, 1, device=device)
        return torch.where(chosen & inside, grey, crops)
