"""Where the shipped models and example pictures are, in a checkout and in an installed wheel.

`exported/` and `demos/examples/` at the top of the repository are their one source; a
wheel carries copies of what serving needs as the data packages ``visionplay.exported``
and ``visionplay.examples`` (pyproject.toml maps them). The models are looked for in this
order, and the first that applies is used:

1. an explicit folder: ``visionplay serve --models-dir DIR`` (or ``--models``), a
   ``directory`` argument, or ``$VISIONPLAY_MODELS``;
2. ``exported/`` of the checkout this package runs from;
3. the copy installed with the package.
"""

from __future__ import annotations

import os
from pathlib import Path

MODELS_ENV = "VISIONPLAY_MODELS"

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parents[1]  # src/visionplay -> the repository, when run from one


def in_checkout() -> bool:
    return (CHECKOUT / "pyproject.toml").is_file() and (CHECKOUT / "src" / "visionplay").is_dir()


def models_dir() -> Path:
    """``$VISIONPLAY_MODELS``, else the checkout's ``exported/``, else the installed copy."""
    env = os.environ.get(MODELS_ENV)
    if env:
        return Path(env)
    return CHECKOUT / "exported" if in_checkout() else PACKAGE / "exported"


def examples_dir() -> Path:
    """The example pictures the tabs offer: the checkout's ``demos/examples/``, else the
    installed copy."""
    return CHECKOUT / "demos" / "examples" if in_checkout() else PACKAGE / "examples"
