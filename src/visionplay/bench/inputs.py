"""What the bench feeds the server: a digit drawn as on the Draw tab's canvas, PNG bytes for
a REST body, and varied garment photos (each model's own example is ``Model.example()``)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from ..locations import examples_dir

EXAMPLES = examples_dir()


def digit_drawing(size: int = 400, seed: int | None = None) -> Image.Image:
    """A 7 drawn as on the Draw tab's canvas: black strokes on a transparent square; with
    a seed, shifted and stretched a little, as no two hands draw it alike."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    rng = np.random.default_rng(seed)
    jitter = rng.uniform(-30, 30, (3, 2)) if seed is not None else np.zeros((3, 2))
    points = (np.array([(120, 110), (280, 110), (170, 300)]) + jitter) * size / 400
    ImageDraw.Draw(image).line(
        [tuple(p) for p in points], fill=(0, 0, 0, 255), width=int(18 * size / 400), joint="curve"
    )
    return image


def png_bytes(image: Image.Image) -> bytes:
    """The picture as a PNG file's bytes, as an upload or a REST body carries it."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def photo_variants(count: int) -> list[Image.Image]:
    """The Fashion-MNIST example photos, each cropped a little differently."""
    rng = np.random.default_rng(0)
    photos = [Image.open(p).convert("RGB") for p in sorted(EXAMPLES.glob("fashion_mnist-*"))]
    variants = []
    for i in range(count):
        photo = photos[i % len(photos)]
        left, top = (
            rng.integers(0, max(1, photo.width // 20)),
            rng.integers(0, max(1, photo.height // 20)),
        )
        variants.append(photo.crop((left, top, photo.width - left, photo.height - top)))
    return variants
