"""Datasets: torchvision's classes (with their real download) and image-folder trees.

The data directory is ``--data-dir``, else ``$VISIONPLAY_DATA``, else a cache folder in
the user's home. Samples go through :func:`visionplay.preprocess.prepare`, the same
function serving uses, wrapped as a torchvision-style transform.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset
from torchvision import datasets
from tqdm import tqdm

from .config import DataConfig
from .errors import VisionplayError
from .preprocess import prepare

DATA_ENV = "VISIONPLAY_DATA"


def default_data_dir() -> Path:
    env = os.environ.get(DATA_ENV)
    return Path(env) if env else Path.home() / ".cache" / "visionplay" / "data"


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    return Path(data_dir) if data_dir else default_data_dir()


class Preprocess:
    """Transform: PIL image -> tensor (C, H, W) in [0, 1], by the serving code itself."""

    def __init__(self, cfg: DataConfig) -> None:
        self.cfg = cfg

    def __call__(self, image) -> torch.Tensor:
        return torch.from_numpy(prepare(image, self.cfg))


_TORCHVISION = {"mnist": datasets.MNIST, "fashion_mnist": datasets.FashionMNIST}


def load_dataset(
    cfg: DataConfig, data_dir: str | os.PathLike | None, train: bool, preprocess: bool = True
) -> Dataset:
    """The train or test split for ``cfg.dataset``, downloading it if it is not there.

    Samples are preprocessed tensors, or the raw PIL images with ``preprocess=False``.
    An image-folder tree ``<data_dir>/train/<class>/*`` (and ``test/``) is read as is,
    so users can train on their own pictures.
    """
    root = resolve_data_dir(data_dir)
    transform = Preprocess(cfg) if preprocess else None
    split = root / ("train" if train else "test")
    if split.is_dir():
        return datasets.ImageFolder(split, transform=transform)
    if cfg.dataset not in _TORCHVISION:
        raise VisionplayError(f"no dataset named {cfg.dataset!r}, and no {split} folder tree")
    try:
        return _TORCHVISION[cfg.dataset](root, train=train, transform=transform, download=True)
    except (RuntimeError, OSError) as err:
        raise VisionplayError(
            f"could not find or download {cfg.dataset} under {root} ({err}); "
            f"pass --data-dir or set {DATA_ENV}"
        ) from None


def materialize(
    dataset: Dataset, limit: int | None = None, workers: int = 2, desc: str = "preprocess"
) -> TensorDataset:
    """Run the (deterministic) preprocessing once and keep the tensors in memory.

    Small images make this cheap in memory and it takes per-sample Python work out of
    every epoch, which matters on two cores.
    """
    if limit is not None and limit < len(dataset):
        dataset = torch.utils.data.Subset(dataset, range(limit))
    loader = DataLoader(dataset, batch_size=512, num_workers=workers)
    xs, ys = [], []
    for x, y in tqdm(loader, desc=desc, unit="batch", leave=False):
        xs.append(x)
        ys.append(y)
    return TensorDataset(torch.cat(xs), torch.cat(ys))


def batches(dataset: TensorDataset, batch_size: int, shuffle: bool, seed: int = 0) -> DataLoader:
    """Whole batches indexed at once from in-memory tensors (no per-sample collate)."""
    generator = torch.Generator().manual_seed(seed)
    order = (
        torch.utils.data.RandomSampler(dataset, generator=generator)
        if shuffle
        else torch.utils.data.SequentialSampler(dataset)
    )
    sampler = torch.utils.data.BatchSampler(order, batch_size, drop_last=False)
    return DataLoader(dataset, sampler=sampler, batch_size=None)
