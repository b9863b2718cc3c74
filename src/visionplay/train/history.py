"""A run's record: one dict per epoch, written as ``metrics.json`` and drawn as
``curves.png`` (loss and score per split)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..files import atomic_write, write_json
from ..plots import pyplot


def save_history(
    out_dir: str | os.PathLike, name: str, history: list[dict[str, Any]], prefix: str = ""
) -> None:
    """Per-epoch metrics as ``<prefix>metrics.json`` and ``<prefix>curves.png``."""
    out_dir = Path(out_dir)
    write_json(out_dir / f"{prefix}metrics.json", {"model": name, "epochs": history})
    plot_curves(history, out_dir / f"{prefix}curves.png", title=name)


def history_keys(history: list[dict[str, Any]]) -> tuple[list[str], str]:
    """The splits (``train`` first) and the metric a history logs, read from its keys."""
    metric = next(
        k.split("_", 1)[1] for k in history[0] if k.startswith("train_") and k != "train_loss"
    )
    splits = [k.removesuffix("_loss") for k in history[0] if k.endswith("_loss")]
    return splits, metric


def plot_curves(history: list[dict[str, Any]], path: Path, title: str) -> None:
    if "d_loss" in history[0]:
        return plot_gan_curves(history, path, title)
    plt = pyplot()

    epochs = [h["epoch"] for h in history]
    splits, metric = history_keys(history)
    metric_name = {"acc": "accuracy", "nme": "NME (lower is better)"}.get(metric, metric)
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(10, 4))
    for split in splits:
        ax_loss.plot(epochs, [h[f"{split}_loss"] for h in history], marker="o", label=split)
        ax_metric.plot(epochs, [h[f"{split}_{metric}"] for h in history], marker="o", label=split)
    ax_loss.set(xlabel="epoch", ylabel="loss", title=f"{title}: loss")
    ax_metric.set(xlabel="epoch", ylabel=metric_name, title=f"{title}: {metric_name}")
    for ax in (ax_loss, ax_metric):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)


def plot_gan_curves(history: list[dict[str, Any]], path: Path, title: str) -> None:
    """A GAN's two losses, and how its pictures read (share read as asked, diversity)."""
    plt = pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_quality) = plt.subplots(1, 2, figsize=(10, 4))
    for key in ("d_loss", "g_loss"):
        ax_loss.plot(epochs, [h[key] for h in history], marker="o", label=key)
    for key, label in (("conditional_accuracy", "read as asked"), ("diversity_min", "diversity")):
        ax_quality.plot(epochs, [h[key] for h in history], marker="o", label=label)
    ax_loss.set(xlabel="epoch", ylabel="hinge loss", title=f"{title}: losses")
    ax_quality.set(xlabel="epoch", title=f"{title}: samples, read by the classifier")
    for ax in (ax_loss, ax_quality):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)
