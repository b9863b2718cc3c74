"""The docs' figures, written from where they are measured.

Two sources, and nothing typed by hand in between:

* ``exported/manifest.json``: what export and ``visionplay eval NAME --record`` recorded for
  each shipped model (its figures, its training command and settings);
* ``docs/bench-summary.json``: the headline figures of the bench's last run (``visionplay
  bench`` writes ``summary.json`` beside ``bench.json``; copy it here), and
  ``exported/experiments/permute.json`` for the one experiment the docs quote.

A generated block in a Markdown file is

    <!-- figures: NAME [ARGUMENT] -->
    ...what this script writes...
    <!-- /figures -->

``python docs/figures.py`` rewrites every block of README.md, BENCHMARKS.md and docs/**.md;
``python docs/figures.py --check`` writes nothing and exits 1 naming each block that
differs from what it would write (tests/test_docs.py runs it, so a manifest or summary
changed without the docs fails CI). Standard library only: no visionplay, no torch.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "exported" / "manifest.json"
SUMMARY = ROOT / "docs" / "bench-summary.json"
PERMUTE = ROOT / "exported" / "experiments" / "permute.json"

BLOCK = re.compile(
    r"(?P<open><!-- figures: (?P<name>[\w-]+)(?: (?P<arg>[\w-]+))? -->\n)"
    r"(?P<body>.*?)"
    r"(?P<close><!-- /figures -->)",
    re.S,
)

# The shipped models, in the order the docs list them: the tab that shows each, and what
# it does in a few words. A model in the manifest and not here fails the check, so a new
# model cannot ship without its line in the README and its card.
MODELS = {
    "mnist": ("Draw", 'reads a drawn digit, or says "not a digit"'),
    "fashion_mnist": ("Photo", "names the garment in a picture"),
    "cifar10": ("Photo", "names the object in a photo (CIFAR-10's ten classes)"),
    "face_detector": ("Face", "finds every face in a picture: boxes, scores, six points"),
    "face_keypoints": ("Face", "puts 68 points on every face the detector finds"),
    "mnist_gan": ("Generate", "draws the digit asked for"),
    "fashion_gan": ("Generate", "draws the garment asked for"),
    "timeseries": ("Forecast", "forecasts the next 10 values of a series"),
}
DATASETS = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}
# Settings every trainer has that say nothing about the recipe.
PLUMBING = {"arch", "data_dir", "out", "device", "workers", "limit", "resume", "dry_run"}


class FiguresError(Exception):
    """A block or a source this script cannot write from: the message says which."""


class Sources:
    """The manifest, the bench's summary and the experiment, read once."""

    def __init__(self, root: Path = ROOT) -> None:
        self.manifest = json.loads((root / MANIFEST.relative_to(ROOT)).read_text())["models"]
        self.summary = json.loads((root / SUMMARY.relative_to(ROOT)).read_text())
        self.permute = json.loads((root / PERMUTE.relative_to(ROOT)).read_text())
        if set(self.manifest) != set(MODELS):
            raise FiguresError(
                f"docs/figures.py knows {sorted(MODELS)}, the manifest ships "
                f"{sorted(self.manifest)}: give each shipped model its line in MODELS and "
                "its card in docs/models/"
            )

    def model(self, name: str) -> dict[str, Any]:
        if name not in self.manifest:
            raise FiguresError(f"no model {name!r} in exported/manifest.json")
        return self.manifest[name]


def para(text: str) -> str:
    """A generated paragraph, wrapped as the hand-written ones are (a number and its unit
    stay on one line)."""
    glued = re.sub(r"(\d) (%|ms|s|min)(?!\w)", "\\1\0\\2", text)
    wrapped = textwrap.fill(glued, WIDTH, break_long_words=False, break_on_hyphens=False)
    return wrapped.replace("\0", " ")


WIDTH = 90

# Numbers, one way everywhere.


def pct(x: float, digits: int = 2) -> str:
    return f"{x * 100:.{digits}f} %"


def ms(x: float | None) -> str:
    if x is None:
        return "-"
    if x < 10:
        return f"{x:.2f} ms"
    return f"{x:.1f} ms" if x < 100 else f"{x:,.0f} ms"


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def ratio(x: float) -> str:
    return f"{x:.1f}x"


def day(summary: dict[str, Any]) -> str:
    return (summary.get("date") or "undated")[:10]


def machine(summary: dict[str, Any]) -> str:
    m = summary.get("machine", {})
    gpu = ", a GPU" if m.get("gpu") else ", no GPU"
    load = ""
    start, end = (m.get("load_average") or [None, None])[:2]
    if start is not None or end is not None:
        said = [
            f"{x:.1f} at the {when}"
            for x, when in ((start, "start"), (end, "end"))
            if x is not None
        ]
        load = f", load average {' and '.join(said)}"
    return f"{m.get('cpus', '?')} cores of an {m.get('cpu') or 'unknown CPU'}{gpu}{load}"


def run_named(summary: dict[str, Any]) -> str:
    """The run a bench figure comes from, as the docs name it."""
    command = summary.get("command") or "a command it does not name"
    return f"the bench's last run ({day(summary)}, {machine(summary)}; `{command}`)"


# What the headline says for each kind of model.


def headline(name: str, entry: dict[str, Any]) -> str:
    figures, task = entry["eval"], entry["task"]
    if task == "classification":
        dataset = DATASETS[entry["dataset"]]
        return f"{pct(figures['accuracy'])} right on the {dataset} test set"
    if task == "keypoints":
        return f"NME {figures['test_end_to_end']['nme']:.3f} end to end on the test frames"
    if task == "detection":
        p = figures["photos"]
        return (
            f"{pct(p['recall'], 0)} of {p['faces']} faces found in {p['photos']} real photos, "
            f"{p['invented']} invented"
        )
    if task == "generation":
        what = "digits" if entry["dataset"] == "mnist" else "garments"
        return f"{pct(figures['conditional_accuracy'])} of its {what} read as the class asked for"
    if task == "forecast":
        return f"MSE {figures['ten_mse']:.5f} over the next 10 values"
    raise FiguresError(f"no headline for {name}'s task {task!r}")


# The blocks. Each takes the sources and its argument and returns the block's text.


def block_models(src: Sources, _: str | None) -> str:
    """The README's table: every shipped model, its tab, its card, its headline."""
    rows = ["| model | tab | what it does | headline figure |", "| --- | --- | --- | --- |"]
    for name, (tab, what) in MODELS.items():
        card = f"[{name}](docs/models/{name}.md)"
        rows.append(f"| {card} | {tab} | {what} | {headline(name, src.model(name))} |")
    return "\n".join(rows)


def ratio_range(summary: dict[str, Any]) -> str:
    ratios = [m["ratio"] for m in summary.get("models", {}).values()]
    low, high = min(ratios), max(ratios)
    return ratio(low) if low == high else f"{ratio(low)} to {ratio(high)}"


def fewest(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return min(runs, key=lambda r: r["clients"])


def most(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return max(runs, key=lambda r: r["clients"])


def block_bench(src: Sources, _: str | None) -> str:
    """The README's one paragraph of speed: the last run's headline figures."""
    s = src.summary
    parts = []
    if s.get("models"):
        parts.append(
            f"onnxruntime answers {ratio_range(s)} faster than PyTorch eager on the same "
            f"weights at batch 1 ({len(s['models'])} models)"
        )
    draw = s.get("draw", {}).get("draw_tab")
    if draw and "p50_ms" in draw:
        parts.append(
            f"the Draw tab shows its answer {ms(draw['p50_ms'])} after pen-up "
            f"(p50 over {draw['drawings']} digits drawn in headless Chromium)"
        )
    server = s.get("server", {})
    tab = server.get("tabs", {}).get("draw")
    if tab and tab.get("server_p50_ms") is not None:
        parts.append(
            f"server-side, the Draw tab's `/draw` endpoint takes {ms(tab['server_p50_ms'])} "
            f"p50 with {tab['clients']} client"
        )
    if rest := server.get("rest"):
        one, many = fewest(rest), most(rest)
        text = f"the REST route {ms(one['p50_ms'])} p50 with {one['clients']} client"
        if many is not one:
            text += f", {many['requests_per_s']:.0f} requests/s with {many['clients']}"
        parts.append(text)
    if not parts:
        return para(f"The bench's last run measured nothing the README quotes ({run_named(s)}).")
    return para(
        f"From {run_named(s)}: " + "; ".join(parts) + ". Every table, and what the figures mean: "
        "[BENCHMARKS.md](BENCHMARKS.md)."
    )


def block_bench_last(src: Sources, _: str | None) -> str:
    """BENCHMARKS.md's summary of the last run, as docs/bench-summary.json holds it."""
    s = src.summary
    versions = ", ".join(f"{k} {v}" for k, v in s.get("versions", {}).items() if v)
    lines = [para(f"{run_named(s)[0].upper()}{run_named(s)[1:]}; {versions}."), ""]
    if s.get("models"):
        lines += [
            "| model | onnxruntime p50 | PyTorch p50 | ratio at batch 1 | predict p50 |",
            "| --- | --- | --- | --- | --- |",
        ]
        for name, m in s["models"].items():
            lines.append(
                f"| {name} | {ms(m['onnxruntime_p50_ms'])} | {ms(m['torch_p50_ms'])} | "
                f"{ratio(m['ratio'])} | {ms(m.get('predict_p50_ms'))} |"
            )
        lines.append("")
    notes = []
    server = s.get("server", {})
    if "startup_s" in server:
        notes.append(f"`visionplay serve` ready after {server['startup_s']:.2f} s")
    for tab, t in server.get("tabs", {}).items():
        if t.get("server_p50_ms") is not None:
            notes.append(
                f"`/{tab}` {ms(t['server_p50_ms'])} server-side p50 with {t['clients']} client"
            )
    for run in server.get("rest", []):
        notes.append(
            f"REST {ms(run['p50_ms'])} p50, {run['requests_per_s']:.0f} requests/s "
            f"with {run['clients']} client{'s' if run['clients'] > 1 else ''}"
        )
    if mixed := s.get("mixed"):
        notes.append(
            f"a small request beside heavy work {ms(mixed['loaded_p50_ms'])} p50, "
            f"{ms(mixed['loaded_p95_ms'])} p95"
        )
    for replicas in s.get("ray", []):
        run = most(replicas["rest"])
        notes.append(
            f"Ray Serve with {replicas['replicas']} replica(s) {run['requests_per_s']:.0f} "
            f"requests/s with {run['clients']} clients"
        )
    live = s.get("live", {})
    if "skipped" in live:
        notes.append(f"live part skipped ({live['skipped']})")
    if (face := live.get("face_live", {})).get("answers_per_s") is not None:
        notes.append(
            f"Face tab's live view {face['answers_per_s']:.1f} answers/s, capture -> drawn "
            f"{ms(face.get('p50_ms'))} p50"
        )
    if (stream := live.get("gradio_streaming")) and "updates_per_s" in stream:
        notes.append(f"Gradio's webcam streaming {stream['updates_per_s']:.1f} updates/s")
    draw = s.get("draw", {})
    if "skipped" in draw:
        notes.append(f"browser part skipped ({draw['skipped']})")
    for page, label in (("draw_tab", "Draw tab"), ("bare_sketchpad", "bare Sketchpad")):
        if page in draw and "p50_ms" in draw[page]:
            p = draw[page]
            notes.append(
                f"{label}: pen-up -> answer {ms(p['p50_ms'])} p50 "
                f"({p['answered']} of {p['drawings']} answered)"
            )
    if notes:
        lines.append(para("Also: " + "; ".join(notes) + "."))
    return "\n".join(lines).rstrip()


def block_bench_live(src: Sources, _: str | None) -> str:
    """BENCHMARKS.md's live camera view: the last run's live part against its targets,
    beside Gradio's own webcam streaming with a handler that does nothing."""
    s = src.summary
    live = s.get("live")
    if not live:
        return para(
            f"Not measured in {run_named(s)}: `visionplay bench` measures it (its live part, "
            "`--live SECONDS`)."
        )
    if "skipped" in live:
        return para(f"Skipped in {run_named(s)}: {live['skipped']}.")
    targets = live["targets"]

    def verdict(value: float | None, key: str, at_least: bool = False) -> str:
        if value is None:
            return ""
        return (
            "met"
            if (value >= targets[key] if at_least else value <= targets[key])
            else ("**not met**")
        )

    def part(name: str) -> dict[str, Any]:
        got = live.get(name, {})
        return {} if "skipped" in got else got

    face, still, gradio = (part(name) for name in ("face_live", "still", "gradio_streaming"))
    rows = [
        "| | Face tab's live view | Gradio's webcam streaming, doing nothing | target | |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, title in (
        ("face_live", "the live view"),
        ("still", "still face"),
        ("cameras", "cameras at once"),
        ("replayed_cameras", "cameras at once, replayed"),
        ("gradio_streaming", "Gradio's webcam streaming"),
    ):
        if "skipped" in live.get(name, {}):
            rows.append(f"| {title} | skipped: {live[name]['skipped']} | | | |")
    if face or gradio:
        rate = face.get("answers_per_s")
        ours = f"**{rate:.1f}**" if rate is not None else ""
        theirs = f"{gradio['updates_per_s']:.1f}" if gradio else ""
        rows.append(
            f"| answers drawn (Gradio: pictures shown) per second, one camera | {ours} | "
            f"{theirs} | >= {targets['answers_per_s']:g} | "
            f"{verdict(rate, 'answers_per_s', True)} |"
        )
        p50 = face.get("p50_ms")
        theirs = f"{ms(gradio['p50_ms'])} ({ms(gradio['p95_ms'])})" if "p50_ms" in gradio else ""
        ours = f"**{ms(p50)}** ({ms(face.get('p95_ms'))})" if p50 is not None else ""
        rows.append(
            f"| capture -> drawn, p50 (p95) | {ours} | {theirs} | "
            f"<= {targets['p50_ms']:g} ms | {verdict(p50, 'p50_ms')} |"
        )
    if "nme" in face:
        rows.append(
            "| NME of the answers that drew the face shown at capture | "
            f"**{face['nme']:.3f}** | | <= {targets['nme']:g} | {verdict(face['nme'], 'nme')} |"
        )
        if "missed_share" in face:
            rows.append(
                f"| answers that did not draw it (of {face['answers_scored']}) | "
                f"{pct(face['missed_share'], 0)} | | | |"
            )
    if "found_p50_ms" in face:
        rows.append(f"| a face that appears: drawn after, p50 | {ms(face['found_p50_ms'])} | | | |")
    if "jitter_pct" in still:
        rows.append(
            "| still face: each point's spread, % of the eye-corner distance (worst point) | "
            f"**{still['jitter_pct']:.2f} %** ({still['jitter_max_pct']:.2f} %) | | "
            f"<= {targets['jitter_pct']:g} % | {verdict(still['jitter_pct'], 'jitter_pct')} |"
        )
    for name, how in (("cameras", "pages"), ("replayed_cameras", "replayed by HTTP clients")):
        cameras = part(name)
        if not cameras:
            continue
        each = ", ".join(f"{x:.1f}" for x in cameras["answers_per_s"])
        rows.append(
            f"| {cameras['cameras']} cameras at once ({how}): answers per second, each | "
            f"{each} | | >= {targets['camera_answers_per_s']:g} | "
            f"{verdict(cameras['min_answers_per_s'], 'camera_answers_per_s', True)} |"
        )
        if "probe_p95_ms" in cameras:
            rows.append(
                "| beside them, `POST /predict/mnist` every 100 ms: p95 (p50) | "
                f"**{ms(cameras['probe_p95_ms'])}** ({ms(cameras['probe_p50_ms'])}) | | "
                f"<= {targets['probe_p95_ms']:g} ms | "
                f"{verdict(cameras['probe_p95_ms'], 'probe_p95_ms')} |"
            )
    intro = para(f"From {run_named(s)}, each part {live['seconds']:g} s:")
    return intro + "\n\n" + "\n".join(rows)


def block_shipped(src: Sources, _: str | None) -> str:
    """docs/models.md's table: each card, what it reads, its size, how long it trained."""
    rows = [
        "| card | tab | input | parameters | trained by | epochs | wall time |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, (tab, _what) in MODELS.items():
        m = src.model(name)
        t = m["training"]
        shape = "x".join(map(str, m["input_size"]))
        epochs = " + ".join(str(x["epochs"]) for x in t.get("members", [])) or t["epochs"]
        wall = minutes(t["wall_seconds"])
        if converted(t):
            epochs, wall = "converted", "(not trained here)"
        rows.append(
            f"| [{name}](models/{name}.md) | {tab} | {shape} | {m['parameters']:,} | "
            f"`{t['command']}` | {epochs} | {wall} |"
        )
    return "\n".join(rows)


def converted(training: dict[str, Any]) -> bool:
    """Whether the model was converted from a published one rather than trained here."""
    return training.get("origin", {}).get("trained_here") is False


def block_rebuild(src: Sources, _: str | None) -> str:
    """docs/models.md's commands: every recorded training, export and eval command."""
    lines = ["```bash", "export VISIONPLAY_DATA=~/data   # the real datasets"]
    for name in MODELS:
        t = src.model(name)["training"]
        for member in t.get("members", []):
            lines.append(f"{member['command']}   # {name}, one member of the ensemble")
        lines.append(f"{t['command']}   # {name}")
    lines.append("visionplay export --onnx")
    for name in MODELS:
        m = src.model(name)
        lines += [m[key]["command"] for key in ("eval", "eval_as_drawn") if key in m]
    lines.append("```")
    return "\n".join(lines)


def block_measured(src: Sources, name: str | None) -> str:
    """A card's figures, as ``visionplay eval NAME --record`` put them in the manifest."""
    m = src.model(name)
    task = m["task"]
    write = {
        "classification": measured_classifier,
        "keypoints": measured_keypoints,
        "detection": measured_detector,
        "generation": measured_generator,
        "forecast": measured_forecaster,
    }[task]
    commands = " and ".join(f"`{m[k]['command']}`" for k in ("eval", "eval_as_drawn") if k in m)
    return write(name, m) + "\n\n" + para(f"({commands}, recorded in exported/manifest.json.)")


def measured_classifier(name: str, m: dict[str, Any]) -> str:
    e = m["eval"]
    dataset = DATASETS[m["dataset"]]
    rows = [
        "| measured on | figure |",
        "| --- | --- |",
        f"| {dataset} test set, {e['images']:,} images | **{pct(e['accuracy'])}** right "
        f"({e['errors']} errors) |",
        f"| expected calibration error (test set) | {e['ece']:.4f} |",
        f"| mean top score (test set) | {e['mean_top_score']:.3f} |",
    ]
    if "test_called_not_a_digit" in e:
        rows.append(f'| test digits called "not a digit" | {pct(e["test_called_not_a_digit"])} |')
    if drawn := m.get("eval_as_drawn"):
        rows.append(
            f"| the same test digits, {drawn['split'].split(', ', 1)[1]} (`--as-drawn`) | "
            f"**{pct(drawn['accuracy'])}** right ({drawn['errors']} errors), "
            f'{pct(drawn["test_called_not_a_digit"])} called "not a digit" |'
        )
    for group, g in e.get("made_up", {}).items():
        verb = 'called "not a digit"' if group.startswith("not digits") else "read right"
        weak = [f"{kind} {pct(v, 1)}" for kind, v in g["per_kind"].items() if v < 0.95]
        weakest = f" (under 95 %: {', '.join(weak)})" if weak else ""
        rows.append(
            f"| made-up drawings, {group}, {g['drawings']:,} | {pct(g['right'], 1)} {verb}"
            f"{weakest} |"
        )
    rows.append(
        f"| throughput of `visionplay eval` ({e['provider']}) | {e['images_per_s']:,.0f} images/s |"
    )
    text = "\n".join(rows)
    calibrations = [m["calibration"]] if m.get("calibration") else []
    calibrations += [
        member["calibration"]
        for member in m["training"].get("members", [])
        if member.get("calibration")
    ]
    for i, c in enumerate(calibrations, 1):
        whose = f"Member {i}'s calibration" if len(calibrations) > 1 else "Calibration"
        text += "\n\n" + para(
            f"{whose} ({c['method']}), fitted on {c['images']:,} training images kept back: "
            f"temperature {c['temperature']:.3f}, their expected calibration error "
            f"{c['ece_before']:.3f} before and {c['ece_after']:.4f} after."
        )
    return text


def measured_keypoints(name: str, m: dict[str, Any]) -> str:
    e = m["eval"]
    true, end, held = e["test_true_box"], e["test_end_to_end"], e["validation_held_out_people"]
    found = round(end["face_found"] * end["frames"])
    rows = [
        "| | frames | NME | median | share over 0.1 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label, r, frames in (
        ("test, crops from the true points", true, true["frames"]),
        (f"test, end to end (face found in {found} of {end['frames']} frames)", end, found),
        (
            f"validation: training frames of {held['people']} held-out people",
            held,
            held["frames"],
        ),
    ):
        rows.append(
            f"| {label} | {frames} | **{r['nme']:.4f}** | {r['nme_median']:.4f} | "
            f"{pct(r['failures_over_0.1'])} |"
        )
    harder = e.get("test_end_to_end_harder", {})
    for kind, r in harder.items():
        if kind != "how":
            found = round(r["face_found"] * end["frames"])
            rows.append(
                f"| test, {kind}, end to end (face found in {found}) | {found} | "
                f"{r['nme']:.4f} | {r['nme_median']:.4f} | {pct(r['failures_over_0.1'])} |"
            )
    if harder:
        rows.append("")
        rows.append(para(f"Tilted, blurred and dim: {harder['how']}."))
    return (
        "\n".join(rows)
        + "\n\n"
        + para(
            f"NME: mean point error over the {e['normaliser']}. End to end, "
            f"`visionplay eval` took {ms(end['ms_per_frame'])} a frame ({e['provider']})."
            + detector_line(e.get("detector"))
        )
    )


def detector_line(d: dict[str, Any] | None) -> str:
    """What the keypoint model's detector found, in a sentence (its card has the rest)."""
    if not d or "photos" not in d:
        return ""
    p = d["photos"]
    return (
        f" Its detector, {d['model']}, found {pct(p['recall'], 1)} of the {p['faces']} faces "
        f"in {p['photos']} real photos, counted {p['wrong_counts']} of the photos wrong and "
        f"invented {p['invented']} faces."
    )


def measured_detector(name: str, m: dict[str, Any]) -> str:
    e = m["eval"]
    p, frames, small, timing = e["photos"], e["test_frames"], e["small_faces"], e["timing"]
    rows = [
        "| | photo path | one pass |",
        "| --- | --- | --- |",
        f"| real photos: {p['faces']} faces in {p['photos']}, found | **{pct(p['recall'], 1)}** "
        "| |",
        f"| real photos with a wrong count | **{p['wrong_counts']} of {p['photos']}** | "
        f"{p['wrong_counts_single_pass']} of {p['photos']} |",
        f"| faces invented in them | **{p['invented']}** | |",
        f"| test frames, face found ({frames['frames']}) | **{pct(frames['found'], 1)}** | "
        f"{pct(frames['found_single_pass'], 1)} |",
    ]
    for width, r in small["by_width"].items():
        rows.append(
            f"| pasted faces {width} px wide, found ({small['faces_per_size']}) | "
            f"**{pct(r['found'], 1)}** | {pct(r['found_single_pass'], 1)} |"
        )
    invented = sum(r["invented"] for r in small["by_width"].values())
    invented_once = sum(r["invented_single_pass"] for r in small["by_width"].values())
    rows.append(f"| faces invented around the pasted faces | **{invented}** | {invented_once} |")
    slowest = max(p["per_photo"], key=lambda r: r["ms"])
    return (
        "\n".join(rows)
        + "\n\n"
        + para(
            f"Time ({e['provider']}): one pass on a {timing['frame']} frame "
            f"{ms(timing['ms_single_pass'])}, the photo path on it "
            f"{ms(timing['ms_photo_path'])} (medians of {timing['runs']} runs); a real photo "
            f"{ms(p['ms_median'])} in the median, {ms(p['ms_max'])} at most "
            f"({slowest['photo']})."
        )
    )


def measured_generator(name: str, m: dict[str, Any]) -> str:
    e = m["eval"]
    dataset = DATASETS[m["dataset"]]
    rows = [
        f"| {e['pictures']:,} pictures, against the {e['test_pictures']:,} test pictures | "
        "read as asked | Fréchet distance | diversity, least class (mean) |",
        "| --- | --- | --- | --- |",
    ]

    def row(label: str, r: dict[str, Any]) -> str:
        return (
            f"| {label} | {pct(r['conditional_accuracy'])} | {r['frechet_distance']:.3g} | "
            f"{r['diversity_min']:.2f} ({r['diversity_mean']:.2f}) |"
        )

    rows.append(row(f"**{name}**", e))
    for label, r in e["references"].items():
        rows.append(row(f"{dataset} {label}", r))
    per_class = ", ".join(f"{k} {pct(v, 1)}" for k, v in e["per_class_read_as_asked"].items())
    return (
        "\n".join(rows)
        + "\n\n"
        + para(
            f"Read as asked, per class: {per_class}. Read by the shipped `{e['reader']}`, in "
            f"the feature space of {e['feature_space']}; {e['pictures_per_s']:,.0f} pictures/s "
            f"drawn ({e['provider']})."
        )
    )


def measured_forecaster(name: str, m: dict[str, Any]) -> str:
    e = m["eval"]
    rows = [
        "| model | outputs | parameters | training s | next value MSE | next 10 MSE | 10 steps |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in e["table"]:
        label = f"**{r['model']}** (shipped)" if r["model"] == name else r["model"]
        rows.append(
            f"| {label} | {r['horizon']} | {r['parameters']:,} | {r['train_seconds']} | "
            f"{r['next_mse']:.5f} | {r['ten_mse']:.5f} | {r['ten_how']} |"
        )
    intro = para(
        f"{e['series']:,} test series ({e['dataset']}): next value MSE "
        f"**{e['next_mse']:.5f}**, next 10 values **{e['ten_mse']:.5f}**. Beside every "
        "forecaster `--compare` was given:"
    )
    generated = real_series(
        e.get("generated_series"),
        "Generated here, by code apart from the training family's: processes whose best "
        "forecast is known (a walk's is its last value, a seasonal series' its season):",
    )
    real = real_series(e.get("real_series"))
    return intro + "\n\n" + "\n".join(rows) + real + generated


def real_series(real: dict[str, Any] | None, said: str = "") -> str:
    """The forecaster zero-shot on real series beside the baselines, if measured."""
    if not real:
        return ""
    fitted = "holt_winters" in real["series"][0]
    rows = [
        "| series | season | model | naive | seasonal naive |" + " Holt-Winters |" * fitted,
        "| --- | --- | --- | --- | --- |" + " --- |" * fitted,
    ]
    for r in real["series"]:
        hw = f" {r['holt_winters']:.2f}x |" if fitted else ""
        rows.append(
            f"| {r['series']} ({r['about']}) | {r['season'] or '-'} | **{r['model']:.2f}x** | "
            f"1.00x | {r['seasonal_naive']:.2f}x |{hw}"
        )
    said = said or (
        f"Zero-shot on statsmodels' real series ({real['protocol']}; seasonal naive with "
        "each series' own period, Holt-Winters damped and fitted per series and origin). "
        "All were printed while the forecaster was made, none trained on; the last eight "
        "were held out from its first version, and showed that its training family had too "
        "few random walks:"
    )
    summary = (
        f"Against seasonal naive: geometric mean "
        f"**{real['geometric_mean_vs_seasonal_naive']:.2f}x**, better on "
        f"{pct(real['share_better_than_seasonal_naive'], 0)} of the series; at worst "
        f"{real['worst_vs_naive']:.2f}x naive."
    )
    if fitted:
        summary += (
            " Holt-Winters: geometric mean "
            f"{real['holt_winters_geometric_mean_vs_seasonal_naive']:.2f}x."
        )
    return "\n\n" + para(said) + "\n\n" + "\n".join(rows) + "\n\n" + para(summary)


def block_training(src: Sources, name: str | None) -> str:
    """A card's training: the recorded command and settings, time, when exported."""
    m = src.model(name)
    t = m["training"]
    if converted(t):
        return conversion(name, m)
    lines = ["```bash"]
    lines += [member["command"] for member in t.get("members", [])]
    lines += [t["command"], "visionplay export --onnx", "```", ""]
    if members := t.get("members"):
        lines += ["| member | epochs | wall time |", "| --- | --- | --- |"]
        for member in members:
            lines.append(
                f"| `{member['command']}` | {member['epochs']} | "
                f"{minutes(member['wall_seconds'])} |"
            )
        lines.append("")
    settings = {
        k: v
        for k, v in t["args"].items()
        if k not in PLUMBING | {"epochs", "members"} and v not in (None, {})
    }
    done = f"{t['epochs']} epochs, {minutes(t['wall_seconds'])} of wall time"
    if members:
        done = f"{t['epochs']} epochs in all, {minutes(t['wall_seconds'])} of wall time"
    summary = (
        f"{done}, torch {t['torch_version']}; {m['parameters']:,} parameters; exported "
        f"{m['exported_at'][:10]} (onnxruntime within {m['parity_max_abs_diff']:.1e} of PyTorch)."
    )
    if settings:
        recipe = ", ".join(f"`{k}` {json.dumps(v)}" for k, v in settings.items())
        summary += f" Settings: {recipe}."
    lines.append(para(summary))
    if curves := t.get("curves"):
        lines += ["", f"![{name}'s training curves](../../exported/{curves})"]
    return "\n".join(lines)


def conversion(name: str, m: dict[str, Any]) -> str:
    """A converted model's origin, licences and the check of the conversion."""
    o = m["training"]["origin"]
    check = o["parity_with_original"]
    lines = ["```bash", m["training"]["command"], f"visionplay export --onnx runs/{name}/{name}.pt"]
    lines += ["```", ""]
    text = (
        f"Not trained here: {o['model']}, by {o['authors']} ({o['licence']}; {o['paper']}), "
        f"taken from {o['taken_from']} ({o['taken_from_licence']}). Converted by "
        f"{o['converted_by']}; against the original run by {check['against']} on "
        f"{check['pictures']} pictures, the largest difference in any output value is "
        f"{check['max_abs_diff']:.1e}. {m['parameters']:,} parameters; exported "
        f"{m['exported_at'][:10]} (onnxruntime within {m['parity_max_abs_diff']:.1e} of "
        "PyTorch)."
    )
    return "\n".join(lines) + "\n" + para(text)


def block_speed(src: Sources, name: str | None) -> str:
    """A card's speed, from the bench's last run."""
    s = src.summary
    figures = s.get("models", {}).get(name)
    if not figures:
        return para(
            f"Not measured in {run_named(s)}: `visionplay bench {name}` measures it "
            "([BENCHMARKS.md](../../BENCHMARKS.md))."
        )
    text = (
        f"In {run_named(s)}: one forward pass at batch 1 takes "
        f"**{ms(figures['onnxruntime_p50_ms'])}** p50 through onnxruntime and "
        f"{ms(figures['torch_p50_ms'])} through PyTorch eager on the same weights "
        f"({ratio(figures['ratio'])})"
    )
    if "predict_p50_ms" in figures:
        text += (
            f"; `load('{name}').predict` on an example, decoding and preprocessing "
            f"included, {ms(figures['predict_p50_ms'])}"
        )
    text += "."
    tabs = s.get("server", {}).get("tabs", {})
    if name == "mnist":
        draw = s.get("draw", {}).get("draw_tab")
        if draw and "p50_ms" in draw:
            text += (
                f" In the Draw tab the answer is on screen {ms(draw['p50_ms'])} after pen-up "
                f"(p50, {draw['drawings']} digits drawn in headless Chromium)."
            )
        if (server := tabs.get("draw", {}).get("server_p50_ms")) is not None:
            text += (
                f" A program sending strokes to the tab's `/draw` endpoint: {ms(server)} "
                f"server-side (p50, {tabs['draw']['clients']} client)."
            )
    if name == "mnist_gan":
        gen, read = tabs.get("generate", {}), tabs.get("generate_read", {})
        if gen.get("server_p50_ms") is not None and read.get("server_p50_ms") is not None:
            text += (
                f" The Generate tab, server-side p50: 64 digits drawn in "
                f"{ms(gen['server_p50_ms'])}, drawn and read by `mnist` in "
                f"{ms(read['server_p50_ms'])}."
            )
    return para(text + " Every table: [BENCHMARKS.md](../../BENCHMARKS.md).")


def block_permute(src: Sources, _: str | None) -> str:
    """docs/models.md's experiment: exported/experiments/permute.json."""
    p = src.permute
    rows = [
        "| model | parameters | plain | permuted |",
        "| --- | --- | --- | --- |",
    ]
    labels = {"fc2": "FC2(8)", "cnn_small": "CNN-small(6)"}
    for key, r in p["table"].items():
        rows.append(
            f"| {labels.get(key, key)} | {p['parameters'][key]:,} | {pct(r['plain'])} | "
            f"{pct(r['permuted'])} |"
        )
    intro = para(
        f"{p['epochs']} epoch, {p['optimizer']}, {p['train_images']:,} training and "
        f"{p['test_images']:,} test images, seed {p['seed']}:"
    )
    return intro + "\n\n" + "\n".join(rows)


BLOCKS: dict[str, Callable[[Sources, str | None], str]] = {
    "models": block_models,
    "bench": block_bench,
    "bench-last": block_bench_last,
    "bench-live": block_bench_live,
    "shipped": block_shipped,
    "rebuild": block_rebuild,
    "measured": block_measured,
    "training": block_training,
    "speed": block_speed,
    "permute": block_permute,
}
NEEDS_MODEL = {"measured", "training", "speed"}


def documents(root: Path = ROOT) -> Iterator[Path]:
    """Every Markdown file that may hold a block."""
    yield from (root / name for name in ("README.md", "BENCHMARKS.md"))
    yield from sorted((root / "docs").rglob("*.md"))


def render(text: str, src: Sources, where: str = "") -> str:
    """``text`` with every block written anew."""

    def fill(match: re.Match) -> str:
        name, arg = match["name"], match["arg"]
        if name not in BLOCKS:
            raise FiguresError(f"{where}: unknown figures block {name!r}; known: {sorted(BLOCKS)}")
        if (name in NEEDS_MODEL) != (arg is not None):
            wants = "a model's name" if name in NEEDS_MODEL else "no argument"
            raise FiguresError(f"{where}: block {name!r} takes {wants}")
        body = BLOCKS[name](src, arg)
        return f"{match['open']}{body}\n{match['close']}"

    return BLOCK.sub(fill, text)


def blocks(text: str) -> list[tuple[str, str | None, str]]:
    """Each block's name, argument and body, in order."""
    return [(m["name"], m["arg"], m["body"]) for m in BLOCK.finditer(text)]


def drift(root: Path = ROOT, src: Sources | None = None) -> list[str]:
    """Where the docs differ from what this script would write now: one line each."""
    src = src or Sources(root)
    found = []
    for path in documents(root):
        text = path.read_text()
        fresh = render(text, src, str(path.relative_to(root)))
        for (name, arg, old), (_, _, new) in zip(blocks(text), blocks(fresh), strict=True):
            if old != new:
                found.append(f"{path.relative_to(root)}: block {name}{' ' + arg if arg else ''}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python docs/figures.py", description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 on drift")
    args = parser.parse_args(argv)
    try:
        return write_or_check(args.check)
    except FiguresError as error:
        print(f"docs/figures.py: {error}", file=sys.stderr)
        return 2


def write_or_check(check: bool) -> int:
    src = Sources()
    if check:
        stale = drift(ROOT, src)
        for line in stale:
            print(f"out of date: {line}", file=sys.stderr)
        if stale:
            print("run `python docs/figures.py` and commit what it writes", file=sys.stderr)
        return 1 if stale else 0
    for path in documents():
        text = path.read_text()
        fresh = render(text, src, str(path.relative_to(ROOT)))
        if fresh != text:
            path.write_text(fresh)
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
