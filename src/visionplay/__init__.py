"""visionplay: small vision and sequence models, served through onnxruntime.

>>> import visionplay
>>> model = visionplay.load("mnist")
>>> model.predict("seven.png")[0].label
'7'
"""

from .config import DataConfig
from .errors import EmptyInputError, InvalidInputError, ModelNotFoundError, VisionplayError
from .inference import list_exported, load
from .tasks import Classifier, Face, ForecastModel, KeypointModel, Model, Prediction

__all__ = [
    "Classifier",
    "DataConfig",
    "EmptyInputError",
    "Face",
    "ForecastModel",
    "InvalidInputError",
    "KeypointModel",
    "Model",
    "ModelNotFoundError",
    "Prediction",
    "VisionplayError",
    "list_exported",
    "load",
]
__version__ = "0.1.0"
