"""Digit and photo preprocessing: invariances a person drawing expects, and clear refusals."""

from __future__ import annotations

import io

import numpy as np
import pytest
from digits import draw
from PIL import Image

from visionplay.config import DataConfig
from visionplay.errors import EmptyInputError, InvalidInputError
from visionplay.preprocess import (
    open_image,
    prepare,
    prepare_digit,
    prepare_garment,
    stroke_width,
)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_output_is_mnist_shaped():
    seen = prepare_digit(draw("7"))
    assert seen.shape == (1, 28, 28) and seen.dtype == np.float32
    assert seen.min() >= 0 and seen.max() == pytest.approx(1.0)
    assert seen[0, :2].max() < 0.05 and seen[0, :, :2].max() < 0.05  # margin, as in MNIST


def test_centre_of_mass_is_centred():
    seen = prepare_digit(draw("7", centre=(90, 300)))[0]
    ys, xs = np.indices(seen.shape)
    assert (seen * ys).sum() / seen.sum() == pytest.approx(14, abs=0.6)  # as in MNIST
    assert (seen * xs).sum() / seen.sum() == pytest.approx(14, abs=0.6)


@pytest.mark.parametrize(
    "variant",
    [
        {"size": 60, "centre": (60, 60)},  # small, in a corner
        {"size": 360, "centre": (200, 200)},  # fills the canvas
        {"width": 4},  # thin pen
        {"width": 40},  # fat brush
        {"centre": (320, 120), "size": 120, "width": 24},
    ],
)
def test_size_place_and_stroke_do_not_matter(variant):
    reference = prepare_digit(draw("4"))
    # Two people writing the same MNIST digit typically score 0.6-0.8 on this measure.
    assert similarity(prepare_digit(draw("4", **variant)), reference) > 0.75


def test_polarity_does_not_matter():
    black_on_white = Image.new("L", (300, 300), 255)
    black_on_white.paste(
        draw("3", size=240, centre=(150, 150), canvas=300).convert("L"),
        mask=draw("3", size=240, centre=(150, 150), canvas=300),
    )
    white_on_black = Image.fromarray(255 - np.asarray(black_on_white))
    np.testing.assert_allclose(
        prepare_digit(black_on_white), prepare_digit(white_on_black), atol=1e-6
    )


def test_transparent_canvas_with_white_ink():
    rgba = np.asarray(draw("2")).copy()
    rgba[..., :3] = 255  # white strokes on a transparent canvas
    assert similarity(prepare_digit(rgba), prepare_digit(draw("2"))) > 0.99


def test_mnist_digits_pass_almost_unchanged(mnist_test_images):
    images, _ = mnist_test_images
    scores = [similarity(prepare_digit(image)[0], image / 255.0) for image in images[:200]]
    assert np.median(scores) > 0.98 and np.percentile(scores, 5) > 0.7


@pytest.mark.parametrize(
    "blank", [np.zeros((50, 50)), np.full((50, 50), 255), Image.new("RGBA", (400, 400))]
)
def test_blank_canvas_is_empty_not_an_error(blank):
    with pytest.raises(EmptyInputError, match="blank"):
        prepare_digit(blank)


def test_stroke_width_estimate():
    bar = np.zeros((40, 60), dtype=bool)
    bar[10:16, 5:55] = True  # 6 px wide, 50 long
    assert stroke_width(bar) == pytest.approx(6, rel=0.15)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (b"this is not a picture", "not a readable image"),
        (b"", "not a readable image"),
        ("/no/such/file.png", "no such image file"),
        (np.zeros((4, 4, 2)), "must be HxW"),
        (np.full((8, 8), np.nan), "NaN"),
        (np.zeros((0, 5)), "empty"),
        (12345, "cannot read an image from int"),
    ],
)
def test_bad_inputs_name_the_problem(source, message):
    with pytest.raises(InvalidInputError, match=message):
        prepare_digit(source)


def test_truncated_png_is_refused():
    buffer = io.BytesIO()
    Image.fromarray(np.uint8(np.random.default_rng(0).random((64, 64)) * 255)).save(buffer, "PNG")
    with pytest.raises(InvalidInputError, match="not a readable image"):
        open_image(buffer.getvalue()[:200])


def test_exif_rotation_is_applied():
    image = Image.new("L", (40, 20), 0)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    assert open_image(buffer.getvalue()).size == (20, 40)


def test_photo_resize_gives_model_shape():
    cfg = DataConfig(input_size=(3, 32, 32), preprocess="resize")
    photo = Image.new("CMYK", (120, 80), (0, 128, 0, 0))
    out = prepare(photo, cfg)
    assert out.shape == (3, 32, 32) and out.dtype == np.float32
    assert 0 <= out.min() <= out.max() <= 1


def test_fashion_images_pass_unchanged(data_dir):
    from torchvision.datasets import FashionMNIST

    images = FashionMNIST(data_dir, train=False).data.numpy()[:300]
    same = [similarity(prepare_garment(image)[0], image / 255.0) > 0.999 for image in images]
    assert np.mean(same) > 0.85  # the rest differ by where a faint edge ends the crop


def test_garment_photo_on_white_reads_like_fashion_mnist(data_dir):
    from torchvision.datasets import FashionMNIST

    item = FashionMNIST(data_dir, train=False).data.numpy()[9]
    photo = Image.fromarray(255 - item).resize((300, 300), Image.Resampling.BICUBIC)
    big_sheet = Image.new("L", (640, 480), 255)
    big_sheet.paste(photo, (200, 100))
    assert similarity(prepare_garment(big_sheet)[0], item / 255.0) > 0.9
