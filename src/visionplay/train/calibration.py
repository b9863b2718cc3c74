"""Scores that mean what they say: a temperature fitted on training images kept back from
training, folded into the exported graph (Guo et al., 2017, "On Calibration of Modern
Neural Networks"); for a reader with a "not a digit" class, first an offset on that class's
logit that keeps it from taking real digits (a prior shift, as in logit adjustment).

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

from ..config import NOT_A_DIGIT, DataConfig
from .data import batches

# A reader with a "none of these" class may give it to at most this share of the held-out
# images of the real classes (see reject_offset).
MAX_FALSE_REJECTS = 0.001


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


def reject_class(cfg: DataConfig) -> int | None:
    """The index of a "none of these" class (the digit reader's "not a digit"), if any."""
    return cfg.labels.index(NOT_A_DIGIT) if NOT_A_DIGIT in cfg.labels else None


def reject_offset(
    logits: torch.Tensor, labels: torch.Tensor, reject: int, most: float = MAX_FALSE_REJECTS
) -> float:
    """What to add (0 or less) to the reject class's logit so that it is the top answer for
    at most ``most`` of the held-out images of the other classes. Training shows the reject
    class far more often than people draw one, and the rare real digit it takes costs more
    than the rare scribble it misses."""
    others = logits[labels != reject]
    if not len(others):
        return 0.0
    best_other = torch.cat([others[:, :reject], others[:, reject + 1 :]], 1).max(1).values
    margins = others[:, reject] - best_other  # above 0: called the reject class
    highest_allowed = torch.quantile(margins, 1 - most, interpolation="higher").item()
    return min(0.0, -highest_allowed - 1e-4)  # the image at the quantile stays a real one


def calibrate(
    model: nn.Module, held_out: TensorDataset, device: torch.device, reject: int | None = None
) -> dict[str, Any]:
    """Fit the logits' offsets (only a ``reject`` class has one: :func:`reject_offset`) and
    then the temperature on ``held_out``; the record a checkpoint keeps, with held-out
    figures before and after (on data they were fitted on: ``visionplay eval``'s test-set
    figures are the honest ones)."""
    logits, labels = logits_of(model, held_out, device)
    offsets = torch.zeros(logits.shape[1])
    if reject is not None:
        offsets[reject] = reject_offset(logits, labels, reject)
    temperature = fit_temperature(logits + offsets, labels)

    def measured(o: torch.Tensor, t: float) -> dict[str, float]:
        adjusted = (logits + o) / t
        top, guess = torch.softmax(adjusted, dim=1).max(dim=1)
        figures = {
            "nll": F.cross_entropy(adjusted, labels).item(),
            "ece": expected_calibration_error(top.numpy(), (guess == labels).numpy()),
        }
        if reject is not None:  # shares of the held-out real and reject images (0 of none)
            real, rejects = labels != reject, labels == reject
            figures["false_rejects"] = share(guess[real] == reject)
            figures["rejects_caught"] = share(guess[rejects] == reject)
        return figures

    before, after = measured(torch.zeros_like(offsets), 1.0), measured(offsets, temperature)
    return {
        "method": "temperature" + (", reject offset" if reject is not None else ""),
        "temperature": temperature,
        "offsets": offsets.tolist(),
        "images": len(labels),
        **{f"{k}_before": v for k, v in before.items()},
        **{f"{k}_after": v for k, v in after.items()},
    }


def share(hits: torch.Tensor) -> float:
    """The share of True in ``hits``; 0 when it is empty."""
    return hits.float().mean().item() if len(hits) else 0.0


class CalibratedLogits(nn.Module):
    """``(logits + offsets) / temperature``: what export puts before the softmax."""

    def __init__(self, temperature: float, offsets: list[float] | None = None) -> None:
        super().__init__()
        self.temperature = float(temperature)
        self.register_buffer("offsets", torch.tensor(offsets or [0.0]), persistent=False)

    @classmethod
    def of(cls, calibration: dict[str, Any]) -> CalibratedLogits:
        """The layer a checkpoint's ``calibration`` record describes."""
        return cls(calibration["temperature"], calibration.get("offsets"))

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        return (logits + self.offsets) / self.temperature
