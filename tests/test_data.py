"""The training transform and the serving path give the same numbers; folder trees work."""

from __future__ import annotations

import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from visionplay.config import CIFAR10, FASHION_MNIST, MNIST
from visionplay.preprocess import prepare
from visionplay.train import data
from visionplay.train.data import batches, load_dataset, materialize


@pytest.mark.parametrize("cfg", [MNIST, FASHION_MNIST, CIFAR10], ids=lambda c: c.dataset)
def test_training_transform_matches_serving(data_dir, cfg):
    """What a trainer feeds the model is exactly what load().predict feeds it."""
    train_view = load_dataset(cfg, data_dir, train=False)
    raw_view = load_dataset(cfg, data_dir, train=False, preprocess=False)
    for i in (0, 1, 2, 777, 9999):
        tensor, label = train_view[i]
        image, same_label = raw_view[i]
        assert label == same_label
        assert isinstance(tensor, torch.Tensor)
        np.testing.assert_array_equal(tensor.numpy(), prepare(image, cfg))


def test_image_folder_tree(tmp_path):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for label in ("3", "8"):
            folder = tmp_path / split / label
            folder.mkdir(parents=True)
            for k in range(3):
                pixels = np.zeros((40, 30), np.uint8)
                pixels[5 + k : 30, 10:20] = rng.integers(128, 255, (25 - k, 10))
                Image.fromarray(pixels).save(folder / f"{k}.png")
    dataset = load_dataset(MNIST, tmp_path, train=True)
    assert dataset.classes == ["3", "8"] and len(dataset) == 6
    x, y = dataset[4]
    np.testing.assert_array_equal(x.numpy(), prepare(tmp_path / "train/8/1.png", MNIST))
    assert y == 1

    tensors = materialize(dataset, workers=0)
    assert tensors.tensors[0].shape == (6, 1, 28, 28)
    seen = torch.cat([y for _, y in batches(tensors, 4, shuffle=True, seed=3)])
    assert sorted(seen.tolist()) == [0, 0, 0, 1, 1, 1]
    again = torch.cat([y for _, y in batches(tensors, 4, shuffle=True, seed=3)])
    assert torch.equal(seen, again)  # seeded order: a resumed run sees the same batches


def test_archive_of_a_tree_is_unpacked_once(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")
    tree = tmp_path / "tree"
    for split in ("train", "test"):
        (tree / split / "cat").mkdir(parents=True)
        Image.new("RGB", (32, 32), (200, 10, 10)).save(tree / split / "cat" / "0001.jpg")
    archive = tmp_path / "data" / "toy-jpg.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        for split in ("train", "test"):
            tar.add(tree / split, arcname=split)

    found = data.find_tree(archive.parent, "toy")
    assert found == tmp_path / "cache" / "toy-jpg"
    assert (found / "train" / "cat" / "0001.jpg").is_file()
    marker = (found / ".unpacked").stat().st_mtime_ns
    assert data.find_tree(archive.parent, "toy") == found
    assert (found / ".unpacked").stat().st_mtime_ns == marker  # not unpacked again
    assert data.find_tree(archive.parent, "other") is None


def test_find_archive_takes_the_root_or_the_first_by_name(tmp_path):
    for name in ("toy-b.tar.gz", "toy-a.tar.gz", "other.tar.gz", "toy-c.zip"):
        (tmp_path / name).touch()
    assert data.find_archive(tmp_path, "toy") == tmp_path / "toy-a.tar.gz"
    assert data.find_archive(tmp_path / "other.tar.gz", "toy") == tmp_path / "other.tar.gz"
    assert data.find_archive(tmp_path, "missing") is None
    assert data.find_archive(tmp_path / "toy-c.zip", "toy") is None


@pytest.mark.parametrize("cfg", [MNIST, FASHION_MNIST], ids=lambda c: c.dataset)
def test_the_test_split_alone_is_fetched_and_a_failed_fetch_leaves_no_folder(
    cfg, tmp_path, monkeypatch
):
    """What `visionplay eval` asks for without data: the t10k files only, through
    torchvision's own download (made to fail here: no test reaches the internet)."""
    import torchvision.datasets.mnist

    asked = []

    def no_internet(url: str, download_root: str, filename: str, md5: str) -> None:
        asked.append(filename)
        raise RuntimeError(f"cannot reach {url}")

    monkeypatch.setattr(torchvision.datasets.mnist, "download_and_extract_archive", no_internet)
    root = tmp_path / "new" / "data"
    with pytest.raises(data.VisionplayError, match="test split") as refused:
        load_dataset(cfg, root, train=False)
    assert "\n" not in str(refused.value) and data.DATA_ENV in str(refused.value)
    assert asked and all(name.startswith("t10k-") for name in asked)
    assert not (tmp_path / "new").exists()  # the folders the download made are gone
    (tmp_path / "kept").mkdir()  # a data folder that was there before stays
    with pytest.raises(data.VisionplayError):
        load_dataset(cfg, tmp_path / "kept", train=True)
    assert list((tmp_path / "kept").iterdir()) == []
    assert asked[-1].startswith("train-")
