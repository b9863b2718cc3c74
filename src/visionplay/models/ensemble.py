"""Several trained classifiers of one dataset answering as one: the mean of their
probabilities (each member calibrated first, as its own checkpoint says). Not registered:
``visionplay ensemble`` combines checkpoints the trainers saved."""

from __future__ import annotations

import torch
from torch import nn

PROBABILITY_FLOOR = 1e-30  # keeps the log finite where every member gives a class 0


class MeanOfProbabilities(nn.Module):
    """Members that give logits -> the log of their mean softmax: logits again, whose
    softmax is the members' mean probability, so that export's calibration and softmax
    follow as for any classifier."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # A sum, not a stack and a mean: OpenCV 4.x's importer mangles the stacked axis.
        total = sum(member(x).softmax(dim=1) for member in self.members)
        return (total / len(self.members)).clamp_min(PROBABILITY_FLOOR).log()
