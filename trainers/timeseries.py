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
from visionplay.data import batches
from visionplay.registry import get_config
from visionplay.training import (
    add_training_args,
    build_model,
    evaluate,
    exit_on_error,
    fit,
    one_cycle,
    parse_training_args,
    pick_device,
    regression,
    save_checkpoint,
    seed_everything,
)

RECIPE = dict(arch="timeseries", epochs=40, batch_size=64, lr=3e-3, weight_decay=1e-4)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_training_args(parser, "timeseries", **RECIPE)
    parser.add_argument(
        "--horizon", type=int, default=None, help="values forecast at once (default: the arch's)"
    )
    args = parse_training_args(parser, argv)
    if args.horizon is not None:
        args.model_kwargs = {**args.model_kwargs, "horizon": args.horizon}
    return args


def tensors(split: series.Split, limit: int | None) -> TensorDataset:
    inputs, targets = split.inputs[:limit], split.targets[:limit]
    return TensorDataset(torch.from_numpy(inputs[:, :, None]), torch.from_numpy(targets))


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    seed_everything(args.seed)
    device = pick_device(args.device)

    # Model first: its horizon decides the data.
    model = build_model(args.arch, **args.model_kwargs).to(device)
    with torch.no_grad():
        horizon = model(torch.zeros(1, series.HISTORY, 1, device=device)).shape[1]
    cfg = get_config(args.arch)
    window = model[1].window  # the latest values a window model reads (None: all of them)
    cfg = dataclasses.replace(cfg, extra={**cfg.extra, "horizon": horizon, "window": window})

    # Data: the generator is seeded, so every run sees the same series.
    splits = series.make_splits(horizon, seed=args.seed)
    train_set, val_set, test_set = (
        tensors(splits[k], args.limit) for k in ("train", "val", "test")
    )

    task = regression()
    if any(p.requires_grad for p in model.parameters()):
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=args.lr, weight_decay=args.weight_decay
        )
        scheduler = one_cycle(optimizer, args, len(train_set))
        fit(
            model, train_set, val_set, args=args, optimizer=optimizer, scheduler=scheduler,
            device=device, task=task, eval_split="val", cfg=cfg,
        )  # fmt: skip
    else:  # the naive baseline: nothing to learn, but a checkpoint to export all the same
        path = args.out / args.arch / f"{args.arch}.pt"
        save_checkpoint(path, name=args.arch, model=model, cfg=cfg, args=vars(args),
                        model_kwargs=args.model_kwargs, history=[])  # fmt: skip
        print(f"{args.arch} has nothing to train; saved {path}")
    test = evaluate(model, batches(test_set, 1000, shuffle=False), device, task)
    print(f"{args.arch}: test MSE {test['mse']:.5f} over {horizon} step(s)")
    return test


if __name__ == "__main__":
    exit_on_error(main)
