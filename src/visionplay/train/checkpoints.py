"""Checkpoints that describe themselves: name, data config and model arguments beside the
weights, so export rebuilds the model from the file alone. They are read with
``weights_only`` (tensors and plain data: a checkpoint from elsewhere cannot run code) and
carry the sha256 of their weights, checked on loading."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shlex
import sys
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..config import DataConfig
from ..errors import InvalidInputError, VisionplayError
from ..files import atomic_write
from ..models.ensemble import MeanOfProbabilities
from .build import build_model
from .calibration import CalibratedLogits

# A checkpoint stores the sha256 of its weights under this key; loading checks it.
WEIGHTS_KEY = "weights_sha256"
CHECKPOINT_KEYS = ("name", "cfg", "model_kwargs", "model")


def save_checkpoint(
    path: str | os.PathLike,
    *,
    name: str,
    model: nn.Module,
    cfg: DataConfig,
    arch: str | None = None,
    args: dict[str, Any],
    model_kwargs: dict[str, Any],
    history: list[dict[str, Any]],
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    command: str | None = None,
    calibration: dict[str, Any] | None = None,
    members: list[dict[str, Any]] | None = None,
    origin: dict[str, Any] | None = None,
) -> Path:
    """A checkpoint that describes itself: export rebuilds the model from it alone.
    ``name`` is the model's, ``arch`` the registry's architecture (default: the name).
    ``args`` are the run's settings as a dict, kept for the record (the manifest shows them);
    ``calibration`` is the fitted temperature's record, which export folds into the graph;
    an ensemble's ``members`` are what rebuilds each (see :mod:`.ensemble`); ``origin``
    says where weights made elsewhere come from, and under which licences."""
    state = {
        "name": name,
        "arch": arch or name,
        "command": command or shlex.join(["python", *sys.argv]),
        "model_kwargs": model_kwargs,
        "cfg": cfg.to_dict(),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in args.items()},
        "history": history,
        "calibration": calibration,
        "members": members,
        "origin": origin,
        "epoch": len(history),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "torch_version": str(torch.__version__),  # a plain str: weights_only loads read it
    }
    state[WEIGHTS_KEY] = state_dict_sha256(state["model"])
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


def state_dict_sha256(state_dict: dict[str, torch.Tensor]) -> str:
    """sha256 over each tensor's name, dtype, shape and bytes, in name order: the same
    weights give the same digest whatever device or process saved them."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous().reshape(-1)
        raw = tensor.view(torch.uint8).numpy().tobytes()
        header = f"{name}\0{tensor.dtype}\0{tuple(state_dict[name].shape)}\0{len(raw)}\0"
        digest.update(header.encode())
        digest.update(raw)
    return digest.hexdigest()


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint saved by :func:`save_checkpoint`, its weights checked against their
    checksum.

    Only tensors and plain data are unpickled (``weights_only``), so a checkpoint from
    elsewhere cannot run code. A file that is not a checkpoint, or whose weights fail the
    checksum, raises a one-line :class:`VisionplayError`. A checkpoint saved before
    checksums existed is accepted with a one-line warning on stderr, since its weights
    cannot be checked.
    """
    checkpoint = read_checkpoint(Path(path))
    expected = checkpoint.get(WEIGHTS_KEY)
    if expected is None:
        warning = f"warning: {path} carries no weights checksum (saved before checksums)"
        print(f"{warning}; its weights are used unchecked", file=sys.stderr)
    elif state_dict_sha256(checkpoint["model"]) != expected:
        raise VisionplayError(
            f"{path} is damaged: its weights do not match their checksum; "
            "use an intact copy or retrain"
        )
    return checkpoint


def read_checkpoint(path: Path) -> dict[str, Any]:
    """torch.load of tensors and plain data only, every failure as one line."""
    try:
        checkpoint = torch_load_plain(path)
    except NotACheckpoint as err:
        raise VisionplayError(f"{path} is not a visionplay checkpoint ({err})") from None
    except OSError as err:
        raise VisionplayError(f"cannot read {path}: {err.strerror or err}") from None
    except pickle.UnpicklingError:
        raise VisionplayError(
            f"{path} is not a visionplay checkpoint (it holds objects other than tensors and "
            "plain data, or is damaged; nothing in it was run)"
        ) from None
    except Exception as err:  # torch's own errors for a zip that is not one of its files
        reason = (str(err).splitlines() or [type(err).__name__])[0][:120]
        raise VisionplayError(f"{path} is not a visionplay checkpoint ({reason})") from None
    problem = checkpoint_problem(checkpoint)
    if problem:
        raise VisionplayError(f"{path} is not a visionplay checkpoint ({problem})")
    return checkpoint


def torch_load_plain(path: Path) -> Any:
    if not path.stat().st_size:
        raise NotACheckpoint("the file is empty")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip; a cut one loses its index
        raise NotACheckpoint("not a zip archive as torch.save writes: truncated, or another file")
    # torch.__version__ is a str subclass, which older checkpoints stored as such.
    with torch.serialization.safe_globals([torch.torch_version.TorchVersion]):
        return torch.load(path, map_location="cpu", weights_only=True)


def checkpoint_problem(checkpoint: Any) -> str | None:
    """What keeps a loaded object from being a checkpoint, or None."""
    if not isinstance(checkpoint, dict):
        return f"it holds a {type(checkpoint).__name__}, not a dict"
    missing = [k for k in CHECKPOINT_KEYS if k not in checkpoint]
    if missing:
        return f"no {', '.join(missing)}; trainers/NAME.py saves checkpoints"
    weights = checkpoint["model"]
    if not isinstance(weights, dict) or not all(torch.is_tensor(v) for v in weights.values()):
        return "its 'model' is not a state_dict of tensors"
    return None


class NotACheckpoint(Exception):
    """Why a file cannot be a checkpoint, found before torch reads it."""


def weights_only(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint less its optimizer and scheduler state: all that rebuilding the
    model needs (a third of the size for Adam), with its weights' checksum."""
    kept = {k: v for k, v in checkpoint.items() if k not in ("optimizer", "scheduler")}
    if kept.get("torch_version") is not None:
        kept["torch_version"] = str(kept["torch_version"])
    kept[WEIGHTS_KEY] = state_dict_sha256(checkpoint["model"])
    return kept


def check_resumable(
    module: nn.Module, weights: dict[str, torch.Tensor], path: Path, flags: str
) -> None:
    """Refuse in one line, before ``module.load_state_dict`` fails with a traceback, to
    resume the checkpoint at ``path`` into a ``module`` whose shapes differ from its
    ``weights``: the settings build another network (``flags``: the checkpoint's own, as
    the message names them)."""
    built = module.state_dict()
    if weights.keys() != built.keys() or any(weights[k].shape != v.shape for k, v in built.items()):
        raise InvalidInputError(
            f"{path} was trained with {flags}, and these settings build another network: "
            "resume with the checkpoint's settings, or start afresh without --resume"
        )


def model_kwargs_flag(checkpoint: dict[str, Any]) -> str:
    """The ``--model-kwargs`` flag that builds the network a checkpoint holds, for
    :func:`check_resumable`'s message."""
    return f"--model-kwargs '{json.dumps(checkpoint['model_kwargs'])}'"


def architecture(checkpoint: dict[str, Any]) -> str:
    """The registry architecture a checkpoint's network is (one saved before models could
    be named apart from it names it by its name)."""
    return checkpoint.get("arch") or checkpoint["name"]


def model_from_checkpoint(checkpoint: dict[str, Any]) -> nn.Module:
    """The model a checkpoint describes, its weights loaded, in eval mode: an ensemble's
    (``visionplay ensemble``) is the mean of its members, each calibrated as it was."""
    if checkpoint.get("members"):
        model = MeanOfProbabilities([member_model(m) for m in checkpoint["members"]])
    else:
        model = build_model(architecture(checkpoint), **checkpoint["model_kwargs"])
    model.load_state_dict(checkpoint["model"])
    return model.eval()


def member_model(member: dict[str, Any]) -> nn.Module:
    """One ensemble member as built for its weights: the architecture, then its own
    calibration of the logits (if it has one)."""
    model = build_model(architecture(member), **member["model_kwargs"])
    calibration = member.get("calibration")
    return nn.Sequential(model, CalibratedLogits.of(calibration) if calibration else nn.Identity())
