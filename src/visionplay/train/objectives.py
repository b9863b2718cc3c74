"""What a model learns: an :class:`Objective` is its training loss, the loss reported on
held-out data and a per-sample score; one maker per kind of model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .. import faces


@dataclass(frozen=True)
class Objective:
    """What a model learns: the training loss, the loss reported on held-out data, and a
    per-sample score (averaged over a split, logged as ``<split>_<metric>``)."""

    metric: str
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    eval_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    score: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def classification(label_smoothing: float = 0.0) -> Objective:
    """Cross-entropy (smoothed for training only) and accuracy."""
    return Objective(
        metric="acc",
        loss=lambda logits, y: F.cross_entropy(logits, y, label_smoothing=label_smoothing),
        eval_loss=F.cross_entropy,
        score=lambda logits, y: (logits.argmax(1) == y).float(),
    )


def robust_regression() -> Objective:
    """Huber loss for training (a level shift in a target moves it less than squared
    error would), mean squared error reported."""
    return Objective(
        metric="mse",
        loss=F.smooth_l1_loss,
        eval_loss=F.mse_loss,
        score=lambda predicted, y: ((predicted - y) ** 2).flatten(1).mean(1),
    )


def keypoint_regression() -> Objective:
    """L1 on point coordinates (robust to the odd bad label), scored by NME."""
    return Objective(metric="nme", loss=F.l1_loss, eval_loss=F.l1_loss, score=faces.nme)


def regression() -> Objective:
    """Mean squared error, reported per sample (averaged over its outputs)."""
    return Objective(
        metric="mse",
        loss=F.mse_loss,
        eval_loss=F.mse_loss,
        score=lambda predicted, y: ((predicted - y) ** 2).flatten(1).mean(1),
    )
