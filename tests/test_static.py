"""The pages' HTML, CSS and JavaScript (``src/visionplay/*/static/``) ship in the wheel: the
one ``.ci/run`` builds and installs in a venv of its own (``$VISIONPLAY_SERVING_PYTHON``).
A file that pyproject.toml's package-data misses would be found only when a page needs it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

SERVING_PYTHON = os.environ.get("VISIONPLAY_SERVING_PYTHON", "")
PACKAGE = Path(__file__).resolve().parents[1] / "src" / "visionplay"
# The installed package's page parts, found without importing it (that needs gradio).
INSTALLED_PARTS = """import importlib.util, json, pathlib
(root,) = importlib.util.find_spec("visionplay").submodule_search_locations
parts = pathlib.Path(root).glob("*/static/*")
print(json.dumps(sorted(p.relative_to(root).as_posix() for p in parts)))
"""


def page_parts(package: Path) -> list[str]:
    return sorted(p.relative_to(package).as_posix() for p in package.glob("*/static/*"))


@pytest.mark.skipif(  # .ci/run sets VISIONPLAY_REQUIRE_WHEEL: there it must run
    not SERVING_PYTHON and os.environ.get("VISIONPLAY_REQUIRE_WHEEL") != "1",
    reason="set VISIONPLAY_SERVING_PYTHON to the python of a torch-free venv with the wheel "
    "(docs/install.md)",
)
def test_the_wheel_carries_every_page_part(tmp_path):
    parts = page_parts(PACKAGE)
    assert {"ui/static/draw.js", "bench/static/recorder.js"} <= set(parts)
    # Away from the checkout, and without a PYTHONPATH that could lead back to it.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VISIONPLAY_", "PYTHON"))}
    found = subprocess.run(
        [SERVING_PYTHON, "-c", INSTALLED_PARTS],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout) == parts
