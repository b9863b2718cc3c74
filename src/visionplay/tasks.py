"""One class per task: everything that differs between a classifier, a face keypoint model
and a forecaster lives here, and nowhere else asks which one it holds.

Each class owns how its input is prepared, how it runs, how its answer becomes JSON, text
and Open Inference Protocol outputs, an example input, and what export writes into its
ONNX file (input and output names, dynamic axes, a softmax head). :func:`task_class` maps
the ``task`` of a :class:`~visionplay.config.DataConfig` to its class; ``load()`` opens
every exported file as the class its metadata names. torchvision's ``Weights`` (with their
``transforms()`` and ``meta``) and timm's ``pretrained_cfg`` are the models for this.

No torch here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from . import faces, series
from .config import DataConfig
from .errors import InvalidInputError, VisionplayError, shown
from .locations import examples_dir
from .preprocess import ImageLike, open_image, prepare, to_gray

CONFIG_KEY = "visionplay.config"  # the metadata key export writes the DataConfig under


@dataclass(frozen=True)
class Axis:
    """A dynamic axis of the exported graph's input: its name and the sizes it takes."""

    name: str
    low: int
    high: int


class Model:
    """An exported model: an onnxruntime session, the config read from its file, and the
    task's own ways of preparing input and reading answers. Open one with
    :func:`visionplay.load`; the class is the file's task (:func:`task_class`).

    Every task answers ``predict(input, **options)`` (one input) and
    ``predict_batch(inputs, **options)``; ``options`` are the keywords in :attr:`options`
    (a classifier's ``top_k``, a forecaster's ``steps``), and :meth:`options_from` keeps
    those of a caller's settings that this task takes."""

    task: ClassVar[str]
    input_name: ClassVar[str] = "image"
    output_name: ClassVar[str] = "output"
    answer_key: ClassVar[str] = "outputs"  # what the answer is called in JSON
    options: ClassVar[tuple[str, ...]] = ()
    # What an Open Inference Protocol BYTES input means (None: not taken), and how many
    # pictures one request may carry (None: as many as the server's batch limit).
    bytes_input: ClassVar[str | None] = None
    max_pictures: ClassVar[int | None] = None
    # Values one FP32 request may hold in all, where the batch limit alone is no bound
    # (a series may be of any length).
    max_request_values: ClassVar[int | None] = None
    softmax: ClassVar[bool] = False  # export ends the graph with a softmax
    takes_pixels: ClassVar[bool] = True  # mean/std are folded into the graph's front
    batch_axis: ClassVar[Axis] = Axis("batch", 1, 4096)
    steps_axis: ClassVar[Axis | None] = None

    def __init__(self, path: Path, session: Any) -> None:
        self.path = path
        self.name = path.stem
        self.session = session
        meta = self.session.get_modelmeta().custom_metadata_map
        if CONFIG_KEY not in meta:
            raise VisionplayError(
                f"{path.name} carries no visionplay config; export it with visionplay"
            )
        self.cfg = DataConfig.from_json(meta[CONFIG_KEY])
        self.metadata = dict(meta)
        self.input_name = self.session.get_inputs()[0].name
        self.provider = self.session.get_providers()[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, provider={self.provider!r})"

    @property
    def labels(self) -> tuple[str, ...]:
        return self.cfg.labels

    # What export writes: class methods, as the file does not exist yet.

    @classmethod
    def output_shape(cls, cfg: DataConfig) -> tuple[int, ...]:
        """The shape of one sample's output."""
        raise NotImplementedError

    @classmethod
    def describe_input(cls, cfg: DataConfig) -> str:
        """The input, in words, for the file's readable metadata."""
        channels, height, width = cfg.input_size
        colour = "grey" if channels == 1 else "RGB"
        return f"float32 [batch, {channels}, {height}, {width}], {colour} pixels in [0, 1], NCHW"

    @classmethod
    def input_names(cls) -> tuple[str, ...]:
        """The graph's inputs, in the order ``run`` takes them."""
        return (cls.input_name,)

    @classmethod
    def example_inputs(cls, cfg: DataConfig, count: int, seed: int = 0) -> tuple[np.ndarray, ...]:
        """Inputs of the graph's kind for export's parity check and the registry tests:
        random values of the input size."""
        rng = np.random.default_rng(seed)
        return (rng.random((count, *cfg.input_size), dtype=np.float32),)

    # Running

    def prepare(self, raw: Any) -> np.ndarray:
        """One input as the array the model reads (a picture: (C, H, W) floats in [0, 1])."""
        return prepare(raw, self.cfg)

    def run(self, batch: np.ndarray) -> np.ndarray:
        """The raw forward pass on a prepared batch."""
        batch = np.asarray(batch, dtype=np.float32)
        self.check_shape(list(batch.shape))
        return self._infer(batch)

    def check_shape(self, shape: list[int]) -> None:
        """Refuse a batch shape the graph does not take, before any data is converted."""
        expected = list(self.cfg.input_size)
        if len(shape) != len(expected) + 1 or shape[1:] != expected:
            wanted = ", ".join(map(str, expected))
            raise InvalidInputError(
                f"{self.name} takes a batch of shape (N, {wanted}); got {tuple(shape)}"
            )

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        if not np.isfinite(batch).all():  # inf and NaN come out as NaN "probabilities"
            raise InvalidInputError(
                f"{self.name} takes finite numbers; the input holds NaN or infinite values "
                "(or values beyond float32's range)"
            )
        try:
            return self.session.run(None, {self.input_name: batch})[0]
        except Exception as err:  # onnxruntime's own error types, e.g. a wrong shape
            raise InvalidInputError(
                f"{self.name} could not run on a batch of shape {batch.shape}: "
                f"{str(err).splitlines()[0]}"
            ) from None

    def options_from(self, **given: Any) -> dict[str, Any]:
        """The settings of ``given`` that this task's ``predict`` takes (None: unset)."""
        return {k: v for k, v in given.items() if k in self.options and v is not None}

    def work(self, values: int, rows: int = 1, **options: Any) -> int:
        """The values the model reads in all for ``rows`` inputs of ``values`` values each:
        one pass reads each once (a forecaster, rolling forward, reads more)."""
        return rows * values

    def predict(self, raw: Any, **options: Any) -> Any:
        """The answer for one input."""
        return self.predict_batch([raw], **options)[0]

    def predict_batch(self, raws: Iterable[Any], **options: Any) -> list[Any]:
        """The answers for several inputs, in one forward pass where the task allows."""
        raise NotImplementedError

    # Answers

    def to_json(self, answer: Any) -> Any:
        """An answer as JSON-ready values (lists, dicts, numbers)."""
        raise NotImplementedError

    def to_text(self, answer: Any) -> list[str]:
        """An answer as lines for a terminal: a summary, then any detail lines."""
        raise NotImplementedError

    def draw(self, picture: Image.Image, answer: Any, **style: Any) -> Image.Image:
        """The picture with the answer drawn on it, where the answer has a place in it."""
        raise InvalidInputError(f"{self.name}'s answers have no place in a picture to draw")

    def tensor_outputs(self, batch: np.ndarray, **options: Any) -> dict[str, np.ndarray]:
        """The protocol's outputs, by name, for a batch of the graph's own input."""
        return {self.output_name: self.run(batch)}

    def picture_outputs(self, pictures: Sequence[bytes], **options: Any) -> dict[str, np.ndarray]:
        """The protocol's outputs for encoded pictures (a BYTES input)."""
        if self.bytes_input is None:
            raise InvalidInputError(f"{self.name} takes an FP32 tensor, not BYTES")
        return self.tensor_outputs(np.stack([self.prepare(p) for p in pictures]), **options)

    def example(self) -> Any:
        """An input to try the model on: the first example picture shipped for it, else a
        picture of random pixels of its input size."""
        shipped = sorted(examples_dir().glob(f"{self.name}-*"))
        if shipped:
            return Image.open(shipped[0])
        channels, height, width = self.cfg.input_size
        pixels = np.random.default_rng(0).integers(0, 256, (height, width, channels), np.uint8)
        return Image.fromarray(pixels[..., 0] if channels == 1 else pixels)


@dataclass(frozen=True)
class Prediction:
    """One class and its probability."""

    label: str
    score: float
    index: int


class Classifier(Model):
    """Pictures in, class probabilities out (a softmax ends the graph); an answer is the
    top ``top_k`` :class:`Prediction` s, most likely first."""

    task = "classification"
    output_name = "probabilities"
    answer_key = "predictions"
    options = ("top_k",)
    bytes_input = "an encoded picture: probabilities and the top labels"
    softmax = True

    @classmethod
    def output_shape(cls, cfg: DataConfig) -> tuple[int, ...]:
        return (cfg.num_classes,)

    def predict(self, image: ImageLike, top_k: int = 3) -> list[Prediction]:
        """Top-``top_k`` classes for one picture (path, bytes, PIL image or array)."""
        return self.predict_batch([image], top_k)[0]

    def predict_batch(self, images: Iterable[ImageLike], top_k: int = 3) -> list[list[Prediction]]:
        """Top-``top_k`` classes for each picture, in one forward pass."""
        arrays = [self.prepare(image) for image in images]
        return self.predict_prepared(np.stack(arrays), top_k) if arrays else []

    def predict_prepared(self, batch: np.ndarray, top_k: int = 3) -> list[list[Prediction]]:
        """Top-``top_k`` classes for a batch already made by :meth:`prepare`."""
        return [self._top(p, top_k) for p in self.run(batch)]

    def _top(self, probabilities: np.ndarray, top_k: int) -> list[Prediction]:
        order = np.argsort(probabilities)[::-1][: max(1, top_k)]
        return [Prediction(self.labels[i], float(probabilities[i]), int(i)) for i in order]

    def to_json(self, answer: list[Prediction]) -> list[dict[str, Any]]:
        return [{"label": p.label, "score": p.score, "index": p.index} for p in answer]

    def to_text(self, answer: list[Prediction]) -> list[str]:
        return ["  ".join(f"{p.label} {p.score:.3f}" for p in answer)]

    def tensor_outputs(self, batch: np.ndarray, top_k: int = 3) -> dict[str, np.ndarray]:
        probabilities = self.run(batch)
        order = np.argsort(-probabilities, axis=1)[:, :top_k]
        return {
            "probabilities": probabilities,
            "labels": np.array([[self.labels[i] for i in row] for row in order], dtype=object),
            "scores": np.take_along_axis(probabilities, order, axis=1),
        }


@dataclass(frozen=True)
class Face:
    """One face: its detector box (x0, y0, x1, y1), its (x, y) points in the standard
    68-point order, both in the picture's pixels, and the detector's confidence."""

    box: tuple[float, float, float, float]
    points: np.ndarray
    score: float

    def to_json(self) -> dict[str, Any]:
        """Pixels to a tenth: finer is below what the model resolves."""
        return {
            "box": [round(float(v), 1) for v in self.box],
            "score": round(float(self.score), 3),
            "points": np.round(self.points.astype(np.float64), 1).tolist(),
        }


class KeypointModel(Model):
    """A face keypoint model behind a face detector: ``predict(picture)`` finds every face
    and returns each with its points, largest face first ([] when there is none). The
    graph itself reads a 96x96 grey crop and answers the points in crop units."""

    task = "keypoints"
    output_name = "points"
    answer_key = "faces"
    bytes_input = "an encoded picture: every face's box, 68 points and score"
    max_pictures = 1

    def __init__(self, path: Path, session: Any) -> None:
        super().__init__(path, session)
        self.detector = faces.HaarDetector()
        self.side = self.cfg.input_size[-1]
        self.margin = self.cfg.extra["margin"]
        self.framing = self.cfg.extra.get("detector_framing")
        self.num_points = self.cfg.extra["num_points"]

    @classmethod
    def output_shape(cls, cfg: DataConfig) -> tuple[int, ...]:
        return (cfg.extra["num_points"], 2)

    def predict(self, image: ImageLike) -> list[Face]:
        return self.predict_batch([image])[0]

    def predict_batch(self, images: Iterable[ImageLike]) -> list[list[Face]]:
        """Faces in each picture; all the crops go through the network in one pass."""
        if self.framing is None:
            raise VisionplayError(
                f"{self.path.name} has no detector framing (trainers/face_keypoints.py "
                "measures it); without it faces cannot be cropped the way the model was trained"
            )
        grays = [to_gray(open_image(image)) for image in images]
        found = [self.detector(gray) for gray in grays]
        squares = [
            [faces.square_from_detection(d.box, self.framing, self.margin) for d in detections]
            for detections in found
        ]
        crops = [
            faces.crop(g, sq, self.side)
            for g, row in zip(grays, squares, strict=True)
            for sq in row
        ]
        coords = iter(self.run(np.stack(crops)[:, None]) if crops else [])
        return [
            [
                Face(d.box, faces.from_crop(next(coords), sq, self.side), d.score)
                for d, sq in zip(detections, row, strict=True)
            ]
            for detections, row in zip(found, squares, strict=True)
        ]

    def points_in(self, gray: np.ndarray, squares: Sequence[faces.Square]) -> np.ndarray:
        """(n, points, 2), in picture pixels, for faces framed by known ``squares``."""
        crops = np.stack([faces.crop(gray, square, self.side) for square in squares])[:, None]
        coords = self.run(crops)
        return np.stack(
            [faces.from_crop(c, sq, self.side) for c, sq in zip(coords, squares, strict=True)]
        )

    def to_json(self, answer: list[Face]) -> list[dict[str, Any]]:
        return [face.to_json() for face in answer]

    def to_text(self, answer: list[Face]) -> list[str]:
        lines = [f"{len(answer)} face{'s' * (len(answer) != 1)}"]
        for face in answer:
            box = ", ".join(f"{v:.0f}" for v in face.box)
            lines.append(f"  box ({box})  score {face.score:.2f}  {len(face.points)} points")
        return lines

    def draw(self, picture: Image.Image, answer: list[Face], lines: bool = True) -> Image.Image:
        """Boxes and points, joined along the face's contours if ``lines``."""
        return faces.draw_faces(picture, answer, lines=lines)

    def picture_outputs(self, pictures: Sequence[bytes]) -> dict[str, np.ndarray]:
        found = self.predict(pictures[0])
        return {
            "boxes": np.reshape([f.box for f in found], (-1, 4)),
            "points": np.reshape([f.points for f in found], (-1, self.num_points, 2)),
            "scores": np.array([f.score for f in found], dtype=np.float32),
        }


class ForecastModel(Model):
    """A forecaster: ``forecast(values, steps)`` continues a 1-D series. Up to the model's
    horizon it answers in one pass; beyond, it rolls forward on its own forecasts. A series
    may be numbers, text of numbers, the bytes of a text or CSV file, or a file's path."""

    task = "forecast"
    input_name = "series"
    output_name = "forecast"
    answer_key = "forecast"
    options = ("steps",)
    max_request_values = series.MAX_LENGTH
    takes_pixels = False
    steps_axis = Axis("steps", 2, series.MAX_LENGTH)

    def __init__(self, path: Path, session: Any) -> None:
        super().__init__(path, session)
        self.horizon = int(self.cfg.extra["horizon"])
        steps = self.session.get_inputs()[0].shape[1]
        # A window model (the linear baseline) reads a fixed number of the latest values.
        self.window = self.cfg.extra.get("window") or (steps if isinstance(steps, int) else None)
        self.min_length = max(series.MIN_LENGTH, self.window or 0)

    @classmethod
    def output_shape(cls, cfg: DataConfig) -> tuple[int, ...]:
        return (cfg.extra["horizon"],)

    @classmethod
    def describe_input(cls, cfg: DataConfig) -> str:
        return "float32 [batch, steps, 1]: the series so far, any number of steps"

    def prepare(self, values: Any) -> np.ndarray:
        """The (steps, 1) float32 array the model reads, or a clear error."""
        if isinstance(values, os.PathLike):
            values = series.read_series_file(values)
        elif isinstance(values, bytes):
            values = series.parse_series(values)
        return series.check_values(values, min_length=self.min_length)[:, None]

    def check_shape(self, shape: list[int]) -> None:
        if len(shape) != 3 or shape[2] != 1 or not 2 <= shape[1] <= series.MAX_LENGTH:
            raise InvalidInputError(
                f"{self.name} takes a batch of shape (N, steps, 1), one "
                f"channel, 2 to {series.MAX_LENGTH:,} steps; got "
                f"{tuple(shape)}"
            )

    def forecast(self, values: Any, steps: int | None = None) -> np.ndarray:
        """The next ``steps`` values (default: the model's horizon) after ``values``."""
        return self.forecast_batch(self.prepare(values)[None, :, 0], steps)[0]

    def forecast_batch(self, inputs: np.ndarray, steps: int | None = None) -> np.ndarray:
        """(n, steps_in) series of equal length -> (n, steps) forecasts."""
        steps = self.horizon if steps is None else steps
        if (
            isinstance(steps, bool)
            or not isinstance(steps, (int, np.integer))
            or not 1 <= steps <= 1000
        ):
            raise InvalidInputError(f"steps must be a whole number from 1 to 1000; got {steps!r}")
        window = np.asarray(inputs, dtype=np.float32)
        if window.ndim != 2 or not self.min_length <= window.shape[1] <= series.MAX_LENGTH:
            raise InvalidInputError(
                f"{self.name} needs series of {self.min_length} to {series.MAX_LENGTH:,} "
                f"values; got an array of shape {window.shape}"
            )
        made: list[np.ndarray] = []
        for _ in range(self.runs(steps)):
            window = window[:, -self.reach :]  # older values are never read again
            made.append(self.run(window[:, :, None]))
            window = np.concatenate([window, made[-1]], axis=1)
        return np.concatenate(made, axis=1)[:, :steps]

    @property
    def reach(self) -> int:
        """The most latest values one run reads: the model's window, else as many as its
        graph takes (a series and its own forecasts may together hold more)."""
        return self.window or series.MAX_LENGTH

    def runs(self, steps: int) -> int:
        """The model runs a forecast of ``steps`` values takes: one per horizon."""
        return -(-steps // self.horizon)

    def work(self, values: int, rows: int = 1, steps: int | None = None) -> int:
        """The values the model reads in all to forecast ``steps`` after ``rows`` series of
        ``values`` values: its runs' lengths, summed. A run's time grows with its length, so
        this, not the runs alone, is what a forecast costs."""
        steps = self.horizon if steps is None else steps
        read = sum(min(values + i * self.horizon, self.reach) for i in range(self.runs(steps)))
        return rows * read

    def predict(self, values: Any, steps: int | None = None) -> np.ndarray:
        return self.forecast(values, steps)

    def predict_batch(self, inputs: Iterable[Any], steps: int | None = None) -> list[np.ndarray]:
        """Forecasts for several series (of any lengths: each runs on its own)."""
        return [self.forecast(values, steps) for values in inputs]

    def to_json(self, answer: np.ndarray) -> list[float]:
        return answer.tolist()

    def to_text(self, answer: np.ndarray) -> list[str]:
        return [f"next {len(answer)}: " + ", ".join(f"{v:.4f}" for v in answer)]

    def tensor_outputs(self, batch: np.ndarray, steps: int | None = None) -> dict[str, np.ndarray]:
        return {"forecast": self.forecast_batch(batch[:, :, 0], steps)}

    def example(self) -> np.ndarray:
        """A series from the generator the forecasters learnt, as long as they were taught."""
        return series.generate(1, self.cfg.input_size[0], seed=0)[0]


class Reconstructor(Model):
    """A picture in, a picture of the same size out (the tutorials' unpooling autoencoder;
    none ships). An answer is the (C, H, W) float array."""

    task = "reconstruction"
    answer_key = "images"

    @classmethod
    def output_shape(cls, cfg: DataConfig) -> tuple[int, ...]:
        return tuple(cfg.input_size)

    def predict_batch(self, images: Iterable[ImageLike]) -> list[np.ndarray]:
        arrays = [self.prepare(image) for image in images]
        return list(self.run(np.stack(arrays))) if arrays else []

    def to_json(self, answer: np.ndarray) -> list:
        return answer.tolist()

    def to_text(self, answer: np.ndarray) -> list[str]:
        return [
            f"a {'x'.join(map(str, answer.shape))} picture, values "
            f"{answer.min():.3f} to {answer.max():.3f}"
        ]


LONGEST_LABEL = 100  # the most of a label a generator reads; no class has a longer name


class Generator(Model):
    """A class-conditional generator: a latent vector ``z`` and a class ``label`` in, a
    picture in [0, 1] out. :meth:`generate` draws pictures of the classes asked for, the
    latent vectors drawn from ``seed`` (same seed, same pictures); :meth:`walk` goes from
    one seed's latent vector to another's. An answer is an (N, H, W) uint8 array."""

    task = "generation"
    input_name = "z"
    label_name = "label"
    output_name = "pictures"
    answer_key = "pictures"
    options = ("seed",)
    takes_pixels = False
    max_count = 4096  # pictures one call may ask for: the graph's batch axis

    def __init__(self, path: Path, session: Any) -> None:
        super().__init__(path, session)
        self.latent = int(self.cfg.input_size[0])
        self.picture_size = tuple(self.cfg.extra["picture_size"])

    @classmethod
    def output_shape(cls, cfg: DataConfig) -> tuple[int, ...]:
        return tuple(cfg.extra["picture_size"])

    @classmethod
    def describe_input(cls, cfg: DataConfig) -> str:
        return (
            f"z: float32 [batch, {cfg.input_size[0]}], standard normal; label: int64 "
            f"[batch], the class index (0 to {cfg.num_classes - 1})"
        )

    @classmethod
    def input_names(cls) -> tuple[str, ...]:
        return (cls.input_name, cls.label_name)

    @classmethod
    def example_inputs(cls, cfg: DataConfig, count: int, seed: int = 0) -> tuple[np.ndarray, ...]:
        z = np.random.default_rng(seed).standard_normal((count, cfg.input_size[0]), np.float32)
        return z, np.arange(count, dtype=np.int64) % cfg.num_classes

    # Running

    def run(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """The raw forward pass: (N, latent) floats and N class indices -> (N, C, H, W)."""
        z = np.asarray(z, dtype=np.float32)
        self.check_shape(list(z.shape))
        if not np.isfinite(z).all():
            raise InvalidInputError(f"{self.name}'s z must hold finite numbers")
        indices = self.class_indices(labels if labels is not None else [], len(z))
        return self.session.run(None, {self.input_name: z, self.label_name: indices})[0]

    def check_shape(self, shape: list[int]) -> None:
        if len(shape) != 2 or shape[1] != self.latent or not 1 <= shape[0] <= self.max_count:
            raise InvalidInputError(
                f"{self.name} takes z of shape (N, {self.latent}), N from 1 to "
                f"{self.max_count}; got {tuple(shape)}"
            )

    def class_indices(self, labels: Any, count: int | None = None) -> np.ndarray:
        """Class indices (int64) for ``labels``: indices or label names, ``count`` of
        them if given; anything else is refused with the classes it could be."""
        if isinstance(labels, (str, int, np.integer)):
            labels = [labels]
        labels = list(np.asarray(labels, dtype=object).reshape(-1)) if len(labels) else []
        if count is not None and len(labels) != count:
            raise InvalidInputError(
                f"{self.name} needs one label per z: {count} z, {len(labels)} labels"
            )
        if not 1 <= len(labels) <= self.max_count:
            raise InvalidInputError(
                f"{self.name} draws 1 to {self.max_count} pictures at once; {len(labels)} asked for"
            )
        return np.array([self._class_index(label) for label in labels], dtype=np.int64)

    def _class_index(self, label: Any) -> int:
        if isinstance(label, os.PathLike):  # the command line's: a file holding a label, or one
            path = Path(label)
            label = path.read_bytes()[:100] if path.is_file() else str(path)
        if isinstance(label, bytes):  # a request's body: the label as text
            label = label.decode("utf-8", "replace").strip()[:100]
        if isinstance(label, str) and len(label) <= LONGEST_LABEL:  # a longer one is no class
            if label in self.labels:
                return self.labels.index(label)
            if label.strip().isdigit():
                label = int(label)
        whole = isinstance(label, (int, np.integer)) and not isinstance(label, bool)
        if whole and 0 <= label < len(self.labels):
            return int(label)
        choices = ", ".join(f"{i} ({name})" for i, name in enumerate(self.labels))
        asked = repr(shown(label)) if isinstance(label, str) else shown(label)
        raise InvalidInputError(f"{self.name} has no class {asked}; its classes: {choices}")

    def latents(self, seed: int, count: int) -> np.ndarray:
        """``count`` latent vectors drawn from ``seed``: the first rows are the same
        whatever the count, so one seed always starts the same way."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InvalidInputError(f"seed must be a whole number, 0 or more; got {seed!r}")
        return np.random.default_rng(int(seed)).standard_normal((count, self.latent), np.float32)

    def generate(self, labels: Any, seed: int = 0) -> np.ndarray:
        """Pictures of the classes ``labels`` (indices or names, or one of them), as an
        (N, H, W) uint8 array; the latent vectors come from ``seed``."""
        indices = self.class_indices(labels)
        return self.to_uint8(self.run(self.latents(seed, len(indices)), indices))

    def walk(self, label: Any, seed_from: int, seed_to: int, steps: int = 8) -> np.ndarray:
        """``steps`` pictures of one class, its latent vector walking along the great circle
        (slerp) from ``seed_from``'s first vector to ``seed_to``'s: (steps, H, W) uint8."""
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
            raise InvalidInputError(f"steps must be a whole number; got {steps!r}")
        if not 2 <= steps <= 64:
            raise InvalidInputError(f"a walk takes 2 to 64 steps; got {steps}")
        start, end = self.latents(seed_from, 1)[0], self.latents(seed_to, 1)[0]
        z = slerp(start, end, np.linspace(0.0, 1.0, steps, dtype=np.float32))
        return self.to_uint8(self.run(z, self.class_indices([label] * steps)))

    @staticmethod
    def to_uint8(pictures: np.ndarray) -> np.ndarray:
        """(N, 1, H, W) floats in [0, 1] -> (N, H, W) uint8."""
        return np.round(np.clip(pictures[:, 0], 0.0, 1.0) * 255).astype(np.uint8)

    def predict(self, label: Any, seed: int = 0) -> np.ndarray:
        """One picture of ``label``: the first of :meth:`generate`'s for ``seed``."""
        return self.generate([label], seed)[0]

    def predict_batch(self, labels: Iterable[Any], seed: int = 0) -> list[np.ndarray]:
        """For each label, the picture :meth:`predict` draws (all from ``seed``'s first
        latent vector); :meth:`generate` draws a different one for each."""
        indices = self.class_indices(list(labels))
        z = np.repeat(self.latents(seed, 1), len(indices), axis=0)
        return list(self.to_uint8(self.run(z, indices)))

    # Answers

    def to_json(self, answer: np.ndarray) -> list:
        return np.asarray(answer).tolist()

    def to_text(self, answer: np.ndarray) -> list[str]:
        return [
            f"a {'x'.join(map(str, answer.shape))} picture, values {answer.min()} to {answer.max()}"
        ]

    def tensor_outputs(
        self, z: np.ndarray, label: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        return {self.output_name: self.run(z, label)}

    def example(self) -> str:
        return self.labels[0]


def slerp(start: np.ndarray, end: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points along the great circle from ``start`` to ``end`` (the usual path through a
    Gaussian latent space: a straight line would pass through improbably short vectors)."""
    cos = np.dot(start, end) / (np.linalg.norm(start) * np.linalg.norm(end))
    angle = float(np.arccos(np.clip(cos, -1.0, 1.0)))
    if angle < 1e-6:
        return np.outer(1 - t, start) + np.outer(t, end)
    weights_start = np.sin((1 - t) * angle) / np.sin(angle)
    weights_end = np.sin(t * angle) / np.sin(angle)
    return (np.outer(weights_start, start) + np.outer(weights_end, end)).astype(np.float32)


def picture_grid(pictures: np.ndarray, columns: int | None = None, gap: int = 2) -> Image.Image:
    """(N, H, W) uint8 pictures (or (N, H, W, 3): RGB) as one image, in rows of ``columns``
    (default: a square-ish grid), ``gap`` pixels apart."""
    count, height, width = pictures.shape[:3]
    columns = columns or int(np.ceil(np.sqrt(count)))
    rows = -(-count // columns)
    sheet = np.zeros(
        (rows * (height + gap) + gap, columns * (width + gap) + gap, *pictures.shape[3:]), np.uint8
    )
    for i, picture in enumerate(pictures):
        top, left = gap + (i // columns) * (height + gap), gap + (i % columns) * (width + gap)
        sheet[top : top + height, left : left + width] = picture
    return Image.fromarray(sheet)


TASKS: Mapping[str, type[Model]] = {
    cls.task: cls for cls in (Classifier, KeypointModel, ForecastModel, Reconstructor, Generator)
}


def task_class(task: str) -> type[Model]:
    """The class of a config's ``task``."""
    try:
        return TASKS[task]
    except KeyError:
        raise VisionplayError(f"unknown task {task!r}; known: {', '.join(TASKS)}") from None
