"""Test-set figures of an exported model, through ``load()``: one evaluation per task
(``visionplay eval NAME`` runs the one of the model's task). Accuracy and a confusion
matrix for classifiers; keypoint NME three ways for the face model, beside its detector's
figures; faces found on photos, held-out frames and small pasted faces for the face
detector; MSE beside the baselines for forecasters; for generators, how the shipped
classifier reads their pictures. Reads the datasets with torchvision, hence in ``train``.

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageOps

from .. import faces, series
from ..config import NOT_A_DIGIT
from ..errors import VisionplayError
from ..inference import load
from ..manifest import read_manifest
from ..plots import pyplot
from ..preprocess import open_image, to_gray
from ..tasks import Classifier, FaceDetector, ForecastModel, Generator, KeypointModel, Model
from . import generated, handwriting, real_series
from .calibration import expected_calibration_error
from .data import (
    FaceFrames,
    frame_pictures,
    is_held_out,
    load_dataset,
    load_face_frames,
    materialize,
    resolve_data_dir,
    spread,
)


@dataclass(frozen=True)
class EvalSettings:
    """What to evaluate on: ``limit`` test samples (evenly spread; None: all), in batches
    of ``batch_size``; ``confusion``: where a classifier's matrix goes; ``as_drawn``: the
    digits redrawn as on the canvas (with ``seed``); ``compare``: folders of other
    forecasters to score beside a forecaster; ``photos``: a face detector's folder of
    photos with known face counts (default: ``faces-dev`` in the data folder)."""

    data_dir: Path | None = None
    limit: int | None = None
    batch_size: int = 256
    confusion: Path | None = None
    as_drawn: bool = False
    seed: int = 0
    compare: tuple[Path, ...] = ()
    photos: Path | None = None


@dataclass(frozen=True)
class Evaluation:
    """A report (JSON-ready, what ``--record`` stores) and notes for a reader (a table)."""

    report: dict[str, Any]
    notes: str = field(default="")


EVALUATIONS: dict[str, Callable[[Any, EvalSettings], Evaluation]] = {}


def evaluates(task: str) -> Callable:
    """Register the evaluation of one task."""

    def register(function: Callable[[Any, EvalSettings], Evaluation]) -> Callable:
        if task in EVALUATIONS:
            raise ValueError(f"task {task!r} already has an evaluation")
        EVALUATIONS[task] = function
        return function

    return register


def evaluate(model: Model, settings: EvalSettings) -> Evaluation:
    """The evaluation of ``model``'s task on its test data."""
    try:
        run = EVALUATIONS[model.task]
    except KeyError:
        raise VisionplayError(f"{model.name}: no evaluation for {model.task} models") from None
    return run(model, settings)


@evaluates("classification")
def evaluate_classifier(model: Classifier, settings: EvalSettings) -> Evaluation:
    """Test-set accuracy and the confusion matrix (written as a PNG); with ``as_drawn`` on
    the test digits redrawn as on the Draw tab's canvas (:func:`.handwriting.redrawn`)."""
    dataset = load_dataset(model.cfg, settings.data_dir, train=False, preprocess=False)
    indices = spread(len(dataset), settings.limit)
    count, n = len(indices), len(model.labels)
    confusion = np.zeros((n, n), dtype=np.int64)
    rng = np.random.default_rng(settings.seed)
    top_scores, right = [], []
    start = time.perf_counter()
    for first in range(0, count, settings.batch_size):
        samples = [dataset[i] for i in indices[first : first + settings.batch_size]]
        if settings.as_drawn:
            samples = [(handwriting.redrawn(image, rng), target) for image, target in samples]
        predictions = model.predict_batch([image for image, _ in samples], top_k=1)
        for (_, target), top in zip(samples, predictions, strict=True):
            confusion[target, top[0].index] += 1
            top_scores.append(top[0].score)
            right.append(top[0].index == target)
    seconds = time.perf_counter() - start
    scores, hits = np.array(top_scores), np.array(right, dtype=bool)
    report = {
        "model": model.name,
        "dataset": model.cfg.dataset,
        "split": "test, redrawn on a 400x400 canvas" if settings.as_drawn else "test",
        "images": count,
        "accuracy": round(float(np.trace(confusion) / max(count, 1)), 5),
        "errors": int(count - np.trace(confusion)),
        "ece": round(expected_calibration_error(scores, hits), 5),
        "mean_top_score": round(float(scores.mean()), 5) if count else None,
        "provider": model.provider,
        "seconds": round(seconds, 2),
        "images_per_s": round(count / seconds, 1) if seconds else None,
    }
    notes = ""
    if NOT_A_DIGIT in model.labels:
        report["test_called_not_a_digit"] = round(
            float(confusion[:, model.labels.index(NOT_A_DIGIT)].sum() / max(count, 1)), 5
        )
        report["made_up"] = made_up_drawings(model, settings)
        notes = made_up_table(report["made_up"])
    suffix = "-as-drawn" if settings.as_drawn else ""
    png = settings.confusion or Path("runs/eval") / f"{model.name}{suffix}-confusion.png"
    plot_confusion(confusion, model.labels, png, f"{model.name}: {report['accuracy']:.2%}")
    report["confusion_png"] = str(png)
    return Evaluation(report, notes=notes)


# Seeds of the made-up drawings eval reads; the trainer's is another (trainers/mnist.py).
MADE_UP_SETS = {
    "digits, held-out templates": (handwriting.digit_page, True, 101),
    "digits, trained templates, new hands": (handwriting.digit_page, False, 102),
    "not digits, held-out shapes and fonts": (handwriting.not_digit_page, True, 103),
    "not digits, trained kinds, new hands": (handwriting.not_digit_page, False, 104),
}
MADE_UP_COUNT = 1500


def made_up_drawings(model: Classifier, settings: EvalSettings) -> dict[str, dict]:
    """A reader with "not a digit" on drawings made up as the Draw tab draws them
    (:mod:`visionplay.train.handwriting`), on seeds the trainer never drew from: how many digits
    it reads right, how many non-digits it calls "not a digit", in all and per kind
    (template, printed letter, scribble)."""
    count = min(MADE_UP_COUNT, settings.limit or MADE_UP_COUNT)
    results = {}
    for title, (make, held_out, seed) in MADE_UP_SETS.items():
        pages = [make(i, seed, held_out) for i in range(count)]
        answers = model.predict_batch([page for page, _, _ in pages], top_k=1)
        kinds: dict[str, list[bool]] = {}
        for (_, label, kind), top in zip(pages, answers, strict=True):
            kind = "printed letters and signs" if kind.startswith("printed ") else kind
            kinds.setdefault(kind, []).append(top[0].label == label)
        right = [hit for hits in kinds.values() for hit in hits]
        results[title] = {
            "drawings": len(right),
            "right": round(float(np.mean(right)), 4),
            "per_kind": {k: round(float(np.mean(v)), 3) for k, v in sorted(kinds.items())},
        }
    return results


def made_up_table(results: dict[str, dict]) -> str:
    lines = [
        "| made-up drawings | drawings | answered right | worst kinds |",
        "| --- | --- | --- | --- |",
    ]
    for title, r in results.items():
        worst = sorted(r["per_kind"].items(), key=lambda kv: kv[1])[:3]
        lines.append(
            f"| {title} | {r['drawings']} | {r['right']:.2%} | "
            + ", ".join(f"{k} {v:.0%}" for k, v in worst)
            + " |"
        )
    return "\n".join(lines)


@evaluates("keypoints")
def evaluate_keypoints(model: KeypointModel, settings: EvalSettings) -> Evaluation:
    """NME (mean point error / outer-eye-corner distance) three ways: test frames cropped
    on their true points' box; test frames end to end (detector, then regressor); and
    training frames of the people the trainer held out (the figure for a new face); and
    the detector's own figures (:func:`detection_figures`)."""
    data_dir, limit = settings.data_dir, settings.limit
    margin = model.cfg.settings.margin

    def true_box_nme(frames) -> np.ndarray:
        return np.array(
            [
                faces.nme(model.points_in(gray, [faces.square_from_points(p, margin)])[0], p)
                for gray, p in zip(frames.grays, frames.points, strict=True)
            ]
        )

    test = load_face_frames(data_dir, train=False, limit=limit)
    true_box = true_box_nme(test)
    pictures = frame_pictures(data_dir, test, train=False)
    end_to_end, seconds = end_to_end_nme(model, pictures, test.points)
    rng = np.random.default_rng(settings.seed)
    harder = {}
    for kind in HARDER:
        made = [made_harder(*face, kind, rng) for face in zip(pictures, test.points, strict=True)]
        moved, moved_points = zip(*made, strict=True)
        found, _ = end_to_end_nme(model, list(moved), np.stack(moved_points))
        harder[kind] = {
            "face_found": round(len(found) / max(len(made), 1), 4),
            **summary(np.array(found) if found else np.array([np.nan])),
        }
    training = load_face_frames(data_dir, train=True, limit=None if limit is None else 4 * limit)
    held_out = training.subset([i for i, p in enumerate(training.people) if is_held_out(p)])
    validation = true_box_nme(held_out)

    return Evaluation(
        {
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
            "test_end_to_end_harder": {"how": HARDER_HOW, **harder},
            "validation_held_out_people": {
                "frames": len(held_out.names),
                "people": len(set(held_out.people)),
                **summary(validation),
            },
            "normaliser": "distance between the outer eye corners (points 36 and 45)",
            "detector": {
                "model": model.detector.name,
                "framing": model.framing,
                **detection_figures(model.detector, settings, test, pictures),
            },
        }
    )


def summary(values: np.ndarray) -> dict:
    """A set of per-face NMEs in three figures."""
    return {
        "nme": round(float(values.mean()), 5),
        "nme_median": round(float(np.median(values)), 5),
        "failures_over_0.1": round(float((values > 0.1).mean()), 4),
    }


def end_to_end_nme(
    model: KeypointModel, pictures: list[np.ndarray], points: np.ndarray
) -> tuple[list[float], float]:
    """The NME of each face the detector found (a box holding its points' centre), then
    the regressor on its crop, and the seconds all of it took."""
    found, seconds = [], 0.0
    for rgb, face in zip(pictures, points, strict=True):
        start = time.perf_counter()
        detection = faces.match(model.detector.find(rgb), face)
        if detection is not None:
            square = faces.square_from_detection(detection.box, model.framing, model.margin)
            predicted = model.points_in(to_gray(Image.fromarray(rgb)), [square])[0]
            found.append(float(faces.nme(predicted, face)))
        seconds += time.perf_counter() - start
    return found, seconds


# The test frames as photos are taken: a head tilted, a camera out of focus, a dim room.
HARDER = ("tilted", "blurred", "dim")
HARDER_HOW = (
    "each test frame tilted 15-30 degrees either way about its face, blurred by a Gaussian "
    "of 1.5-3 pixels, or dimmed to a third to a half of its light; then end to end"
)


def made_harder(
    rgb: np.ndarray, points: np.ndarray, kind: str, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A test frame made harder as :data:`HARDER_HOW` says, and its points moved with it."""
    if kind == "tilted":
        angle = rng.choice([-1.0, 1.0]) * rng.uniform(15, 30)
        cx, cy = points.mean(0)
        turn = cv2.getRotationMatrix2D((float(cx), float(cy)), float(angle), 1.0)
        size = (rgb.shape[1], rgb.shape[0])
        tilted = cv2.warpAffine(rgb, turn, size, borderMode=cv2.BORDER_REFLECT)
        return tilted, points @ turn[:, :2].T + turn[:, 2]
    if kind == "blurred":
        return cv2.GaussianBlur(rgb, (0, 0), rng.uniform(1.5, 3.0)), points
    return np.uint8(rgb * rng.uniform(1 / 3, 1 / 2)), points


# The face detector: photos with known counts, held-out frames, small pasted faces.

SMALL_FACES = (32, 48, 64, 96)  # the pasted face's width (its points' box) in pixels
SMALL_FACE_FRAMES = 300  # test frames pasted at each width, evenly spread (fewer with --limit)
SMALL_FACE_FRAME = (640, 480)  # the picture they are pasted into
BACKGROUNDS = ("fa-grass.jpg", "if-view.jpg")  # faceless photos of faces-dev
PHOTOS_FOLDER = "faces-dev"
TIMED_RUNS = 20


@evaluates("detection")
def evaluate_detector(model: FaceDetector, settings: EvalSettings) -> Evaluation:
    """Faces found on photos of known counts (per photo: found, expected, invented, ms),
    on the keypoint set's test frames, and on small test faces pasted into a faceless
    photo; and the time of one pass on a 640x480 frame (:func:`detection_figures`)."""
    test = load_face_frames(settings.data_dir, train=False, limit=settings.limit)
    pictures = frame_pictures(settings.data_dir, test, train=False)
    report = {
        "model": model.name,
        "provider": model.provider,
        **detection_figures(model, settings, test, pictures),
    }
    photos = report.get("photos")
    return Evaluation(report, notes=photo_table(photos["per_photo"]) if photos else "")


def detection_figures(
    detector: FaceDetector, settings: EvalSettings, test: FaceFrames, pictures: list[np.ndarray]
) -> dict[str, Any]:
    """What a face detector finds, by both of its paths (the photo path, ``find``'s
    default, and one pass): on the photos of :func:`photo_counts` (where there are any),
    on ``test`` frames (``pictures``, RGB: a face counts as found where a box holds the
    centre of its points) and on small faces (:func:`small_faces`)."""
    folder = settings.photos or resolve_data_dir(settings.data_dir) / PHOTOS_FOLDER
    counts = photo_counts(folder) if folder.is_dir() else {}
    figures: dict[str, Any] = {}
    if counts:
        figures["photos"] = photo_figures(detector, folder, counts)
    runs = TIMED_RUNS if settings.limit is None else 3  # --limit: a quick look
    figures["timing"] = timing(detector, pictures[0], folder, runs)
    figures["test_frames"] = {
        "frames": len(test.names),
        **{
            path: round(found_share(detector, pictures, test.points, single), 4)
            for path, single in (("found", False), ("found_single_pass", True))
        },
    }
    backgrounds = [folder / name for name in BACKGROUNDS if (folder / name).is_file()]
    if backgrounds:
        figures["small_faces"] = small_faces(detector, pictures, test.points, backgrounds, settings)
    return figures


def photo_counts(folder: Path) -> dict[str, int]:
    """The expected face count of each photo in ``folder``: from ``counts.csv`` (lines
    ``file,faces``) or the table of its README.md (``| file[, file...] | faces | ...``)."""
    listed = folder / "counts.csv"
    if listed.is_file():
        rows = [line.split(",") for line in listed.read_text().splitlines() if line.strip()]
        return {name.strip(): int(n) for name, n in rows if n.strip().isdigit()}
    readme = folder / "README.md"
    counts = {}
    for line in readme.read_text().splitlines() if readme.is_file() else []:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        number = re.match(r"\d+", cells[1]) if len(cells) > 1 else None
        if number:
            for name in cells[0].split(","):
                if (folder / name.strip()).is_file():
                    counts[name.strip()] = int(number.group())
    return counts


def photo_figures(detector: FaceDetector, folder: Path, counts: dict[str, int]) -> dict[str, Any]:
    """Per photo: faces found by the photo path and by one pass, expected, invented (found
    beyond those expected) and ms (median of three); over all: recall (the faces found,
    at most each photo's count, over those expected) and photos counted wrong."""
    rows = []
    for name, expected in sorted(counts.items()):
        rgb = np.asarray(open_image(folder / name).convert("RGB"))
        seconds, found, _ = timed(lambda rgb=rgb: detector.find(rgb), 3)
        single = len(detector.find(rgb, single_pass=True))
        rows.append(
            {
                "photo": name,
                "expected": expected,
                "found": len(found),
                "found_single_pass": single,
                "invented": max(0, len(found) - expected),
                "ms": round(1000 * seconds, 1),
            }
        )
    expected = sum(r["expected"] for r in rows)
    return {
        "photos": len(rows),
        "faces": expected,
        "recall": round(sum(min(r["found"], r["expected"]) for r in rows) / max(expected, 1), 4),
        "wrong_counts": sum(r["found"] != r["expected"] for r in rows),
        "wrong_counts_single_pass": sum(r["found_single_pass"] != r["expected"] for r in rows),
        "invented": sum(r["invented"] for r in rows),
        "ms_median": round(float(np.median([r["ms"] for r in rows])), 1),
        "ms_max": max(r["ms"] for r in rows),
        "per_photo": rows,
    }


def timed(work: Callable[[], Any], runs: int) -> tuple[float, Any, float]:
    """The median seconds of ``runs`` calls of ``work`` after one to warm up, its answer,
    and the median CPU seconds of this process (which a busy machine inflates less)."""
    answer = work()
    seconds, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        work()
        seconds.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return float(np.median(seconds)), answer, float(np.median(cpu))


def timing(detector: FaceDetector, frame: np.ndarray, folder: Path, runs: int) -> dict[str, Any]:
    """Median ms of one pass and of the photo path on a 640x480 frame: the first faceless
    photo of ``folder`` with a test frame pasted in (or the frame alone, enlarged)."""
    backgrounds = [folder / name for name in BACKGROUNDS if (folder / name).is_file()]
    picture = background(backgrounds[0]) if backgrounds else None
    if picture is None:
        picture = cv2.resize(frame, SMALL_FACE_FRAME, interpolation=cv2.INTER_LINEAR)
    else:
        height, width = min(frame.shape[0], picture.shape[0]), min(frame.shape[1], picture.shape[1])
        picture[:height, :width] = frame[:height, :width]
    single, _, single_cpu = timed(lambda: detector.find(picture, single_pass=True), runs)
    photo, _, photo_cpu = timed(lambda: detector.find(picture), runs)
    return {
        "frame": "x".join(map(str, SMALL_FACE_FRAME)),
        "ms_single_pass": round(1000 * single, 2),
        "ms_photo_path": round(1000 * photo, 2),
        "cpu_ms_single_pass": round(1000 * single_cpu, 2),
        "cpu_ms_photo_path": round(1000 * photo_cpu, 2),
        "runs": runs,
    }


def found_share(
    detector: FaceDetector, pictures: list[np.ndarray], points: np.ndarray, single_pass: bool
) -> float:
    """The share of ``pictures`` on which a box holds the centre of their face's points."""
    hits = [
        faces.match(detector.find(rgb, single_pass=single_pass), face) is not None
        for rgb, face in zip(pictures, points, strict=True)
    ]
    return float(np.mean(hits)) if hits else float("nan")


def background(path: Path) -> np.ndarray:
    """A faceless photo, cropped and resized to :data:`SMALL_FACE_FRAME` (RGB)."""
    picture = ImageOps.fit(open_image(path).convert("RGB"), SMALL_FACE_FRAME, Image.Resampling.BOX)
    return np.array(picture)


def small_faces(
    detector: FaceDetector,
    pictures: list[np.ndarray],
    points: np.ndarray,
    backgrounds: list[Path],
    settings: EvalSettings,
) -> dict[str, Any]:
    """Test faces scaled to :data:`SMALL_FACES` pixels wide (their points' box), each cut
    with its surroundings (twice its box) and pasted at a random place into a faceless
    photo (:func:`small_face_figures`). The photos alone come first: any face found on
    them is invented."""
    rng = np.random.default_rng(settings.seed)
    chosen = list(spread(len(pictures), SMALL_FACE_FRAMES))
    pictures, points = [pictures[i] for i in chosen], points[chosen]
    scenes = [background(path) for path in backgrounds]
    return {
        "frame": "x".join(map(str, SMALL_FACE_FRAME)),
        "backgrounds": [path.name for path in backgrounds],
        "faces_per_size": len(pictures),
        "found_on_backgrounds_alone": [len(detector.find(scene)) for scene in scenes],
        "by_width": {
            str(width): small_face_figures(detector, pictures, points, scenes, width, rng)
            for width in SMALL_FACES
        },
    }


def small_face_figures(
    detector: FaceDetector,
    pictures: list[np.ndarray],
    points: np.ndarray,
    scenes: list[np.ndarray],
    width: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """By each path (the photo path, one pass): the share of faces ``width`` pixels wide
    found once pasted, the boxes elsewhere on the photo (invented faces) and the other
    boxes within the pasted cut (where the frame may hold another person)."""
    found, invented, beside = np.zeros(2, int), np.zeros(2, int), np.zeros(2, int)
    for index, (rgb, face) in enumerate(zip(pictures, points, strict=True)):
        scene, moved, cut = pasted(scenes[index % len(scenes)], rgb, face, width, rng)
        for path, single in enumerate((False, True)):
            detections = detector.find(scene, single_pass=single)
            hit = faces.match(detections, moved)
            others = [d for d in detections if d is not hit]
            within = sum(holds(cut, d.box) for d in others)
            found[path] += hit is not None
            beside[path] += within
            invented[path] += len(others) - within
    return {
        "found": round(found[0] / len(pictures), 4),
        "found_single_pass": round(found[1] / len(pictures), 4),
        "invented": int(invented[0]),
        "invented_single_pass": int(invented[1]),
        "other_boxes_in_cut": int(beside[0]),
    }


def holds(region: tuple[int, int, int, int], box: tuple[float, ...]) -> bool:
    """Whether ``region`` (x0, y0, x1, y1) holds the centre of ``box``."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return region[0] <= cx <= region[2] and region[1] <= cy <= region[3]


def pasted(
    scene: np.ndarray, rgb: np.ndarray, face: np.ndarray, width: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]:
    """A copy of ``scene`` with the face of ``rgb`` (its points ``face``) scaled to
    ``width`` pixels and pasted, with its surroundings, at a random place; the points
    where they landed, and the region pasted over (x0, y0, x1, y1)."""
    low, high = face.min(0), face.max(0)
    scale = width / (high[0] - low[0])
    side = 2 * (high - low).max()
    x0, y0 = np.maximum(0, (low + high) / 2 - side / 2).astype(int)
    cut = rgb[y0 : y0 + int(side), x0 : x0 + int(side)]
    size = (max(1, round(cut.shape[1] * scale)), max(1, round(cut.shape[0] * scale)))
    small = cv2.resize(cut, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    height, most = scene.shape[:2]
    size = (min(size[0], most), min(size[1], height))
    left = int(rng.integers(0, most - size[0] + 1))
    top = int(rng.integers(0, height - size[1] + 1))
    out = scene.copy()
    out[top : top + size[1], left : left + size[0]] = small[: size[1], : size[0]]
    region = (left, top, left + size[0], top + size[1])
    return out, (face - (x0, y0)) * scale + (left, top), region


def photo_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| photo | expected | found | one pass | invented | ms |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['photo']} | {r['expected']} | {r['found']} | {r['found_single_pass']} | "
            f"{r['invented']} | {r['ms']} |"
        )
    return "\n".join(lines)


def plot_confusion(confusion: np.ndarray, labels, path: Path, title: str) -> None:
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(7, 6))
    ax.imshow(np.log1p(confusion), cmap="Blues")
    for (i, j), value in np.ndenumerate(confusion):
        if value:
            ax.text(
                j,
                i,
                str(value),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if i == j else "black",
            )
    ax.set(
        xticks=range(len(labels)),
        yticks=range(len(labels)),
        xlabel="predicted",
        ylabel="true",
        title=title,
    )
    ax.set_xticklabels(labels, rotation=45, ha="right")
    ax.set_yticklabels(labels)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


@evaluates("forecast")
def evaluate_forecasts(model: ForecastModel, settings: EvalSettings) -> Evaluation:
    """Test MSE of ``model`` (and of every forecaster exported in ``compare``) beside the
    naive and least-squares linear baselines: next value (51-step series) and the next 10
    (60-step series; direct for 10-output models, a rolled-out forecast for 1-output ones)."""
    limit = settings.limit
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
        {
            "model": "naive (last value)",
            "horizon": 1,
            "parameters": 0,
            "train_seconds": 0.0,
            "next_mse": mse(series.naive(one.inputs, 1), one.targets),
            "ten_mse": mse(series.naive(ten.inputs, 10), ten.targets),
            "ten_how": "repeated",
        },
        {
            "model": "linear (least squares)",
            "horizon": "1 / 10",
            "parameters": 51 + 51 * 10,
            "train_seconds": 0.0,
            "next_mse": mse(series.linear(one.inputs, weights_one), one.targets),
            "ten_mse": mse(series.linear(ten.inputs, weights_ten), ten.targets),
            "ten_how": "direct",
        },
    ]
    others = [path for folder in settings.compare for path in sorted(folder.glob("*.onnx"))]
    forecasters = [model] + [m for m in map(load, others) if isinstance(m, ForecastModel)]
    seen = set()
    for forecaster in forecasters:
        if forecaster.path in seen:
            continue
        seen.add(forecaster.path)
        entry = read_manifest(forecaster.path.parent)["models"].get(forecaster.name, {})
        table.append(
            {
                "model": forecaster.name,
                "horizon": forecaster.horizon,
                "parameters": entry.get("parameters"),
                "train_seconds": entry.get("training", {}).get("wall_seconds"),
                "next_mse": mse(forecaster.forecast_batch(one.inputs, 1), one.targets),
                "ten_mse": mse(forecaster.forecast_batch(ten.inputs, 10), ten.targets),
                "ten_how": "direct" if forecaster.horizon >= 10 else "rolled out",
            }
        )
    report = {
        "model": model.name,
        "dataset": "seed 003 generator, test split (seed 0)",
        "series": len(one.inputs),
        "provider": model.provider,
        "next_mse": table[2]["next_mse"],
        "ten_mse": table[2]["ten_mse"],
        "table": table,
    }

    # Zero-shot on real series, beside the baselines (Holt-Winters' fits take a while:
    # left out of a --limit run).
    def forecast(history: np.ndarray, steps: int) -> np.ndarray:
        return model.forecast(history, steps)

    real = real_series.report(forecast, real_series.real_series(), fitted=limit is None)
    generated = real_series.report(forecast, real_series.generated_series(), fitted=limit is None)
    report["real_series"], report["generated_series"] = real, generated
    notes = [
        forecast_table(table),
        f"Real series, zero-shot: {real['protocol']}",
        real_series.table(real),
        "Generated: processes whose best forecast is known",
        real_series.table(generated),
    ]
    return Evaluation(report, notes="\n\n".join(notes))


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


GENERATED_PER_CLASS = 1000
GENERATION_SEED = 1234  # the latent vectors eval draws (the trainer's samples use others)


@evaluates("generation")
def evaluate_generator(model: Generator, settings: EvalSettings) -> Evaluation:
    """Pictures of every class read by the dataset's shipped classifier: the share read as
    asked, the Frechet distance to the test pictures beside two references measured the
    same way (training pictures: a perfect generator; each class's mean plus noise: a
    useless one), and per-class diversity (see :mod:`.generated`)."""
    reader = load(model.cfg.settings.reader, model.path.parent)
    classes = len(model.labels)
    per_class = max(2, settings.limit // classes) if settings.limit else GENERATED_PER_CLASS
    test = materialize(
        load_dataset(reader.cfg, settings.data_dir, train=False), per_class * classes
    )
    train = materialize(
        load_dataset(reader.cfg, settings.data_dir, train=True), per_class * classes
    )
    test_pictures, test_labels = (t.numpy() for t in test.tensors)
    train_pictures, train_labels = (t.numpy() for t in train.tensors)
    real = generated.features(generated.read(reader, test_pictures))

    labels = np.repeat(np.arange(classes), per_class)
    z = model.latents(GENERATION_SEED + settings.seed, len(labels))
    start = time.perf_counter()
    pictures = np.concatenate(
        [model.run(z[i : i + 1000], labels[i : i + 1000]) for i in range(0, len(labels), 1000)]
    )
    seconds = time.perf_counter() - start
    probabilities = generated.read(reader, pictures)
    made = generated.quality(probabilities, labels, real, test_labels)
    reads = probabilities.argmax(1)
    noise, noise_labels = generated.mean_plus_noise(train_pictures, train_labels, per_class)
    useless = generated.quality(generated.read(reader, noise), noise_labels, real, test_labels)
    perfect = generated.quality(
        generated.read(reader, train_pictures), train_labels, real, test_labels
    )
    report = {
        "model": model.name,
        "dataset": model.cfg.dataset,
        "reader": reader.name,
        "pictures": len(labels),
        "test_pictures": len(test_labels),
        "feature_space": f"{reader.name}'s centred log-probabilities",
        **{k: round(v, 4) for k, v in made.items()},
        "per_class_read_as_asked": {
            name: round(float((reads[labels == c] == c).mean()), 4)
            for c, name in enumerate(model.labels)
        },
        "references": {
            "training pictures (a perfect generator)": {k: round(v, 4) for k, v in perfect.items()},
            "class mean plus noise (a useless one)": {k: round(v, 4) for k, v in useless.items()},
        },
        "provider": model.provider,
        "pictures_per_s": round(len(labels) / seconds, 1),
    }
    return Evaluation(report, generation_table(report))


def generation_table(report: dict[str, Any]) -> str:
    rows = [
        (
            "generated",
            {k: report[k] for k in ("conditional_accuracy", "frechet_distance", "diversity_min")},
        )
    ]
    rows += list(report["references"].items())
    lines = [f"{'':40} {'read as asked':>14} {'Frechet':>9} {'diversity (least class)':>24}"]
    for name, figures in rows:
        lines.append(
            f"{name:40} {figures['conditional_accuracy']:>14.2%} "
            f"{figures['frechet_distance']:>9.3f} {figures['diversity_min']:>24.3f}"
        )
    return "\n".join(lines)
