"""One registry of architectures: name -> builder + data config.

Shaped like timm's ``register_model`` and torchvision's ``get_model``/``list_models``.
Registry keys are also checkpoint names, exported file names, CLI choices and tab ids.
It lives in :mod:`visionplay.models` (torch), whose ``__init__`` imports every model
module, so the registry is whole once that package is imported; each reader below first
waits for that (a thread may import this module while another is still importing the
models).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..config import DataConfig
from ..errors import ModelNotFoundError


@dataclass(frozen=True)
class Entry:
    name: str
    builder: Callable[..., Any]
    cfg: DataConfig
    description: str


_REGISTRY: dict[str, Entry] = {}


def register_model(cfg: DataConfig, name: str | None = None) -> Callable:
    """Decorator: register ``fn(**kwargs) -> nn.Module`` under ``name`` (default: its name)."""

    def wrap(fn: Callable) -> Callable:
        key = name or fn.__name__
        if key in _REGISTRY:
            raise ValueError(f"model {key!r} is already registered")
        doc = (fn.__doc__ or "").strip().splitlines()
        _REGISTRY[key] = Entry(key, fn, cfg, doc[0] if doc else "")
        return fn

    return wrap


def _whole() -> None:
    """Wait until every model module has registered: importing the package blocks on its
    import lock while another thread holds it (and returns at once to the thread that is
    importing it, as a model module reading the registry is)."""
    importlib.import_module(__package__)


def list_models(dataset: str | None = None) -> list[str]:
    """Registered names, sorted; only those whose config is for ``dataset`` if given."""
    _whole()
    return sorted(n for n, e in _REGISTRY.items() if dataset is None or e.cfg.dataset == dataset)


def get_entry(name: str) -> Entry:
    _whole()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ModelNotFoundError(f"unknown model {name!r}; registered: {known}") from None


def get_config(name: str) -> DataConfig:
    return get_entry(name).cfg


def create_model(name: str, **kwargs: Any):
    """Build the bare architecture ``name`` (an ``nn.Module``), untrained."""
    return get_entry(name).builder(**kwargs)
