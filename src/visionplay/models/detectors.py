"""Face detectors: MediaPipe's BlazeFace full-range network, rebuilt layer for layer so that
trainers/face_detector.py can load Google's weights into it (a 3x192x192 RGB picture in,
one row per anchor out: 16 box and keypoint offsets and a face logit).

The network is TensorFlow's: "same" padding, which for a stride-2 layer pads one pixel on
the right and bottom only, and shortcuts that pad extra channels with zeros.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import FACE_DETECTOR
from .registry import register_model


def depthwise(channels: int, stride: int = 1) -> nn.Conv2d:
    """A 3x3 depthwise convolution with a bias; a stride-2 one gets its padding in front."""
    return nn.Conv2d(
        channels, channels, 3, stride, padding=1 if stride == 1 else 0, groups=channels
    )


def pad_for_stride(x: torch.Tensor) -> torch.Tensor:
    """TensorFlow's "same" padding of a 3x3 stride-2 layer on an even side: right, bottom."""
    return F.pad(x, (0, 1, 0, 1))


class DoubleBlock(nn.Module):
    """BlazeFace's double block: depthwise, 1x1 down to ``mid`` (ReLU), depthwise, 1x1 up
    to ``cout``, plus the shortcut (max-pooled where the block halves the size, zeros in
    the extra channels), then ReLU."""

    def __init__(self, cin: int, mid: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.stride, self.extra = stride, cout - cin
        self.dw1, self.pw1 = depthwise(cin, stride), nn.Conv2d(cin, mid, 1)
        self.dw2, self.pw2 = depthwise(mid), nn.Conv2d(mid, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dw1(pad_for_stride(x) if self.stride == 2 else x)
        y = self.pw2(self.dw2(F.relu(self.pw1(y))))
        shortcut = F.max_pool2d(x, 2) if self.stride == 2 else x
        if self.extra:
            shortcut = F.pad(shortcut, (0, 0, 0, 0, 0, self.extra))
        return F.relu(y + shortcut)


def blocks(*shapes: tuple[int, ...]) -> nn.Sequential:
    return nn.Sequential(*(DoubleBlock(*shape) for shape in shapes))


class TopDown(nn.Module):
    """One step of the feature pyramid: the coarser map (1x1, ReLU, doubled in size) added
    to the finer one (1x1, ReLU), then double blocks."""

    def __init__(self, coarse: int, fine: int, width: int, mid: int, count: int) -> None:
        super().__init__()
        self.coarse, self.fine = nn.Conv2d(coarse, width, 1), nn.Conv2d(fine, width, 1)
        self.blocks = blocks(*[(width, mid, width)] * count)

    def forward(self, coarse: torch.Tensor, fine: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(F.relu(self.coarse(coarse)), scale_factor=2.0, mode="bilinear")
        return self.blocks(F.relu(self.fine(fine)) + up)


class BlazeFaceFullRange(nn.Module):
    """The backbone from 96 down to 6 cells a side, a top-down pyramid back to 48, and two
    1x1 heads on the 48x48 map: one anchor per cell, 2304 in all, in row-major order."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, stride=2)
        self.stage96 = blocks((32, 8, 32), (32, 8, 32))
        self.stage48 = blocks((32, 12, 48, 2), (48, 12, 48), (48, 16, 64))
        self.stage24 = blocks((64, 24, 96, 2), (96, 32, 128), (128, 32, 128))
        self.stage12 = blocks((128, 36, 144, 2), (144, 48, 192), (192, 64, 256))
        self.stage6 = blocks((256, 96, 384, 2), *[(384, 96, 384)] * 3)
        self.up12 = TopDown(384, 256, 96, 48, 2)
        self.up24 = TopDown(96, 128, 64, 32, 2)
        self.up48 = TopDown(64, 64, 48, 24, 1)
        self.classifier = nn.Conv2d(48, 1, 1)
        self.regressor = nn.Conv2d(48, 16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 192, 192) in [-1, 1] -> (N, 2304, 17): 16 offsets, then the logit."""
        x = self.stage96(F.relu(self.stem(pad_for_stride(x))))
        c48 = self.stage48(x)
        c24 = self.stage24(c48)
        c12 = self.stage12(c24)
        c6 = self.stage6(c12)
        top = self.up48(self.up24(self.up12(c6, c12), c24), c48)
        out = torch.cat([self.regressor(top), self.classifier(top)], dim=1)
        return out.permute(0, 2, 3, 1).reshape(x.shape[0], -1, 17)


@register_model(FACE_DETECTOR)
def face_detector() -> nn.Module:
    """MediaPipe's BlazeFace full-range face detector (weights: trainers/face_detector.py)."""
    return BlazeFaceFullRange()
