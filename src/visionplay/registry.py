"""One registry of architectures: name -> builder + data config.

Shaped like timm's ``register_model`` and torchvision's ``get_model``/``list_models``.
Registry keys are also checkpoint names, exported file names, CLI choices and tab ids.
Builders live in :mod:`visionplay.models` (torch); this module itself imports no torch,
and the model modules are imported the first time the registry is read.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .config import DataConfig
from .errors import ModelNotFoundError


@dataclass(frozen=True)
class Entry:
    name: str
    builder: Callable[..., Any]
    cfg: DataConfig
    description: str


_REGISTRY: dict[str, Entry] = {}
_loaded = False
_loading = threading.RLock()  # re-entrant: the model modules read the registry as they load


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


def _ensure_loaded() -> None:
    global _loaded
    with _loading:  # a second thread must wait for the models, not read a half-filled registry
        if not _loaded:
            importlib.import_module("visionplay.models")
            _loaded = True


def list_models(dataset: str | None = None) -> list[str]:
    """Registered names, sorted; only those whose config is for ``dataset`` if given."""
    _ensure_loaded()
    return sorted(n for n, e in _REGISTRY.items() if dataset is None or e.cfg.dataset == dataset)


def get_entry(name: str) -> Entry:
    _ensure_loaded()
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
