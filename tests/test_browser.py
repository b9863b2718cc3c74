"""The app in a real Chromium: digits drawn on the Draw tab's canvas (mouse, touch, slow,
cleared) are read as they are drawn; a face upload is counted; a generated series gets its
forecast; the Learn tab's panels compute; the bench's browser part runs.

Needs Chromium (``/usr/bin/chromium`` or ``chromium`` on PATH) and the playwright package; without
them the test skips, unless ``VISIONPLAY_REQUIRE_BROWSER=1`` makes their absence a failure.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from digits import STROKES

from visionplay import strokes as pen
from visionplay.bench.browser import CHROMIUM_ARGS  # the flags the bench runs it with
from visionplay.inference import models_dir
from visionplay.ui.draw import DRAW_HINT

TIMEOUT_MS = 20_000  # a page load plus a prediction, on a busy machine


def stroke(page, points: list[tuple[float, float]], steps: int = 4) -> None:
    """One mouse stroke through ``points``, with intermediate moves like a real hand."""
    page.mouse.move(*points[0])
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*point, steps=steps)
    page.mouse.up()


@pytest.fixture
def browser(chromium: str):
    """A Chromium, closed after the test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, app_url: str):
    """A Chromium page on the app."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(app_url)
    return page


# --- The Draw tab's canvas ------------------------------------------------------------------

CANVAS = "#digit-sketchpad canvas"


def digit_points(box: dict, digit: str, size: float = 200, centre=(200, 200), aspect=0.7):
    """The strokes of digits.py's ``digit`` in page coordinates, on the canvas at ``box``."""
    scale = box["width"] / 400
    left, top = centre[0] - size * aspect / 2, centre[1] - size / 2
    return [
        [
            (box["x"] + (left + x * size * aspect) * scale, box["y"] + (top + y * size) * scale)
            for x, y in polyline
        ]
        for polyline in STROKES[digit]
    ]


def drawing(page) -> dict:
    """What the canvas holds: strokes and points counted, and the strokes JSON."""
    return page.evaluate(f"() => document.querySelector('{CANVAS}').vpDrawing()")


def expect_answer(page, digit: str | None = None) -> None:
    """The label shows the answer to the drawing as it is now (and names ``digit``)."""
    from playwright.sync_api import expect

    held = drawing(page)
    read = f"read from {pen.describe_counts(held['strokes'], held['points'])}"
    expect(page.locator("#digit-label .digit-read")).to_have_text(read, timeout=TIMEOUT_MS)
    expect(page.locator("#digit-message")).to_have_text("")
    if digit is not None:
        expect(page.locator("#digit-label .digit-top")).to_have_text(digit)


def expect_hint(page) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#digit-message")).to_have_text(DRAW_HINT, timeout=TIMEOUT_MS)
    expect(page.locator("#digit-label")).to_have_text("")
    expect(page.locator("#digit-seen")).to_have_class(re.compile(r"\bvp-none\b"))


@pytest.mark.browser
def test_ten_digits_drawn_with_clear_between(page) -> None:
    """Each digit of digits.py drawn with the mouse, Clear before the next: every one is
    answered, right, with what the model saw; the canvas keeps every stroke."""
    from playwright.sync_api import expect

    assert (models_dir() / "mnist.onnx").exists(), f"no mnist model in {models_dir()}"
    box = page.locator(CANVAS).bounding_box()
    expect_hint(page)
    for digit in "0123456789":
        for polyline in digit_points(box, digit):
            stroke(page, polyline, steps=2)
        assert drawing(page)["strokes"] == len(STROKES[digit])
        expect_answer(page, digit)
        expect(page.locator("#digit-seen")).not_to_have_class(re.compile(r"\bvp-none\b"))
        page.locator("#digit-clear").click()
        expect_hint(page)
        assert drawing(page)["strokes"] == 0


@pytest.mark.browser
def test_a_digit_drawn_by_touch(browser, app_url) -> None:
    """A finger draws as the mouse does: touch events (through Chromium's input pipeline,
    as a touch screen sends them) become pointer events of type touch, and a 7 is read."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, has_touch=True)
    page = context.new_page()
    page.goto(app_url)
    box = page.locator(CANVAS).bounding_box()
    page.evaluate(f"""() => {{ window.__kinds = [];
        document.querySelector('{CANVAS}').addEventListener('pointerdown',
            (e) => window.__kinds.push(e.pointerType)); }}""")
    touch = page.context.new_cdp_session(page)
    (polyline,) = digit_points(box, "7")
    pairs = zip(polyline[:-1], polyline[1:], strict=True)
    dense = [
        tuple(a + (b - a) * t / 8 for a, b in zip(p, q, strict=True))
        for p, q in pairs
        for t in range(8)
    ]
    for kind, (x, y) in [("touchStart", dense[0]), *[("touchMove", p) for p in dense[1:]]]:
        touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
    touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    assert page.evaluate("() => window.__kinds") == ["touch"]
    assert drawing(page)["strokes"] == 1 and drawing(page)["points"] > 10
    expect_answer(page, "7")
    context.close()


@pytest.mark.browser
def test_the_label_moves_while_a_slow_stroke_is_drawn(page) -> None:
    """A 2 drawn slowly: the answer changes while the pen is still down, again and again,
    and once more for the whole stroke after pen-up."""
    box = page.locator(CANVAS).bounding_box()
    page.evaluate("""() => {
      const label = document.querySelector('#digit-label');
      window.__answers = [];
      new MutationObserver(() => window.__answers.push(label.textContent))
        .observe(label, {childList: true, subtree: true, characterData: true});
    }""")
    (polyline,) = digit_points(box, "2")
    page.mouse.move(*polyline[0])
    page.mouse.down()
    for point in polyline[1:]:
        page.mouse.move(*point, steps=3)
        page.wait_for_timeout(40)
    during = page.evaluate("() => new Set(window.__answers.filter((t) => t)).size")
    page.mouse.up()
    assert during >= 3, f"the label changed {during} times while the pen was down"
    expect_answer(page, "2")


@pytest.mark.browser
def test_blank_and_cleared_canvas_show_the_hint(page) -> None:
    """A new page shows the hint; so does a cleared canvas, at once, and no answer still on
    its way when Clear was pressed shows up afterwards. Undo takes the last stroke away."""
    box = page.locator(CANVAS).bounding_box()
    expect_hint(page)
    page.locator("#digit-clear").click()  # clearing a blank canvas: still the hint
    expect_hint(page)
    for polyline in digit_points(box, "4"):
        stroke(page, polyline)
    expect_answer(page, "4")
    page.get_by_role("tab", name="Photo").click()  # away and back: the drawing stays
    page.get_by_role("tab", name="Draw").click()
    assert drawing(page)["strokes"] == 1
    expect_answer(page, "4")

    page.locator("#digit-clear").click()
    expect_hint(page)
    (first, second) = digit_points(box, "8")
    stroke(page, first)
    stroke(page, second)
    page.locator("#digit-clear").click()  # before the answer can have come
    expect_hint(page)
    page.wait_for_timeout(1500)  # anything on its way has arrived by now, and was dropped
    expect_hint(page)
    assert drawing(page)["strokes"] == 0

    stroke(page, first)
    stroke(page, second)
    expect_answer(page)
    page.get_by_role("button", name="Undo").click()
    assert drawing(page)["strokes"] == 1
    expect_answer(page)
    page.get_by_role("button", name="Undo").click()
    expect_hint(page)


@pytest.mark.browser
def test_the_model_reads_what_the_canvas_shows(page) -> None:
    """The strokes the canvas sends, rendered by visionplay.strokes, ink the pixels the
    canvas inked: the same box to a pixel and nearly all the same ink, at any pen width."""
    box = page.locator(CANVAS).bounding_box()
    for digit, width in (("8", 18), ("2", 6), ("1", 40)):
        page.locator("#digit-clear").click()
        page.locator(".vp-width").fill(str(width))
        for polyline in digit_points(box, digit):
            stroke(page, polyline, steps=2)
        held = drawing(page)
        assert {s["width"] for s in json.loads(held["json"])} == {width}
        alpha = page.evaluate(f"""() => Array.from(document.querySelector('{CANVAS}')
            .getContext('2d').getImageData(0, 0, 400, 400).data.filter((_, i) => i % 4 === 3))""")
        shown = np.array(alpha, np.uint8).reshape(400, 400) > 127
        rendered = np.asarray(pen.render(held["json"], supersample=4)) < 128
        ys, xs = np.nonzero(shown)
        ry, rx = np.nonzero(rendered)
        for a, b in (
            (xs.min(), rx.min()),
            (xs.max(), rx.max()),
            (ys.min(), ry.min()),
            (ys.max(), ry.max()),
        ):
            assert abs(int(a) - int(b)) <= 1, (digit, width)
        overlap = (shown & rendered).sum() / (shown | rendered).sum()
        assert overlap > 0.95, (digit, width, overlap)


@pytest.mark.browser
def test_bench_times_both_pages(chromium) -> None:
    """The bench's browser part, small: both pages answer every drawing, and the Draw tab's
    label moves during the slow stroke while the bare Sketchpad's does not."""
    from visionplay.bench.browser import bench_browser, format_browser

    report = bench_browser(models_dir(), drawings=2, slow_s=1.5)
    assert set(report) == {"draw_tab", "bare_sketchpad"}, report
    for name, result in report.items():
        assert result["answered"] == result["drawings"] == 2, name
        assert 0 <= result["p50_ms"] <= result["p95_ms"] <= result["max_ms"]
    assert report["draw_tab"]["read_right"] == 2
    assert report["draw_tab"]["slow_stroke"]["label_changes"] >= 3
    assert report["bare_sketchpad"]["slow_stroke"]["label_changes"] == 0
    trips = report["bare_sketchpad"]["round_trips"]
    assert trips["gradio_event"]["p50_ms"] > 0 and trips["server_function"]["p50_ms"] > 0
    assert "draw_tab" in "\n".join(format_browser(report))


@pytest.mark.browser
def test_face_and_forecast_tabs(page, tmp_path) -> None:
    """Upload a face example and see it counted; ask for a new series and see a forecast."""
    from playwright.sync_api import expect

    from visionplay.ui.widgets import EXAMPLES

    example = sorted(EXAMPLES.glob("face_keypoints-*.jpg"))[0]
    page.get_by_role("tab", name="Face").click()
    page.locator("#face-input input[type=file]").set_input_files(str(example))
    expect(page.locator("#face-message")).to_contain_text("1 face found", timeout=TIMEOUT_MS)
    expect(page.locator("#face-output img")).to_be_visible(timeout=TIMEOUT_MS)
    with_lines = page.locator("#face-output img").get_attribute("src")
    page.locator("#face-lines input").uncheck()  # redrawn from the faces kept in the tab
    expect(page.locator("#face-output img")).not_to_have_attribute(
        "src", with_lines, timeout=TIMEOUT_MS
    )
    expect(page.locator("#face-message")).to_contain_text("1 face found")

    page.get_by_role("tab", name="Forecast").click()
    page.locator("#series-new").click()
    numbers = re.compile(r"Next 10: (-?[\d.e+-]+, ){9}-?[\d.e+-]+")  # the 10 forecast values
    message = page.locator("#series-message")
    expect(message).to_contain_text(numbers, timeout=TIMEOUT_MS)
    expect(message).not_to_contain_text("as asked")  # the empty season field: found, or none
    expect(
        page.locator("#series-plot img, #series-plot svg, #series-plot canvas").first
    ).to_be_visible(timeout=TIMEOUT_MS)
    page.screenshot(path=str(tmp_path / "forecast.png"))


@pytest.mark.browser
def test_learn_tab_panels(page, tmp_path) -> None:
    """Each Learn panel computes in the page: layer table, trained kernel and its response to
    a drawn stroke, three line fits, and the permuted digits."""
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Learn").click()
    page.locator("#learn-arch input").fill("lenet5")
    page.locator("#learn-arch input").press("Enter")
    expect(page.locator("#learn-info")).to_contain_text("61,706", timeout=TIMEOUT_MS)
    expect(page.locator("#learn-layers")).to_contain_text("(1, 400)")

    page.get_by_role("tab", name="Edge detector").click()
    page.locator("#edge-train").click()
    expect(page.locator("#edge-summary")).to_contain_text(
        re.compile(r"Learned kernel \[0\.99\d+, -0\.99\d+\]"), timeout=TIMEOUT_MS
    )
    pad = page.locator("#edge-pad")
    brush = pad.locator('.toolbar-wrap button[aria-label="Brush"]')
    expect(brush).to_have_class(re.compile(r"\bhighlight\b"), timeout=TIMEOUT_MS)
    box = pad.locator("canvas").first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    stroke(page, [(x, y - 50), (x, y + 50)])  # a vertical line
    expect(page.locator("#edge-message")).to_contain_text("strongest response", timeout=TIMEOUT_MS)
    page.screenshot(path=str(tmp_path / "edge.png"), full_page=True)

    page.get_by_role("tab", name="Linear regression").click()
    page.locator("#fit-run").click()
    expect(page.locator("#fit-table")).to_contain_text("nn.Linear + SGD", timeout=TIMEOUT_MS)
    expect(page.locator("#fit-summary")).to_contain_text("steps per e-fold")
    page.screenshot(path=str(tmp_path / "regression.png"), full_page=True)

    page.get_by_role("tab", name="FC vs CNN").click()
    expect(page.locator("#permute-table")).to_contain_text("CNN-small(6)")
    expect(page.locator("#permute-gallery img")).to_have_count(16, timeout=TIMEOUT_MS)
    page.screenshot(path=str(tmp_path / "permute.png"), full_page=True)
