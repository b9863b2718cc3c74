"""The Face tab's live view in a real Chromium whose camera plays real test frames (a Y4M
file, Chromium's fake camera): answers arrive through ``POST /live/face_keypoints``, one
request at a time, and their points land on the face; Stop stops them; without the route
the tab's own server function answers; a refused camera says so and uploads still work.

Needs Chromium and playwright, as tests/test_browser.py does (skipped without them).
"""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from visionplay import faces
from visionplay.bench.browser import CHROMIUM_ARGS
from visionplay.bench.camera import fake_camera_args, noisy, on_camera, write_y4m
from visionplay.bench.server import free_port
from visionplay.ui.face import CAMERA_REFUSED, NO_CAMERA

TIMEOUT_MS = 20_000
OVERLAY = "#face-live-overlay"
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def camera(tmp_path_factory, data_dir) -> tuple[str, np.ndarray]:
    """A Y4M of one real test frame on a 640x480 camera, with a camera's noise, and its
    known points in the camera's pixels."""
    from visionplay.preprocess import open_image
    from visionplay.train.data import find_face_folder, load_face_frames

    frames = load_face_frames(data_dir, train=False, limit=1)
    picture = open_image(find_face_folder(data_dir) / "test" / frames.names[0]).convert("RGB")
    frame, points = on_camera(np.asarray(picture), frames.points[0])
    path = tmp_path_factory.mktemp("camera") / "face.y4m"
    write_y4m(path, (noisy(frame, 3, seed) for seed in range(15)), fps=30)
    return str(path), points


@pytest.fixture(scope="module")
def app_url():
    """The Face tab and the REST routes on one port, as ``visionplay serve`` puts them."""
    import gradio as gr
    import uvicorn

    from visionplay.serve.rest import ServeSettings, create_app
    from visionplay.serve.uploads import gradio_app_kwargs
    from visionplay.ui.face import face_tab

    with gr.Blocks() as demo, gr.Tabs():
        face_tab(None)
    body = 10 << 20
    app = gr.mount_gradio_app(
        create_app(ServeSettings(max_body=body)),
        demo,
        path="/",
        max_file_size=body,
        app_kwargs=gradio_app_kwargs(demo, body),
    )
    server = uvicorn.Server(uvicorn.Config(app, port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}/"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def playwright(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright, chromium, camera):
    """A Chromium whose camera plays the test frame."""
    launched = playwright.chromium.launch(
        executable_path=chromium, args=CHROMIUM_ARGS + fake_camera_args(camera[0])
    )
    try:
        yield launched
    finally:
        launched.close()


def camera_page(browser):
    """A page allowed the camera."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.grant_permissions(["camera"])
    return context.new_page()


def frames_drawn(page) -> int:
    return int(page.locator(OVERLAY).get_attribute("data-frames"))


def wait_for_frames(page, count: int) -> None:
    page.wait_for_function(
        f"() => Number(document.querySelector('{OVERLAY}').dataset.frames) >= {count}",
        timeout=TIMEOUT_MS,
    )


def test_answers_arrive_one_at_a_time_and_land_on_the_face(browser, app_url, camera) -> None:
    """Answers come through the route, never two requests at once; the drawn points are on
    the face (in the camera's pixels); Stop stops the camera and the answers."""
    out, most_out = [0], [0]

    def sent(request) -> None:
        if "/live/face_keypoints" in request.url:
            out[0] += 1
            most_out[0] = max(most_out[0], out[0])

    def done(request) -> None:
        if "/live/face_keypoints" in request.url:
            out[0] -= 1

    page = camera_page(browser)
    page.on("request", sent)
    page.on("requestfinished", done)
    page.on("requestfailed", done)
    page.goto(app_url)
    page.locator("#face-live-start").click()
    wait_for_frames(page, 8)
    assert most_out[0] == 1
    overlay = page.locator(OVERLAY)
    (found,) = json.loads(overlay.get_attribute("data-faces"))
    error = faces.nme(np.array(found), camera[1])
    assert error < 0.1, f"NME {error:.3f} against the known points"
    assert float(overlay.get_attribute("data-latency-ms")) > 0
    assert "answers/s" in page.locator("#face-live-stats").inner_text()

    page.locator("#face-live-stop").click()
    stopped = frames_drawn(page)
    page.wait_for_timeout(700)
    assert frames_drawn(page) == stopped
    assert page.evaluate("() => document.querySelector('#face-live-video').srcObject") is None
    page.context.close()


def test_without_the_route_the_tab_answers_itself(browser, app_url) -> None:
    """An app served without the REST routes (no /live): the page asks the tab's own
    server function, and answers still arrive."""
    page = camera_page(browser)
    page.route("**/live/face_keypoints", lambda route: route.fulfill(status=404, body="{}"))
    page.goto(app_url)
    page.locator("#face-live-start").click()
    wait_for_frames(page, 3)
    assert len(json.loads(page.locator(OVERLAY).get_attribute("data-faces"))) == 1
    page.context.close()


def test_no_camera_says_so_and_uploads_still_work(playwright, chromium, app_url) -> None:
    """A browser with no camera (and none allowed): the live view says why, and a picture
    uploaded to the tab is still read."""
    from playwright.sync_api import expect

    from visionplay.ui.widgets import EXAMPLES

    bare = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
    try:
        page = bare.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(app_url)
        page.locator("#face-live-start").click()
        message = page.locator("#face-live-message")
        expect(message).to_contain_text("Uploading a picture above still works")
        assert message.inner_text().startswith((CAMERA_REFUSED, NO_CAMERA))
        expect(page.locator("#face-live-start")).to_be_enabled()
        example = sorted(EXAMPLES.glob("face_keypoints-*.jpg"))[0]
        page.locator("#face-input input[type=file]").set_input_files(str(example))
        expect(page.locator("#face-message")).to_contain_text("1 face found", timeout=TIMEOUT_MS)
    finally:
        bare.close()
