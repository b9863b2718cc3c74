"""Train a 68-point face keypoint regressor from the registry on the YouTube Faces frames.

    python trainers/face_keypoints.py                              # the shipped model, its recipe
    python trainers/face_keypoints.py --arch keypoint_cnn          # seed 004's 4 conv + 2 FC
    python trainers/face_keypoints.py --arch keypoint_resnet18     # ResNet-18, from scratch
    python trainers/face_keypoints.py --arch keypoint_resnet18 --pretrained   # ImageNet start
    python trainers/face_keypoints.py --dry-run                    # one epoch on 512 frames

Data: <data-dir>/youtube-faces-keypoints/ (training/, test/ and the two CSVs), or the
.tar.gz of it there, unpacked once. The same people appear in its training and test
frames, so validation holds out whole people (a fixed tenth, by name) from training.
Then: visionplay export --onnx <out>/<arch>/<arch>.pt

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

from __future__ import annotations

import argparse
import dataclasses

import torch

from visionplay import faces
from visionplay.augment import KeypointAugment
from visionplay.data import face_crops, is_held_out, load_face_frames
from visionplay.registry import get_config
from visionplay.training import (
    add_training_args,
    build_model,
    exit_on_error,
    fit,
    keypoint_regression,
    one_cycle,
    parse_training_args,
    pick_device,
    seed_everything,
)

RECIPE = dict(arch="face_keypoints", epochs=100, batch_size=64, lr=2e-3, weight_decay=1e-4)
CONTEXT = 2.0  # training crops are cut, jittered, from crops this many times wider


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_training_args(parser, "youtube_faces", **RECIPE)
    parser.add_argument(
        "--pretrained", action="store_true", help="keypoint_resnet18: start from ImageNet"
    )
    args = parse_training_args(parser, argv)
    if args.pretrained:
        args.model_kwargs = {**args.model_kwargs, "pretrained": True}
    return args


def detector_framing(frames) -> dict:
    """Run the face detector over the training frames and measure how its boxes sit on
    the faces (see faces.square_from_detection), so serving crops match training crops."""
    detector = faces.HaarDetector()
    found, points = [], []
    for gray, face in zip(frames.grays, frames.points, strict=True):
        detection = faces.match(detector(gray), face)
        if detection is not None:
            found.append(detection)
            points.append(face)
    return {
        "detector_framing": faces.calibrate(found, points),
        "detector_found_on_training": round(len(found) / len(frames.names), 4),
    }


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    seed_everything(args.seed)
    device = pick_device(args.device)

    # Data: training frames minus the held-out people; each frame cut once into a crop
    # twice as wide as the model's, from which every epoch cuts jittered crops.
    frames = load_face_frames(args.data_dir, train=True, limit=args.limit)
    held_out = [is_held_out(person) for person in frames.people]
    train_frames = frames.subset([i for i, out in enumerate(held_out) if not out])
    val_frames = frames.subset([i for i, out in enumerate(held_out) if out])
    print(
        f"{len(train_frames.names)} training frames; {len(val_frames.names)} validation "
        f"frames of {len(set(val_frames.people))} held-out people"
    )
    cfg = get_config(args.arch)
    cfg = dataclasses.replace(cfg, extra={**cfg.extra, **detector_framing(train_frames)})
    print(f"detector framing: {cfg.extra}")
    train_set = face_crops(train_frames, cfg, context=CONTEXT)
    val_set = face_crops(val_frames, cfg)

    # Model and optimisation.
    model = build_model(args.arch, **args.model_kwargs).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    scheduler = one_cycle(optimizer, args, len(train_set))

    history = fit(
        model, train_set, val_set, args=args, optimizer=optimizer, scheduler=scheduler,
        device=device,
        augment=KeypointAugment(torch.from_numpy(faces.FLIP), context=CONTEXT).to(device),
        task=keypoint_regression(), eval_split="val", cfg=cfg,
    )  # fmt: skip
    return history[-1] if history else {}


if __name__ == "__main__":
    exit_on_error(main)
