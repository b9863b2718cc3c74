"""The public API: ``visionplay.load(name)`` -> a model backed by onnxruntime.

No torch here. Everything a caller needs (input shape, normalisation, labels, how to
preprocess) is read from the ONNX file's metadata, written there by export.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import faces, series
from .config import DataConfig
from .errors import InvalidInputError, ModelNotFoundError, VisionplayError
from .locations import models_dir
from .preprocess import ImageLike, open_image, prepare, to_gray

THREADS_ENV = "VISIONPLAY_THREADS"  # onnxruntime intra-op threads per session
CONFIG_KEY = "visionplay.config"


def list_exported(directory: str | os.PathLike | None = None) -> list[str]:
    """Names of the exported models in ``directory`` (default :func:`models_dir`)."""
    try:
        return sorted(p.stem for p in Path(directory or models_dir()).glob("*.onnx"))
    except OSError:  # no such folder, or a name the file system refuses
        return []


@dataclass(frozen=True)
class Prediction:
    """One class and its probability."""

    label: str
    score: float
    index: int


class Model:
    """An exported model: preprocessing + an onnxruntime session + reading the answer.
    Open one with :func:`load` (or :func:`open_model` for a path)."""

    def __init__(self, path: Path, session) -> None:
        self.path = path
        self.name = path.stem
        self.session = session
        meta = self.session.get_modelmeta().custom_metadata_map
        if CONFIG_KEY not in meta:
            raise VisionplayError(f"{path} carries no visionplay config; export it with visionplay")
        self.cfg = DataConfig.from_json(meta[CONFIG_KEY])
        self.metadata = dict(meta)
        self.input_name = self.session.get_inputs()[0].name
        self.provider = self.session.get_providers()[0]

    def __repr__(self) -> str:
        return f"Model({self.name!r}, task={self.cfg.task!r}, provider={self.provider!r})"

    @property
    def labels(self) -> tuple[str, ...]:
        return self.cfg.labels

    def prepare(self, image: ImageLike) -> np.ndarray:
        """The (C, H, W) float32 array the model sees for ``image``."""
        return prepare(image, self.cfg)

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Raw forward pass on a prepared (N, C, H, W) float32 batch."""
        batch = np.asarray(batch, dtype=np.float32)
        if batch.ndim != 4 or tuple(batch.shape[1:]) != tuple(self.cfg.input_size):
            shape = ", ".join(map(str, self.cfg.input_size))
            raise InvalidInputError(
                f"{self.name} takes a batch of shape (N, {shape}); got {tuple(batch.shape)}"
            )
        return self._infer(batch)

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


@dataclass(frozen=True)
class Face:
    """One face: its detector box (x0, y0, x1, y1), 68 (x, y) points in the standard
    order, both in the picture's pixels, and the detector's confidence."""

    box: tuple[float, float, float, float]
    points: np.ndarray
    score: float


class KeypointModel(Model):
    """A face keypoint model behind a face detector: ``predict(picture)`` finds every face
    and returns each with its 68 points, largest face first ([] when there is none)."""

    def __init__(self, path: Path, session) -> None:
        super().__init__(path, session)
        self.detector = faces.HaarDetector()
        self.side = self.cfg.input_size[-1]
        self.margin = self.cfg.extra["margin"]
        self.framing = self.cfg.extra.get("detector_framing")

    def predict(self, image: ImageLike, top_k: int = 0) -> list[Face]:
        return self.predict_batch([image])[0]

    def predict_batch(self, images: Iterable[ImageLike], top_k: int = 0) -> list[list[Face]]:
        """Faces in each picture; all the crops go through the network in one pass."""
        if self.framing is None:
            raise VisionplayError(
                f"{self.path} has no detector framing (trainers/face_keypoints.py measures "
                "it); without it faces cannot be cropped the way the model was trained"
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
        """(n, 68, 2) points, in picture pixels, for faces framed by known ``squares``."""
        crops = np.stack([faces.crop(gray, square, self.side) for square in squares])[:, None]
        coords = self.run(crops)
        return np.stack(
            [faces.from_crop(c, sq, self.side) for c, sq in zip(coords, squares, strict=True)]
        )


class ForecastModel(Model):
    """A forecaster: ``forecast(values, steps)`` continues a 1-D series. Up to the model's
    horizon it answers in one pass; beyond, it rolls forward on its own forecasts."""

    def __init__(self, path: Path, session) -> None:
        super().__init__(path, session)
        self.horizon = int(self.cfg.extra["horizon"])
        steps = self.session.get_inputs()[0].shape[1]
        # A window model (the linear baseline) reads a fixed number of the latest values.
        self.window = self.cfg.extra.get("window") or (steps if isinstance(steps, int) else None)
        self.min_length = max(series.MIN_LENGTH, self.window or 0)

    def prepare(self, values) -> np.ndarray:
        """The (steps, 1) float32 array the model reads, or a clear error."""
        return series.check_values(values, min_length=self.min_length)[:, None]

    def run(self, batch: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch, dtype=np.float32)
        if batch.ndim != 3 or batch.shape[2] != 1 or batch.shape[1] < 2:
            raise InvalidInputError(
                f"{self.name} takes a batch of shape (N, steps, 1); got {tuple(batch.shape)}"
            )
        return self._infer(batch)

    def forecast(self, values, steps: int | None = None) -> np.ndarray:
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
        made = np.empty((len(window), 0), dtype=np.float32)
        while made.shape[1] < steps:
            latest = window[:, -self.window :] if self.window else window
            ahead = self.run(latest[:, :, None])[:, : steps - made.shape[1]]
            made = np.concatenate([made, ahead], axis=1)
            window = np.concatenate([window, ahead], axis=1)
        return made

    def predict(self, values, top_k: int = 0) -> np.ndarray:
        return self.forecast(values)


def open_model(path: str | os.PathLike, providers: Sequence[str] | None = None) -> Model:
    """An onnxruntime session on ``path``, wrapped in the class its task needs.

    A file whose weights fail the checksum export wrote into it raises
    :class:`~visionplay.integrity.DamagedModelError`; one without a checksum (exported
    before checksums) is opened as it is."""
    import onnxruntime as ort

    from .integrity import check_model_file

    path = Path(path)
    check_model_file(path)
    try:
        session = ort.InferenceSession(
            str(path), sess_options=_session_options(), providers=_providers(providers)
        )
    except Exception as err:  # onnxruntime raises its own untyped errors for bad files
        raise VisionplayError(
            f"{path} is not a usable ONNX model ({str(err).splitlines()[0]}); "
            "re-create it with `visionplay export --onnx`"
        ) from None
    meta = session.get_modelmeta().custom_metadata_map
    task = json.loads(meta.get(CONFIG_KEY, "{}")).get("task")
    kinds = {"keypoints": KeypointModel, "forecast": ForecastModel}
    return kinds.get(task, Model)(path, session)


def _session_options():
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # onnxruntime's default, one intra-op thread per physical core, gives the lowest
    # latency for one model (BENCHMARKS.md); many replicas on one machine may want fewer each.
    threads = session_threads()
    if threads:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3  # a CUDA build on a machine without a GPU is not an error
    return options


def session_threads() -> int | None:
    """onnxruntime's threads per session from ``$VISIONPLAY_THREADS``; None: its default."""
    threads = os.environ.get(THREADS_ENV, "").strip()
    if not threads:
        return None
    if not threads.isdigit() or int(threads) < 1:
        raise VisionplayError(f"${THREADS_ENV} must be a whole number >= 1, got {threads!r}")
    return int(threads)


def _providers(requested: Sequence[str] | None) -> list[str]:
    import onnxruntime as ort

    available = ort.get_available_providers()
    if requested:
        missing = [p for p in requested if p not in available]
        if missing:
            raise VisionplayError(
                f"onnxruntime has no {', '.join(missing)}; available: {available}"
            )
        return list(requested)
    wanted = ["CUDAExecutionProvider"] if _cuda_usable() else []
    return [p for p in wanted if p in available] + ["CPUExecutionProvider"]


def _cuda_usable() -> bool:
    """onnxruntime-gpu lists CUDA even where no GPU or driver exists; ask the driver."""
    import ctypes

    try:
        cuda = ctypes.CDLL("libcuda.so.1" if os.name != "nt" else "nvcuda.dll")
        count = ctypes.c_int(0)
        return (
            cuda.cuInit(0) == 0
            and cuda.cuDeviceGetCount(ctypes.byref(count)) == 0
            and count.value > 0
        )
    except OSError:
        return False


_cache: dict[tuple, Model] = {}
_cache_lock = threading.Lock()


def resolve(name: str | os.PathLike, directory: str | os.PathLike | None = None) -> Path:
    """A model name (``"mnist"``) or a path to an ``.onnx`` file -> the file's path."""
    text = os.fspath(name)
    if text.endswith(".onnx") or os.sep in text:
        path = Path(text)
    else:
        path = Path(directory or models_dir()) / f"{text}.onnx"
    try:
        found = path.is_file()
    except OSError:  # a name longer than the file system allows
        found = False
    if not found:
        known = ", ".join(list_exported(path.parent)) or "none"
        shown = text if len(text) <= 60 else f"{text[:60]}..."
        raise ModelNotFoundError(
            f"no exported model {shown!r} (looked in {path.parent}; exported: {known}); "
            "train it and run `visionplay export --onnx`"
        )
    return path.absolute()  # not resolve(): its realpath walk showed in per-request profiles


def load(
    name: str | os.PathLike,
    directory: str | os.PathLike | None = None,
    providers: Sequence[str] | None = None,
) -> Model:
    """Load an exported model by name or path; one session per file and process."""
    path = resolve(name, directory)
    key = (str(path), path.stat().st_mtime_ns, tuple(providers or ()))
    with _cache_lock:
        if key not in _cache:
            _cache[key] = open_model(path, providers)
        return _cache[key]
