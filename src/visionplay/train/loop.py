"""The training loop every trainer shares: :func:`fit` runs the epochs (resuming a run that
stopped), each one :func:`train_one_epoch` then :func:`evaluate`, a printed line, and the
checkpoint and curves saved."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset
from tqdm import tqdm

from ..config import DataConfig
from ..errors import InvalidInputError
from . import distributed
from .build import count_parameters
from .calibration import calibrate, reject_class
from .checkpoints import check_resumable, load_checkpoint, model_kwargs_flag, save_checkpoint
from .data import batches
from .history import save_history
from .objectives import Objective, classification
from .settings import TrainingSettings

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]
History = list[dict[str, Any]]


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


def fit(
    model: nn.Module,
    train_set: TensorDataset,
    test_set: TensorDataset,
    *,
    settings: TrainingSettings,
    cfg: DataConfig,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    device: torch.device,
    augment: Callable | None = None,
    on_epoch_start: Callable[[int], None] | None = None,
    objective: Objective | None = None,
    eval_split: str = "test",
    calibration_set: TensorDataset | None = None,
) -> History:
    """The epoch loop: (resume,) train, evaluate, print, save checkpoint and curves each epoch.

    ``cfg`` is the data config the checkpoint stores. ``on_epoch_start(epoch)`` (epochs
    count from 1) changes per-epoch settings. ``objective`` defaults to classification with
    ``settings.label_smoothing``; ``eval_split`` names the held-out set in the history.
    With a ``calibration_set`` (training images kept back), the finished model's temperature
    is fitted on it and stored in the checkpoint (see :mod:`.calibration`).

    Every epoch reseeds all generators from (seed, epoch), so a run resumed after a crash
    sees the same batches, augmentations and dropout as one that never stopped.
    """
    objective = objective or classification(settings.label_smoothing)
    history = resume(settings, model, optimizer, scheduler) if settings.resume else []
    log(describe_run(settings.arch, model, len(train_set), device))
    test_loader = batches(test_set, 1000, shuffle=False)
    net = distributed.wrap(model, device)  # what the training step calls; model is what is saved

    for epoch in range(len(history) + 1, settings.epochs + 1):
        start = time.perf_counter()
        epoch_seed = settings.seed * 1000 + epoch
        seed_everything(epoch_seed)
        if on_epoch_start is not None:
            on_epoch_start(epoch)
        train = train_one_epoch(
            net,
            shuffled_share(train_set, settings.batch_size, epoch_seed),
            optimizer,
            device,
            scheduler=scheduler,
            augment=augment if settings.augment else None,
            objective=objective,
            desc=f"epoch {epoch}/{settings.epochs}",
        )
        held_out = evaluate(model, test_loader, device, objective)
        record = epoch_record(epoch, train, held_out, objective.metric, eval_split, start)
        history.append(record)
        log(epoch_line(record, objective.metric, eval_split))
        if distributed.is_main():
            save_progress(
                settings,
                model=model,
                cfg=cfg,
                history=history,
                optimizer=optimizer,
                scheduler=scheduler,
            )
    fitted = None
    if calibration_set is not None and distributed.is_main():
        fitted = calibrate(model, calibration_set, device, reject_class(cfg))
        log(calibration_line(fitted, settings.dry_run))
    if distributed.is_main():
        # Also when a finished run is resumed: its checkpoint then takes this run's config
        # (the face trainer's detector framing, measured again for a new detector).
        save_progress(
            settings,
            model=model,
            cfg=cfg,
            history=history,
            optimizer=optimizer,
            scheduler=scheduler,
            calibration=fitted,
        )
    distributed.barrier()  # every process ends with the checkpoint on disk
    log(f"saved {settings.checkpoint_path}")
    return history


def calibration_line(fitted: dict[str, Any], dry_run: bool = False) -> str:
    """What the calibration fitted, in a line. A dry run's figures are left out: fitted to
    a model of one short epoch on a few images, they mean nothing."""
    if dry_run:
        return (
            f"dry run: calibration fitted on {fitted['images']:,} held-out images, only to "
            "check that it runs (its temperature means nothing after one short epoch)"
        )
    line = (
        f"temperature {fitted['temperature']:.3f} fitted on {fitted['images']:,} held-out "
        f"images: ECE {fitted['ece_before']:.4f} -> {fitted['ece_after']:.4f}"
    )
    if "false_rejects_after" in fitted:
        line += (
            f"; reject offset {max(fitted['offsets'], key=abs):.2f}: real classes rejected "
            f"{fitted['false_rejects_before']:.2%} -> {fitted['false_rejects_after']:.2%}, "
            f"rejects caught {fitted['rejects_caught_before']:.2%} -> "
            f"{fitted['rejects_caught_after']:.2%}"
        )
    return line


def resume(
    settings: TrainingSettings, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any
) -> History:
    """The history of the run checkpointed at ``settings.checkpoint_path``, with the model,
    optimizer and schedule put back as they were; empty if it has no checkpoint yet."""
    path = settings.checkpoint_path
    if not path.exists():
        return []
    state = load_checkpoint(path)
    if state.get("optimizer") is None or state.get("scheduler") is None:
        raise InvalidInputError(
            f"{path} holds no optimizer or schedule state (a checkpoint as export ships "
            "it?): it cannot be resumed; train afresh without --resume"
        )
    planned = getattr(scheduler, "total_steps", None)  # one-cycle: fixed at the start
    scheduler.load_state_dict(state["scheduler"])
    if planned is not None and scheduler.total_steps != planned:
        raise InvalidInputError(
            f"{path} follows a learning-rate schedule of {scheduler.total_steps} steps per "
            f"process; these settings make {planned} (--epochs, --batch-size, --limit or the "
            "number of processes changed): resume with the checkpoint's settings, or start "
            "afresh without --resume"
        )
    check_resumable(model, state["model"], path, model_kwargs_flag(state))
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    log(f"resumed {path} after epoch {len(state['history'])}")
    return state["history"]


def describe_run(arch: str, model: nn.Module, train_size: int, device: torch.device) -> str:
    processes = distributed.world_size()
    return (
        f"{arch}: {count_parameters(model):,} parameters, {train_size:,} train images, "
        f"{device}" + (f" x {processes} processes" if processes > 1 else "")
    )


def shuffled_share(train_set: TensorDataset, batch_size: int, seed: int) -> Batches:
    """This process's share of the training set for one epoch, shuffled by ``seed``."""
    return batches(
        train_set,
        batch_size,
        shuffle=True,
        seed=seed,
        rank=distributed.rank(),
        world_size=distributed.world_size(),
    )


def train_one_epoch(
    model: nn.Module,
    loader: Batches,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    augment: Callable | None = None,
    objective: Objective | None = None,
    desc: str = "train",
) -> dict[str, float]:
    """One pass over ``loader``; returns mean loss, mean score and samples per second.

    ``augment(x)`` changes inputs; one with ``moves_targets = True`` is called as
    ``augment(x, y)`` and returns both (keypoints move with their image).
    """
    objective = objective or classification()
    model.train()
    total_loss, total_score, seen = 0.0, 0.0, 0
    start = time.perf_counter()
    bar = tqdm(loader, desc=desc, unit="batch", leave=False, disable=not distributed.is_main())
    for x, y in bar:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        if augment is not None:
            x, y = augment(x, y) if getattr(augment, "moves_targets", False) else (augment(x), y)
        output = model(x)
        loss = objective.loss(output, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total_loss += loss.item() * len(y)
        total_score += objective.score(output.detach(), y).sum().item()
        seen += len(y)
        bar.set_postfix(
            loss=f"{total_loss / seen:.4f}", **{objective.metric: f"{total_score / seen:.4f}"}
        )
    seconds = time.perf_counter() - start
    total_loss, total_score, seen = distributed.sum_over_processes(total_loss, total_score, seen)
    return {
        "loss": total_loss / max(seen, 1),
        objective.metric: total_score / max(seen, 1),
        "seconds": seconds,
        "samples_per_s": seen / seconds if seconds else 0.0,
    }


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Batches,
    device: torch.device,
    objective: Objective | None = None,
    desc: str = "eval",
) -> dict[str, float]:
    """Mean loss and mean score (accuracy by default) over ``loader``."""
    objective = objective or classification()
    model.eval()
    total_loss, total_score, seen = 0.0, 0.0, 0
    for x, y in tqdm(
        loader, desc=desc, unit="batch", leave=False, disable=not distributed.is_main()
    ):
        x, y = x.to(device), y.to(device)
        output = model(x)
        total_loss += objective.eval_loss(output, y).item() * len(y)
        total_score += objective.score(output, y).sum().item()
        seen += len(y)
    return {"loss": total_loss / max(seen, 1), objective.metric: total_score / max(seen, 1)}


def epoch_record(
    epoch: int,
    train: dict[str, float],
    held_out: dict[str, float],
    metric: str,
    split: str,
    start: float,
) -> dict[str, Any]:
    """One epoch in the history (metrics.json): ``train_*`` and ``<split>_*`` figures."""
    return {
        "epoch": epoch,
        "train_loss": train["loss"],
        f"train_{metric}": train[metric],
        f"{split}_loss": held_out["loss"],
        f"{split}_{metric}": held_out[metric],
        "seconds": time.perf_counter() - start,
        "images_per_s": train["samples_per_s"],
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def epoch_line(record: dict[str, Any], metric: str, split: str) -> str:
    """The line printed after each epoch."""
    m, e = metric, split
    return (
        f"epoch {record['epoch']:2d}  train loss {record['train_loss']:.4f} "
        f"{m} {record[f'train_{m}']:.4f}  "
        f"{e} loss {record[f'{e}_loss']:.4f} {m} {record[f'{e}_{m}']:.4f}  "
        f"{record['seconds']:.0f}s ({record['images_per_s']:.0f} img/s)"
    )


def save_progress(
    settings: TrainingSettings,
    *,
    model: nn.Module,
    cfg: DataConfig,
    history: History,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    calibration: dict[str, Any] | None = None,
) -> None:
    """The run so far: its checkpoint, and its metrics and curves once it has an epoch."""
    save_checkpoint(
        settings.checkpoint_path,
        name=settings.model_name,
        arch=settings.arch,
        model=model,
        cfg=cfg,
        args=asdict(settings),
        model_kwargs=settings.model_kwargs,
        history=history,
        optimizer=optimizer,
        scheduler=scheduler,
        calibration=calibration,
    )
    if history:
        save_history(settings.run_dir, settings.model_name, history)


def log(message: str) -> None:
    """A line on stdout, from one process only under torchrun."""
    if distributed.is_main():
        print(message, flush=True)
