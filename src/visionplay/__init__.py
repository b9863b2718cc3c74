"""visionplay: small vision and sequence models, served through onnxruntime.

>>> import visionplay
>>> model = visionplay.load("mnist")
>>> model.predict("seven.png")[0].label
'7'
"""

from . import tasks
from .config import DataConfig
from .errors import (
    EmptyInputError,
    InvalidInputError,
    ModelNotFoundError,
    NotInstalledError,
    VisionplayError,
)
from .inference import list_exported, load
from .tasks import *  # noqa: F403  (the task classes: tasks.PUBLIC, built from its table)

__all__ = [
    *tasks.PUBLIC,
    "DataConfig",
    "EmptyInputError",
    "InvalidInputError",
    "ModelNotFoundError",
    "NotInstalledError",
    "VisionplayError",
    "list_exported",
    "load",
]
__version__ = "0.1.0"
