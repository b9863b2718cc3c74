"""Train an MNIST classifier from the registry on the real MNIST.

    python trainers/mnist.py                      # the shipped model, its recipe
    python trainers/mnist.py --arch lenet5 --epochs 5
    python trainers/mnist.py --dry-run            # a few batches, to check the set-up

Writes <out>/<arch>/<arch>.pt (resumable, self-describing), metrics.json and curves.png
(train loss is on augmented digits with label smoothing, so it sits above test loss).
Then: visionplay export --onnx <out>/<arch>/<arch>.pt
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from visionplay.augment import DigitAugment
from visionplay.data import batches, load_dataset, materialize
from visionplay.registry import get_config, list_models
from visionplay.training import (
    build_model,
    count_parameters,
    evaluate,
    load_checkpoint,
    pick_device,
    save_checkpoint,
    save_history,
    seed_everything,
    train_one_epoch,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--arch", default="mnist", choices=list_models("mnist"))
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3, help="peak of the one-cycle schedule")
    p.add_argument("--weight-decay", type=float, default=5e-2)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--no-augment", dest="augment", action="store_false")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", type=Path, default=None, help="default: $VISIONPLAY_DATA")
    p.add_argument("--out", type=Path, default=Path("runs"))
    p.add_argument("--device", default="auto")
    p.add_argument("--workers", type=int, default=2, help="processes for the one-off preprocessing")
    p.add_argument("--limit", type=int, default=None, help="use only the first N images per split")
    p.add_argument("--resume", action="store_true", help="continue from <out>/<arch>/<arch>.pt")
    p.add_argument("--dry-run", action="store_true", help="one epoch of a few batches")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.dry_run:
        args.epochs, args.limit = 1, args.limit or 512
    seed_everything(args.seed)
    device = pick_device(args.device)
    cfg = get_config(args.arch)
    out_dir = args.out / args.arch
    checkpoint_path = out_dir / f"{args.arch}.pt"

    # Data: preprocessed once by the serving code, then batched from memory.
    train_set = materialize(load_dataset(cfg, args.data_dir, train=True), args.limit, args.workers)
    test_set = materialize(load_dataset(cfg, args.data_dir, train=False), args.limit, args.workers)
    test_loader = batches(test_set, 1000, shuffle=False)

    # Model and optimisation.
    # channels-last convolutions train about a quarter faster on CPU here
    model = build_model(args.arch).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = -(-len(train_set) // args.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch
    )
    augment = DigitAugment() if args.augment else None
    history: list[dict] = []
    if args.resume and checkpoint_path.exists():
        state = load_checkpoint(checkpoint_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        history = state["history"]
        print(f"resumed {checkpoint_path} after epoch {len(history)}")
    print(
        f"{args.arch}: {count_parameters(model):,} parameters, "
        f"{len(train_set):,} train images, {device}"
    )

    for epoch in range(len(history) + 1, args.epochs + 1):
        # Reseeded per epoch, so a resumed run sees the same batches, augmentations and dropout.
        epoch_seed = args.seed * 1000 + epoch
        seed_everything(epoch_seed)
        epoch_start = time.perf_counter()
        train = train_one_epoch(
            model,
            batches(train_set, args.batch_size, shuffle=True, seed=epoch_seed),
            optimizer,
            device,
            scheduler=scheduler,
            augment=augment,
            label_smoothing=args.label_smoothing,
            desc=f"epoch {epoch}/{args.epochs}",
        )
        test = evaluate(model, test_loader, device)
        history.append({
            "epoch": epoch,
            "train_loss": train["loss"], "train_acc": train["acc"],
            "test_loss": test["loss"], "test_acc": test["acc"],
            "seconds": time.perf_counter() - epoch_start,
            "images_per_s": train["samples_per_s"],
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        })  # fmt: skip
        h = history[-1]
        print(
            f"epoch {epoch:2d}  train loss {h['train_loss']:.4f} acc {h['train_acc']:.4f}  "
            f"test loss {h['test_loss']:.4f} acc {h['test_acc']:.4f}  "
            f"{h['seconds']:.0f}s ({h['images_per_s']:.0f} img/s)"
        )
        save_checkpoint(
            checkpoint_path, name=args.arch, model=model, cfg=cfg, args=vars(args),
            model_kwargs={}, history=history, optimizer=optimizer, scheduler=scheduler,
        )  # fmt: skip
        save_history(out_dir, args.arch, history)
    print(f"saved {checkpoint_path}")
    return history[-1] if history else {}


if __name__ == "__main__":
    main()
