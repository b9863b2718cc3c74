"""Shared fixtures: the real data folder, the shipped model, and the app on a free port."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import visionplay
from visionplay.bench.server import free_port

sys.path.insert(0, str(Path(__file__).parent))  # tests import the stroke digits from digits.py


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Real MNIST etc. where the commands look: ``$VISIONPLAY_DATA`` (``.ci/run`` sets it),
    else the default cache folder (docs/data.md)."""
    from visionplay.train.data import DATA_ENV, default_data_dir

    path = default_data_dir()
    if not (path / "MNIST" / "raw").is_dir():
        pytest.skip(f"no MNIST under {path}: set {DATA_ENV} to the data folder (docs/data.md)")
    return path


@pytest.fixture(scope="session")
def mnist_test_images(data_dir) -> tuple[np.ndarray, np.ndarray]:
    from torchvision.datasets import MNIST

    test = MNIST(data_dir, train=False)
    return test.data.numpy(), test.targets.numpy()


@pytest.fixture(scope="session")
def shipped_mnist() -> visionplay.Model:
    """The shipped model ($VISIONPLAY_MODELS or exported/)."""
    return visionplay.load("mnist")


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    """The app over the shipped models ($VISIONPLAY_MODELS or exported/), served in-process."""
    from visionplay.serve.uploads import gradio_app_kwargs
    from visionplay.ui.app import build_app  # gradio takes seconds to import: only when needed

    port = free_port()
    demo = build_app()
    demo.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        app_kwargs=gradio_app_kwargs(demo, 10 << 20),
    )  # as `visionplay serve` guards it
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture(scope="session")
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
