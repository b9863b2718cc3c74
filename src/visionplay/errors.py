"""The one exception family visionplay raises for things a caller did wrong or must fix.

Everything the API refuses is a :class:`VisionplayError`; the CLI prints its message on one
line and exits non-zero, and the app shows it in the tab instead of a traceback.
"""


class VisionplayError(Exception):
    """Base class: a clear, one-line message naming what was wrong."""


class ModelNotFoundError(VisionplayError, KeyError):
    """No registered architecture or exported model of that name (or its file is missing)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InvalidInputError(VisionplayError, ValueError):
    """An input the model cannot read: not an image, wrong shape, unreadable file."""


class EmptyInputError(InvalidInputError):
    """The input holds nothing to predict on, e.g. a blank canvas."""
