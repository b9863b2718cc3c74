"""A trainer's settings: one frozen dataclass, :class:`TrainingSettings`, whose fields are
the flags every trainer shares. :func:`add_flags` makes a flag of each field (its name,
type, default and help), so that a setting is stated once, in its field; a trainer's
recipe changes the defaults, a trainer with flags of its own subclasses the dataclass.

Torch-free: the ``visionplay`` command, which serves without torch, builds its flags here
too."""

from __future__ import annotations

import argparse
import json
import os
import sys
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from ..errors import VisionplayError
from ..locations import DRY_RUN_DIR
from ..manifest import check_model_name

DRY_RUN_IMAGES = 512
S = TypeVar("S", bound="TrainingSettings")
FLAG_KEYS = ("help", "metavar", "type")  # what a field's metadata may say of its flag


def setting(
    default: Any = MISSING,
    help: str | None = None,
    *,
    factory: Callable[[], Any] | None = None,
    **flag: Any,
) -> Any:
    """A settings field: its default (or a ``factory`` of it) and, in its metadata, the help
    of its flag and any other :data:`FLAG_KEYS` (``metavar``; ``type``, a parser of the
    flag's text where the field's type is not enough)."""
    metadata = flag if help is None else {"help": help, **flag}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def at_least_one(text: str) -> int:
    """A flag's whole number, 1 or more (argparse reports the refusal as a one-line error)."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number, 1 or more; got {text!r}")
    return int(text)


@dataclass(frozen=True, kw_only=True)
class TrainingSettings:
    """What one training run is asked to do. The fields without defaults are a trainer's
    recipe; :func:`add_training_args` makes a flag of each field, in field order, so
    ``dataclasses.asdict`` is the ``args`` a checkpoint stores. A trainer with flags of its
    own subclasses it with a field for each (:func:`setting` gives a field its help)."""

    arch: str  # registry name: also the checkpoint's name and folder, unless --name says
    name: str | None = setting(
        None,
        "the model's name: its run folder, checkpoint and exported file (default: --arch)",
        metavar="NAME",
    )
    model_kwargs: dict[str, Any] = setting(
        factory=dict,
        help="keyword arguments for the architecture, e.g. '{\"widths\": [32, 128, 128]}'",
        metavar="JSON",
    )
    epochs: int
    batch_size: int
    lr: float = setting(help="peak of the one-cycle schedule")
    weight_decay: float
    label_smoothing: float = 0.0
    holdout: int = setting(
        0, "training images kept back to fit the temperature of the scores (0: none)", metavar="N"
    )
    augment: bool = True
    seed: int = 0
    data_dir: Path | None = setting(None, "default: $VISIONPLAY_DATA")  # else the cache folder
    out: Path = setting(
        Path("runs"), "where the run is saved: <out>/<arch>/ (default: %(default)s)"
    )
    device: str = "auto"
    workers: int = setting(2, "processes for the one-off preprocessing")
    limit: int | None = setting(None, "use only N images per split, evenly spread")
    resume: bool = setting(False, "continue from <out>/<arch>/<arch>.pt")
    dry_run: bool = setting(
        False,
        f"one epoch on {DRY_RUN_IMAGES} images, saved under <out>/{DRY_RUN_DIR}/ (which "
        "`visionplay export` takes only when named, and puts over no model without --force)",
    )

    @classmethod
    def from_args(cls: type[S], args: argparse.Namespace) -> S:
        """The settings the parsed flags ask for; every flag must be a field. A dry run is
        one epoch on a few images, to check the set-up."""
        values = vars(args)
        if values.get("dry_run"):
            values = {**values, "epochs": 1, "limit": values.get("limit") or DRY_RUN_IMAGES}
        if values.get("name") is not None:
            check_model_name(values["name"])
        return cls(**values)

    @property
    def run_dir(self) -> Path:
        """Where the run writes its checkpoint, metrics and curves; a dry run's is apart,
        so that it never takes a real run's place."""
        return (
            self.out / DRY_RUN_DIR / self.model_name if self.dry_run else self.out / self.model_name
        )

    @property
    def model_name(self) -> str:
        """What the model is called: its run folder, checkpoint and exported file."""
        return self.name or self.arch

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / f"{self.model_name}.pt"

    def with_model_kwargs(self: S, **kwargs: Any) -> S:
        """The same settings, ``kwargs`` added to the architecture's keyword arguments."""
        return replace(self, model_kwargs={**self.model_kwargs, **kwargs})


def add_flags(
    parser: argparse.ArgumentParser,
    settings: type,
    *,
    defaults: Mapping[str, Any] | None = None,
    only: Iterable[str] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> argparse.ArgumentParser:
    """A flag for each field of the dataclass ``settings`` (each one named in ``only``), in
    field order: ``--field-name``, parsed as the field's type, with the field's default
    unless ``defaults`` (a recipe) gives another, and the help and metavar of the field's
    metadata; ``options`` adds ``add_argument`` keywords of the caller's per field
    (``choices``, a help of its own). A bool field is a switch away from its default:
    ``--name`` when that is False, ``--no-name`` when True. A field without a default that
    ``defaults`` leaves out is a required flag."""
    defaults, options = defaults or {}, options or {}
    specs = {spec.name: spec for spec in fields(settings)}
    wanted = set(specs) if only is None else set(only)
    unknown = (wanted | set(defaults) | set(options)) - set(specs)
    if unknown:  # a recipe's typo would otherwise be a silently ignored default
        raise TypeError(f"{settings.__name__} has no field {', '.join(sorted(unknown))}")
    hints = typing.get_type_hints(settings)
    for name, spec in specs.items():
        if name in wanted:
            default = defaults.get(name, field_default(spec))
            add_flag(parser, spec, hints[name], default, options.get(name, {}))
    return parser


def field_default(spec: Field) -> Any:
    """A field's default (a fresh one from its factory); ``MISSING`` where it has none."""
    if spec.default_factory is not MISSING:
        return spec.default_factory()
    return spec.default


def add_flag(
    parser: argparse.ArgumentParser,
    spec: Field,
    hint: Any,
    default: Any,
    options: Mapping[str, Any],
) -> None:
    """The flag of one field (see :func:`add_flags`)."""
    name = spec.name.replace("_", "-")
    flag = {key: value for key, value in spec.metadata.items() if key in FLAG_KEYS}
    flag.update(options)
    if hint is bool:
        if default is True:
            parser.add_argument(f"--no-{name}", dest=spec.name, action="store_false", **flag)
        else:
            parser.add_argument(f"--{name}", action="store_true", **flag)
        return
    if default is MISSING:
        flag["required"] = True
    else:
        flag["default"] = default
    if "type" not in flag:
        flag["type"] = value_parser(hint)
    parser.add_argument(f"--{name}", **flag)


def value_parser(hint: Any) -> Callable[[str], Any]:
    """What turns a flag's text into a value of the field's type ``hint``: the type itself,
    or JSON for a dict. An optional field (``X | None``) parses as ``X``: None is only ever
    its default."""
    kinds = [kind for kind in typing.get_args(hint) if kind is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(kinds) == 1:
        hint = kinds[0]
    if hint is dict or typing.get_origin(hint) is dict:
        return json.loads
    if hint in (str, int, float, Path):
        return hint
    raise TypeError(f"no flag parses {hint!r}: give the field a 'type' in its metadata")


def add_training_args(
    parser: argparse.ArgumentParser,
    dataset: str,
    settings: type[TrainingSettings] = TrainingSettings,
    *,
    archs: list[str] | None = None,
    **recipe: Any,
) -> argparse.ArgumentParser:
    """The flags of ``settings`` (:class:`TrainingSettings`, or a trainer's subclass of it
    for flags of its own); ``recipe`` is the trainer's defaults, at least the fields without
    one (arch, epochs, batch_size, lr, weight_decay). ``--arch`` takes ``archs``, default
    the registry's models of ``dataset``."""
    if not archs:
        # Imported here: the registry imports every model, hence torch, which the
        # ``visionplay`` command must not need to build its flags from this module.
        from ..models.registry import list_models

        archs = list_models(dataset)
    return add_flags(parser, settings, defaults=recipe, options={"arch": {"choices": archs}})


def parse_training_args(
    parser: argparse.ArgumentParser,
    argv: list[str] | None = None,
    settings: type[S] = TrainingSettings,
) -> S:
    """Parse ``argv`` into ``settings`` (a :class:`TrainingSettings` subclass for a trainer
    with flags of its own); a dry run says where it saves."""
    parsed = settings.from_args(parser.parse_args(argv))
    if parsed.dry_run and os.environ.get("RANK", "0") == "0":  # torchrun: its first process
        print(dry_run_notice(parsed), flush=True)
    return parsed


def dry_run_notice(settings: TrainingSettings) -> str:
    return (
        f"dry run: one epoch on at most {settings.limit:,} images, to check the set-up; it "
        f"writes to {settings.run_dir}/, not {settings.out / settings.model_name}/ where a real "
        "run writes (its figures mean nothing, and export puts it over no model without --force)"
    )


def exit_on_error(main: Callable[[], Any]) -> None:
    """Run a trainer's ``main``. A :class:`VisionplayError` (no data where it was looked
    for, a checkpoint that does not fit the settings, ...) ends it with its one-line message
    and exit status 2, as the ``visionplay`` command does, not with a traceback."""
    try:
        main()
    except VisionplayError as err:
        print(f"{Path(sys.argv[0]).name}: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
