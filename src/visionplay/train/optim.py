"""Learning-rate schedules and optimizer wrappers the trainers share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from . import distributed
from .settings import TrainingSettings


def steps_per_epoch(train_size: int, batch_size: int) -> int:
    """Optimizer steps each process takes in one epoch (its share of the data)."""
    share = -(-train_size // distributed.world_size())
    return -(-share // batch_size)


def one_cycle(
    optimizer: torch.optim.Optimizer, settings: TrainingSettings, train_size: int
) -> torch.optim.lr_scheduler.OneCycleLR:
    """One-cycle schedule peaking at ``settings.lr``, over every step of the run."""
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=settings.lr,
        total_steps=settings.epochs * steps_per_epoch(train_size, settings.batch_size),
    )


class Lookahead:
    """Wraps an optimizer: every ``every`` steps the weights (and BatchNorm statistics) move
    into a slow exponential average and restart from it; ``decay(progress)`` sets how slow,
    with progress from 0 to 1 over ``total_steps``. airbench's form of Lookahead (Zhang et
    al. 2019): it steadies the end of a short, high learning-rate run.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        model: nn.Module,
        total_steps: int,
        decay: Callable[[float], float] = lambda progress: 0.95**5 * progress**3,
        every: int = 5,
    ) -> None:
        self.optimizer, self.model, self.total_steps = optimizer, model, total_steps
        self.decay, self.every, self.steps = decay, every, 0
        self.slow = {k: v.detach().clone() for k, v in self._floats().items()}

    def _floats(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.model.state_dict().items() if v.is_floating_point()}

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.optimizer.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    @torch.no_grad()
    def step(self) -> None:
        self.optimizer.step()
        self.steps += 1
        last = self.steps >= self.total_steps
        if self.steps % self.every == 0 or last:
            decay = 1.0 if last else self.decay(self.steps / self.total_steps)
            for name, fast in self._floats().items():
                self.slow[name].lerp_(fast, 1 - decay)
                fast.copy_(self.slow[name])

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "steps": self.steps, "slow": self.slow}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.steps, self.slow = state["steps"], state["slow"]
