"""``visionplay eval NAME``: test-set accuracy (classifiers) or NME (face keypoints) of an
exported model, through ``load()``.

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from ..errors import InvalidInputError
from ..inference import load
from ..manifest import update_entry
from ..plots import pyplot


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "eval", help="test-set figures of an exported model: accuracy, or keypoint NME"
    )
    parser.add_argument("model", help="exported model name, e.g. mnist")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: $VISIONPLAY_DATA")
    parser.add_argument("--limit", type=int, default=None, help="only N test images, evenly spread")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument(
        "--confusion", type=Path, default=None,
        help="where to write the confusion-matrix PNG (default: runs/eval/NAME-confusion.png)",
    )  # fmt: skip
    parser.add_argument(
        "--as-drawn", action="store_true",
        help="redraw each test image as black strokes on a transparent 400x400 canvas, at a "
        "random size, place and pen width, as the sketchpad sends it (digit models)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="for --as-drawn")
    parser.add_argument(
        "--compare", type=Path, nargs="+", default=(), metavar="DIR",
        help="forecasters: also score every forecaster exported in these folders",
    )  # fmt: skip
    parser.add_argument(
        "--record", action="store_true",
        help="also store the result in the manifest.json beside the model",
    )  # fmt: skip
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from ..data import load_dataset, spread  # torchvision reads the dataset files

    for flag, value in (("--limit", args.limit), ("--batch-size", args.batch_size)):
        if value is not None and value < 1:
            raise InvalidInputError(f"{flag} must be at least 1; got {value}")
    model = load(args.model)
    if model.cfg.task == "keypoints":
        report = evaluate_keypoints(model, args.data_dir, args.limit)
        return finish(report, model, args)
    if model.cfg.task == "forecast":
        report = evaluate_forecasts(model, args.compare, args.limit)
        print(forecast_table(report["table"]), file=sys.stderr)
        return finish(report, model, args)
    dataset = load_dataset(model.cfg, args.data_dir, train=False, preprocess=False)
    indices = spread(len(dataset), args.limit)
    count = len(indices)
    n = len(model.labels)
    confusion = np.zeros((n, n), dtype=np.int64)
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    for first in range(0, count, args.batch_size):
        samples = [dataset[i] for i in indices[first : first + args.batch_size]]
        if args.as_drawn:
            samples = [(redraw_on_canvas(image, rng), target) for image, target in samples]
        predictions = model.predict_batch([image for image, _ in samples], top_k=1)
        for (_, target), top in zip(samples, predictions, strict=True):
            confusion[target, top[0].index] += 1
    seconds = time.perf_counter() - start
    report = {
        "model": model.name,
        "dataset": model.cfg.dataset,
        "split": "test, redrawn on a 400x400 canvas" if args.as_drawn else "test",
        "images": count,
        "accuracy": round(float(np.trace(confusion) / max(count, 1)), 5),
        "errors": int(count - np.trace(confusion)),
        "provider": model.provider,
        "seconds": round(seconds, 2),
        "images_per_s": round(count / seconds, 1) if seconds else None,
    }
    suffix = "-as-drawn" if args.as_drawn else ""
    png = args.confusion or Path("runs/eval") / f"{model.name}{suffix}-confusion.png"
    plot_confusion(confusion, model.labels, png, f"{model.name}: {report['accuracy']:.2%}")
    report["confusion_png"] = str(png)
    return finish(report, model, args)


def finish(report: dict, model, args: argparse.Namespace) -> int:
    if args.record:
        command = shlex.join(["visionplay", "eval", *sys.argv[2:]])
        key = "eval_as_drawn" if args.as_drawn else "eval"
        update_entry(model.path.parent, model.name, **{key: {**report, "command": command}})
    print(json.dumps(report, indent=2))
    return 0


def evaluate_keypoints(model, data_dir: Path | None, limit: int | None) -> dict:
    """NME (mean point error / outer-eye-corner distance) three ways: test frames cropped
    on their true points' box; test frames end to end (detector, then regressor); and
    training frames of the people the trainer held out (the figure for a new face)."""
    from .. import faces
    from ..data import is_held_out, load_face_frames

    margin = model.cfg.extra["margin"]

    def true_box_nme(frames) -> np.ndarray:
        return np.array([
            faces.nme(model.points_in(gray, [faces.square_from_points(p, margin)])[0], p)
            for gray, p in zip(frames.grays, frames.points, strict=True)
        ])  # fmt: skip

    test = load_face_frames(data_dir, train=False, limit=limit)
    true_box = true_box_nme(test)
    end_to_end, seconds = [], 0.0
    for gray, points in zip(test.grays, test.points, strict=True):
        start = time.perf_counter()
        detection = faces.match(model.detector(gray), points)
        if detection is not None:
            square = faces.square_from_detection(detection.box, model.framing, margin)
            predicted = model.points_in(gray, [square])[0]
            end_to_end.append(faces.nme(predicted, points))
        seconds += time.perf_counter() - start
    training = load_face_frames(data_dir, train=True, limit=None if limit is None else 4 * limit)
    held_out = training.subset([i for i, p in enumerate(training.people) if is_held_out(p)])
    validation = true_box_nme(held_out)

    def summary(values: np.ndarray) -> dict:
        return {
            "nme": round(float(values.mean()), 5),
            "nme_median": round(float(np.median(values)), 5),
            "failures_over_0.1": round(float((values > 0.1).mean()), 4),
        }

    return {
        "model": model.name,
        "dataset": model.cfg.dataset,
        "provider": model.provider,
        "test_true_box": {"frames": len(test.names), **summary(true_box)},
        "test_end_to_end": {
            "frames": len(test.names),
            "face_found": round(len(end_to_end) / max(len(test.names), 1), 4),
            **summary(np.array(end_to_end) if end_to_end else np.array([np.nan])),
            "ms_per_frame": round(1000 * seconds / max(len(test.names), 1), 2),
        },
        "validation_held_out_people": {
            "frames": len(held_out.names),
            "people": len(set(held_out.people)),
            **summary(validation),
        },
        "normaliser": "distance between the outer eye corners (points 36 and 45)",
    }


def redraw_on_canvas(
    digit: Image.Image, rng: np.random.Generator, canvas: int = 400
) -> Image.Image:
    """A test digit as someone might draw it on the sketchpad: 40-360 px tall, anywhere,
    with a pen from hairline to fat (binarised, so no anti-aliasing helps the model)."""
    pixels = np.asarray(digit.convert("L"))
    ys, xs = np.nonzero(pixels > 30)
    crop = digit.convert("L").crop((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
    height = int(rng.integers(40, 361))
    width = min(canvas - 10, max(1, round(crop.width * height / crop.height)))
    big = crop.resize((width, height), Image.Resampling.BICUBIC)
    pen = int(rng.integers(-1, 2)) * (2 * int(rng.integers(0, max(1, height // 25))) + 1)
    if pen > 1:
        big = big.filter(ImageFilter.MaxFilter(pen))
    elif pen < -1:
        big = big.filter(ImageFilter.MinFilter(-pen))
    strokes = Image.fromarray(np.uint8(np.asarray(big) > 100) * 255)
    if strokes.getbbox() is None:  # thinned away: keep the plain upscaled digit
        strokes = Image.fromarray(np.uint8(np.asarray(crop.resize((width, height))) > 100) * 255)
    page = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    left = int(rng.integers(0, canvas - width + 1))
    top = int(rng.integers(0, canvas - height + 1))
    page.paste((0, 0, 0, 255), (left, top), strokes)
    return page


def plot_confusion(confusion: np.ndarray, labels, path: Path, title: str) -> None:
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(7, 6))
    ax.imshow(np.log1p(confusion), cmap="Blues")
    for (i, j), value in np.ndenumerate(confusion):
        if value:
            ax.text(j, i, str(value), ha="center", va="center", fontsize=7,
                    color="white" if i == j else "black")  # fmt: skip
    ax.set(xticks=range(len(labels)), yticks=range(len(labels)), xlabel="predicted",
           ylabel="true", title=title)  # fmt: skip
    ax.set_xticklabels(labels, rotation=45, ha="right")
    ax.set_yticklabels(labels)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def evaluate_forecasts(model, compare: list[Path], limit: int | None) -> dict:
    """Test MSE of ``model`` (and of every forecaster exported in ``compare``) beside the
    naive and least-squares linear baselines: next value (51-step series) and the next 10
    (60-step series; direct for 10-output models, a rolled-out forecast for 1-output ones)."""
    from .. import series
    from ..manifest import read_manifest

    next_one = series.make_splits(1)
    next_ten = series.make_splits(10)
    one, ten = next_one["test"], next_ten["test"]
    if limit is not None:
        one = series.Split(one.inputs[:limit], one.targets[:limit])
        ten = series.Split(ten.inputs[:limit], ten.targets[:limit])

    def mse(predicted: np.ndarray, true: np.ndarray) -> float:
        return round(float(((predicted - true) ** 2).mean()), 6)

    weights_one = series.fit_linear(next_one["train"].inputs, next_one["train"].targets)
    weights_ten = series.fit_linear(next_ten["train"].inputs, next_ten["train"].targets)
    table = [
        {"model": "naive (last value)", "horizon": 1, "parameters": 0, "train_seconds": 0.0,
         "next_mse": mse(series.naive(one.inputs, 1), one.targets),
         "ten_mse": mse(series.naive(ten.inputs, 10), ten.targets), "ten_how": "repeated"},
        {"model": "linear (least squares)", "horizon": "1 / 10", "parameters": 51 + 51 * 10,
         "train_seconds": 0.0,
         "next_mse": mse(series.linear(one.inputs, weights_one), one.targets),
         "ten_mse": mse(series.linear(ten.inputs, weights_ten), ten.targets),
         "ten_how": "direct"},
    ]  # fmt: skip
    others = [path for folder in compare for path in sorted(folder.glob("*.onnx"))]
    forecasters = [model] + [m for m in map(load, others) if m.cfg.task == "forecast"]
    seen = set()
    for forecaster in forecasters:
        if forecaster.path in seen:
            continue
        seen.add(forecaster.path)
        entry = read_manifest(forecaster.path.parent)["models"].get(forecaster.name, {})
        table.append({
            "model": forecaster.name,
            "horizon": forecaster.horizon,
            "parameters": entry.get("parameters"),
            "train_seconds": entry.get("training", {}).get("wall_seconds"),
            "next_mse": mse(forecaster.forecast_batch(one.inputs, 1), one.targets),
            "ten_mse": mse(forecaster.forecast_batch(ten.inputs, 10), ten.targets),
            "ten_how": "direct" if forecaster.horizon >= 10 else "rolled out",
        })  # fmt: skip
    return {
        "model": model.name,
        "dataset": "seed 003 generator, test split (seed 0)",
        "series": len(one.inputs),
        "provider": model.provider,
        "next_mse": table[2]["next_mse"],
        "ten_mse": table[2]["ten_mse"],
        "table": table,
    }


def forecast_table(rows: list[dict]) -> str:
    lines = [
        "| model | outputs | parameters | training s | next value MSE | next 10 MSE | 10 steps |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['horizon']} | "
            f"{r['parameters'] if r['parameters'] is not None else '?'} | "
            f"{r['train_seconds'] if r['train_seconds'] is not None else '?'} | "
            f"{r['next_mse']:.5f} | {r['ten_mse']:.5f} | {r['ten_how']} |"
        )
    return "\n".join(lines)
