"""Checkpoint -> ONNX file that carries everything a caller needs, checked against PyTorch."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from onnxscript import ir
from onnxscript import opset18 as op
from onnxscript.onnx_types import TensorType
from torch import nn

from ..config import DataConfig
from ..errors import VisionplayError
from ..files import atomic_write
from ..inference import open_model
from ..integrity import WEIGHTS_KEY, onnx_weights_sha256
from ..manifest import (
    RECORD_FILES,
    check_model_name,
    keep_previous,
    model_files,
    readable_manifest,
    update_entry,
)
from ..tasks import Model, task_class
from ..tasks.base import CONFIG_KEY
from .build import count_parameters
from .calibration import CalibratedLogits
from .checkpoints import architecture, load_checkpoint, model_from_checkpoint, weights_only
from .history import save_history

OPSET = 18
# Of the outputs' scale (at least 1: probabilities, crop units): float32 kernels of the two
# runtimes differ by about 1e-6 of it, and an untrained model's outputs can be large.
TOLERANCE = 1e-4


@dataclass(frozen=True)
class ExportResult:
    name: str
    path: Path
    max_abs_diff: float
    parameters: int
    kept: Path | None = None  # where the model it replaced was kept (None: it replaced none)


def servable(model: nn.Module, cfg: DataConfig, calibration: dict | None = None) -> nn.Module:
    """What the ONNX graph computes: pixels in [0, 1] -> probabilities for classifiers,
    the logits calibrated first as the checkpoint's record says (if it has one)."""
    if not task_class(cfg.task).softmax:
        return model.eval()
    calibrated = [CalibratedLogits.of(calibration)] if calibration else []
    return nn.Sequential(model, *calibrated, nn.Softmax(dim=1)).eval()


def metadata(name: str, cfg: DataConfig, checkpoint: dict) -> dict[str, str]:
    """Key/value strings stored in the file's ``metadata_props``."""
    calibration = checkpoint.get("calibration")
    return {
        CONFIG_KEY: cfg.to_json(),
        "model_name": name,
        "task": cfg.task,
        "input": task_class(cfg.task).describe_input(cfg),
        "normalization": f"folded into the graph: (x - mean) / std, mean={list(cfg.mean)}, "
        f"std={list(cfg.std)}",
        "preprocess": cfg.preprocess,
        "labels": json.dumps(list(cfg.labels)),
        "training": json.dumps(training_summary(checkpoint)),
        **({"calibration": json.dumps(calibration)} if calibration else {}),
    }


def training_summary(checkpoint: dict) -> dict:
    """How the checkpoint was trained, for the file's metadata and the manifest; an
    ensemble's is each member's, with the epochs and time summed; a converted model's (no
    epochs) says where its weights come from."""
    if checkpoint.get("members"):
        members = [
            {**training_summary(m), "calibration": m.get("calibration")}
            for m in checkpoint["members"]
        ]
        return {
            "command": checkpoint.get("command", ""),
            "epochs": sum(m["epochs"] for m in members),
            "wall_seconds": round(sum(m["wall_seconds"] for m in members), 1),
            "members": members,
            "torch_version": checkpoint.get("torch_version"),
        }
    history = checkpoint.get("history") or []
    last = history[-1] if history else {}
    held_out = {k: v for k, v in last.items() if not k.startswith("train_") and "_" in k}
    held_out.pop("images_per_s", None)
    origin = checkpoint.get("origin")
    return {
        "command": checkpoint.get("command", ""),
        "epochs": len(history),
        "wall_seconds": round(sum(h.get("seconds", 0.0) for h in history), 1),
        **held_out,  # test_acc/test_loss, or val_nme/val_loss: the last epoch's held-out figures
        **({"origin": origin} if origin else {}),  # weights made elsewhere: whose, what licence
        "torch_version": checkpoint.get("torch_version"),
    }


def export_checkpoint(
    checkpoint_path: str | os.PathLike,
    out_dir: str | os.PathLike = "exported",
    name: str | None = None,
    samples: np.ndarray | tuple[np.ndarray, ...] | None = None,
    force: bool = False,
) -> ExportResult:
    """Export one checkpoint to ``out_dir/<name>.onnx`` and record it in the manifest.

    The file is written only if onnx.checker passes and onnxruntime agrees with PyTorch
    within :data:`TOLERANCE` on ``samples`` (the graph's inputs: random ones of the task's
    kind if none are given); a model already there is never replaced by one that fails,
    nor, unless ``force``, by a dry run's or one whose recorded figure is worse
    (:func:`check_replacement`). The model replaced is kept one step back
    (:func:`visionplay.manifest.keep_previous`).
    """
    checkpoint_path = Path(checkpoint_path)
    if not checkpoint_path.is_file():
        raise VisionplayError(f"no checkpoint at {checkpoint_path}")
    checkpoint = load_checkpoint(checkpoint_path)
    cfg = DataConfig.from_dict(checkpoint["cfg"])
    name = check_model_name(name or checkpoint["name"])
    out_path = Path(out_dir) / f"{name}.onnx"
    if not force:
        check_replacement(out_path, checkpoint_path, checkpoint, cfg)
    model = servable(model_from_checkpoint(checkpoint), cfg, checkpoint.get("calibration"))

    if samples is None:
        samples = task_class(cfg.task).example_inputs(cfg, 8)
    samples = samples if isinstance(samples, tuple) else (samples,)
    proto = to_onnx(model, cfg, tuple(s[:2] for s in samples))
    proto.metadata_props.extend(
        onnx.StringStringEntryProto(key=k, value=v)
        for k, v in metadata(name, cfg, checkpoint).items()
    )
    onnx.checker.check_model(proto, full_check=True)
    model_bytes = with_weights_checksum(proto)

    weights_path = out_path.with_suffix(".pt")
    # Checked through onnxruntime from a staged copy (open_model also checks the weights'
    # checksum); only a file that passes replaces out_path.
    staged = atomic_write(
        out_path.with_name(f".{name}.staged.onnx"), lambda t: Path(t).write_bytes(model_bytes)
    )
    # The weights ship beside the graph, so that PyTorch can run the very same model
    # (`visionplay bench` compares the two) and anyone can fine-tune or re-export it.
    staged_weights = atomic_write(
        weights_path.with_name(f".{name}.staged.pt"),
        lambda t: torch.save(weights_only(checkpoint), t),
    )
    try:
        diff = parity(model, open_model(staged), samples)
        if diff > TOLERANCE:
            raise VisionplayError(
                f"{name}: onnxruntime differs from PyTorch by {diff:.2e} (> {TOLERANCE:.0e}); "
                f"{out_path} left as it was"
            )
        kept = keep_previous(Path(out_dir), name)
        os.replace(staged, out_path)
        os.replace(staged_weights, weights_path)
    finally:
        staged.unlink(missing_ok=True)
        staged_weights.unlink(missing_ok=True)

    result = ExportResult(name, out_path, diff, count_parameters(model), kept)
    write_training_record(Path(out_dir), name, checkpoint)
    update_manifest(Path(out_dir), result, cfg, checkpoint)
    return result


def check_replacement(
    out_path: Path, checkpoint_path: Path, checkpoint: dict, cfg: DataConfig
) -> None:
    """Refuse, in one line, to put over the model at ``out_path`` a dry run's checkpoint or
    one whose recorded figure (its task's :class:`~visionplay.tasks.base.Figure`) is worse
    than the manifest records for the model there."""
    if not out_path.is_file():
        return
    how = "--force replaces it anyway, or export to another --out"
    if is_dry_run(checkpoint):
        raise VisionplayError(
            f"{checkpoint_path} is a dry run's checkpoint (one epoch on a few images); it "
            f"would replace {out_path}: {how}"
        )
    figure = task_class(cfg.task).figure
    entry = readable_manifest(out_path.parent).get(out_path.stem) or {}
    old = figure.recorded(entry) if figure and entry.get("task") == cfg.task else None
    new = figure.in_record(training_summary(checkpoint)) if figure else None
    if old is not None and new is not None and figure.worse(new, old[1]):
        raise VisionplayError(
            f"{checkpoint_path} records {figure.text(new)}, worse than the "
            f"{figure.text(old[1])} that {out_path} records ({old[0]}): {how}"
        )


def is_dry_run(checkpoint: dict) -> bool:
    """Whether a checkpoint (or any member of an ensemble) comes from ``--dry-run``."""
    records = [checkpoint, *(checkpoint.get("members") or [])]
    return any((record.get("args") or {}).get("dry_run") for record in records)


def write_training_record(out_dir: Path, name: str, checkpoint: dict) -> None:
    """The training record (per-epoch metrics and curves) beside the model; a checkpoint
    without one (an ensemble) leaves none of the replaced model's beside it either."""
    if checkpoint.get("history"):
        save_history(out_dir, name, checkpoint["history"], prefix=f"{name}.")
        return
    for path in model_files(out_dir, name, RECORD_FILES):
        path.unlink(missing_ok=True)


def with_weights_checksum(proto: onnx.ModelProto) -> bytes:
    """The file's bytes, its metadata holding the sha256 of its graph (the layers and
    weights; metadata_props lie outside the graph, so adding the key leaves it unchanged)."""
    digest = onnx_weights_sha256(proto.SerializeToString())
    proto.metadata_props.add(key=WEIGHTS_KEY, value=digest)
    return proto.SerializeToString()


def to_onnx(model: nn.Module, cfg: DataConfig, example: tuple[np.ndarray, ...]) -> onnx.ModelProto:
    """torch.onnx (dynamo exporter) with a dynamic batch axis on every input (and a dynamic
    ``steps`` axis for series), as one self-contained proto."""
    if task_class(cfg.task).steps_axis is None:
        return onnx.load_from_string(_export_bytes(model, cfg, example))
    # torch 2.14's exporter fixes a recurrent layer's steps axis to the example's length on
    # the second export in a process; a fresh interpreter per export keeps it dynamic.
    with tempfile.TemporaryDirectory() as tmp:
        job = Path(tmp) / "job.pt"
        torch.save({"model": model, "cfg": cfg.to_dict(), "example": example}, job)
        child = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys, visionplay.train.export as e; e._export_job(sys.argv[1])",
                str(job),
            ],
            capture_output=True,
            text=True,
        )
        if child.returncode != 0:
            raise VisionplayError(f"ONNX export failed: {child.stderr.strip().splitlines()[-1]}")
        return onnx.load(job.with_suffix(".onnx"))


def _export_job(job: str) -> None:
    """The child side of :func:`to_onnx`: job.pt in, job.onnx out."""
    state = torch.load(job, weights_only=False)
    proto = _export_bytes(state["model"], DataConfig.from_dict(state["cfg"]), state["example"])
    Path(job).with_suffix(".onnx").write_bytes(proto)


def _export_bytes(model: nn.Module, cfg: DataConfig, example: tuple[np.ndarray, ...]) -> bytes:
    task = task_class(cfg.task)
    axes = {0: task.batch_axis, 1: task.steps_axis}
    dynamic = {i: torch.export.Dim(a.name, min=a.low, max=a.high) for i, a in axes.items() if a}
    # The first input has the task's axes; any other (a generator's labels) shares its batch.
    conditions = [{0: dynamic[0]}] * (len(example) - 1)
    program = torch.onnx.export(
        model,
        tuple(torch.from_numpy(a) for a in example),
        input_names=list(task.input_names()),
        output_names=[task.output_name],
        dynamic_shapes=(dynamic, *conditions),
        opset_version=OPSET,
        dynamo=True,
        verbose=False,
        external_data=False,
        custom_translation_table={torch.ops.aten.gelu.default: _gelu},
    )
    return program.model_proto.SerializeToString()


def _gelu(x: TensorType, approximate: str = "none") -> TensorType:
    """GELU as ``(x * (1 + erf(x / sqrt 2))) * 0.5``, the order OpenCV's and onnxruntime's
    Gelu fusions recognise (onnxruntime then runs one Gelu kernel). The exporter's own order,
    ``x * (0.5 * (1 + erf))``, crashes OpenCV's ONNX importer (4.x and 5.x)."""
    if approximate == "tanh":  # tanh(sqrt(2 / pi) * (x + 0.044715 x^3)) in place of the erf
        cubic = op.Add(x, op.Mul(_scalar(x, 0.044715), op.Pow(x, _scalar(x, 3.0))))
        bent = op.Tanh(op.Mul(_scalar(x, 0.7978845608028654), cubic))
    else:
        bent = op.Erf(op.Div(x, _scalar(x, 1.4142135623730951)))
    return op.Mul(op.Mul(x, op.Add(bent, _scalar(x, 1.0))), _scalar(x, 0.5))


def _scalar(like: TensorType, value: float) -> ir.Tensor:
    return ir.tensor(value, dtype=like.dtype)


@torch.no_grad()
def parity(model: nn.Module, session: Model, samples: tuple[np.ndarray, ...]) -> float:
    """Largest difference between PyTorch and onnxruntime on ``samples`` (the graph's
    inputs), over the larger of 1 and the outputs' largest magnitude (so for outputs within
    [-1, 1], the absolute one)."""
    expected = model(*(torch.from_numpy(s) for s in samples)).numpy()
    scale = max(1.0, float(np.abs(expected).max()))
    return float(np.abs(session.run(*samples) - expected).max()) / scale


def update_manifest(out_dir: Path, result: ExportResult, cfg: DataConfig, checkpoint: dict) -> None:
    """A fresh manifest entry: the file, its checks, and how the model was trained (an
    ensemble has no epochs of its own: its members' records are in ``training``)."""
    per_epoch = {"per_epoch": f"{result.name}.metrics.json", "curves": f"{result.name}.curves.png"}
    update_entry(
        out_dir,
        result.name,
        replace=True,
        file=result.path.name,
        checkpoint=result.path.with_suffix(".pt").name,
        sha256=hashlib.sha256(result.path.read_bytes()).hexdigest(),
        architecture=architecture(checkpoint),
        parameters=result.parameters,
        task=cfg.task,
        dataset=cfg.dataset,
        input_size=list(cfg.input_size),
        labels=list(cfg.labels),
        parity_max_abs_diff=result.max_abs_diff,
        calibration=checkpoint.get("calibration"),
        exported_at=time.strftime("%Y-%m-%dT%H:%M:%S"),
        training={
            **training_summary(checkpoint),
            "args": checkpoint.get("args", {}),
            **(per_epoch if checkpoint.get("history") else {}),
        },
    )
