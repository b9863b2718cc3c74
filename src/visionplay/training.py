"""The loops every trainer shares: one epoch, evaluation, checkpoints, history and curves."""

from __future__ import annotations

import os
import random
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .config import DataConfig
from .files import atomic_write, write_json
from .models import with_normalization
from .registry import create_model, get_config


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """Registry architecture with its input normalisation in front: [0, 1] pixels go in."""
    return with_normalization(create_model(name, **kwargs), get_config(name))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def train_one_epoch(
    model: nn.Module,
    loader,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
    label_smoothing: float = 0.0,
    desc: str = "train",
) -> dict[str, float]:
    """One pass over ``loader``; returns mean loss, accuracy and samples per second."""
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    start = time.perf_counter()
    bar = tqdm(loader, desc=desc, unit="batch", leave=False)
    for x, y in bar:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        if augment is not None:
            x = augment(x)
        logits = model(x)
        loss = F.cross_entropy(logits, y, label_smoothing=label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total_loss += loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(y)
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.4f}")
    seconds = time.perf_counter() - start
    return {
        "loss": total_loss / max(seen, 1),
        "acc": correct / max(seen, 1),
        "seconds": seconds,
        "samples_per_s": seen / seconds if seconds else 0.0,
    }


@torch.no_grad()
def evaluate(
    model: nn.Module, loader, device: torch.device, desc: str = "eval"
) -> dict[str, float]:
    """Mean cross-entropy and accuracy over ``loader``."""
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    for x, y in tqdm(loader, desc=desc, unit="batch", leave=False):
        x, y = x.to(device), y.to(device)
        logits = model(x)
        total_loss += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(y)
    return {"loss": total_loss / max(seen, 1), "acc": correct / max(seen, 1)}


def save_checkpoint(
    path: str | os.PathLike,
    *,
    name: str,
    model: nn.Module,
    cfg: DataConfig,
    args: dict[str, Any],
    model_kwargs: dict[str, Any],
    history: list[dict[str, Any]],
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    command: str | None = None,
) -> Path:
    """A checkpoint that describes itself: export rebuilds the model from it alone."""
    state = {
        "name": name,
        "command": command or shlex.join(["python", *sys.argv]),
        "model_kwargs": model_kwargs,
        "cfg": cfg.to_dict(),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in args.items()},
        "history": history,
        "epoch": len(history),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "torch_version": torch.__version__,
    }
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=False)


def model_from_checkpoint(checkpoint: dict[str, Any]) -> nn.Module:
    model = build_model(checkpoint["name"], **checkpoint["model_kwargs"])
    model.load_state_dict(checkpoint["model"])
    return model.eval()


def save_history(
    out_dir: str | os.PathLike, name: str, history: list[dict[str, Any]], prefix: str = ""
) -> None:
    """Per-epoch metrics as ``<prefix>metrics.json`` and ``<prefix>curves.png``."""
    out_dir = Path(out_dir)
    write_json(out_dir / f"{prefix}metrics.json", {"model": name, "epochs": history})
    plot_curves(history, out_dir / f"{prefix}curves.png", title=name)


def plot_curves(history: list[dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for split in ("train", "test"):
        ax_loss.plot(epochs, [h[f"{split}_loss"] for h in history], marker="o", label=split)
        ax_acc.plot(epochs, [h[f"{split}_acc"] for h in history], marker="o", label=split)
    ax_loss.set(xlabel="epoch", ylabel="loss", title=f"{title}: loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title=f"{title}: accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)
