"""Face keypoint regressors (a 1x96x96 face crop in, 68 (x, y) in crop units [0, 1] out).

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

from __future__ import annotations

import torch
from torch import nn

from .. import faces
from ..config import FACE_KEYPOINTS
from .common import conv_bn_relu, mirror
from .registry import register_model


class MirrorAverage(nn.Module):
    """Test-time augmentation for points: in eval mode, the points found on the crop are
    averaged with those found on its mirror image (mirrored back, left and right names
    swapped). Training mode runs the plain network."""

    def __init__(self, net: nn.Module, num_points: int = 68) -> None:
        super().__init__()
        self.net = net
        flip = faces.FLIP if num_points == faces.NUM_POINTS else range(num_points)
        self.register_buffer("flip_index", torch.as_tensor(flip, dtype=torch.long))
        # (x, y) -> (1 - x, y) as one multiply-add (exactly 1 - x): fewer, plainer ONNX ops
        # than splitting and stacking the coordinates. Not weights: kept out of state_dict.
        self.register_buffer("mirror_scale", torch.tensor([-1.0, 1.0]), persistent=False)
        self.register_buffer("mirror_shift", torch.tensor([1.0, 0.0]), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        points = self.net(x)
        if self.training:
            return points
        # index_select exports as a Gather on a constant index (indexing with a tensor
        # exports as GatherND, which OpenCV 4.x lacks)
        mirrored = self.net(mirror(x)).index_select(1, self.flip_index)
        mirrored = mirrored * self.mirror_scale + self.mirror_shift
        return 0.5 * (points + mirrored)


class Points(nn.Module):
    """(N, 2K) regression output -> (N, K, 2) points."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0], -1, 2)


@register_model(FACE_KEYPOINTS)
def keypoint_cnn(num_points: int = 68, dropout: float = 0.2) -> nn.Module:
    """Four conv layers and two fully connected ones (seed 004, task 11)."""
    return nn.Sequential(
        conv_bn_relu(1, 32, 5),
        nn.MaxPool2d(2),  # 48
        conv_bn_relu(32, 64),
        nn.MaxPool2d(2),  # 24
        conv_bn_relu(64, 128),
        nn.MaxPool2d(2),  # 12
        conv_bn_relu(128, 256),
        nn.MaxPool2d(2),  # 6
        nn.Flatten(),
        nn.Linear(256 * 6 * 6, 512),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(512, 2 * num_points),
        Points(),
    )


@register_model(FACE_KEYPOINTS)
def keypoint_resnet18(num_points: int = 68, pretrained: bool = False) -> nn.Module:
    """torchvision's ResNet-18 with a 136-value regression head (seed 004, task 11).

    ``pretrained`` downloads ImageNet weights (their RGB stem summed to one gray channel)."""
    from torchvision.models import ResNet18_Weights, resnet18

    net = resnet18(weights=ResNet18_Weights.IMAGENET1K_V1 if pretrained else None)
    rgb = net.conv1.weight.data
    net.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    if pretrained:
        net.conv1.weight.data.copy_(rgb.sum(1, keepdim=True))
    net.fc = nn.Linear(net.fc.in_features, 2 * num_points)
    return nn.Sequential(net, Points())


@register_model(FACE_KEYPOINTS)
def face_keypoints(width: int = 32, num_points: int = 68, mirror: bool = True) -> nn.Module:
    """The shipped regressor: four double-conv stages into a spatial head, mirror-averaged.

    A stride-2 stem and four double-conv stages (48 -> 6 px), whose 6x6 map stays spatial
    into the head (pooling it away would lose the where); answers averaged with its mirror
    image's (``mirror``)."""
    w = width
    net = nn.Sequential(
        nn.Conv2d(1, w, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(w),
        nn.ReLU(True),
        conv_bn_relu(w, w),
        nn.MaxPool2d(2),  # 24
        conv_bn_relu(w, 2 * w),
        conv_bn_relu(2 * w, 2 * w),
        nn.MaxPool2d(2),  # 12
        conv_bn_relu(2 * w, 4 * w),
        conv_bn_relu(4 * w, 4 * w),
        nn.MaxPool2d(2),  # 6
        conv_bn_relu(4 * w, 8 * w),
        conv_bn_relu(8 * w, 4 * w, kernel_size=1),
        nn.Flatten(),
        nn.Linear(4 * w * 6 * 6, 256),
        nn.ReLU(inplace=True),
        nn.Linear(256, 2 * num_points),
        Points(),
    )
    return MirrorAverage(net, num_points) if mirror else net
