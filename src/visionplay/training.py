"""The loops every trainer shares: one epoch, evaluation, checkpoints, history and curves."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import random
import shlex
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from . import distributed, faces
from .config import DataConfig
from .data import batches, load_dataset, materialize
from .errors import InvalidInputError, VisionplayError
from .files import atomic_write, write_json
from .models import with_normalization
from .plots import pyplot
from .registry import create_model, get_config, list_models


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str = "auto") -> torch.device:
    """The device to train on; under torchrun, this process's own (see :mod:`.distributed`)."""
    if distributed.launched():
        return distributed.init(name)
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def steps_per_epoch(train_size: int, batch_size: int) -> int:
    """Optimizer steps each process takes in one epoch (its share of the data)."""
    share = -(-train_size // distributed.world_size())
    return -(-share // batch_size)


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """Registry architecture with its input normalisation in front: [0, 1] pixels go in."""
    return with_normalization(create_model(name, **kwargs), get_config(name))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@dataclass(frozen=True)
class Task:
    """What a model learns: the training loss, the loss reported on held-out data, and a
    per-sample score (averaged over a split, logged as ``<split>_<metric>``)."""

    metric: str
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    eval_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    score: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def classification(label_smoothing: float = 0.0) -> Task:
    """Cross-entropy (smoothed for training only) and accuracy."""
    return Task(
        metric="acc",
        loss=lambda logits, y: F.cross_entropy(logits, y, label_smoothing=label_smoothing),
        eval_loss=F.cross_entropy,
        score=lambda logits, y: (logits.argmax(1) == y).float(),
    )


def keypoint_regression() -> Task:
    """L1 on point coordinates (robust to the odd bad label), scored by NME."""
    return Task(metric="nme", loss=F.l1_loss, eval_loss=F.l1_loss, score=faces.nme)


def regression() -> Task:
    """Mean squared error, reported per sample (averaged over its outputs)."""
    return Task(
        metric="mse",
        loss=F.mse_loss,
        eval_loss=F.mse_loss,
        score=lambda predicted, y: ((predicted - y) ** 2).flatten(1).mean(1),
    )


def train_one_epoch(
    model: nn.Module,
    loader,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    augment: Callable | None = None,
    task: Task | None = None,
    desc: str = "train",
) -> dict[str, float]:
    """One pass over ``loader``; returns mean loss, mean score and samples per second.

    ``augment(x)`` changes inputs; one with ``moves_targets = True`` is called as
    ``augment(x, y)`` and returns both (keypoints move with their image).
    """
    task = task or classification()
    model.train()
    total_loss, total_score, seen = 0.0, 0.0, 0
    start = time.perf_counter()
    bar = tqdm(loader, desc=desc, unit="batch", leave=False, disable=not distributed.is_main())
    for x, y in bar:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        if augment is not None:
            x, y = augment(x, y) if getattr(augment, "moves_targets", False) else (augment(x), y)
        output = model(x)
        loss = task.loss(output, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total_loss += loss.item() * len(y)
        total_score += task.score(output.detach(), y).sum().item()
        seen += len(y)
        bar.set_postfix(
            loss=f"{total_loss / seen:.4f}", **{task.metric: f"{total_score / seen:.4f}"}
        )
    seconds = time.perf_counter() - start
    total_loss, total_score, seen = distributed.sum_over_processes(total_loss, total_score, seen)
    return {
        "loss": total_loss / max(seen, 1),
        task.metric: total_score / max(seen, 1),
        "seconds": seconds,
        "samples_per_s": seen / seconds if seconds else 0.0,
    }


@torch.no_grad()
def evaluate(
    model: nn.Module, loader, device: torch.device, task: Task | None = None, desc: str = "eval"
) -> dict[str, float]:
    """Mean loss and mean score (accuracy by default) over ``loader``."""
    task = task or classification()
    model.eval()
    total_loss, total_score, seen = 0.0, 0.0, 0
    for x, y in tqdm(
        loader, desc=desc, unit="batch", leave=False, disable=not distributed.is_main()
    ):
        x, y = x.to(device), y.to(device)
        output = model(x)
        total_loss += task.eval_loss(output, y).item() * len(y)
        total_score += task.score(output, y).sum().item()
        seen += len(y)
    return {"loss": total_loss / max(seen, 1), task.metric: total_score / max(seen, 1)}


# A checkpoint stores the sha256 of its weights under this key; loading checks it.
WEIGHTS_KEY = "weights_sha256"
CHECKPOINT_KEYS = ("name", "cfg", "model_kwargs", "model")


def save_checkpoint(
    path: str | os.PathLike,
    *,
    name: str,
    model: nn.Module,
    cfg: DataConfig,
    args: dict[str, Any],
    model_kwargs: dict[str, Any],
    history: list[dict[str, Any]],
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    command: str | None = None,
) -> Path:
    """A checkpoint that describes itself: export rebuilds the model from it alone."""
    state = {
        "name": name,
        "command": command or shlex.join(["python", *sys.argv]),
        "model_kwargs": model_kwargs,
        "cfg": cfg.to_dict(),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in args.items()},
        "history": history,
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


def model_from_checkpoint(checkpoint: dict[str, Any]) -> nn.Module:
    model = build_model(checkpoint["name"], **checkpoint["model_kwargs"])
    model.load_state_dict(checkpoint["model"])
    return model.eval()


def save_history(
    out_dir: str | os.PathLike, name: str, history: list[dict[str, Any]], prefix: str = ""
) -> None:
    """Per-epoch metrics as ``<prefix>metrics.json`` and ``<prefix>curves.png``."""
    out_dir = Path(out_dir)
    write_json(out_dir / f"{prefix}metrics.json", {"model": name, "epochs": history})
    plot_curves(history, out_dir / f"{prefix}curves.png", title=name)


def history_keys(history: list[dict[str, Any]]) -> tuple[list[str], str]:
    """The splits (``train`` first) and the metric a history logs, read from its keys."""
    metric = next(
        k.split("_", 1)[1] for k in history[0] if k.startswith("train_") and k != "train_loss"
    )
    splits = [k.removesuffix("_loss") for k in history[0] if k.endswith("_loss")]
    return splits, metric


def plot_curves(history: list[dict[str, Any]], path: Path, title: str) -> None:
    plt = pyplot()

    epochs = [h["epoch"] for h in history]
    splits, metric = history_keys(history)
    metric_name = {"acc": "accuracy", "nme": "NME (lower is better)"}.get(metric, metric)
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(10, 4))
    for split in splits:
        ax_loss.plot(epochs, [h[f"{split}_loss"] for h in history], marker="o", label=split)
        ax_metric.plot(epochs, [h[f"{split}_{metric}"] for h in history], marker="o", label=split)
    ax_loss.set(xlabel="epoch", ylabel="loss", title=f"{title}: loss")
    ax_metric.set(xlabel="epoch", ylabel=metric_name, title=f"{title}: {metric_name}")
    for ax in (ax_loss, ax_metric):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)


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
) -> argparse.ArgumentParser:
    """The flags every trainer has; the keyword arguments are its recipe (the defaults)."""
    p = parser
    p.add_argument("--arch", default=arch, choices=list_models(dataset))
    p.add_argument(
        "--model-kwargs", type=json.loads, default={}, metavar="JSON",
        help='keyword arguments for the architecture, e.g. \'{"widths": [32, 128, 128]}\'',
    )  # fmt: skip
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--batch-size", type=int, default=batch_size)
    p.add_argument("--lr", type=float, default=lr, help="peak of the one-cycle schedule")
    p.add_argument("--weight-decay", type=float, default=weight_decay)
    p.add_argument("--label-smoothing", type=float, default=label_smoothing)
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
    p.add_argument("--dry-run", action="store_true", help="one epoch on 512 images")
    return p


def parse_training_args(
    parser: argparse.ArgumentParser, argv: list[str] | None = None
) -> argparse.Namespace:
    args = parser.parse_args(argv)
    if args.dry_run:
        args.epochs, args.limit = 1, args.limit or 512
    return args


def load_splits(cfg: DataConfig, args: argparse.Namespace):
    """Train and test sets, preprocessed once by the serving code and kept in memory."""
    return tuple(
        materialize(load_dataset(cfg, args.data_dir, train=train), args.limit, args.workers)
        for train in (True, False)
    )


def one_cycle(
    optimizer: torch.optim.Optimizer, args: argparse.Namespace, train_size: int
) -> torch.optim.lr_scheduler.OneCycleLR:
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=args.lr,
        total_steps=args.epochs * steps_per_epoch(train_size, args.batch_size),
    )


class Lookahead:
    """Wraps an optimizer: every ``every`` steps the weights (and BatchNorm statistics) move
    into a slow exponential average and restart from it; ``decay(progress)`` sets how slow,
    with progress from 0 to 1 over ``total_steps``. airbench's form of Lookahead (Zhang et
    al. 2019): it steadies the end of a short, high learning-rate run.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        model: nn.Module,
        total_steps: int,
        decay: Callable[[float], float] = lambda progress: 0.95**5 * progress**3,
        every: int = 5,
    ) -> None:
        self.optimizer, self.model, self.total_steps = optimizer, model, total_steps
        self.decay, self.every, self.steps = decay, every, 0
        self.slow = {k: v.detach().clone() for k, v in self._floats().items()}

    def _floats(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.model.state_dict().items() if v.is_floating_point()}

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.optimizer.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    @torch.no_grad()
    def step(self) -> None:
        self.optimizer.step()
        self.steps += 1
        last = self.steps >= self.total_steps
        if self.steps % self.every == 0 or last:
            decay = 1.0 if last else self.decay(self.steps / self.total_steps)
            for name, fast in self._floats().items():
                self.slow[name].lerp_(fast, 1 - decay)
                fast.copy_(self.slow[name])

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "steps": self.steps, "slow": self.slow}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.steps, self.slow = state["steps"], state["slow"]


def fit(
    model: nn.Module,
    train_set,
    test_set,
    *,
    args: argparse.Namespace,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    device: torch.device,
    augment: Callable | None = None,
    on_epoch_start: Callable[[int], None] | None = None,
    task: Task | None = None,
    eval_split: str = "test",
    cfg: DataConfig | None = None,
) -> list[dict[str, Any]]:
    """The epoch loop: (resume,) train, evaluate, print, save checkpoint and curves each epoch.

    ``on_epoch_start(epoch)`` (epochs count from 1) changes per-epoch settings. ``task``
    defaults to classification with ``args.label_smoothing``; ``eval_split`` names the
    held-out set in the history; ``cfg`` (default: the registry's) goes into checkpoints.

    Every epoch reseeds all generators from (seed, epoch), so a run resumed after a crash
    sees the same batches, augmentations and dropout as one that never stopped.
    """
    cfg = cfg or get_config(args.arch)
    task = task or classification(args.label_smoothing)
    out_dir = args.out / args.arch
    checkpoint_path = out_dir / f"{args.arch}.pt"
    history: list[dict[str, Any]] = []
    if args.resume and checkpoint_path.exists():
        state = load_checkpoint(checkpoint_path)
        planned = getattr(scheduler, "total_steps", None)  # one-cycle: fixed at the start
        scheduler.load_state_dict(state["scheduler"])
        if planned is not None and scheduler.total_steps != planned:
            raise InvalidInputError(
                f"{checkpoint_path} follows a learning-rate schedule of "
                f"{scheduler.total_steps} steps per process; these settings make "
                f"{planned} (--epochs, --batch-size, --limit or the number of processes "
                "changed): resume with the checkpoint's settings, or start afresh without "
                "--resume"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history = state["history"]
        log(f"resumed {checkpoint_path} after epoch {len(history)}")
    processes = distributed.world_size()
    log(
        f"{args.arch}: {count_parameters(model):,} parameters, {len(train_set):,} train images, "
        f"{device}" + (f" x {processes} processes" if processes > 1 else "")
    )
    test_loader = batches(test_set, 1000, shuffle=False)
    net = distributed.wrap(model, device)  # what the training step calls; model is what is saved

    for epoch in range(len(history) + 1, args.epochs + 1):
        epoch_seed = args.seed * 1000 + epoch
        seed_everything(epoch_seed)
        if on_epoch_start is not None:
            on_epoch_start(epoch)
        start = time.perf_counter()
        train = train_one_epoch(
            net,
            batches(
                train_set,
                args.batch_size,
                shuffle=True,
                seed=epoch_seed,
                rank=distributed.rank(),
                world_size=processes,
            ),  # fmt: skip
            optimizer,
            device,
            scheduler=scheduler,
            augment=augment if args.augment else None,
            task=task,
            desc=f"epoch {epoch}/{args.epochs}",
        )
        held_out = evaluate(model, test_loader, device, task)
        m, e = task.metric, eval_split
        history.append({
            "epoch": epoch,
            "train_loss": train["loss"], f"train_{m}": train[m],
            f"{e}_loss": held_out["loss"], f"{e}_{m}": held_out[m],
            "seconds": time.perf_counter() - start,
            "images_per_s": train["samples_per_s"],
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        })  # fmt: skip
        log(
            f"epoch {epoch:2d}  train loss {train['loss']:.4f} {m} {train[m]:.4f}  "
            f"{e} loss {held_out['loss']:.4f} {m} {held_out[m]:.4f}  "
            f"{time.perf_counter() - start:.0f}s ({train['samples_per_s']:.0f} img/s)"
        )
        if distributed.is_main():
            save_checkpoint(
                checkpoint_path, name=args.arch, model=model, cfg=cfg, args=vars(args),
                model_kwargs=args.model_kwargs, history=history, optimizer=optimizer,
                scheduler=scheduler,
            )  # fmt: skip
            save_history(out_dir, args.arch, history)
    distributed.barrier()  # every process ends with the checkpoint on disk
    log(f"saved {checkpoint_path}")
    return history


def exit_on_error(main: Callable[[], Any]) -> None:
    """Run a trainer's ``main``. A :class:`VisionplayError` (no data where it was looked
    for, a checkpoint that does not fit the settings, ...) ends it with its one-line message
    and exit status 2, as the ``visionplay`` command does, not with a traceback."""
    try:
        main()
    except VisionplayError as err:
        print(f"{Path(sys.argv[0]).name}: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


def log(message: str) -> None:
    """A line on stdout, from one process only under torchrun."""
    if distributed.is_main():
        print(message, flush=True)
