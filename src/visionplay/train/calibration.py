"""Scores that mean what they say: a temperature fitted on training images kept back from
training, folded into the exported graph (Guo et al., 2017, "On Calibration of Modern
Neural Networks").

Label smoothing and weight decay leave a classifier's top score below how often it is
right; one scalar ``T`` dividing the logits fixes most of that without changing a single
answer (the order of the scores stays). ``T`` minimises the cross-entropy on the held-out
images, whose logits the model never trained on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from .data import batches


def expected_calibration_error(scores: np.ndarray, right: np.ndarray, bins: int = 15) -> float:
    """How far the top score is from the share answered right, averaged over ``bins``
    equal-width bins of the top score, each weighted by its share of the samples (the ECE
    of Guo et al., 2017). 0: a score of 0.9 is right nine times in ten."""
    if not len(scores):
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1], right=True), 0, bins - 1)
    gap = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            gap += members.mean() * abs(scores[members].mean() - right[members].mean())
    return float(gap)


@torch.no_grad()
def logits_of(
    model: nn.Module, dataset: TensorDataset, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's logits (eval mode, as exported) and the labels, on the CPU."""
    model.eval()
    outputs, labels = [], []
    for x, y in batches(dataset, 1000, shuffle=False):
        outputs.append(model(x.to(device)).float().cpu())
        labels.append(y)
    return torch.cat(outputs), torch.cat(labels)


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The ``T`` > 0 for which ``softmax(logits / T)`` has the least cross-entropy."""
    log_t = torch.zeros((), requires_grad=True)  # T = exp(log_t) stays positive
    optimizer = torch.optim.LBFGS([log_t], lr=0.5, max_iter=100, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_t.detach().exp())


def calibrate(model: nn.Module, held_out: TensorDataset, device: torch.device) -> dict[str, Any]:
    """Fit the temperature on ``held_out``; the record a checkpoint keeps, with the
    held-out cross-entropy and ECE before and after (figures on data ``T`` was fitted on,
    so only ``visionplay eval``'s test-set ECE is the honest measure)."""
    logits, labels = logits_of(model, held_out, device)
    temperature = fit_temperature(logits, labels)

    def measured(t: float) -> tuple[float, float]:
        probs = torch.softmax(logits / t, dim=1)
        top, guess = probs.max(dim=1)
        nll = F.cross_entropy(logits / t, labels).item()
        return nll, expected_calibration_error(top.numpy(), (guess == labels).numpy())

    (nll_before, ece_before), (nll_after, ece_after) = measured(1.0), measured(temperature)
    return {
        "method": "temperature",
        "temperature": temperature,
        "images": len(labels),
        "nll_before": nll_before,
        "nll_after": nll_after,
        "ece_before": ece_before,
        "ece_after": ece_after,
    }


class Temperature(nn.Module):
    """Logits divided by a fitted temperature: what export puts before the softmax."""

    def __init__(self, temperature: float) -> None:
        super().__init__()
        self.temperature = float(temperature)

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        return logits / self.temperature
