"""Datasets: torchvision's classes (with their real download) and image-folder trees.

The data directory is ``--data-dir``, else ``$VISIONPLAY_DATA``, else a cache folder in
the user's home. Samples go through :func:`visionplay.preprocess.prepare`, the same
function serving uses, wrapped as a torchvision-style transform.
"""

from __future__ import annotations

import csv
import os
import shutil
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset
from torchvision import datasets
from torchvision.datasets.folder import find_classes
from tqdm import tqdm

from .. import faces
from ..config import DataConfig
from ..errors import VisionplayError
from ..preprocess import open_image, prepare, to_gray
from .distributed import is_main
from .settings import TrainingSettings

DATA_ENV = "VISIONPLAY_DATA"
CACHE_DIR = Path.home() / ".cache" / "visionplay"


def default_data_dir() -> Path:
    env = os.environ.get(DATA_ENV)
    return Path(env) if env else CACHE_DIR / "data"


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    return Path(data_dir) if data_dir else default_data_dir()


class Preprocess:
    """Transform: PIL image -> tensor (C, H, W) in [0, 1], by the serving code itself."""

    def __init__(self, cfg: DataConfig) -> None:
        self.cfg = cfg

    def __call__(self, image) -> torch.Tensor:
        return torch.from_numpy(prepare(image, self.cfg))


class OneSplit:
    """For torchvision's MNIST-style datasets: only the asked-for split's files are checked
    and downloaded (with torchvision's own mirrors and checksums), so scoring the test split
    fetches the test files alone."""

    resources: list[tuple[str, str]]

    def __init__(self, root: str | os.PathLike, train: bool = True, **kwargs) -> None:
        prefix = "train-" if train else "t10k-"
        self.resources = [file for file in type(self).resources if file[0].startswith(prefix)]
        super().__init__(root, train=train, **kwargs)


# torchvision keeps the files in root/<class name>/raw: these keep its class names.
class MNIST(OneSplit, datasets.MNIST):
    """MNIST, one split's files at a time."""


class FashionMNIST(OneSplit, datasets.FashionMNIST):
    """Fashion-MNIST, one split's files at a time."""


_TORCHVISION = {
    "mnist": MNIST,
    "fashion_mnist": FashionMNIST,
    "cifar10": datasets.CIFAR10,  # one archive of both splits: either fetches it whole
}


def load_dataset(
    cfg: DataConfig, data_dir: str | os.PathLike | None, train: bool, preprocess: bool = True
) -> Dataset:
    """The train or test split for ``cfg.dataset``, downloading it if it is not there.

    Samples are preprocessed tensors, or the raw PIL images with ``preprocess=False``.
    An image-folder tree (``train/<class>/*`` and ``test/<class>/*``) is read in place of
    torchvision's files, so users can train on their own pictures; see :func:`find_tree`.
    """
    root = resolve_data_dir(data_dir)
    transform = Preprocess(cfg) if preprocess else None
    tree = find_tree(root, cfg.dataset)
    if tree is not None:
        return datasets.ImageFolder(tree / ("train" if train else "test"), transform=transform)
    if cfg.dataset not in _TORCHVISION:
        raise VisionplayError(
            f"no dataset named {cfg.dataset!r}, and no image-folder tree in {root}"
        )
    dataset = _TORCHVISION[cfg.dataset]
    made = outermost_missing(root / dataset.__name__)
    try:
        return dataset(root, train=train, transform=transform, download=True)
    except (RuntimeError, OSError) as err:
        if made is not None:  # what the failed download made: no empty folders left behind
            shutil.rmtree(made, ignore_errors=True)
        raise VisionplayError(
            f"could not find or download {cfg.dataset}'s {'training' if train else 'test'} "
            f"split under {root} ({' '.join(str(err).split())}); pass --data-dir or set "
            f"{DATA_ENV} (docs/data.md)"
        ) from None


def with_tree_classes(cfg: DataConfig, data_dir: str | os.PathLike | None) -> DataConfig:
    """``cfg``, its labels those of the image-folder tree the data comes from where there
    is one (its class folders, in ImageFolder's sorted order): a model of your own classes.
    CIFAR-10's folder tree has CIFAR-10's classes in that order."""
    tree = find_tree(resolve_data_dir(data_dir), cfg.dataset)
    if tree is None:
        return cfg
    classes, _ = find_classes(tree / "train")
    if len(classes) < 2:
        raise VisionplayError(
            f"a classifier needs two or more class folders in {tree / 'train'}; it has "
            f"{len(classes)}"
        )
    return cfg if tuple(classes) == cfg.labels else replace(cfg, labels=tuple(classes))


def outermost_missing(path: Path) -> Path | None:
    """The outermost of ``path`` and its parents that does not exist yet, if any."""
    missing = None
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing = folder
    return missing


def find_tree(root: Path, dataset: str) -> Path | None:
    """The folder holding ``train/`` and ``test/`` class trees for ``dataset``, if any.

    Looked for in ``root`` itself, in ``root/<dataset>``, and in an archive
    ``root/<dataset>*.tar.gz`` (or ``root`` being such an archive), unpacked once into
    the cache; CIFAR-10 can come that way, as JPEGs.
    """
    for folder in (root, root / dataset):
        if (folder / "train").is_dir() and (folder / "test").is_dir():
            return folder
    archive = find_archive(root, dataset)
    return unpack_once(archive) if archive else None


def find_archive(root: Path, prefix: str) -> Path | None:
    """``root`` itself when it is a ``.tar.gz``, else the first ``root/<prefix>*.tar.gz``
    (sorted by name, so the same one on every machine), else None."""
    if root.is_file() and root.name.endswith(".tar.gz"):
        return root
    archives = sorted(root.glob(f"{prefix}*.tar.gz")) if root.is_dir() else []
    return archives[0] if archives else None


def unpack_once(archive: Path) -> Path:
    """Unpack ``archive`` into the cache the first time; later calls reuse it."""
    target = CACHE_DIR / archive.name.removesuffix(".tar.gz")
    if not (target / ".unpacked").exists():
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        with tarfile.open(archive) as tar:
            tar.extractall(partial, filter="data")  # refuses paths that leave the folder
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
        (target / ".unpacked").touch()
    return target


def spread(total: int, limit: int | None) -> range:
    """``limit`` indices evenly spread over ``total`` (all of them without a limit), so a
    folder tree sorted by class still gives every class."""
    if limit is None or limit >= total:
        return range(total)
    return range(0, total, total // limit)[:limit]


class MadeUpPages(Dataset):
    """``count`` pages made by ``make(index, seed)`` (one of :mod:`visionplay.train.handwriting`'s
    page makers), prepared by the serving code: samples (tensor, index of its label in
    ``cfg.labels``), as a torchvision dataset's."""

    def __init__(self, make: Callable, count: int, seed: int, cfg: DataConfig) -> None:
        self.make, self.count, self.seed, self.cfg = make, count, seed, cfg
        self.preprocess = Preprocess(cfg)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        page, label, _ = self.make(index, self.seed)
        return self.preprocess(page), self.cfg.labels.index(label)


def joined(*parts: TensorDataset) -> TensorDataset:
    """One in-memory dataset of several."""
    columns = zip(*(part.tensors for part in parts), strict=True)
    return TensorDataset(*(torch.cat(tensors) for tensors in columns))


def materialize(
    dataset: Dataset, limit: int | None = None, workers: int = 2, desc: str = "preprocess"
) -> TensorDataset:
    """Run the (deterministic) preprocessing once and keep the tensors in memory.

    Small images make this cheap in memory and it takes per-sample Python work out of
    every epoch, which matters on two cores.
    """
    if limit is not None and limit < len(dataset):
        dataset = torch.utils.data.Subset(dataset, spread(len(dataset), limit))
    loader = DataLoader(dataset, batch_size=512, num_workers=workers)
    xs, ys = [], []
    for x, y in tqdm(loader, desc=desc, unit="batch", leave=False, disable=not is_main()):
        xs.append(x)
        ys.append(y)
    return TensorDataset(torch.cat(xs), torch.cat(ys))


def load_splits(cfg: DataConfig, settings: TrainingSettings) -> tuple[TensorDataset, TensorDataset]:
    """Train and test sets, preprocessed once by the serving code and kept in memory."""
    return tuple(
        materialize(
            load_dataset(cfg, settings.data_dir, train=train), settings.limit, settings.workers
        )
        for train in (True, False)
    )


def hold_out(
    dataset: TensorDataset, count: int, seed: int = 0
) -> tuple[TensorDataset, TensorDataset | None]:
    """``dataset`` split in two at random (the same split for the same ``seed``): the
    images to train on, and ``count`` kept back (None when ``count`` is 0). A set smaller
    than five times ``count`` (a dry run's) keeps back a fifth of itself."""
    if count <= 0:
        return dataset, None
    count = min(count, len(dataset) // 5) or 1
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))
    kept, held = order[count:], order[:count]
    return (
        TensorDataset(*(t[kept] for t in dataset.tensors)),
        TensorDataset(*(t[held] for t in dataset.tensors)),
    )


def batches(
    dataset: TensorDataset,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    rank: int = 0,
    world_size: int = 1,
) -> DataLoader:
    """Whole batches indexed at once from in-memory tensors (no per-sample collate); with
    ``world_size`` > 1, this process's share of the shuffled order (DistributedSampler)."""
    if world_size > 1:
        order = torch.utils.data.DistributedSampler(
            dataset, num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed
        )
    elif shuffle:
        order = torch.utils.data.RandomSampler(
            dataset, generator=torch.Generator().manual_seed(seed)
        )
    else:
        order = torch.utils.data.SequentialSampler(dataset)
    sampler = torch.utils.data.BatchSampler(order, batch_size, drop_last=False)
    return DataLoader(dataset, sampler=sampler, batch_size=None)


# Face keypoints: frames with 68 points each, from a CSV + images layout.

FACE_FOLDER = "youtube-faces-keypoints"


@dataclass
class FaceFrames:
    """Grayscale frames in [0, 1] with their 68 points (image pixels) and person names."""

    names: list[str]
    grays: list[np.ndarray]
    points: np.ndarray  # (N, 68, 2)

    @property
    def people(self) -> list[str]:
        return [person_of(name) for name in self.names]

    def subset(self, keep: list[int]) -> FaceFrames:
        return FaceFrames(
            [self.names[i] for i in keep], [self.grays[i] for i in keep], self.points[keep]
        )


def person_of(name: str) -> str:
    """Frames are named <First_Last>_<NN>.jpg; the person is the part before the number."""
    return Path(name).stem.rsplit("_", 1)[0]


def is_held_out(person: str, fraction: float = 0.1) -> bool:
    """Whether ``person`` belongs to the validation people: a fixed hash, so the trainer
    and ``visionplay eval`` hold out the same people on every machine."""
    return zlib.crc32(person.encode()) % 1000 < fraction * 1000


def find_face_folder(data_dir: str | os.PathLike | None) -> Path:
    """The folder with ``training/``, ``test/`` and the two keypoint CSVs: in the data
    directory, or unpacked once from ``youtube-faces-keypoints*.tar.gz`` there."""
    root = resolve_data_dir(data_dir)
    for folder in (root, root / FACE_FOLDER):
        if (folder / "training_frames_keypoints.csv").is_file():
            return folder
    archive = find_archive(root, FACE_FOLDER)
    if archive:
        unpacked = unpack_once(archive)
        for folder in (unpacked, unpacked / FACE_FOLDER):
            if (folder / "training_frames_keypoints.csv").is_file():
                return folder
    raise VisionplayError(
        f"no face keypoint data under {root}: expected {FACE_FOLDER}/ with "
        "training_frames_keypoints.csv, or a .tar.gz of it; pass --data-dir or set "
        f"{DATA_ENV}"
    )


def load_face_frames(
    data_dir: str | os.PathLike | None, train: bool, limit: int | None = None
) -> FaceFrames:
    """The training or test frames (``limit``: that many, evenly spread)."""
    folder = find_face_folder(data_dir)
    split = "training" if train else "test"
    with open(folder / f"{split}_frames_keypoints.csv", newline="") as f:
        rows = [row for row in csv.reader(f)][1:]  # the header row numbers the columns
    rows = [rows[i] for i in spread(len(rows), limit)]
    names = [row[0] for row in rows]
    points = np.array([row[1:] for row in rows], dtype=np.float32).reshape(-1, 68, 2)
    grays = [
        to_gray(open_image(folder / split / name))
        for name in tqdm(names, desc=split, disable=not is_main())
    ]
    return FaceFrames(names, grays, points)


def face_crops(frames: FaceFrames, cfg: DataConfig, context: float = 1.0) -> TensorDataset:
    """Crops framed on the true points (as :func:`faces.square_from_points` frames them),
    ``context`` times wider than the model's input (training crops further from these),
    with the points in the crop's [0, 1] coordinates: tensors (N, 1, S, S), (N, 68, 2)."""
    side = round(cfg.input_size[-1] * context)
    xs, ys = [], []
    for gray, points in zip(frames.grays, frames.points, strict=True):
        square = faces.square_from_points(points, cfg.settings.margin).scaled(context)
        xs.append(faces.crop(gray, square, side)[None])
        ys.append(faces.to_crop(points, square, side))
    return TensorDataset(
        torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys).astype(np.float32))
    )


def frame_pictures(
    data_dir: str | os.PathLike | None, frames: FaceFrames, train: bool
) -> list[np.ndarray]:
    """The RGB pictures of ``frames`` (which keep their gray copies only): what a face
    detector is shown."""
    folder = find_face_folder(data_dir) / ("training" if train else "test")
    return [np.asarray(open_image(folder / name).convert("RGB")) for name in frames.names]
