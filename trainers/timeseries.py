"""Train a forecaster from the registry on seed 003's generated series.

    python trainers/timeseries.py                          # the shipped LSTM: next 10 values
    python trainers/timeseries.py --arch lstm --horizon 1  # seed 003's LSTM, next value
    python trainers/timeseries.py --arch rnn --horizon 10  # simple RNN, 10 values at once
    python trainers/timeseries.py --arch linear            # the linear baseline
    python trainers/timeseries.py --dry-run                # one epoch on 512 series

10,000 series of 50 + horizon steps (seeded), split 7,000 / 2,000 / 1,000; validation MSE
each epoch, test MSE at the end. Then: visionplay export --onnx <out>/<arch>/<arch>.pt

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

from __future__ import annotations

import argparse
import dataclasses

import torch
from torch.utils.data import TensorDataset

from visionplay import series
from visionplay.models.sequences import forecast_config
from visionplay.train.build import build_model
from visionplay.train.data import batches
from visionplay.train.loop import evaluate, fit, pick_device, save_progress, seed_everything
from visionplay.train.objectives import regression
from visionplay.train.optim import one_cycle
from visionplay.train.settings import (
    TrainingSettings,
    add_training_args,
    exit_on_error,
    parse_training_args,
    setting,
)

RECIPE = dict(arch="timeseries", epochs=40, batch_size=64, lr=3e-3, weight_decay=1e-4)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SeriesSettings(TrainingSettings):
    horizon: int | None = setting(None, "values forecast at once (default: the arch's)")


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
    train_set, val_set, test_set = (
        tensors(splits[k], settings.limit) for k in ("train", "val", "test")
    )

    # Model and optimisation.
    model = build_model(settings.arch, **settings.model_kwargs).to(device)
    objective = regression()
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
