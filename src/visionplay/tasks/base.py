"""The one shape of every task: :class:`Model`.

A task class answers three kinds of caller, each with its own part of the class: serving
(``prepare``, ``run``, ``predict``, and the answer as JSON, text or a drawing), the Open
Inference Protocol (``tensor_outputs``, ``picture_outputs`` and the limits on a request)
and export, which writes the graph before there is a file to open (class methods:
``input_names``, ``example_inputs``, ``output_shape``, ``describe_input``, the head and
the dynamic axes). Every signature is the same for every task: ``run(*inputs)``, one
array per name in ``input_names()`` (a classifier's one picture batch, a generator's
latent vectors and labels), ``tensor_outputs(*inputs, **options)``, ``predict(input,
**options)``; ``options`` are the keywords a task names in :attr:`Model.options`.
torchvision's ``Weights`` (with their ``transforms()`` and ``meta``) and timm's
``pretrained_cfg`` are the models for this.

No torch here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from ..admission import ADMISSION, LARGE_ROWS
from ..config import DataConfig
from ..errors import InvalidInputError, VisionplayError
from ..locations import examples_dir
from ..preprocess import prepare

CONFIG_KEY = "visionplay.config"  # the metadata key export writes the DataConfig under
MOST_AT_ONCE = 4096  # rows of one run: the exported graphs' batch axis
CORES = os.cpu_count() or 1
# "0": never spread a batch over the cores (see Model.run), e.g. to compare (BENCHMARKS.md).
SPREAD_ENV = "VISIONPLAY_SPREAD"


@dataclass(frozen=True)
class Axis:
    """A dynamic axis of the exported graph's input: its name and the sizes it takes."""

    name: str
    low: int
    high: int


@dataclass(frozen=True)
class Figure:
    """A task's primary figure, the one that says which of two models is better: its name,
    the training record's name for it (``metric`` itself, or after the held-out split:
    ``test_acc``, ``val_nme``), where ``visionplay eval --record`` keeps it, and which way
    is better."""

    label: str
    metric: str
    higher_is_better: bool
    evaluated: tuple[str, ...] = ()  # the keys down to it in a manifest entry's "eval"
    percent: bool = False

    def in_record(self, record: Mapping[str, Any]) -> float | None:
        """The figure in a training record (the last epoch's held-out figures); None where
        it holds none (an ensemble's, a model with nothing to train)."""
        for key, value in record.items():
            named = key == self.metric or key.endswith(f"_{self.metric}")
            if named and not key.startswith("train_") and isinstance(value, (int, float)):
                return float(value)
        return None

    def recorded(self, entry: Mapping[str, Any]) -> tuple[str, float] | None:
        """Where a manifest entry records the figure and its value: its training record
        (what a new checkpoint's is compared with), else its evaluation (an ensemble's only
        one); None where neither does."""
        trained = self.in_record(entry.get("training") or {})
        if trained is not None:
            return "training", trained
        evaluated = self.in_eval(entry)
        return None if evaluated is None else ("eval", evaluated)

    def shown(self, entry: Mapping[str, Any]) -> tuple[str, float] | None:
        """The figure to show a person: measured on the exported file by ``visionplay eval``
        where it was (a forecaster's training figure is on its scaled windows), else the
        training record's."""
        evaluated = self.in_eval(entry)
        return self.recorded(entry) if evaluated is None else ("eval", evaluated)

    def in_eval(self, entry: Mapping[str, Any]) -> float | None:
        """The figure in a manifest entry's evaluation, if recorded there."""
        value: Any = entry.get("eval") or {}
        for key in self.evaluated:
            value = value.get(key) if isinstance(value, Mapping) else None
        return float(value) if self.evaluated and isinstance(value, (int, float)) else None

    def worse(self, new: float, old: float) -> bool:
        """Whether ``new`` is worse than ``old`` (equal is not)."""
        return new < old if self.higher_is_better else new > old

    def text(self, value: float) -> str:
        shown = f"{value:.2%}" if self.percent else f"{value:.4g}"
        return f"{self.label} {shown}"


SHOWN_LABELS = 12  # the most of a model's labels its one-line description names


def listed(labels: Sequence[str]) -> str:
    """``labels`` in words for a person: "3 classes: cat, dog, frog", the first
    :data:`SHOWN_LABELS` of a longer list."""
    named = ", ".join(labels[:SHOWN_LABELS]) + (", ..." if len(labels) > SHOWN_LABELS else "")
    return f"{len(labels)} class{'es' * (len(labels) != 1)}: {named}"


class Model:
    """An exported model: an onnxruntime session, the config read from its file, and the
    task's own ways of preparing input and reading answers. Open one with
    :func:`visionplay.load`; the class is the file's task (:func:`visionplay.tasks.task_class`).

    Every task answers ``predict(input, **options)`` (one input) and
    ``predict_batch(inputs, **options)``; ``options`` are the keywords in :attr:`options`
    (a classifier's ``top_k``, a forecaster's ``steps``, a generator's ``seed``), and
    :meth:`options_from` keeps those of a caller's settings that this task takes."""

    task: ClassVar[str]
    figure: ClassVar[Figure | None] = None  # what says which of two models is better

    # What export writes.
    inputs: ClassVar[tuple[str, ...]] = ("image",)  # the graph's inputs, in run's order
    output_name: ClassVar[str] = "output"
    softmax: ClassVar[bool] = False  # export ends the graph with a softmax
    takes_pixels: ClassVar[bool] = True  # mean/std are folded into the graph's front
    batch_axis: ClassVar[Axis] = Axis("batch", 1, MOST_AT_ONCE)
    steps_axis: ClassVar[Axis | None] = None

    # Serving.
    answer_key: ClassVar[str] = "outputs"  # what the answer is called in JSON
    options: ClassVar[tuple[str, ...]] = ()

    # The protocol: what a BYTES input means (None: not taken), how many pictures one
    # request may carry (None: as many as the server's batch limit), and the values one
    # FP32 request may hold in all where the batch limit alone is no bound (a series may
    # be of any length).
    bytes_input: ClassVar[str | None] = None
    max_pictures: ClassVar[int | None] = None
    max_request_values: ClassVar[int | None] = None

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
        # The graph's input names as the file has them (an older file's may differ).
        self.graph_inputs = [spec.name for spec in self.session.get_inputs()]
        # A session of one thread on the CPU (the server's: one per request, requests side
        # by side) reads a large batch a share on each core while no other work wants one
        # (BENCHMARKS.md: beside small requests, spreading would slow them down).
        one_thread = self.session.get_session_options().intra_op_num_threads == 1
        cpu = self.session.get_providers()[0] == "CPUExecutionProvider"
        spread = os.environ.get(SPREAD_ENV, "").strip() != "0"
        self.splits_large_batches = spread and one_thread and cpu and CORES > 1
        self.provider = self.session.get_providers()[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, provider={self.provider!r})"

    @property
    def labels(self) -> tuple[str, ...]:
        return self.cfg.labels

    def describe(self) -> str:
        """What the model does, in a line for a person choosing it: its task and input."""
        return f"{self.task}: {self.describe_input(self.cfg)}"

    # What export writes: class methods, as the file does not exist yet.

    @classmethod
    def input_names(cls) -> tuple[str, ...]:
        """The graph's inputs, in the order ``run`` takes them."""
        return cls.inputs

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
    def example_inputs(cls, cfg: DataConfig, count: int, seed: int = 0) -> tuple[np.ndarray, ...]:
        """Inputs of the graph's kind for export's parity check and the registry tests:
        random values of the input size."""
        rng = np.random.default_rng(seed)
        return (rng.random((count, *cfg.input_size), dtype=np.float32),)

    # Running

    def prepare(self, raw: Any) -> np.ndarray:
        """One input as the array the model reads (a picture: (C, H, W) floats in [0, 1])."""
        return prepare(raw, self.cfg)

    def run(self, *inputs: np.ndarray) -> np.ndarray:
        """The raw forward pass: one batch per name in :meth:`input_names`, checked first."""
        wanted = self.input_names()
        if len(inputs) != len(wanted):
            raise InvalidInputError(
                f"{self.name} takes {len(wanted)} input{'s' * (len(wanted) != 1)} "
                f"({', '.join(wanted)}); got {len(inputs)}"
            )
        feed = dict(zip(self.graph_inputs, self.checked(*inputs), strict=True))
        try:
            rows = len(next(iter(feed.values())))
            if self.splits_large_batches and rows > LARGE_ROWS and ADMISSION.idle_but_this():
                return self.across_cores(feed, rows)
            return self.session.run(None, feed)[0]
        except Exception as err:  # onnxruntime's own error types, e.g. a wrong shape
            shapes = ", ".join(str(np.shape(x)) for x in feed.values())
            raise InvalidInputError(
                f"{self.name} could not run on inputs of shape {shapes}: {str(err).splitlines()[0]}"
            ) from None

    def across_cores(self, feed: dict[str, np.ndarray], rows: int) -> np.ndarray:
        """One run, a share of the rows on each core: a lone request of many rows would
        otherwise leave the other cores idle. :meth:`run` spreads a large batch so only
        while the admission policy has no other work."""
        bounds = np.linspace(0, rows, min(rows, CORES) + 1).astype(int)
        shares = [
            {name: x[start:end] for name, x in feed.items()}
            for start, end in zip(bounds[:-1], bounds[1:], strict=True)
        ]
        answers = cores().map(lambda share: self.session.run(None, share)[0], shares)
        return np.concatenate(list(answers))

    def checked(self, *inputs: np.ndarray) -> tuple[np.ndarray, ...]:
        """The inputs as the graph takes them (types and shapes), or a one-line refusal."""
        batch = np.asarray(inputs[0], dtype=np.float32)
        self.check_shapes([list(batch.shape)])
        if not np.isfinite(batch).all():  # inf and NaN come out as NaN "probabilities"
            raise InvalidInputError(
                f"{self.name} takes finite numbers; the input holds NaN or infinite values "
                "(or values beyond float32's range)"
            )
        return (batch,)

    def check_shapes(self, shapes: Sequence[list[int]]) -> None:
        """Refuse input shapes (one per name in :meth:`input_names`) that the graph does not
        take, before any data is converted."""
        (shape,) = shapes
        expected = list(self.cfg.input_size)
        if len(shape) != len(expected) + 1 or shape[1:] != expected:
            wanted = ", ".join(map(str, expected))
            raise InvalidInputError(
                f"{self.name} takes a batch of shape (N, {wanted}); got {tuple(shape)}"
            )

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

    def generate(self, labels: Any, seed: int = 0) -> np.ndarray:
        """Pictures of the classes ``labels``: what a generator draws; other tasks draw none."""
        raise InvalidInputError(f"{self.name} draws no pictures: it is a {self.task} model")

    def follow(self, rgb: np.ndarray, previous: Any = None, t: float = 0.0) -> Any:
        """The faces of one video frame, followed from the answer to the frame before: what a
        face keypoint model does (see :mod:`visionplay.tracking`); other tasks follow none."""
        raise InvalidInputError(f"{self.name} follows no faces: it is a {self.task} model")

    def example(self) -> Any:
        """An input to try the model on: the first example picture shipped for it, else a
        picture of random pixels of its input size."""
        shipped = sorted(examples_dir().glob(f"{self.name}-*"))
        if shipped:
            return Image.open(shipped[0])
        channels, height, width = self.cfg.input_size
        pixels = np.random.default_rng(0).integers(0, 256, (height, width, channels), np.uint8)
        return Image.fromarray(pixels[..., 0] if channels == 1 else pixels)

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

    # The Open Inference Protocol

    def output_names(self, pictures: bool) -> tuple[str, ...]:
        """The outputs :meth:`picture_outputs` (``pictures``) or :meth:`tensor_outputs`
        give, in their order: a request's ``outputs`` are checked against these."""
        return (self.output_name,)

    def tensor_outputs(self, *inputs: np.ndarray, **options: Any) -> dict[str, np.ndarray]:
        """The protocol's outputs, by name, for the graph's own inputs."""
        return {self.output_name: self.run(*inputs)}

    def picture_outputs(self, pictures: Sequence[bytes], **options: Any) -> dict[str, np.ndarray]:
        """The protocol's outputs for encoded pictures (a BYTES input)."""
        if self.bytes_input is None:
            raise InvalidInputError(f"{self.name} takes an FP32 tensor, not BYTES")
        return self.tensor_outputs(np.stack([self.prepare(p) for p in pictures]), **options)


@cache
def cores() -> ThreadPoolExecutor:
    """The process's one pool for :meth:`Model.across_cores`, a thread per core."""
    return ThreadPoolExecutor(max_workers=CORES, thread_name_prefix="visionplay-run")
