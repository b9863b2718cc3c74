"""Turning any picture into the array a model reads: written once, numpy + PIL only.

Training (through :class:`visionplay.train.data.Preprocess`), export checks, serving and
evaluation all call :func:`prepare`, so the model sees the same numbers everywhere.
Outputs are float32 pixels in [0, 1], shape (C, H, W); normalisation by mean/std
happens inside the model.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import ExifTags, Image, ImageFilter, ImageOps, UnidentifiedImageError

from . import faces
from .config import DataConfig
from .errors import EmptyInputError, InvalidInputError

ImageLike = Image.Image | np.ndarray | str | os.PathLike | bytes
PictureFile = str | os.PathLike | IO[bytes]  # an encoded picture: its path or its bytes

# The digit recipe MNIST itself was made with: ink fitted into a 20x20 box, placed in
# 28x28 so that its centre of mass sits at the centre.
DIGIT_BOX = 20
DIGIT_CANVAS = 28
# Stroke width relative to the digit's longest side. Measured on MNIST's training set
# (median 0.13, 5th-95th percentile 0.09-0.20 with the estimator below); only strokes
# outside the band are changed, so MNIST's own digits pass through almost untouched.
STROKE_TARGET = 0.13
STROKE_BAND = (0.085, 0.22)
GARMENT_SIDE = 28
_WORK_SIDE = 64  # stroke width is measured and corrected at this resolution
_INK_LEVEL = 0.1  # contrast-normalised value above which a pixel counts as ink
_DEEP_MODES = ("I;16", "I;16B", "I;16L", "I", "F")  # more than 8 bits a pixel


MAX_PIXELS_ENV = "VISIONPLAY_MAX_PIXELS"
# Far under PIL's own bomb limit (about 89 megapixels): a picture is decoded whole, in a
# few bytes a pixel, so this bounds what one request can make the server hold. Photos are
# mostly baseline JPEGs, read reduced (below), so the limit meets mostly other pictures:
# screenshots, scans, progressive JPEGs.
DEFAULT_MAX_PIXELS = 16_000_000
# What photos and drawings come in; the only formats opened for clients. PIL reads some 40,
# and each is a parser their bytes would reach: EPS even runs Ghostscript where installed.
# A JPEG holding several pictures (MPO: stereo cameras, some phones) opens through the
# JPEG plugin as "MPO" and is read as the JPEG it starts with.
PICTURE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
FORMAT_NAMES = "PNG, JPEG, WebP, GIF, BMP or TIFF"
_JPEG_FORMATS = ("JPEG", "MPO")
# A refused format is named by its signature; an uncompressed TGA starts with CUR's (TGA
# has none of its own, so PIL tries it last).
_SHARED_SIGNATURES = {"CUR": "TGA or CUR"}
# JPEGs can be decoded at 1/2, 1/4 or 1/8 scale for a fraction of the work (Image.draft);
# every recipe reads far fewer pixels than this, the face detector included.
DRAFT_SIDE = 1024
# JPEG markers: start of frame (SOF0-SOF15 but DHT, JPG and DAC, then DHP), the two
# sequential Huffman-coded frames (baseline, extended), and those with no segment after them.
_FRAME_MARKERS = frozenset({*range(0xC0, 0xD0), 0xDE} - {0xC4, 0xC8, 0xCC})
_SEQUENTIAL_HUFFMAN = (0xC0, 0xC1)
_BARE_MARKERS = frozenset({0x01, *range(0xD0, 0xD9)})  # TEM, RST0-RST7, SOI


def max_pixels() -> int:
    """The most pixels a picture may have: ``$VISIONPLAY_MAX_PIXELS`` or the default."""
    value = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not value:
        return DEFAULT_MAX_PIXELS
    if not value.isdigit() or int(value) < 1:
        raise InvalidInputError(f"${MAX_PIXELS_ENV} must be a whole number >= 1, got {value!r}")
    return int(value)


def open_image(source: ImageLike) -> Image.Image:
    """Read a path, encoded bytes, numpy array or PIL image into an upright PIL image.

    Encoded pictures are checked against :func:`max_pixels` from their header, before any
    pixel is decoded; large JPEGs are decoded reduced. Errors name a file by its name
    only: the app shows them to whoever sent the picture.
    """
    if isinstance(source, Image.Image):
        image = source
    elif isinstance(source, np.ndarray):
        return _image_from_array(source)
    elif isinstance(source, (bytes, bytearray)):
        image = _decode(io.BytesIO(source), "the picture")
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        _check_readable_file(path)
        image = _decode(path, path.name)
    else:
        raise InvalidInputError(
            f"cannot read an image from {type(source).__name__}; "
            "give a path, bytes, a numpy array or a PIL image"
        )
    # exif_transpose copies even an upright picture, and nearly all are upright
    if image.getexif().get(ExifTags.Base.Orientation, 1) == 1:
        return image
    return ImageOps.exif_transpose(image)


def _check_readable_file(path: Path) -> None:
    try:
        is_file, exists = path.is_file(), path.exists()
    except OSError as err:  # e.g. a name longer than the file system allows
        raise InvalidInputError(f"cannot open {path.name[:40]!r}...: {err.strerror}") from None
    if is_file:
        return
    if not exists:
        raise InvalidInputError(f"no such image file: {path.name}")
    kind = "a directory" if path.is_dir() else "not a regular file (a device or a pipe?)"
    raise InvalidInputError(f"{path.name} is {kind}, not an image file")


def open_unloaded(
    file: PictureFile, name: str = "the picture", *, reduced: bool = True
) -> Image.Image:
    """The picture's header only, with a large JPEG set to decode reduced; refused when it
    is not in :data:`PICTURE_FORMATS` or costs more than :func:`max_pixels` pixels (see
    :func:`_counted_pixels`). Nothing is decoded yet. ``reduced=False`` counts every pixel,
    for a caller that decodes the file itself without a draft (Gradio's ImageEditor)."""
    return _open_counted(file, name, reduced)[0]


def _counted_pixels(image: Image.Image, reduced: bool = True) -> int:
    """The pixels decoding ``image``, just opened, costs; a large JPEG is set to decode
    reduced first (Image.draft).

    Only a JPEG that libjpeg decodes a band of rows at a time is counted reduced; any other
    JPEG (progressive, arithmetic, lossless, or a scan per colour) makes it hold every DCT
    coefficient of the whole picture first, whatever the draft scale.
    """
    width, height = image.size
    if not reduced or image.format not in _JPEG_FORMATS or min(width, height) < 2 * DRAFT_SIDE:
        return width * height  # decoded as it is
    one_pass = _decodes_in_one_pass(image)
    image.draft(image.mode, (DRAFT_SIDE, DRAFT_SIDE))
    return image.size[0] * image.size[1] if one_pass else width * height


def _open_counted(file: PictureFile, name: str, reduced: bool = True) -> tuple[Image.Image, int]:
    image = _open_header(file, name)
    full = image.size
    pixels, limit = _counted_pixels(image, reduced), max_pixels()
    if pixels <= limit:
        return image, pixels
    image.close()
    counted_reduced = pixels < full[0] * full[1]  # a JPEG counted at its draft scale
    width, height = image.size if counted_reduced else full
    # Set to decode reduced, yet counted whole:
    not_reduced = not counted_reduced and image.size != full
    whole = " (a progressive or multi-scan JPEG: not read reduced)" * not_reduced
    raise InvalidInputError(
        f"{name} is too large to decode safely: {width:,} x {height:,} pixels{whole}, and at "
        f"most {limit / 1e6:g} megapixels are read (--max-pixels)"
    )


def _open_header(file: PictureFile, name: str) -> Image.Image:
    try:
        with warnings.catch_warnings():  # PIL warns past its own limit; ours is lower
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(file, formats=PICTURE_FORMATS)
    except Image.DecompressionBombError:
        raise InvalidInputError(f"{name} is too large to decode safely") from None
    except UnidentifiedImageError:
        kind = _format_of(_first_bytes(file))
        if kind is not None and kind not in PICTURE_FORMATS:
            kind = _SHARED_SIGNATURES.get(kind, kind)
            raise InvalidInputError(f"{name} is in {kind} format; send {FORMAT_NAMES}") from None
        raise InvalidInputError(f"{name} is not a readable image ({FORMAT_NAMES})") from None
    except (OSError, SyntaxError, ValueError):
        raise InvalidInputError(f"{name} is not a readable image ({FORMAT_NAMES})") from None


def _format_of(prefix: bytes) -> str | None:
    """The name PIL gives the format whose signature ``prefix`` (a file's first 16 bytes)
    carries, found by each plugin's check of those bytes alone: nothing is opened."""
    Image.init()
    for kind in Image.ID:
        accept = Image.OPEN[kind][1]
        try:
            if accept is not None and accept(prefix):
                return kind
        except (IndexError, TypeError, ValueError, SyntaxError, struct.error):
            continue  # a check written for longer input
    return None


def _first_bytes(file: PictureFile) -> bytes:
    try:
        if isinstance(file, (str, os.PathLike)):
            with open(file, "rb") as handle:
                return handle.read(16)
        file.seek(0)
        return file.read(16)
    except OSError:
        return b""


def _decodes_in_one_pass(image: Image.Image) -> bool:
    """Whether ``image``, a JPEG, is a sequential Huffman-coded frame whose first scan holds
    every component: the one kind libjpeg decodes a band of rows at a time."""
    fp = image.fp
    where = fp.tell()
    try:
        fp.seek(image.tile[0][2])  # where its first picture starts (an MPO holds several)
        layout = _jpeg_layout(fp)
    except (OSError, IndexError, ValueError):
        return False
    finally:
        fp.seek(where)
    if layout is None:
        return False
    frame, components, in_first_scan = layout
    return frame in _SEQUENTIAL_HUFFMAN and in_first_scan == components


def _jpeg_layout(fp: IO[bytes]) -> tuple[int, int, int] | None:
    """The frame's marker, its number of components and the number in its first scan, read
    from the markers up to that scan; None when they are not there as the standard says."""
    if fp.read(2) != b"\xff\xd8":
        return None
    frame: tuple[int, int] | None = None
    while (code := _next_marker(fp)) not in (None, 0xD9):
        if code == 0 or code in _BARE_MARKERS:
            continue
        length = int.from_bytes(fp.read(2), "big")
        if length < 2:
            return None
        segment = fp.read(min(length - 2, 6))
        if code == 0xDA:  # the first scan: what we came for
            return (frame[0], frame[1], segment[0]) if frame and segment else None
        if code in _FRAME_MARKERS:
            if frame is not None or len(segment) < 6:
                return None  # a second frame: libjpeg refuses the file
            frame = (code, segment[5])
        fp.seek(length - 2 - len(segment), os.SEEK_CUR)
    return None


def _next_marker(fp: IO[bytes]) -> int | None:
    """The code of the next marker, past junk and fill bytes (libjpeg and PIL skip them too);
    None at the end of the file."""
    byte = fp.read(1)
    while byte and byte != b"\xff":
        byte = fp.read(1)
    while byte == b"\xff":
        byte = fp.read(1)
    return byte[0] if byte else None


def picture_pixels(data: bytes | str | os.PathLike) -> int:
    """How many pixels decoding ``data`` (encoded bytes, or a file) costs, as
    :func:`_counted_pixels` counts them (0 when it is not a picture)."""
    file = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    try:
        image, pixels = _open_counted(file, "the picture")
    except InvalidInputError:
        return 0
    image.close()
    return pixels


def _decode(file: PictureFile, name: str) -> Image.Image:
    image = open_unloaded(file, name)
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        # PIL's own messages name the file object or its path: say it in our words
        raise InvalidInputError(f"{name} is not a readable image: damaged or cut short") from None
    return image


def _image_from_array(array: np.ndarray) -> Image.Image:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise InvalidInputError(
            f"an image array must be HxW, HxWx3 or HxWx4; got shape {tuple(array.shape)}"
        )
    if array.size == 0:
        raise InvalidInputError("the image array is empty")
    if array.dtype != np.uint8:
        values = array.astype(np.float32)
        if not np.isfinite(values).all():
            raise InvalidInputError("the image array holds NaN or infinite values")
        scale = 255.0 if values.max() <= 1.0 else 1.0  # floats in [0, 1] or in [0, 255]
        array = np.clip(values * scale, 0, 255).round().astype(np.uint8)
    return Image.fromarray(array)


def to_gray(image: Image.Image) -> np.ndarray:
    """Luminance in [0, 1]; transparent areas become a background that contrasts with the ink."""
    if image.mode in _DEEP_MODES:
        values = np.asarray(image, dtype=np.float32)
        top = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        return np.clip(values / top, 0, 1)
    return np.asarray(gray_image(image), dtype=np.float32) / 255.0


def gray_image(image: Image.Image) -> Image.Image:
    """:func:`to_gray` as an 8-bit "L" image.

    PIL's "L" is the ITU-R 601-2 luma (0.299 R + 0.587 G + 0.114 B) and the compositing
    below is PIL's too: done in C on bytes, a fifth of the time of the same in float32
    numpy on a 400x400 canvas (the Draw tab's), and within 1/255 of it.
    """
    if image.mode in _DEEP_MODES:
        return Image.fromarray(np.uint8(np.round(to_gray(image) * 255)))
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if not has_alpha:
        return image if image.mode == "L" else image.convert("L")
    rgba = image if image.mode == "RGBA" else image.convert("RGBA")
    luma, alpha = rgba.convert("L"), rgba.getchannel("A")
    if alpha.getextrema()[0] == 255:
        return luma
    # Ink drawn on a transparent canvas: whatever its colour, put it on the opposite shade.
    opaque = np.asarray(alpha) > 127
    ink_sum = np.sum(np.asarray(luma), where=opaque, dtype=np.int64)
    background = 255 if ink_sum < 127.5 * np.count_nonzero(opaque) else 0
    return Image.composite(luma, Image.new("L", luma.size, background), alpha)


def ink_crop(image: Image.Image) -> np.ndarray:
    """The ink (or object), bright on zero and stretched to [0, 1] whatever its polarity,
    in the smallest box that holds it. The background is the median of the border.

    Works on the 8-bit picture and turns only the box into floats: on a 400x400 drawing
    that is a tenth of the pixels. Raises :class:`EmptyInputError` when nothing stands out.
    """
    gray = gray_image(image)
    pixels = np.asarray(gray)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    background = float(np.median(border))
    darkest, brightest = gray.getextrema()
    light_ink = background < 127.5
    peak = brightest - background if light_ink else background - darkest
    if peak < 0.15 * 255:
        raise EmptyInputError("the image is blank: no ink to read")
    level = background + _INK_LEVEL * peak if light_ink else background - _INK_LEVEL * peak
    ink = pixels > level if light_ink else pixels < level
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    box = pixels[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32)
    stretched = (box - background if light_ink else background - box) / peak
    return np.clip(stretched, 0.0, 1.0)


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width in pixels: area over half the boundary length."""
    padded = np.pad(mask, 1)  # ink touching the edge of the crop has a boundary there too
    interior = (
        padded[1:-1, 1:-1]
        & padded[:-2, 1:-1]
        & padded[2:, 1:-1]
        & padded[1:-1, :-2]
        & padded[1:-1, 2:]
    )
    boundary = int(mask.sum() - interior.sum())
    return 2.0 * float(mask.sum()) / max(boundary, 1)


def _fit(ink: Image.Image, side: int) -> Image.Image:
    width, height = ink.size
    scale = side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return ink.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def prepare_digit(image: ImageLike) -> np.ndarray:
    """A drawn or photographed digit -> (1, 28, 28) float32, MNIST style.

    Crop to the ink, bring the stroke width into MNIST's range (thin pen, fat brush),
    fit into 20x20 keeping the aspect ratio, centre by centre of mass in 28x28, white
    on black. Raises :class:`EmptyInputError` for a blank picture.
    """
    crop = ink_crop(open_image(image))
    work = _fit(Image.fromarray(np.uint8(crop * 255)), _WORK_SIDE)

    width = stroke_width(np.asarray(work) > 127) / _WORK_SIDE
    low, high = STROKE_BAND
    if not low <= width <= high:
        change = round((STROKE_TARGET - width) * _WORK_SIDE)
        size = 2 * (abs(change) // 2) + 1  # a k-wide max/min filter changes width by k - 1
        if size > 1:
            grow = ImageFilter.MaxFilter(size) if change > 0 else ImageFilter.MinFilter(size)
            adjusted = work.filter(grow)
            if adjusted.getextrema()[1] > 127:  # never thin a digit away
                work = adjusted

    digit = np.asarray(_fit(work, DIGIT_BOX), dtype=np.float32) / 255.0
    peak = digit.max()
    if peak <= 0:
        raise EmptyInputError("the image is blank: no ink to read")
    digit /= peak
    return _centre_by_mass(digit)[None]


def _centre_by_mass(digit: np.ndarray) -> np.ndarray:
    height, width = digit.shape
    total = digit.sum()
    cy = float((digit.sum(axis=1) * np.arange(height)).sum() / total)
    cx = float((digit.sum(axis=0) * np.arange(width)).sum() / total)
    middle = DIGIT_CANVAS / 2  # where MNIST puts the centre of mass: pixel (14, 14)
    top = int(np.clip(round(middle - cy), 0, DIGIT_CANVAS - height))
    left = int(np.clip(round(middle - cx), 0, DIGIT_CANVAS - width))
    canvas = np.zeros((DIGIT_CANVAS, DIGIT_CANVAS), dtype=np.float32)
    canvas[top : top + height, left : left + width] = digit
    return canvas


def prepare_garment(image: ImageLike) -> np.ndarray:
    """A photo of one garment -> (1, 28, 28) float32, Fashion-MNIST style.

    Fashion-MNIST's makers trimmed each product photo to the item, scaled its longest side
    to 28 pixels, centred it and inverted it: a bright item on black. The same here, so a
    dark shirt on a white sheet reads like the training images.
    """
    crop = ink_crop(open_image(image))
    if not GARMENT_SIDE - 2 <= max(crop.shape) <= GARMENT_SIDE:  # already at scale: no resampling
        crop = np.asarray(_fit(Image.fromarray(np.uint8(crop * 255)), GARMENT_SIDE)) / 255
    height, width = crop.shape
    canvas = np.zeros((GARMENT_SIDE, GARMENT_SIDE), dtype=np.float32)
    # Rounding the margin up is how Fashion-MNIST centred its items (exact for 91 % of them).
    top, left = (GARMENT_SIDE - height + 1) // 2, (GARMENT_SIDE - width + 1) // 2
    canvas[top : top + height, left : left + width] = crop
    return canvas[None]


def prepare_resized(image: ImageLike, cfg: DataConfig) -> np.ndarray:
    """A photo -> (C, H, W): centre-cropped to the model's aspect ratio and resized."""
    channels, height, width = cfg.input_size
    picture = open_image(image)
    picture = gray_image(picture) if channels == 1 else picture.convert("RGB")
    picture = ImageOps.fit(picture, (width, height), Image.Resampling.BICUBIC)
    array = np.asarray(picture, dtype=np.float32) / 255.0
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def prepare_face(
    image: ImageLike, cfg: DataConfig, square: faces.Square | None = None
) -> np.ndarray:
    """A face -> (1, S, S): the grayscale crop of ``square`` (see :mod:`visionplay.faces`);
    without one, the picture is taken to be a face crop already (its centred square)."""
    gray = to_gray(open_image(image))
    if square is None:
        height, width = gray.shape
        square = faces.Square((width - 1) / 2, (height - 1) / 2, min(height, width))
    return faces.crop(gray, square, cfg.input_size[-1])[None]


def prepare(image: ImageLike, cfg: DataConfig) -> np.ndarray:
    """The one entry point: ``cfg.preprocess`` picks the recipe. Returns (C, H, W) float32."""
    if cfg.preprocess == "digit":
        return prepare_digit(image)
    if cfg.preprocess == "garment":
        return prepare_garment(image)
    if cfg.preprocess == "resize":
        return prepare_resized(image, cfg)
    if cfg.preprocess == "face":
        return prepare_face(image, cfg)
    raise InvalidInputError(f"unknown preprocessing {cfg.preprocess!r}")


def rgb_array(value: Any, needs: str) -> np.ndarray:
    """``value`` if it is an HxWx3 uint8 array (an RGB picture in memory), else a one-line
    refusal that begins with ``needs`` ("find takes", "a frame must be")."""
    if not isinstance(value, np.ndarray) or value.dtype != np.uint8:
        kind = getattr(value, "dtype", type(value).__name__)
        raise InvalidInputError(f"{needs} an HxWx3 uint8 RGB array; got {kind}")
    if value.ndim != 3 or value.shape[2] != 3 or 0 in value.shape:
        raise InvalidInputError(f"{needs} an HxWx3 uint8 RGB array; got shape {value.shape}")
    return value
