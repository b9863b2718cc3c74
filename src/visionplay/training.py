"""The loops every trainer shares: one epoch, evaluation, checkpoints, history and curves."""

from __future__ import annotations

import argparse
import json
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
from .data import batches, load_dataset, materialize
from .files import atomic_write, write_json
from .models import with_normalization
from .registry import create_model, get_config, list_models


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


def add_training_args(
    parser: argparse.ArgumentParser,
    dataset: str,
    *,
    arch: str,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    label_smoothing: float = 0.0,
) -> argparse.ArgumentParser:
    """The flags every trainer has; the keyword arguments are its recipe (the defaults)."""
    p = parser
    p.add_argument("--arch", default=arch, choices=list_models(dataset))
    p.add_argument(
        "--model-kwargs", type=json.loads, default={}, metavar="JSON",
        help='keyword arguments for the architecture, e.g. \'{"widths": [32, 128, 128]}\'',
    )  # fmt: skip
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--batch-size", type=int, default=batch_size)
    p.add_argument("--lr", type=float, default=lr, help="peak of the one-cycle schedule")
    p.add_argument("--weight-decay", type=float, default=weight_decay)
    p.add_argument("--label-smoothing", type=float, default=label_smoothing)
    p.add_argument("--no-augment", dest="augment", action="store_false")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", type=Path, default=None, help="default: $VISIONPLAY_DATA")
    p.add_argument("--out", type=Path, default=Path("runs"))
    p.add_argument("--device", default="auto")
    p.add_argument("--workers", type=int, default=2, help="processes for the one-off preprocessing")
    p.add_argument(
        "--limit", type=int, default=None, help="use only N images per split, evenly spread"
    )
    p.add_argument("--resume", action="store_true", help="continue from <out>/<arch>/<arch>.pt")
    p.add_argument("--dry-run", action="store_true", help="one epoch on 512 images")
    return p


def parse_training_args(
    parser: argparse.ArgumentParser, argv: list[str] | None = None
) -> argparse.Namespace:
    args = parser.parse_args(argv)
    if args.dry_run:
        args.epochs, args.limit = 1, args.limit or 512
    return args


def load_splits(cfg: DataConfig, args: argparse.Namespace):
    """Train and test sets, preprocessed once by the serving code and kept in memory."""
    return tuple(
        materialize(load_dataset(cfg, args.data_dir, train=train), args.limit, args.workers)
        for train in (True, False)
    )


def one_cycle(
    optimizer: torch.optim.Optimizer, args: argparse.Namespace, train_size: int
) -> torch.optim.lr_scheduler.OneCycleLR:
    steps_per_epoch = -(-train_size // args.batch_size)
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch
    )


def fit(
    model: nn.Module,
    train_set,
    test_set,
    *,
    args: argparse.Namespace,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    device: torch.device,
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> list[dict[str, Any]]:
    """The epoch loop: (resume,) train, evaluate, print, save checkpoint and curves each epoch.

    Every epoch reseeds all generators from (seed, epoch), so a run resumed after a crash
    sees the same batches, augmentations and dropout as one that never stopped.
    """
    cfg = get_config(args.arch)
    out_dir = args.out / args.arch
    checkpoint_path = out_dir / f"{args.arch}.pt"
    history: list[dict[str, Any]] = []
    if args.resume and checkpoint_path.exists():
        state = load_checkpoint(checkpoint_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        history = state["history"]
        print(f"resumed {checkpoint_path} after epoch {len(history)}")
    print(
        f"{args.arch}: {count_parameters(model):,} parameters, "
        f"{len(train_set):,} train images, {device}"
    )
    test_loader = batches(test_set, 1000, shuffle=False)

    for epoch in range(len(history) + 1, args.epochs + 1):
        epoch_seed = args.seed * 1000 + epoch
        seed_everything(epoch_seed)
        start = time.perf_counter()
        train = train_one_epoch(
            model,
            batches(train_set, args.batch_size, shuffle=True, seed=epoch_seed),
            optimizer,
            device,
            scheduler=scheduler,
            augment=augment if args.augment else None,
            label_smoothing=args.label_smoothing,
            desc=f"epoch {epoch}/{args.epochs}",
        )
        test = evaluate(model, test_loader, device)
        history.append({
            "epoch": epoch,
            "train_loss": train["loss"], "train_acc": train["acc"],
            "test_loss": test["loss"], "test_acc": test["acc"],
            "seconds": time.perf_counter() - start,
            "images_per_s": train["samples_per_s"],
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        })  # fmt: skip
        h = history[-1]
        print(
            f"epoch {epoch:2d}  train loss {h['train_loss']:.4f} acc {h['train_acc']:.4f}  "
            f"test loss {h['test_loss']:.4f} acc {h['test_acc']:.4f}  "
            f"{h['seconds']:.0f}s ({h['images_per_s']:.0f} img/s)"
        )
        save_checkpoint(
            checkpoint_path, name=args.arch, model=model, cfg=cfg, args=vars(args),
            model_kwargs=args.model_kwargs, history=history, optimizer=optimizer,
            scheduler=scheduler,
        )  # fmt: skip
        save_history(out_dir, args.arch, history)
    print(f"saved {checkpoint_path}")
    return history
