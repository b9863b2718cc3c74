"""One module per task: everything that differs between a classifier, a face keypoint
model, a face detector, a forecaster, a reconstructor and a generator lives in its
module, behind the one shape of :class:`~visionplay.tasks.base.Model`, and nowhere else
asks which one it holds.

:data:`TASKS` maps the ``task`` of a :class:`~visionplay.config.DataConfig` to its class;
``load()`` opens every exported file as the class its metadata names. Adding a task is a
module here (its class in :data:`TASKS`), its evaluation and its tab.

No torch here.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import VisionplayError
from .base import Model
from .classification import Classifier
from .classification import Prediction as Prediction  # named in PUBLIC
from .detection import FaceDetector
from .forecast import ForecastModel
from .generation import Generator
from .keypoints import Face as Face  # named in PUBLIC
from .keypoints import KeypointModel
from .reconstruction import Reconstructor

TASKS: Mapping[str, type[Model]] = {
    cls.task: cls
    for cls in (Classifier, KeypointModel, FaceDetector, ForecastModel, Reconstructor, Generator)
}


def task_class(task: str) -> type[Model]:
    """The class of a config's ``task``."""
    try:
        return TASKS[task]
    except KeyError:
        raise VisionplayError(f"unknown task {task!r}; known: {', '.join(TASKS)}") from None


# The public names: the base, every task class in the table, and what their answers hold.
PUBLIC = ("Model", *(cls.__name__ for cls in TASKS.values()), "Face", "Prediction")
__all__ = [*PUBLIC, "TASKS", "task_class"]
