"""Data configs: what a model expects and what its outputs mean (like timm's ``_cfg``).

A config travels with the model everywhere: the registry holds it, checkpoints store it,
export writes it into the ONNX file's ``metadata_props`` and serving reads it back from
there, so serving never needs torch or the registry.

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace

MNIST_LABELS = tuple(str(d) for d in range(10))
NOT_A_DIGIT = "not a digit"  # the digit reader's label for a drawing that is none


@dataclass(frozen=True)
class DataConfig:
    """How to feed a model and read its answers.

    ``input_size`` is (channels, height, width) of one sample; the model takes a float32
    batch (N, C, H, W) of pixels in [0, 1]. ``mean``/``std`` are applied inside the model
    (folded into the exported graph), so callers never normalise by hand.
    ``preprocess`` names the function in :mod:`visionplay.preprocess` that turns an
    arbitrary picture into that input.
    """

    task: str = "classification"
    dataset: str = ""
    input_size: tuple[int, int, int] = (1, 28, 28)
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)
    labels: tuple[str, ...] = ()
    preprocess: str = "resize"
    extra: dict = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict) -> DataConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("input_size", "mean", "std", "labels"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)

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
# (trained on made-up drawings: see visionplay.handwriting).
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
    # margin: crop side / longer side of the points' box. detector_framing (dx, dy, size)
    # maps a detector box onto the same crop; the face trainer measures it on the training
    # frames and stores it in the checkpoint, from where export writes it into the file.
    extra={"margin": 1.3, "num_points": 68},
)


TIMESERIES = DataConfig(
    task="forecast",
    dataset="timeseries",
    input_size=(50, 1),  # (steps, features); steps is dynamic in the exported graph
    mean=(0.0,),  # the generator's values are already centred and within [-1, 1]
    std=(1.0,),
    labels=(),
    preprocess="series",
    extra={"horizon": 1},  # values forecast at once; trainers store the trained model's
)
TIMESERIES_10 = replace(TIMESERIES, extra={"horizon": 10})


# The class-conditional generators: a latent vector and a class in, a picture out. No
# preprocessing (nothing comes from a user but numbers) and no normalisation to fold in.
MNIST_GAN = DataConfig(
    task="generation",
    dataset="mnist",
    input_size=(64,),  # the latent vector
    labels=MNIST_LABELS,
    preprocess="none",
    # reader: the shipped classifier whose preprocessing the training pictures go through,
    # and which reads what the generator draws (conditional accuracy, Frechet distance).
    extra={"picture_size": [1, 28, 28], "reader": "mnist"},
)
FASHION_GAN = replace(
    MNIST_GAN,
    dataset="fashion_mnist",
    labels=FASHION_MNIST.labels,
    extra={"picture_size": [1, 28, 28], "reader": "fashion_mnist"},
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
