"""Bad and odd inputs, made on the spot: what a browser or a script may throw at the models.

``make_pictures(folder)`` writes one file per case and returns {case: path}. Every case must
end in a sensible answer or in a clear error naming the problem; none in a traceback.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

# Cases that no model can read: each must raise (API), exit 2 (CLI) or say so (app).
UNREADABLE = {"not_an_image", "truncated_png", "truncated_jpeg", "empty_file", "bomb"}
# Cases with nothing drawn on them: the digit model says it sees no ink.
BLANK = {"all_white", "all_black", "one_pixel"}


def _sample() -> Image.Image:
    """An RGB picture with something in it: a dark 7 on a light ground."""
    image = Image.new("RGB", (240, 200), (235, 230, 220))
    ImageDraw.Draw(image).line([(70, 50), (170, 50), (110, 160)], fill=(20, 20, 30), width=14)
    return image


def _encoded(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


def make_pictures(folder: Path) -> dict[str, Path]:
    sample = _sample()
    png, jpeg = _encoded(sample, "PNG"), _encoded(sample, "JPEG", quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    palette = sample.convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    palette.info["transparency"] = 0
    frames = [sample, sample.transpose(Image.Transpose.FLIP_LEFT_RIGHT), sample.rotate(10)]
    grey16 = Image.fromarray(np.asarray(sample.convert("L"), np.uint16) * 257)
    cases: dict[str, bytes] = {
        "not_an_image": b"this is a text file, not a picture\n" * 10,
        "truncated_png": png[: len(png) // 2],
        "truncated_jpeg": jpeg[: len(jpeg) // 2],
        "empty_file": b"",
        # 20,000 x 20,000 one-bit pixels: 50 kB on disk, 400 million pixels if decoded
        "bomb": _encoded(Image.new("1", (20_000, 20_000)), "PNG"),
        "cmyk": _encoded(sample.convert("CMYK"), "JPEG"),
        "grey_16bit": _encoded(grey16, "PNG"),
        "palette_transparent": _encoded(palette, "PNG"),
        "animated_gif": _encoded(
            frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0
        ),
        "exif_rotated": _encoded(sample.rotate(90, expand=True), "JPEG", exif=exif),
        "one_pixel": _encoded(Image.new("RGB", (1, 1), "white"), "PNG"),
        "very_wide": _encoded(sample.resize((4000, 3)), "PNG"),
        "all_white": _encoded(Image.new("RGB", (400, 400), "white"), "PNG"),
        "all_black": _encoded(Image.new("RGB", (400, 400), "black"), "PNG"),
    }
    suffixes = {
        "truncated_jpeg": ".jpg",
        "cmyk": ".jpg",
        "exif_rotated": ".jpg",
        "animated_gif": ".gif",
    }
    paths = {}
    for case, data in cases.items():
        paths[case] = folder / f"{case}{suffixes.get(case, '.png')}"
        paths[case].write_bytes(data)
    return paths


BAD_SERIES = {  # text -> what the error says
    "nan": ("0.1, 0.2, nan, " + ", ".join(["0.3"] * 20), "not a finite number"),
    "inf": ("0.1, inf, " + ", ".join(["0.3"] * 20), "not a finite number"),
    "text": ("one, two, three", "is not a number"),
    "too_short": ("0.1, 0.2, 0.3", "at least 10"),
    "huge": (", ".join(["0.5"] * 20_001), "at most 10000"),
    "empty": ("  ", "no numbers given"),
}
