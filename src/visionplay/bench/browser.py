"""The bench's browser part: Chromium draws digits on the Draw tab, timed inside the page.

Playwright moves the mouse over the canvas (``#digit-sketchpad``), digit after digit with
Clear (``#digit-clear``) between them; a script in the page takes ``pointerup``'s own time
stamp and, through a MutationObserver on ``#digit-label``, the moment the label's text
changes (``performance.now()``; nothing is timed from Python). Pen-up -> answer is the time
from ``pointerup`` to the label showing the answer to the drawing as it was at pen-up: on
the Draw tab the answer names the drawing it read ("read from 1 stroke, 64 points"), so a
late answer to an earlier drawing does not count; on the bare Sketchpad, which answers
nothing before pen-up, it is the label's first text after it. Then one slow stroke (a
point every ~20 ms): the longest time the label went unchanged while the pen was down,
from pen-down to pen-up.

The same runs on a bare ``gr.Sketchpad`` page (what the Draw tab was: Gradio's image
editor, a handler that does nothing), started here in a child process, for comparison.

Playwright and a Chromium are optional: without them the part is skipped with a note.
Run ``python -m visionplay.bench.browser bare-sketchpad --port N`` to serve the bare page.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .. import strokes as pen
from .server import free_port, start_child, start_server, stop_server
from .timing import latency_figures

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ANSWER_TIMEOUT_MS = 20_000
VIEWPORT = {"width": 1280, "height": 1000}


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float):
    return pen.arc(cx, cy, rx, ry, start, end, steps=24)


# Each digit as a hand draws it: polylines in a unit box, x right, y down (the shapes of
# tests/digits.py, which the browser tests draw).
DIGITS: dict[str, list[list[tuple[float, float]]]] = {
    "0": [_arc(0.5, 0.5, 0.32, 0.48, 0, 360)],
    "1": [[(0.35, 0.2), (0.55, 0.02), (0.55, 1.0)]],
    "2": [_arc(0.5, 0.28, 0.32, 0.26, 190, 360) + [(0.75, 0.45), (0.15, 1.0), (0.9, 1.0)]],
    "3": [_arc(0.48, 0.26, 0.3, 0.24, 200, 450), _arc(0.48, 0.74, 0.34, 0.26, 270, 520)],
    "4": [[(0.65, 1.0), (0.65, 0.0), (0.1, 0.68), (0.95, 0.68)]],
    "5": [[(0.85, 0.02), (0.25, 0.02), (0.2, 0.45)] + _arc(0.5, 0.68, 0.36, 0.3, 230, 500)],
    "6": [[(0.75, 0.02), (0.3, 0.4)] + _arc(0.5, 0.7, 0.3, 0.3, 180, 540)],
    "7": [[(0.1, 0.03), (0.9, 0.03), (0.4, 1.0)]],
    "8": [_arc(0.5, 0.25, 0.25, 0.23, 90, 450), _arc(0.5, 0.73, 0.32, 0.27, -90, 270)],
    "9": [_arc(0.48, 0.3, 0.3, 0.28, 0, 360), [(0.78, 0.3), (0.72, 1.0)]],
}


def digit_path(
    digit: str, box: dict[str, float], size: float = 200, aspect: float = 0.7
) -> list[list[tuple[float, float]]]:
    """``digit``'s strokes in page coordinates, ``size`` canvas pixels tall, centred on the
    canvas whose bounding box (CSS pixels) is ``box``."""
    scale = box["width"] / pen.CANVAS
    left = box["x"] + (pen.CANVAS - size * aspect) / 2 * scale
    top = box["y"] + (pen.CANVAS - size) / 2 * scale
    return [
        [(left + x * size * aspect * scale, top + y * size * scale) for x, y in stroke]
        for stroke in DIGITS[digit]
    ]


def digit_strokes(digit: str, seed: int | None = None, width: float = 18) -> str:
    """``digit`` as the Draw tab's canvas sends it (strokes JSON), 200 px tall in the middle
    of the canvas; with a seed, shifted and stretched a little, as no two hands draw it
    alike. What the bench's app part sends to ``/draw``."""
    rng = np.random.default_rng(seed)
    shift = rng.uniform(-30, 30, 2) if seed is not None else np.zeros(2)
    size = 200 * (rng.uniform(0.85, 1.15) if seed is not None else 1)
    box = {"x": shift[0], "y": shift[1], "width": pen.CANVAS}
    strokes = [
        {"width": width, "points": np.clip(np.round(stroke, 1), 0, pen.CANVAS).tolist()}
        for stroke in digit_path(digit, box, size)
    ]
    return pen.to_json(strokes)


def _static_js(name: str) -> str:
    """A page script shipped beside this module (static/<name>), for Playwright to evaluate."""
    return (resources.files(__package__) / "static" / name).read_text(encoding="utf-8")


# Installed once the page has its label: what the bench reads back (see the script).
RECORDER_JS = _static_js("recorder.js")


def chromium_path() -> str | None:
    """A Chromium to drive: on PATH, /usr/bin/chromium, or Playwright's own download."""
    for name in ("chromium", "chromium-browser", "/usr/bin/chromium"):
        if path := shutil.which(name):
            return path
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            bundled = p.chromium.executable_path
        return bundled if os.path.exists(bundled) else None
    except Exception:  # no playwright, or no browser of its own
        return None


def raised_threads(root: int) -> list[int]:
    """The threads, among ``root``'s descendant processes, running above normal priority
    (a negative nice value). Linux only (``/proc``); elsewhere none."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:  # "pid (name) state ppid ...": the name may hold spaces, so split after it
            parents[int(entry.parent.name)] = int(entry.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    raised = []
    for pid in parents:
        ancestor = parents.get(pid)
        while ancestor and ancestor != root:
            ancestor = parents.get(ancestor)
        if ancestor != root:
            continue
        for task in Path(f"/proc/{pid}/task").glob("[0-9]*"):
            try:
                if os.getpriority(os.PRIO_PROCESS, int(task.name)) < 0:
                    raised.append(int(task.name))
            except OSError:
                continue
    return raised


@contextmanager
def at_normal_priority(every_s: float = 0.5) -> Iterator[None]:
    """Meanwhile, every thread this process's children (Chromium) raise above normal
    priority is put back to it. Chromium raises its display threads (compositor, IO, video
    frames) to nice -8 where it may: as root, as the bench runs here and in CI. A user's
    Chromium may not, and the cameras the bench's pages stand in for are other machines,
    not the server's own cores."""
    if not Path("/proc/self/task").exists():
        yield
        return
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(every_s):
            for thread in raised_threads(os.getpid()):
                try:
                    os.setpriority(os.PRIO_PROCESS, thread, 0)
                except OSError:
                    continue

    watcher = threading.Thread(target=watch, name="normal-priority", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()


def missing_browser() -> str:
    """Why the browser part cannot run here, or "" when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    if not chromium_path():
        return "no Chromium: none on PATH, no /usr/bin/chromium, no `playwright install chromium`"
    return ""


PAGES = ("draw_tab", "bare_sketchpad")


def bench_browser(
    directory: Path, drawings: int = 10, slow_s: float = 3.0, pages: tuple[str, ...] = PAGES
) -> dict[str, Any]:
    """Both pages, one after the other (these machines have few cores): the Draw tab
    (``visionplay serve`` over ``directory``) and the bare Sketchpad. Each: ``drawings``
    digits with Clear between them, then one slow stroke of about ``slow_s`` seconds."""
    missing = missing_browser()
    if not (Path(directory) / "mnist.onnx").exists():
        missing = f"no mnist model in {directory}: the Draw tab needs it"
    if missing:
        return {"skipped": missing}
    from playwright.sync_api import sync_playwright

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            for page_name in pages:
                port = free_port()
                log = Path(tmp, f"{page_name}.log")
                if page_name == "draw_tab":
                    server, startup = start_server(directory, port, log)
                else:
                    server, startup = start_bare_sketchpad(port, log)
                url = f"http://127.0.0.1:{port}/"
                try:
                    result = drive_page(browser, url, drawings, slow_s, page_name == "draw_tab")
                    if page_name == "bare_sketchpad":
                        result["round_trips"] = round_trips(browser, url)
                finally:
                    stop_server(server)
                results[page_name] = {"startup_s": round(startup, 2), **result}
        finally:
            browser.close()
    return results


def drive_page(browser, url: str, drawings: int, slow_s: float, ours: bool) -> dict[str, Any]:
    """Draw on one page and read its recorder (see the module's docstring)."""
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(url)
        page.wait_for_selector("#digit-sketchpad canvas", timeout=60_000)
        page.wait_for_selector("#digit-label", state="attached", timeout=60_000)
        page.evaluate(RECORDER_JS)
        runs = []
        digits = list(DIGITS)
        for i in range(drawings):
            clear(page, ours)
            runs.append(draw_digit(page, digits[i % len(digits)], ours))
        clear(page, ours)
        slow = slow_stroke(page, slow_s, ours)
    finally:
        page.close()
    latencies = [r["ms"] for r in runs if r["ms"] is not None]
    summary: dict[str, Any] = {"drawings": len(runs), "answered": len(latencies)}
    summary |= latency_figures(latencies, most=True)
    if ours:
        summary["read_right"] = sum(r["top"] == r["digit"] for r in runs)
    return {**summary, "slow_stroke": slow, "runs": runs}


def clear(page, ours: bool) -> None:
    """Clear, and wait until the page shows no answer and takes strokes again."""
    page.locator("#digit-clear").click()
    if not ours:
        # Gradio's editor empties after a round trip, and drops its brush then (the
        # brush-ready script picks it again): a stroke before that is lost.
        page.wait_for_timeout(1000)
        page.wait_for_selector(
            '#digit-sketchpad .toolbar-wrap button[aria-label="Brush"].highlight',
            timeout=ANSWER_TIMEOUT_MS,
        )
    page.wait_for_function("() => !window.__vpShown()", timeout=ANSWER_TIMEOUT_MS)
    page.wait_for_timeout(300)  # the next drawing starts on a quiet page


def canvas_box(page) -> dict[str, float]:
    """Where the 400 x 400 drawing page is, in CSS pixels: the Draw tab's canvas, or the
    square at the centre of the Sketchpad's (which spans its whole editor, at 100 %)."""
    box = page.locator("#digit-sketchpad canvas").first.bounding_box()
    side = min(box["width"], box["height"], pen.CANVAS)
    return {
        "x": box["x"] + (box["width"] - side) / 2,
        "y": box["y"] + (box["height"] - side) / 2,
        "width": side,
        "height": side,
    }


def draw_digit(page, digit: str, ours: bool) -> dict[str, Any]:
    """Draw ``digit`` with the mouse, wait for its answer; pen-up -> answer in ms (None if
    no answer came), and the top class shown (the Draw tab only).

    The Draw tab's answer names the drawing it read, so its strokes follow one another as
    a hand draws them. The bare page's answers are all alike (a count): there each stroke
    waits for the answer to the one before, and the last pen-up is timed."""
    from playwright.sync_api import TimeoutError as Timeout

    up = 0.0
    try:
        for stroke in digit_path(digit, canvas_box(page)):
            page.mouse.move(*stroke[0])
            page.mouse.down()
            for point in stroke[1:]:
                page.mouse.move(*point, steps=2)
            page.mouse.up()
            up, drawing = page.evaluate("() => window.__vpBench.ups.at(-1)")
            if not ours:
                page.wait_for_function(
                    "(up) => window.__vpBench.changes.some(([t, text]) => t >= up && text.trim())",
                    arg=up,
                    timeout=ANSWER_TIMEOUT_MS,
                )
        if ours:
            expected = f"read from {pen.describe_counts(drawing['strokes'], drawing['points'])}"
            page.wait_for_function(
                "(want) => window.__vpShown().includes(want)",
                arg=expected,
                timeout=ANSWER_TIMEOUT_MS,
            )
    except Timeout:  # this drawing went unanswered
        return {"digit": digit, "ms": None, "top": None}
    changes = page.evaluate("() => window.__vpBench.changes")
    if ours:
        down = page.evaluate("() => window.__vpBench.downs.at(-1)")
        first = next(t for t, text in changes if t >= down and expected in text)
    else:
        first = next(t for t, text in changes if t >= up and text.strip())
    top = page.locator("#digit-label .digit-top").text_content() if ours else None
    return {"digit": digit, "ms": round(max(0.0, first - up), 1), "top": top}


def slow_stroke(page, seconds: float, ours: bool) -> dict[str, Any]:
    """One stroke (a 2) drawn at a steady pace over ``seconds``, a move every ~20 ms as far
    as the page keeps up (a page that takes longer over a move gets fewer); how often the
    label changed while the pen was down."""
    path = np.array(digit_path("2", canvas_box(page))[0])
    along = np.concatenate([[0], np.cumsum(np.hypot(*np.diff(path, axis=0).T))])

    def point(fraction: float) -> tuple[float, float]:
        at = min(fraction, 1.0) * along[-1]
        return float(np.interp(at, along, path[:, 0])), float(np.interp(at, along, path[:, 1]))

    page.mouse.move(*point(0))
    page.mouse.down()
    began, moves = time.perf_counter(), 0
    while (elapsed := time.perf_counter() - began) < seconds:
        page.mouse.move(*point(elapsed / seconds))
        moves += 1
        time.sleep(max(0.0, 0.02 - (time.perf_counter() - began - elapsed)))
    page.mouse.move(*point(1))
    page.mouse.up()
    page.wait_for_timeout(1000)  # the answers to the end of the stroke
    rec = page.evaluate("() => window.__vpBench")
    down, up = rec["downs"][-1], rec["ups"][-1][0]
    during = [t for t, _ in rec["changes"] if down <= t <= up]
    marks = [down, *during, up]
    return {
        "moves": moves + 1,
        "duration_ms": round(up - down, 1),
        "label_changes": len(during),
        "longest_gap_ms": round(max(b - a for a, b in zip(marks[:-1], marks[1:], strict=True)), 1),
    }


def bare_sketchpad_app():
    """The Draw tab as it was, without the model: Gradio's Sketchpad, a Label and Clear."""
    import gradio as gr

    from ..ui.widgets import BRUSH_READY_JS

    with gr.Blocks(title="bare Sketchpad") as demo:
        pad = gr.Sketchpad(
            type="numpy",
            image_mode="RGBA",
            canvas_size=(400, 400),
            brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"),
            layers=False,
            transforms=(),
            height=500,
            elem_id="digit-sketchpad",
            elem_classes=["brush-ready"],
        )
        clear_button = gr.Button("Clear", elem_id="digit-clear")
        label = gr.Label(show_label=False, elem_id="digit-label")
        answers = itertools.count(1)

        def answer(value: dict | None) -> dict | None:  # a count for any ink, None for none
            ink = (
                value is not None
                and value.get("composite") is not None
                and value["composite"][..., 3].any()
            )
            return {f"answer {next(answers)}": 1.0} if ink else None

        pad.change(
            answer, pad, label, trigger_mode="always_last", show_progress="hidden", api_name="draw"
        )
        clear_button.click(
            lambda: (None, None), None, [pad, label], show_progress="hidden", api_name=False
        )
        demo.load(None, js=BRUSH_READY_JS)
    # What a round trip costs here, on a page of its own (the Sketchpad keeps its page
    # busy): a Gradio event (textbox to textbox, through the queue) and a gr.HTML server
    # function (the Draw tab's way), both doing nothing.
    with demo.route("Round trips", "echo", show_in_navbar=False):
        echo_in = gr.Textbox(label="echo in", elem_id="echo-in")
        echo_out = gr.Textbox(label="echo out", elem_id="echo-out")
        echo_in.change(
            lambda text: text,
            echo_in,
            echo_out,
            show_progress="hidden",
            api_name="echo",
            api_visibility="private",
        )

        def echo(text: str) -> str:
            return text

        gr.HTML("", js_on_load="window.__vpEcho = server.echo;", server_functions=[echo])
    return demo


# The bare app's echo page, asked `count` times each way (see the script).
ROUND_TRIPS_JS = _static_js("round_trips.js")


def round_trips(browser, url: str, count: int = 30) -> dict[str, dict[str, float]]:
    """p50/p95 ms of ``count`` round trips from the bare app's echo page, each doing
    nothing on the server: a Gradio event through its queue, a gr.HTML server function."""
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(url + "echo")
        page.wait_for_function("() => window.__vpEcho", timeout=60_000)
        page.wait_for_selector("#echo-in textarea", timeout=60_000)
        times = page.evaluate(ROUND_TRIPS_JS, count)
    finally:
        page.close()
    result = {}
    for name, key in (("gradio_event", "event"), ("server_function", "call")):
        result[name] = latency_figures(times[key])
    return result


def start_bare_sketchpad(port: int, log: Path, timeout: float = 120) -> tuple[Any, float]:
    """The bare Sketchpad page in a child process on ``port``; it and its seconds to ready."""
    command = [
        sys.executable,
        "-m",
        "visionplay.bench.browser",
        "bare-sketchpad",
        "--port",
        str(port),
    ]
    return start_child(
        command, f"http://127.0.0.1:{port}/", log, timeout, "the bare Sketchpad page"
    )


def format_browser(result: dict[str, Any]) -> list[str]:
    """The browser part's lines of the printed report."""
    if "skipped" in result:
        return ["", f"browser: skipped ({result['skipped']})"]
    nan = float("nan")
    lines = [
        "",
        "browser: headless Chromium draws digits with the mouse, Clear between them; "
        "pen-up -> answer timed in the page (ms); then one slow stroke",
        f"{'page':<16}{'answered':>10}{'p50':>8}{'p95':>8}{'max':>8}"
        f"{'slow stroke: moves':>20}{'label changes':>15}{'longest gap':>13}",
    ]
    for name, page in result.items():
        slow = page["slow_stroke"]
        answered = f"{page['answered']}/{page['drawings']}"
        lines.append(
            f"{name:<16}{answered:>10}{page.get('p50_ms', nan):>8.1f}"
            f"{page.get('p95_ms', nan):>8.1f}{page.get('max_ms', nan):>8.1f}"
            f"{slow['moves']:>20}{slow['label_changes']:>15}{slow['longest_gap_ms']:>13.1f}"
        )
    for page in result.values():
        if trips := page.get("round_trips"):
            event, call = trips["gradio_event"], trips["server_function"]
            lines.append(
                f"round trip from the page, nothing done on the server: Gradio event "
                f"{event['p50_ms']:.1f} ms p50 ({event['p95_ms']:.1f} p95), gr.HTML server "
                f"function {call['p50_ms']:.1f} ms ({call['p95_ms']:.1f})"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m visionplay.bench.browser")
    parser.add_argument("page", choices=["bare-sketchpad"])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    bare_sketchpad_app().launch(server_name="127.0.0.1", server_port=args.port, quiet=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
