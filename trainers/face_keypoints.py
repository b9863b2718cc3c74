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

import visionplay
from visionplay import faces
from visionplay.config import DataConfig
from visionplay.models.registry import get_config
from visionplay.train.augment import KeypointAugment
from visionplay.train.build import build_model
from visionplay.train.data import (
    FaceFrames,
    face_crops,
    frame_pictures,
    is_held_out,
    load_face_frames,
)
from visionplay.train.loop import fit, pick_device, seed_everything
from visionplay.train.objectives import keypoint_regression
from visionplay.train.optim import one_cycle
from visionplay.train.settings import (
    TrainingSettings,
    add_training_args,
    exit_on_error,
    parse_training_args,
    setting,
)

RECIPE = dict(arch="face_keypoints", epochs=300, batch_size=64, lr=2e-3, weight_decay=1e-4)
CONTEXT = 2.0  # training crops are cut, jittered, from crops this many times wider


@dataclasses.dataclass(frozen=True, kw_only=True)
class FaceSettings(TrainingSettings):
    pretrained: bool = setting(False, "keypoint_resnet18: start from ImageNet")


def parse_settings(argv: list[str] | None = None) -> FaceSettings:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_training_args(parser, "youtube_faces", FaceSettings, **RECIPE)
    settings = parse_training_args(parser, argv, FaceSettings)
    return settings.with_model_kwargs(pretrained=True) if settings.pretrained else settings


def framed_config(arch: str, frames: FaceFrames, data_dir: str | None) -> DataConfig:
    """The registry's config plus how its face detector's boxes sit on the faces of
    ``frames`` (see faces.square_from_detection), so that serving crops match training
    crops."""
    cfg = get_config(arch)
    detector = visionplay.load(cfg.settings.detector)
    pictures = frame_pictures(data_dir, frames, train=True)
    framing, found = faces.calibrate_framing(detector, pictures, frames.points)
    settings = dataclasses.replace(
        cfg.settings, detector_framing=framing, detector_found_on_training=found
    )
    return dataclasses.replace(cfg, settings=settings)


def main(argv: list[str] | None = None) -> dict:
    settings = parse_settings(argv)
    seed_everything(settings.seed)
    device = pick_device(settings.device)

    # Data: the training frames, less the people held out for validation.
    frames = load_face_frames(settings.data_dir, train=True, limit=settings.limit)
    held_out = [is_held_out(person) for person in frames.people]
    train_frames = frames.subset([i for i, out in enumerate(held_out) if not out])
    val_frames = frames.subset([i for i, out in enumerate(held_out) if out])
    print(
        f"{len(train_frames.names)} training frames; {len(val_frames.names)} validation "
        f"frames of {len(set(val_frames.people))} held-out people"
    )

    # Config: the detector's framing, measured on the training frames, travels with the
    # model. Each frame is then cut once into a crop twice as wide as the model's, from
    # which every epoch cuts jittered crops.
    cfg = framed_config(settings.arch, train_frames, settings.data_dir)
    print(f"detector framing: {cfg.settings}")
    train_set = face_crops(train_frames, cfg, context=CONTEXT)
    val_set = face_crops(val_frames, cfg)

    # Model and optimisation.
    model = build_model(settings.arch, **settings.model_kwargs).to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    scheduler = one_cycle(optimizer, settings, len(train_set))

    history = fit(
        model,
        train_set,
        val_set,
        settings=settings,
        cfg=cfg,
        optimizer=optimizer,
        scheduler=scheduler,
        device=device,
        augment=KeypointAugment(torch.from_numpy(faces.FLIP), context=CONTEXT).to(device),
        objective=keypoint_regression(),
        eval_split="val",
    )
    return history[-1] if history else {}


if __name__ == "__main__":
    exit_on_error(main)
