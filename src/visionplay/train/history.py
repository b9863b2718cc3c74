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


Panel = tuple[str, str, list[tuple[str, list[float]]]]  # y label, title, (line, values)


def plot_curves(history: list[dict[str, Any]], path: Path, title: str) -> None:
    """Loss and metric per epoch, for each split; a GAN's two losses and how its samples
    read (the share read as asked, diversity)."""
    if "d_loss" in history[0]:
        panels: list[Panel] = [
            ("hinge loss", "losses", [(k, [h[k] for h in history]) for k in ("d_loss", "g_loss")]),
            (
                "",
                "samples, read by the classifier",
                [
                    (name, [h[k] for h in history])
                    for k, name in (
                        ("conditional_accuracy", "read as asked"),
                        ("diversity_min", "diversity"),
                    )
                ],
            ),
        ]
    else:
        splits, metric = history_keys(history)
        metric_name = {"acc": "accuracy", "nme": "NME (lower is better)"}.get(metric, metric)
        panels = [
            ("loss", "loss", [(s, [h[f"{s}_loss"] for h in history]) for s in splits]),
            (
                metric_name,
                metric_name,
                [(s, [h[f"{s}_{metric}"] for h in history]) for s in splits],
            ),
        ]
    plot_panels([h["epoch"] for h in history], panels, path, title)


def plot_panels(epochs: list[int], panels: list[Panel], path: Path, title: str) -> None:
    """Panels side by side, each a few lines over the epochs, saved as a PNG."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(10, 4))
    for ax, (ylabel, name, lines) in zip(axes, panels, strict=True):
        for label, values in lines:
            ax.plot(epochs, values, marker="o", label=label)
        ax.set(xlabel="epoch", ylabel=ylabel, title=f"{title}: {name}")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)
