"""The tutorials' experiments, computed for real.

``permutation_experiment`` (seed 002, run by ``visionplay experiment permute`` with the
:class:`TrainingSettings` it builds from its flags): FC2(8) and CNN-small(6) have the same
parameter budget (6,442 vs 6,422). On MNIST as given the CNN wins clearly; shuffle every
image's pixels by one fixed permutation and its advantage (locality, weight sharing) is gone.

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..files import atomic_write, write_json
from ..plots import pyplot

# The experiment's settings, built by `visionplay experiment permute` from its flags (the
# command reaches the training side through this module only). torch-free, as is the rest
# of this module's top: the Learn tab reads results and permutes with numpy only.
from ..train.settings import TrainingSettings, add_flags

if TYPE_CHECKING:
    import torch
    from torch.utils.data import TensorDataset

PERMUTE_MODELS = {"fc2": "FC2(8)", "cnn_small": "CNN-small(6)"}
EXAMPLES = 8  # test digits kept in the result, to show before and after the permutation
# The settings ``visionplay experiment permute`` lets its flags change; the recipe gives
# those their defaults (seed 002's one epoch of SGD) and fixes the others.
PERMUTE_FLAGS = ("epochs", "batch_size", "lr", "seed", "data_dir", "limit", "workers", "out")
PERMUTE_RECIPE: dict[str, Any] = dict(
    arch="fc2",  # the first of the two models the experiment trains (it trains both)
    epochs=1,
    batch_size=64,
    lr=0.01,
    weight_decay=0.0,
    augment=False,  # both models are trained alike, on the pictures as given
    out=Path("runs/permute"),
)


def add_permutation_flags(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The flags of :data:`PERMUTE_FLAGS`, made from :class:`TrainingSettings`' fields
    with :data:`PERMUTE_RECIPE`'s defaults."""
    return add_flags(
        parser,
        TrainingSettings,
        defaults=PERMUTE_RECIPE,
        only=PERMUTE_FLAGS,
        options={  # what the fields' help says of a trainer's run is not so here
            "epochs": {"help": "seed 002 trains one epoch"},
            "lr": {"help": "of plain SGD (momentum 0.5, no schedule)"},
            "out": {"help": "where the result's JSON and chart go (default: %(default)s)"},
        },
    )


def permutation_settings(args: argparse.Namespace) -> TrainingSettings:
    """The settings the flags of :func:`add_permutation_flags` ask for."""
    flags = {name: getattr(args, name) for name in PERMUTE_FLAGS}
    return TrainingSettings(**{**PERMUTE_RECIPE, **flags})


def permute_pixels(dataset: TensorDataset, permutation: torch.Tensor) -> TensorDataset:
    """The same images with their pixels moved by one fixed permutation (labels unchanged)."""
    from torch.utils.data import TensorDataset

    images, labels = dataset.tensors
    flat = images.flatten(1)[:, permutation]
    return TensorDataset(flat.view_as(images), labels)


def permutation_experiment(settings: TrainingSettings) -> dict[str, Any]:
    """Train both models on plain and on permuted MNIST; return the 2x2 table and more.
    Of ``settings``, the data, the seed, the epochs, the batch size and the SGD learning
    rate count: both models are trained alike, with no augmentation."""
    # torch here, not at the top: the Learn tab reads results and permutes with numpy only.
    import torch

    from ..config import MNIST
    from ..train.build import build_model, count_parameters
    from ..train.data import batches, load_splits
    from ..train.loop import evaluate, seed_everything, train_one_epoch

    seed = settings.seed
    seed_everything(seed)
    train_set, test_set = load_splits(MNIST, settings)
    permutation = torch.randperm(28 * 28, generator=torch.Generator().manual_seed(seed))
    pixel_orders = {
        "plain": (train_set, test_set),
        "permuted": (permute_pixels(train_set, permutation), permute_pixels(test_set, permutation)),
    }
    device = torch.device("cpu")
    table: dict[str, dict[str, float]] = {}
    parameters = {}
    for arch in PERMUTE_MODELS:
        for order, (train, test) in pixel_orders.items():
            seed_everything(seed)  # the same initial weights for both pixel orders
            model = build_model(arch)
            parameters[arch] = count_parameters(model)
            optimizer = torch.optim.SGD(model.parameters(), lr=settings.lr, momentum=0.5)
            for epoch in range(1, settings.epochs + 1):
                train_one_epoch(
                    model,
                    batches(train, settings.batch_size, shuffle=True, seed=seed + epoch),
                    optimizer,
                    device,
                    desc=f"{arch} {order} epoch {epoch}",
                )
            accuracy = evaluate(model, batches(test, 1000, shuffle=False), device)["acc"]
            table.setdefault(arch, {})[order] = accuracy
    return {
        "table": table,
        "parameters": parameters,
        "epochs": settings.epochs,
        "train_images": len(train_set),
        "test_images": len(test_set),
        "optimizer": f"SGD lr={settings.lr} momentum=0.5, batch {settings.batch_size}",
        "seed": seed,
        # The panel in the Learn tab shows these digits both ways; the permutation is kept
        # so that "permuted" means the very pixel order the table was measured on.
        "permutation": permutation.tolist(),
        "examples": {
            "images": test_set.tensors[0][:EXAMPLES, 0].mul(255).round().byte().tolist(),
            "labels": test_set.tensors[1][:EXAMPLES].tolist(),
        },
    }


def permuted(image: np.ndarray, permutation: list[int]) -> np.ndarray:
    """A 28x28 picture with its pixels moved as :func:`permute_pixels` moves them."""
    return image.reshape(-1)[np.asarray(permutation)].reshape(image.shape)


def format_table(result: dict[str, Any]) -> str:
    rows = [f"{'model':<14}{'parameters':>11}{'plain':>9}{'permuted':>10}"]
    for arch, title in PERMUTE_MODELS.items():
        accuracy = result["table"][arch]
        rows.append(
            f"{title:<14}{result['parameters'][arch]:>11,}"
            f"{accuracy['plain']:>9.2%}{accuracy['permuted']:>10.2%}"
        )
    return "\n".join(rows)


def save_permutation_result(result: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """``permute.json`` and ``permute.png`` (an example digit both ways, and the accuracies)."""
    plt = pyplot()

    json_path = write_json(out_dir / "permute.json", result)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), gridspec_kw={"width_ratios": [1, 1, 2]})
    plain = np.array(result["examples"]["images"][0], np.uint8)
    for ax, order in zip(axes[:2], ("plain", "permuted"), strict=True):
        image = plain if order == "plain" else permuted(plain, result["permutation"])
        ax.imshow(image, cmap="gray")
        ax.set(title=f"{order} pixels", xticks=[], yticks=[])
    positions = np.arange(2)
    for offset, (arch, title) in zip((-0.2, 0.2), PERMUTE_MODELS.items(), strict=True):
        values = [result["table"][arch][order] for order in ("plain", "permuted")]
        bars = axes[2].bar(positions + offset, values, width=0.4, label=title)
        axes[2].bar_label(bars, labels=[f"{v:.1%}" for v in values], fontsize=8)
    axes[2].set(
        xticks=positions,
        xticklabels=["plain", "permuted"],
        ylim=(0, 1.05),
        ylabel="test accuracy",
        title=f"MNIST, {result['epochs']} epoch(s)",
    )
    axes[2].legend(loc="lower right")
    fig.tight_layout()
    png_path = atomic_write(out_dir / "permute.png", lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)
    return json_path, png_path
