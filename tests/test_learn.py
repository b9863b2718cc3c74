"""The Learn tab's lessons (seed 001's edge detector, seed 004's linear regression, seed
002's shuffled pixels): the numbers, and the panels over HTTP.

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gradio_client import Client, handle_file
from PIL import Image, ImageDraw

from visionplay.errors import InvalidInputError
from visionplay.tutorials.lessons import (
    EDGE_KERNEL,
    apply_kernel,
    band_image,
    corr2d,
    curvatures,
    fit_line,
    learn_edge_kernel,
    regression_data,
)
from visionplay.ui.learn import permutation_view


def test_corr2d_is_the_tutorials_and_a_conv_layers():
    np.testing.assert_array_equal(
        corr2d(np.arange(9.0).reshape(3, 3), np.arange(4.0).reshape(2, 2)), [[19, 25], [37, 43]]
    )
    rng = np.random.default_rng(0)
    image, kernel = rng.random((7, 9), np.float32), rng.random((2, 3), np.float32)
    conv = torch.nn.functional.conv2d(
        torch.from_numpy(image)[None, None], torch.from_numpy(kernel)[None, None]
    )
    np.testing.assert_allclose(corr2d(image, kernel), conv[0, 0].numpy(), rtol=1e-5)


def test_edge_map_marks_both_sides_of_the_band():
    edges = corr2d(band_image(), EDGE_KERNEL)
    assert edges.shape == (6, 7)
    assert (edges[:, 1] == 1).all() and (edges[:, 5] == -1).all()
    assert np.count_nonzero(edges) == 12


def test_the_kernel_learns_to_find_edges():
    fit = learn_edge_kernel(steps=30, lr=0.01, seed=0)
    np.testing.assert_allclose(fit.kernel, [[1, -1]], atol=0.02)
    assert abs(fit.bias) < 0.02
    assert fit.losses[-1] < 1e-2 * fit.losses[0]
    assert np.abs(fit.output - fit.target).max() < 0.05


def test_too_large_a_step_makes_the_kernel_diverge():
    fit = learn_edge_kernel(steps=30, lr=0.2, seed=0)
    assert (np.diff(fit.losses[:10]) > 0).all()
    assert not np.isfinite(fit.losses[-1])


def test_learned_kernel_on_a_picture():
    picture = Image.new("RGB", (400, 200), "white")
    ImageDraw.Draw(picture).rectangle([100, 0, 199, 199], fill="black")
    grey, response = apply_kernel(picture, EDGE_KERNEL)
    assert max(grey.shape) == 96  # shrunk before the kernel runs
    assert response.shape == (grey.shape[0], grey.shape[1] - 1)
    columns = response.mean(axis=0)
    assert columns.argmax() < columns.argmin()  # white-to-black, then black-to-white
    assert columns.max() > 0.9 and columns.min() < -0.9
    with pytest.raises(InvalidInputError, match="1x1 pixels"):
        apply_kernel(Image.new("L", (1, 1)), EDGE_KERNEL)


def test_three_ways_to_fit_a_line_take_the_same_steps():
    x, y, fits = fit_line(steps=400, lr=1e-8, seed=0)
    assert x.size == 10_000 and x[1] - x[0] == pytest.approx(0.01)
    assert [f.method for f in fits] == ["by hand (numpy)", "autograd", "nn.Linear + SGD"]
    for fit in fits[1:]:
        assert fit.w == pytest.approx(fits[0].w, rel=1e-5)
        assert fit.b == pytest.approx(fits[0].b, rel=1e-3, abs=1e-4)
        np.testing.assert_allclose(fit.losses, fits[0].losses, rtol=1e-3)
    assert all(f.diverged_at is None for f in fits)
    assert fits[0].w == pytest.approx(10, abs=0.1)
    assert fits[0].losses[-1] < 1e-3 * fits[0].losses[0]


def test_the_learning_rate_limit_is_where_it_diverges():
    x, _ = regression_data()
    limit = 2 / curvatures(x)[1]
    assert 2.9e-8 < limit < 3.1e-8
    below = fit_line(steps=2000, lr=0.9 * limit)[2]
    above = fit_line(steps=2000, lr=1.1 * limit)[2]
    assert all(f.diverged_at is None for f in below)
    assert all(f.diverged_at is not None for f in above)
    assert not np.isfinite(above[0].w)
    with pytest.raises(InvalidInputError, match="positive learning rate"):
        fit_line(steps=10, lr=-1)


def test_permutation_panel_reads_the_shipped_result():
    table, gallery = permutation_view(None)
    assert "| FC2(8) | 6,442 |" in table and "| CNN-small(6) | 6,422 |" in table
    assert len(gallery) == 16
    plain, shuffled = (np.asarray(picture) for picture, _ in gallery[:2])
    assert plain.shape == shuffled.shape == (112, 112)
    np.testing.assert_array_equal(np.sort(plain.ravel()), np.sort(shuffled.ravel()))
    assert not np.array_equal(plain, shuffled)


def test_permutation_panel_says_how_to_make_a_missing_result(tmp_path):
    table, gallery = permutation_view(tmp_path)
    assert "visionplay experiment permute" in table and gallery == []


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def test_learn_panels_over_http(client, tmp_path):
    plot, summary = client.predict(30, 0.01, 0, api_name="/edge_train")[:2]
    assert plot["type"] == "matplotlib" and "Learned kernel [0.99" in summary
    path = tmp_path / "band.png"
    picture = Image.new("RGB", (200, 120), "white")
    ImageDraw.Draw(picture).rectangle([60, 0, 120, 119], fill="black")
    picture.save(path)
    editor = {"background": None, "layers": [], "composite": handle_file(str(path))}
    plot, message = client.predict(editor, api_name="/edge_apply")
    assert plot is not None and "strongest response is 1.00" in message

    plot, table, summary = client.predict(500, "1e-8", 0, api_name="/fit_line")
    methods = [row[0] for row in table["value"]["data"]]
    assert methods[:3] == ["by hand (numpy)", "autograd", "nn.Linear + SGD"]
    assert methods[-1] == "truth" and "diverged" not in summary
    summary = client.predict(300, "1e-7", 0, api_name="/fit_line")[2]
    assert "the loss diverged" in summary
    plot, table, summary = client.predict(300, "fast", 0, api_name="/fit_line")
    assert plot is None and "Not a learning rate" in summary
