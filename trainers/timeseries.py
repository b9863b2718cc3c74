"""Train a forecaster from the registry on seed 003's generated series.

    python trainers/timeseries.py                          # the shipped LSTM: any series
    python trainers/timeseries.py --arch lstm --horizon 1  # seed 003's LSTM, next value
    python trainers/timeseries.py --arch rnn --horizon 10  # simple RNN, 10 values at once
    python trainers/timeseries.py --arch linear            # the linear baseline
    python trainers/timeseries.py --dry-run                # one epoch on 512 series

10,000 series of 50 + horizon steps (seeded), split 7,000 / 2,000 / 1,000; validation MSE
each epoch, test MSE at the end. Then: visionplay export --onnx <out>/<arch>/<arch>.pt

The shipped forecaster (``--arch timeseries``) reads any series, each window scaled
(``series.scale_windows``): it learns from seed 003's series together with a broad
synthetic family (``train/synthetic_series.py``), all read as serving reads them, and its
targets are scaled the same way. Real series are for reporting only (visionplay eval).

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
import torch
from torch.utils.data import TensorDataset

from visionplay import series
from visionplay.config import ForecastSettings
from visionplay.models.sequences import forecast_config
from visionplay.train.build import build_model
from visionplay.train.checkpoints import load_checkpoint
from visionplay.train.data import batches
from visionplay.train.loop import evaluate, fit, pick_device, save_progress, seed_everything
from visionplay.train.objectives import regression, robust_regression
from visionplay.train.optim import one_cycle
from visionplay.train.settings import (
    TrainingSettings,
    add_training_args,
    exit_on_error,
    parse_training_args,
    setting,
)
from visionplay.train.synthetic_series import family

RECIPE = dict(arch="timeseries", epochs=40, batch_size=64, lr=3e-3, weight_decay=1e-4)
SYNTHETIC = 120_000  # synthetic series, beside seed 003's 7,000
SEED_REPEATS = 5  # seed 003's series read five times an epoch: its figures must hold
# History lengths the synthetic windows are cut at (their share each alike), so short
# pasted series and long ones with a season to find are both met.
HISTORIES = (10, 20, 35, 50, 50, 80, 120, 190)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SeriesSettings(TrainingSettings):
    horizon: int | None = setting(None, "values forecast at once (default: the arch's)")
    synthetic: int = setting(SYNTHETIC, "synthetic series (a scaled forecaster)")
    seed_repeats: int = setting(SEED_REPEATS, "times seed 003's series are read an epoch")
    start_from: str | None = setting(None, "a checkpoint whose weights a second stage starts from")


def parse_settings(argv: list[str] | None = None) -> SeriesSettings:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_training_args(parser, "timeseries", SeriesSettings, **RECIPE)
    settings = parse_training_args(parser, argv, SeriesSettings)
    if settings.horizon is None:
        return settings
    return settings.with_model_kwargs(horizon=settings.horizon)


def tensors(split: series.Split, limit: int | None) -> TensorDataset:
    inputs, targets = split.inputs[:limit], split.targets[:limit]
    return TensorDataset(torch.from_numpy(inputs[:, :, None]), torch.from_numpy(targets))


def as_served(history: np.ndarray, targets: np.ndarray, how: ForecastSettings) -> TensorDataset:
    """Windows as the exported forecaster reads them, targets scaled the same way."""
    scaled = series.scale_windows(history, how.horizon, how.context, described=how.described)
    goal = (targets - scaled.seasonal - scaled.level) / scaled.scale
    goal = np.clip(goal, -series.SCALED_LIMIT, series.SCALED_LIMIT).astype(np.float32)
    return TensorDataset(torch.from_numpy(scaled.inputs[:, :, None]), torch.from_numpy(goal))


def joined(*sets: TensorDataset) -> TensorDataset:
    return TensorDataset(
        *(torch.cat(parts) for parts in zip(*(s.tensors for s in sets), strict=True))
    )


def synthetic(count: int, how: ForecastSettings, seed: int) -> TensorDataset:
    made = family(count, seed=seed)
    groups = np.array_split(made, len(HISTORIES))
    return joined(
        *(
            as_served(g[:, -n - how.horizon : -how.horizon], g[:, -how.horizon :], how)
            for g, n in zip(groups, HISTORIES, strict=True)
        )
    )


def main(argv: list[str] | None = None) -> dict:
    settings = parse_settings(argv)
    seed_everything(settings.seed)
    device = pick_device(settings.device)

    # Config first: the horizon (and a window model's window) the model arguments give,
    # and the horizon decides the data.
    cfg = forecast_config(settings.arch, **settings.model_kwargs)
    horizon = cfg.settings.horizon

    # Data: the generator is seeded, so every run sees the same series.
    splits = series.make_splits(horizon, seed=settings.seed)
    if cfg.settings.scaled:  # the synthetic family beside the seed's, all as served
        how, count = cfg.settings, settings.limit or settings.synthetic
        lim = settings.limit
        seed_sets = {k: as_served(s.inputs[:lim], s.targets[:lim], how) for k, s in splits.items()}
        train_set = joined(
            synthetic(count, how, settings.seed), *[seed_sets["train"]] * settings.seed_repeats
        )
        val_set = joined(synthetic(count // 10, how, settings.seed + 1), seed_sets["val"])
        test_set = seed_sets["test"]
    else:
        train_set, val_set, test_set = (
            tensors(splits[k], settings.limit) for k in ("train", "val", "test")
        )

    # Model and optimisation.
    model = build_model(settings.arch, **settings.model_kwargs)
    if settings.start_from:  # a second stage: the first's weights, checked
        model.load_state_dict(load_checkpoint(settings.start_from)["model"])
    model = model.to(device)
    objective = robust_regression() if cfg.settings.scaled else regression()
    if any(p.requires_grad for p in model.parameters()):
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
        )
        scheduler = one_cycle(optimizer, settings, len(train_set))
        fit(
            model,
            train_set,
            val_set,
            settings=settings,
            cfg=cfg,
            optimizer=optimizer,
            scheduler=scheduler,
            device=device,
            objective=objective,
            eval_split="val",
        )
    else:  # the naive baseline: nothing to learn, but a checkpoint to export all the same
        save_progress(settings, model=model, cfg=cfg, history=[])
        print(f"{settings.arch} has nothing to train; saved {settings.checkpoint_path}")
    test = evaluate(model, batches(test_set, 1000, shuffle=False), device, objective)
    print(f"{settings.arch}: test MSE {test['mse']:.5f} over {horizon} step(s)")
    return test


if __name__ == "__main__":
    exit_on_error(main)
