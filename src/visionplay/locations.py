"""Where the models and example pictures are, in a checkout and in an installed wheel.

`exported/` and `demos/examples/` at the top of the repository are their one source; a
wheel carries copies of what serving needs as the data packages ``visionplay.exported``
and ``visionplay.examples`` (pyproject.toml maps them). Models are looked for in a stack
of folders, and a name is the first folder's that has it:

1. the folders a command is given: ``visionplay serve --models-dir DIR`` (repeatable);
2. ``$VISIONPLAY_MODELS``: one folder, or several separated by ``os.pathsep``;
3. the shipped models: ``exported/`` of the checkout this package runs from, else the copy
   installed with the package.

Your own models come first and the shipped ones stay visible behind them. A ``directory``
given to :func:`visionplay.load` (one folder or a list) is searched alone.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

MODELS_ENV = "VISIONPLAY_MODELS"
# Under a trainer's --out, where a dry run saves: never where a real run's checkpoint is,
# which `visionplay export` takes by default.
DRY_RUN_DIR = "dry-run"

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parents[1]  # src/visionplay -> the repository, when run from one

# One folder or several, in the order they are searched; None: :func:`models_dirs`.
Folders = str | os.PathLike | Sequence[str | os.PathLike] | None


def in_checkout() -> bool:
    return (CHECKOUT / "pyproject.toml").is_file() and (CHECKOUT / "src" / "visionplay").is_dir()


def shipped_models_dir() -> Path:
    """The shipped models: the checkout's ``exported/``, else the installed copy."""
    return CHECKOUT / "exported" if in_checkout() else PACKAGE / "exported"


def env_models_dirs() -> list[Path]:
    """The folders ``$VISIONPLAY_MODELS`` names (``os.pathsep`` between them)."""
    return [Path(part) for part in os.environ.get(MODELS_ENV, "").split(os.pathsep) if part]


def models_dirs(first: Folders = None) -> tuple[Path, ...]:
    """The stack models are looked for in: ``first`` (a command's ``--models-dir``), then
    ``$VISIONPLAY_MODELS``, then the shipped models; each folder once."""
    stack = [*as_folders(first), *env_models_dirs(), shipped_models_dir()]
    return tuple(dict.fromkeys(stack))


def as_folders(folders: Folders) -> tuple[Path, ...]:
    """``folders`` as a tuple of paths: one folder, several, or none."""
    if folders is None:
        return ()
    if isinstance(folders, (str, os.PathLike)):
        return (Path(folders),)
    return tuple(Path(folder) for folder in folders)


def search_path(folders: Folders = None) -> tuple[Path, ...]:
    """The folders a lookup searches: ``folders`` as given, else the whole stack."""
    return as_folders(folders) if folders is not None else models_dirs()


def models_dir() -> Path:
    """The first folder of the stack: ``$VISIONPLAY_MODELS``'s first, else the shipped."""
    return models_dirs()[0]


def examples_dir() -> Path:
    """The example pictures the tabs offer: the checkout's ``demos/examples/``, else the
    installed copy."""
    return CHECKOUT / "demos" / "examples" if in_checkout() else PACKAGE / "examples"
