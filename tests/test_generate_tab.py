"""The Generate tab over the shipped generators: over HTTP (the same seed, the same
pictures; refusals) and in Chromium (a grid, then the classifier's verdict)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from gradio_client import Client
from PIL import Image
from test_browser import TIMEOUT_MS, browser, page  # noqa: F401  (fixtures)

import visionplay
from visionplay.tasks.generation import picture_grid


@pytest.fixture(scope="module")
def client(app_url: str) -> Client:
    return Client(app_url, verbose=False)


def pixels(path: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"))


def test_the_grid_is_the_generators_pictures(client):
    path, verdict = client.predict("mnist_gan", "7", 12, 3, api_name="/generate")
    expected = picture_grid(visionplay.load("mnist_gan").generate(["7"] * 12, seed=3), 8)
    np.testing.assert_array_equal(pixels(path), np.asarray(expected))
    assert verdict == ""
    again, _ = client.predict("mnist_gan", "7", 12, 3, api_name="/generate")
    np.testing.assert_array_equal(pixels(again), pixels(path))
    other, _ = client.predict("mnist_gan", "7", 12, 4, api_name="/generate")
    assert not np.array_equal(pixels(other), pixels(path))


def test_the_classifier_reads_every_picture(client):
    _, verdict = client.predict("fashion_gan", "Trouser", 16, 0, api_name="/generate_read")
    found = re.search(r"\*\*(\d+) of 16\*\* read as Trouser", verdict)
    assert found, verdict
    reader = visionplay.load("fashion_mnist")
    made = visionplay.load("fashion_gan").generate(["Trouser"] * 16, seed=0)
    right = int((reader.run(made[:, None].astype(np.float32) / 255).argmax(1) == 1).sum())
    assert int(found.group(1)) == right


def test_a_walk_is_a_strip_of_eight(client):
    path = client.predict("mnist_gan", "2", 1, 2, api_name="/generate_walk")
    assert pixels(path).shape == (28 + 4, 8 * 30 + 2)


@pytest.mark.parametrize(
    "args, message",
    [
        (("mnist_gan", "7", 65, 0), "greater than maximum"),
        (("mnist_gan", "7", 0, 0), "less than minimum"),
        (("mnist_gan", "7", 4, -1), "less than minimum"),
        (("mnist_gan", "7", 2.5, 0), "whole number"),
        (("mnist_gan", "Bag", 4, 0), "no class 'Bag'"),
    ],
)
def test_bad_requests_get_one_line(client, args, message):
    with pytest.raises(Exception, match=message) as caught:
        client.predict(*args, api_name="/generate")
    assert "\n" not in str(caught.value)


def test_generate_then_read_in_chromium(page):  # noqa: F811
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Generate").click()
    page.locator("#generate-draw").click()
    expect(page.locator("#generate-grid img")).to_be_visible(timeout=TIMEOUT_MS)
    page.locator("#generate-read").click()
    expect(page.locator("#generate-verdict")).to_contain_text(
        re.compile(r"\d+ of 16 read as 0"), timeout=TIMEOUT_MS
    )
    page.locator("#generate-walk").click()
    expect(page.locator("#generate-strip img")).to_be_visible(timeout=TIMEOUT_MS)
