"""A trainer's settings: the flags every trainer shares, parsed once into a frozen
:class:`TrainingSettings` that the library functions take."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from ..errors import VisionplayError
from ..models.registry import list_models

DRY_RUN_IMAGES = 512
S = TypeVar("S", bound="TrainingSettings")


@dataclass(frozen=True, kw_only=True)
class TrainingSettings:
    """What one training run is asked to do. The fields without defaults are a trainer's
    recipe; the others default as the flags do. One field per flag, in the flags' order, so
    ``dataclasses.asdict`` is the ``args`` a checkpoint stores; a trainer with flags of its
    own subclasses it with a field for each."""

    arch: str  # registry name: also the checkpoint's name and folder
    model_kwargs: dict[str, Any] = field(default_factory=dict)  # for the architecture
    epochs: int
    batch_size: int
    lr: float  # the schedule's peak
    weight_decay: float
    label_smoothing: float = 0.0
    holdout: int = 0  # training images kept back to fit a classifier's temperature
    augment: bool = True
    seed: int = 0
    data_dir: Path | None = None  # None: $VISIONPLAY_DATA, else the cache folder
    out: Path = Path("runs")
    device: str = "auto"
    workers: int = 2  # processes for the one-off preprocessing
    limit: int | None = None  # N images per split, evenly spread
    resume: bool = False
    dry_run: bool = False

    @classmethod
    def from_args(cls: type[S], args: argparse.Namespace) -> S:
        """The settings the parsed flags ask for; every flag must be a field. A dry run is
        one epoch on a few images, to check the set-up."""
        values = vars(args)
        if values.get("dry_run"):
            values = {**values, "epochs": 1, "limit": values.get("limit") or DRY_RUN_IMAGES}
        return cls(**values)

    @property
    def run_dir(self) -> Path:
        """Where the run writes its checkpoint, metrics and curves."""
        return self.out / self.arch

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / f"{self.arch}.pt"

    def with_model_kwargs(self: S, **kwargs: Any) -> S:
        """The same settings, ``kwargs`` added to the architecture's keyword arguments."""
        return replace(self, model_kwargs={**self.model_kwargs, **kwargs})


def add_training_args(
    parser: argparse.ArgumentParser,
    dataset: str,
    *,
    arch: str,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    label_smoothing: float = 0.0,
    holdout: int = 0,
    archs: list[str] | None = None,
) -> argparse.ArgumentParser:
    """The flags every trainer has, one per :class:`TrainingSettings` field; the keyword
    arguments are its recipe (the defaults). ``--arch`` takes ``archs``, default the
    registry's models of ``dataset``."""
    p = parser
    p.add_argument("--arch", default=arch, choices=archs or list_models(dataset))
    p.add_argument(
        "--model-kwargs",
        type=json.loads,
        default={},
        metavar="JSON",
        help="keyword arguments for the architecture, e.g. '{\"widths\": [32, 128, 128]}'",
    )
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--batch-size", type=int, default=batch_size)
    p.add_argument("--lr", type=float, default=lr, help="peak of the one-cycle schedule")
    p.add_argument("--weight-decay", type=float, default=weight_decay)
    p.add_argument("--label-smoothing", type=float, default=label_smoothing)
    p.add_argument(
        "--holdout",
        type=int,
        default=holdout,
        metavar="N",
        help="training images kept back to fit the temperature of the scores (0: none)",
    )
    p.add_argument("--no-augment", dest="augment", action="store_false")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", type=Path, default=None, help="default: $VISIONPLAY_DATA")
    p.add_argument("--out", type=Path, default=Path("runs"))
    p.add_argument("--device", default="auto")
    p.add_argument("--workers", type=int, default=2, help="processes for the one-off preprocessing")
    p.add_argument(
        "--limit", type=int, default=None, help="use only N images per split, evenly spread"
    )
    p.add_argument("--resume", action="store_true", help="continue from <out>/<arch>/<arch>.pt")
    p.add_argument("--dry-run", action="store_true", help=f"one epoch on {DRY_RUN_IMAGES} images")
    return p


def parse_training_args(
    parser: argparse.ArgumentParser,
    argv: list[str] | None = None,
    settings: type[S] = TrainingSettings,
) -> S:
    """Parse ``argv`` into ``settings`` (a :class:`TrainingSettings` subclass for a trainer
    with flags of its own)."""
    return settings.from_args(parser.parse_args(argv))


def exit_on_error(main: Callable[[], Any]) -> None:
    """Run a trainer's ``main``. A :class:`VisionplayError` (no data where it was looked
    for, a checkpoint that does not fit the settings, ...) ends it with its one-line message
    and exit status 2, as the ``visionplay`` command does, not with a traceback."""
    try:
        main()
    except VisionplayError as err:
        print(f"{Path(sys.argv[0]).name}: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
