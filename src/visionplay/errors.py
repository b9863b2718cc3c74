"""The one exception family visionplay raises for things a caller did wrong or must fix.

Everything the API refuses is a :class:`VisionplayError`; the CLI prints its message on one
line and exits non-zero, and the app shows it in the tab instead of a traceback.
"""

import numbers


class VisionplayError(Exception):
    """Base class: a clear, one-line message naming what was wrong."""


class ModelNotFoundError(VisionplayError, KeyError):
    """No registered architecture or exported model of that name (or its file is missing)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class NotInstalledError(VisionplayError):
    """A package that one of the install's extras brings is missing: the message names the
    extra to install."""


INSTALL_ONNXRUNTIME = (
    'pip install "visionplay[cpu]", or "visionplay[gpu]" on a machine with an NVIDIA GPU'
)
# The [train] extra's packages (pyproject.toml), which the commands that train, export,
# evaluate on datasets, show layer tables or time PyTorch import as they run.
TRAINING_PACKAGES = frozenset(
    {"torch", "torchvision", "onnx", "onnxscript", "matplotlib", "tqdm", "statsmodels"}
)


def not_installed(err: ModuleNotFoundError) -> NotInstalledError | None:
    """``err`` as one line naming the extra to install, when the missing module is one an
    extra brings; None for any other module (a real bug, which keeps its traceback)."""
    package = (err.name or "").partition(".")[0]
    if package == "onnxruntime":
        return NotInstalledError(f"onnxruntime is not installed: {INSTALL_ONNXRUNTIME}")
    if package in TRAINING_PACKAGES:
        return NotInstalledError(
            f"this command needs the training side ({package} is not installed): "
            'pip install "visionplay[train]"'
        )
    return None


class InvalidInputError(VisionplayError, ValueError):
    """An input the model cannot read: not an image, wrong shape, unreadable file."""


class EmptyInputError(InvalidInputError):
    """The input holds nothing to predict on, e.g. a blank canvas."""


MOST_SHOWN = 40  # the most of a client's value an error line quotes


def shown(value: object, most: int = MOST_SHOWN) -> str:
    """A client's value as an error line quotes it: a string as given, anything else as its
    repr, cut to ``most`` characters, so a huge value never comes back whole."""
    try:
        text = value if isinstance(value, str) else repr(value)
    except ValueError:  # an int too long for Python to print
        text = type(value).__name__
    return text if len(text) <= most else f"{text[:most]}..."


def whole_number(value: object, what: str, least: int, most: int) -> int:
    """``value`` as an int from ``least`` to ``most``, or an :class:`InvalidInputError`
    naming ``what``: a float must be whole, and inf, NaN and bools are refused."""
    if (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and least <= value <= most  # first, so that int() below never meets inf or NaN
        and value == int(value)
    ):
        return int(value)
    raise InvalidInputError(
        f"{what} must be a whole number from {least:,} to {most:,}; got {shown(value)}"
    )


MAX_SEED = 2**31 - 1  # the largest seed a user may give: every generator here takes it


def checked_seed(seed: object) -> int:
    """A seed a user gave, from 0 to :data:`MAX_SEED`, or a one-line error."""
    return whole_number(seed, "a seed", 0, MAX_SEED)
