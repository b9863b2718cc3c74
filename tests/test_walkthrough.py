"""docs/your-own-model.md, run as it is written: a model trained, exported to a folder of
one's own and served beside the shipped ones; then seen in the Draw tab (Chromium) and
asked over REST. The shipped models are untouched."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from test_browser import CANVAS, TIMEOUT_MS, digit_points, stroke

from visionplay.bench.browser import CHROMIUM_ARGS
from visionplay.bench.server import free_port, start_child, stop_server
from visionplay.locations import CHECKOUT, examples_dir, shipped_models_dir

WALKTHROUGH = CHECKOUT / "docs" / "your-own-model.md"


def walkthrough_commands() -> list[list[str]]:
    """The commands of the page's first bash block, each as its argument list."""
    block = re.search(r"```bash\n(.*?)```", WALKTHROUGH.read_text(), re.S)
    assert block, f"{WALKTHROUGH.name} has no bash block"
    return [shlex.split(line, comments=True) for line in block[1].splitlines() if line.strip()]


def runnable(command: list[str]) -> list[str]:
    """A command of the page as this test's Python runs it (the checkout's trainers)."""
    program, *args = command
    if program == "visionplay":
        return [sys.executable, "-m", "visionplay.cli.main", *args]
    assert program == "python", command
    return [sys.executable, str(CHECKOUT / args[0]), *args[1:]]


@pytest.mark.browser
def test_the_walkthrough_serves_your_model_beside_the_shipped_ones(
    data_dir, chromium, tmp_path, monkeypatch
):
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.chdir(tmp_path)  # the page's relative paths: runs/, mine/
    monkeypatch.setenv("VISIONPLAY_DATA", str(data_dir))
    shipped = {p.name: p.stat().st_mtime_ns for p in shipped_models_dir().iterdir()}
    *steps, serve = walkthrough_commands()
    assert serve[:2] == ["visionplay", "serve"]
    for command in steps:
        done = subprocess.run(runnable(command), capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{shlex.join(command)}: {done.stderr[-800:]}"
    assert re.search(r"^lenet5\s+classification\s+accuracy .*\s+mine$", done.stdout, re.M)

    port = free_port()
    server, _ = start_child(
        [*runnable(serve), "--port", str(port)],
        f"http://127.0.0.1:{port}/gradio_api/info",
        tmp_path / "serve.log",
    )
    try:
        seven = (examples_dir() / "mnist-7.png").read_bytes()
        answer = httpx.post(f"http://127.0.0.1:{port}/predict/lenet5", content=seven).json()
        assert answer["model"] == "lenet5" and len(answer["predictions"]) == 3
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/")
            picker = page.locator("#digit-model")
            picker.get_by_label("lenet5", exact=True).check()
            card = page.locator("#digit-model-card")
            expect(card).to_contain_text("lenet5 (your own)", timeout=TIMEOUT_MS)
            expect(card).to_contain_text("accuracy")
            box = page.locator(CANVAS).bounding_box()
            for points in digit_points(box, "7"):
                stroke(page, points)
            label = page.locator("#digit-label")
            expect(label).to_have_attribute("data-model", "lenet5", timeout=TIMEOUT_MS)
            picker.get_by_label("mnist", exact=True).check()
            expect(label).to_have_attribute("data-model", "mnist", timeout=TIMEOUT_MS)
            expect(label.locator(".digit-top")).to_have_text("7")
            page.locator("button[role=tab]", has_text="Photo").click()
            expect(page.locator("#photo-model")).to_contain_text("lenet5")
            browser.close()
    finally:
        stop_server(server, timeout=10)
    assert {p.name: p.stat().st_mtime_ns for p in shipped_models_dir().iterdir()} == shipped
    assert (Path("mine") / "lenet5.onnx").is_file()


def test_a_model_of_your_own_classes_from_a_folder_tree(tmp_path, monkeypatch):
    """The Photo tab offers a classifier trained on a folder tree of one's own classes
    (``train/<class>/``, ``test/<class>/``), which names them."""
    import numpy as np
    from PIL import Image

    import visionplay
    from visionplay.ui.photo import PHOTO_MODELS
    from visionplay.ui.widgets import offered

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    for split, count in (("train", 12), ("test", 4)):
        for channel, colour in enumerate(("red", "green")):
            folder = tmp_path / "photos" / split / colour
            folder.mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 90, (40 + i, 50, 3), dtype=np.uint8)
                pixels[..., channel] += 150
                Image.fromarray(pixels).save(folder / f"{i}.png")
    train = ["--data-dir", "photos", "--arch", "cifar_net", "--name", "colours", "--out", "runs"]
    steps = [
        ["python", "trainers/cifar10.py", *train, "--epochs", "1", "--batch-size", "8"],
        ["visionplay", "export", "--onnx", "runs/colours/colours.pt", "--out", "mine"],
    ]
    for command in steps:
        done = subprocess.run(runnable(command), capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{shlex.join(command)}: {done.stderr[-800:]}"
    model = visionplay.load("colours", "mine")
    assert model.labels == ("green", "red") and model.cfg.input_size == (3, 32, 32)
    assert {p.label for p in model.predict(tmp_path / "photos/test/red/0.png")} == {"green", "red"}
    offer = offered(["mine", shipped_models_dir()], "classification", PHOTO_MODELS)
    assert list(offer.models)[:3] == ["fashion_mnist", "cifar10", "colours"]
    card = "**colours** (your own) reads a 32x32 colour picture as one of 2 classes: green, red"
    assert offer.cards["colours"].startswith(card)
