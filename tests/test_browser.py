"""The app in a real Chromium: strokes on the sketchpad become a prediction; a face upload
is counted; a generated series gets its forecast.

Needs Chromium (``/usr/bin/chromium`` or ``chromium`` on PATH) and the playwright package; without
them the test skips, unless ``VISIONPLAY_REQUIRE_BROWSER=1`` makes their absence a failure.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

from visionplay.inference import models_dir
from visionplay.ui.draw import DRAW_HINT

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]  # fmt: skip
TIMEOUT_MS = 20_000  # a page load plus a prediction, on a busy machine


@pytest.fixture
def chromium() -> str:
    """Chromium's path; skips (or fails, with VISIONPLAY_REQUIRE_BROWSER=1) when it can't run."""
    path = shutil.which("chromium") or shutil.which("/usr/bin/chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "the playwright package is not installed"
    else:
        missing = "" if path else "no Chromium: neither /usr/bin/chromium nor chromium on PATH"
    if missing:
        if os.environ.get("VISIONPLAY_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{missing} (and VISIONPLAY_REQUIRE_BROWSER=1)")
        pytest.skip(missing)
    return path


def stroke(page, points: list[tuple[float, float]], steps: int = 4) -> None:
    """One mouse stroke through ``points``, with intermediate moves like a real hand."""
    page.mouse.move(*points[0])
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*point, steps=steps)
    page.mouse.up()


@pytest.fixture
def page(chromium: str, app_url: str):
    """A Chromium page on the app, closed after the test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(app_url)
            yield page
        finally:
            browser.close()


@pytest.mark.browser
def test_draw_without_picking_the_brush(page) -> None:
    from playwright.sync_api import expect

    assert (models_dir() / "mnist.onnx").exists(), f"no mnist model in {models_dir()}"
    pad = page.locator("#digit-sketchpad")
    top = page.locator("#digit-label [data-testid=label-output-value]")
    # The brush must be active on its own: nothing here clicks a tool.
    brush = pad.locator(".toolbar-wrap button").first
    expect(brush).to_have_class(re.compile(r"\bhighlight\b"), timeout=TIMEOUT_MS)

    box = pad.locator("canvas").first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    stroke(page, [(x - 55, y - 75), (x + 55, y - 75), (x - 15, y + 85)])  # a 7
    expect(top).to_have_text("7", timeout=TIMEOUT_MS)

    page.locator("#digit-clear").click()
    expect(page.locator("#digit-message")).to_have_text(DRAW_HINT, timeout=TIMEOUT_MS)
    expect(top).to_have_count(0)
    expect(brush).to_have_class(re.compile(r"\bhighlight\b"), timeout=TIMEOUT_MS)
    stroke(page, [(x + 5, y - 85), (x, y + 85)])  # a 1
    expect(top).to_have_text("1", timeout=TIMEOUT_MS)


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
    expect(page.locator("#face-output img")).not_to_have_attribute("src", with_lines,
                                                                   timeout=TIMEOUT_MS)  # fmt: skip
    expect(page.locator("#face-message")).to_contain_text("1 face found")

    page.get_by_role("tab", name="Forecast").click()
    page.locator("#series-new").click()
    numbers = re.compile(r"(-?\d+\.\d{3}, ){9}-?\d+\.\d{3}")  # the 10 forecast values
    expect(page.locator("#series-message")).to_contain_text(numbers, timeout=TIMEOUT_MS)
    expect(page.locator("#series-plot img, #series-plot svg, #series-plot canvas").first
           ).to_be_visible(timeout=TIMEOUT_MS)  # fmt: skip
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
