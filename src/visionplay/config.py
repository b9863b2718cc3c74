"""Data configs: what a model expects and what its outputs mean (like timm's ``_cfg``).

A config travels with the model everywhere: the registry holds it, checkpoints store it,
export writes it into the ONNX file's ``metadata_props`` and serving reads it back from
there, so serving never needs torch or the registry.

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

MNIST_LABELS = tuple(str(d) for d in range(10))
NOT_A_DIGIT = "not a digit"  # the digit reader's label for a drawing that is none


@dataclass(frozen=True)
class KeypointSettings:
    """A face keypoint model's own settings."""

    num_points: int = 68  # (x, y) points per face, in the standard 68-point order
    margin: float = 1.3  # a crop's side over the longer side of the points' box
    # The exported face detector (a model name, beside this one) whose boxes the framing
    # below was measured on. None: a file from before the detector was a model of its own,
    # whose framing was measured on another detector's boxes (see tasks/keypoints.py).
    detector: str | None = None
    # (dx, dy, size): how a detector box maps onto the same crop. The face trainer measures
    # it on the training frames, with the share of them the detector found a face on.
    detector_framing: tuple[float, float, float] | None = None
    detector_found_on_training: float | None = None


@dataclass(frozen=True)
class DetectionSettings:
    """A face detector's own settings: how its output rows are read (MediaPipe's
    full-range BlazeFace config: one anchor per cell of a square grid, row-major, offsets
    in input pixels) and when a box is a face."""

    grid: int = 48  # anchors a side
    min_score: float = 0.6  # MediaPipe's own threshold for this model
    nms_iou: float = 0.3  # boxes overlapping more than this are one face, blended
    # The points each face comes with, in the order of the rows (the person's right first).
    keypoints: tuple[str, ...] = (
        "right eye",
        "left eye",
        "nose tip",
        "mouth",
        "right ear",
        "left ear",
    )


@dataclass(frozen=True)
class ForecastSettings:
    """A forecaster's own settings."""

    horizon: int = 1  # values forecast in one run
    window: int | None = None  # the latest values a window model reads; None: the whole series
    # A scaled forecaster's graph reads the latest ``context`` values as series.scale_windows
    # leaves them (season out, level and scale divided out), and its answer is put back.
    scaled: bool = False
    context: int | None = None
    described: bool = False  # a scaled window leads with its scale and level


@dataclass(frozen=True)
class GenerationSettings:
    """A class-conditional generator's own settings."""

    picture_size: tuple[int, int, int] = (1, 28, 28)  # (C, H, W) of what it draws
    # The shipped classifier whose preprocessing the training pictures go through and which
    # reads what the generator draws (conditional accuracy, Frechet distance, the tab).
    reader: str = ""


# The tasks whose files carry settings of their own, and the settings' type. Declared here,
# beside the config that carries them, so that reading a checkpoint needs no serving class.
TASK_SETTINGS: dict[str, type] = {
    "keypoints": KeypointSettings,
    "detection": DetectionSettings,
    "forecast": ForecastSettings,
    "generation": GenerationSettings,
}
TaskSettings = KeypointSettings | DetectionSettings | ForecastSettings | GenerationSettings


def settings_from_dict(task: str, data: dict[str, Any] | None) -> TaskSettings | None:
    """A task's settings from their JSON form (lists become tuples; unknown keys, which
    newer files may carry, are dropped); None for a task that has none."""
    kind = TASK_SETTINGS.get(task)
    if kind is None:
        return None
    known = {f.name for f in fields(kind)}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in (data or {}).items()}
    return kind(**{k: v for k, v in values.items() if k in known})


@dataclass(frozen=True)
class DataConfig:
    """How to feed a model and read its answers.

    ``input_size`` is the shape of one sample, as the task reads it: (channels, height,
    width) of a picture (a float32 batch (N, C, H, W) of pixels in [0, 1]), (steps,
    features) of a series (steps: as many as the forecaster was taught on; any number are
    taken), or (size,) of a generator's latent vector. ``mean``/``std`` are applied inside
    the model (folded into the exported graph), so callers never normalise by hand.
    ``preprocess`` names the function in :mod:`visionplay.preprocess` that turns an
    arbitrary picture into that input. ``settings`` are the task's own
    (:data:`TASK_SETTINGS`), None where it has none.
    """

    task: str = "classification"
    dataset: str = ""
    input_size: tuple[int, ...] = (1, 28, 28)
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)
    labels: tuple[str, ...] = ()
    preprocess: str = "resize"
    settings: TaskSettings | None = None

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict) -> DataConfig:
        """A config from its JSON form; files written before the settings were typed carry
        them as ``extra``, which is read the same way."""
        known = {f.name for f in fields(cls)} - {"settings"}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("input_size", "mean", "std", "labels"):
            if key in values:
                values[key] = tuple(values[key])
        task = values.get("task", cls.task)
        settings = data.get("settings", data.get("extra"))
        return cls(**values, settings=settings_from_dict(task, settings))

    @classmethod
    def from_json(cls, text: str) -> DataConfig:
        return cls.from_dict(json.loads(text))


MNIST = DataConfig(
    task="classification",
    dataset="mnist",
    input_size=(1, 28, 28),
    mean=(0.1307,),
    std=(0.3081,),
    labels=MNIST_LABELS,
    preprocess="digit",
)
# The shipped digit reader's: MNIST's, and one more class for drawings that are not digits
# (trained on made-up drawings: see visionplay.train.handwriting).
MNIST_OPEN_SET = replace(MNIST, labels=(*MNIST_LABELS, NOT_A_DIGIT))


FASHION_MNIST = DataConfig(
    task="classification",
    dataset="fashion_mnist",
    input_size=(1, 28, 28),
    mean=(0.2860,),
    std=(0.3530,),
    labels=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    preprocess="garment",
)

CIFAR10 = DataConfig(
    task="classification",
    dataset="cifar10",
    input_size=(3, 32, 32),
    mean=(0.4914, 0.4822, 0.4465),  # seed 002's normalisation
    std=(0.2023, 0.1994, 0.2010),
    labels=(
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ),
    preprocess="resize",
)


FACE_KEYPOINTS = DataConfig(
    task="keypoints",
    dataset="youtube_faces",
    input_size=(1, 96, 96),  # a grayscale face crop; the model returns 68 (x, y) in [0, 1]
    mean=(0.5,),
    std=(0.25,),
    labels=(),
    preprocess="face",
    # The detector's framing is measured by the face trainer and stored in the checkpoint,
    # from where export writes it into the file.
    settings=KeypointSettings(detector="face_detector"),
)

# MediaPipe's BlazeFace full-range detector, converted (trainers/face_detector.py), not
# trained here: an RGB picture letterboxed into 192x192, read in [-1, 1] as MediaPipe does.
FACE_DETECTOR = DataConfig(
    task="detection",
    dataset="mediapipe_faces",
    input_size=(3, 192, 192),
    mean=(0.5, 0.5, 0.5),
    std=(0.5, 0.5, 0.5),
    labels=("face",),
    preprocess="letterbox",
    settings=DetectionSettings(),
)


TIMESERIES = DataConfig(
    task="forecast",
    dataset="timeseries",
    input_size=(50, 1),  # (steps, features); steps is dynamic in the exported graph
    mean=(0.0,),  # the generator's values are already centred and within [-1, 1]
    std=(1.0,),
    labels=(),
    preprocess="series",
    settings=ForecastSettings(horizon=1),  # trainers store the trained model's own
)
TIMESERIES_10 = replace(TIMESERIES, settings=ForecastSettings(horizon=10))
# The shipped forecaster: any series, each window scaled (series.scale_windows).
TIMESERIES_SCALED = replace(
    TIMESERIES, settings=ForecastSettings(horizon=10, scaled=True, context=50, described=True)
)


# The class-conditional generators: a latent vector and a class in, a picture out. No
# preprocessing (nothing comes from a user but numbers) and no normalisation to fold in.
MNIST_GAN = DataConfig(
    task="generation",
    dataset="mnist",
    input_size=(64,),  # the latent vector
    labels=MNIST_LABELS,
    preprocess="none",
    settings=GenerationSettings(picture_size=(1, 28, 28), reader="mnist"),
)
FASHION_GAN = replace(
    MNIST_GAN,
    dataset="fashion_mnist",
    labels=FASHION_MNIST.labels,
    settings=GenerationSettings(picture_size=(1, 28, 28), reader="fashion_mnist"),
)

# The tutorials' architectures that no shipped model uses: registered for the layer table
# (`visionplay summary`) and the registry-wide tests, never trained here.
TUTORIAL_MLP = DataConfig(
    task="classification",
    dataset="tutorial",
    input_size=(1, 32, 32),
    labels=tuple(str(i) for i in range(20)),
    preprocess="resize",
)
TUTORIAL_UNPOOL = DataConfig(
    task="reconstruction",  # image in, image of the same size out
    dataset="tutorial",
    input_size=(1, 224, 224),
    preprocess="resize",
)
IMAGENET = DataConfig(
    task="classification",
    dataset="imagenet",
    input_size=(3, 224, 224),
    mean=(0.485, 0.456, 0.406),
    std=(0.229, 0.224, 0.225),
    labels=tuple(f"class {i}" for i in range(1000)),  # untrained: no ImageNet weights ship
    preprocess="resize",
)
