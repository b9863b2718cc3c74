"""The Photo tab and the garment model: any picture format, through load() and the app."""

from __future__ import annotations

import io

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

import visionplay
from visionplay.ui.photo import PHOTO_HINT
from visionplay.ui.widgets import EXAMPLES

SNEAKER = EXAMPLES / "fashion_mnist-sneaker.png"


@pytest.fixture(scope="module")
def garments() -> visionplay.Model:
    return visionplay.load("fashion_mnist")


def as_modes(picture: Image.Image) -> dict[str, Image.Image | bytes]:
    """The same photo as the formats people upload."""
    rgb = picture.convert("RGB")
    gray16 = Image.fromarray(np.asarray(picture.convert("L"), dtype=np.uint16) * 257)
    rotated = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 8  # stored turned 90 degrees; viewers turn it back
    rgb.rotate(-90, expand=True).save(rotated, "JPEG", exif=exif, quality=95)
    rgba = rgb.convert("RGBA")
    return {
        "RGB": rgb,
        "RGBA": rgba,
        "palette": rgb.convert("P", palette=Image.Palette.ADAPTIVE),
        "grey": rgb.convert("L"),
        "CMYK": rgb.convert("CMYK"),
        "16-bit grey": gray16,
        "EXIF-rotated JPEG": rotated.getvalue(),
        "large": rgb.resize((1600, 1600)),
    }


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.png")), ids=lambda p: p.stem)
def test_reads_the_examples(path):
    name, label = path.stem.split("-")
    assert visionplay.load(name).predict(path)[0].label.lower() == label.replace("_", " ")


def test_any_mode_gives_the_same_answer(garments):
    answers = {
        mode: garments.predict(picture, top_k=1)[0].label
        for mode, picture in as_modes(Image.open(SNEAKER)).items()
    }
    assert set(answers.values()) == {"Sneaker"}, answers


def test_reads_real_test_garments(garments, data_dir):
    from torchvision.datasets import FashionMNIST

    test = FashionMNIST(data_dir, train=False)
    predictions = garments.predict_batch(list(test.data.numpy()[:500]), top_k=1)
    accuracy = np.mean(
        [p[0].index == y for p, y in zip(predictions, test.targets[:500], strict=True)]
    )
    assert accuracy > 0.9


def test_photo_tab_over_http(app_url, tmp_path):
    client = Client(app_url, verbose=False)
    label, seen, message = client.predict(
        handle_file(str(SNEAKER)), "fashion_mnist", api_name="/photo"
    )
    assert label["label"] == "Sneaker" and len(label["confidences"]) == 5
    assert message == ""
    assert np.asarray(Image.open(seen)).shape[:2] == (224, 224)

    blank = tmp_path / "blank.png"
    Image.new("RGB", (300, 200), "white").save(blank)
    label, seen, message = client.predict(
        handle_file(str(blank)), "fashion_mnist", api_name="/photo"
    )
    assert not label and seen is None and message == PHOTO_HINT


def test_photo_tab_names_a_broken_upload(app_url, tmp_path):
    client = Client(app_url, verbose=False)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg at all")
    label, seen, message = client.predict(handle_file(str(broken)), "cifar10", api_name="/photo")
    assert not label and seen is None
    assert "Could not read that picture" in message and "not a readable image" in message


def test_photo_tab_offers_both_models(app_url, tmp_path):
    client = Client(app_url, verbose=False)
    ship = EXAMPLES / "cifar10-ship.png"
    label, _, message = client.predict(handle_file(str(ship)), "cifar10", api_name="/photo")
    assert label["label"] == "ship" and message == ""
