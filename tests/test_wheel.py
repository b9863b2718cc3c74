"""The package as a user installs it: the wheel built from this checkout, in a virtualenv
without torch, run from a folder that is no checkout. ``.ci/run`` builds both and names the
venv's python in ``$VISIONPLAY_SERVING_PYTHON``; without it these tests are skipped (to run
them elsewhere: docs/install.md#the-tests-of-the-installed-package)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from visionplay.bench.browser import digit_strokes
from visionplay.bench.inputs import digit_drawing, png_bytes
from visionplay.bench.server import free_port
from visionplay.inference import list_exported

SERVING_PYTHON = os.environ.get("VISIONPLAY_SERVING_PYTHON", "")
pytestmark = pytest.mark.skipif(  # .ci/run sets VISIONPLAY_REQUIRE_WHEEL: there it must run
    not SERVING_PYTHON and os.environ.get("VISIONPLAY_REQUIRE_WHEEL") != "1",
    reason="set VISIONPLAY_SERVING_PYTHON to the python of a torch-free venv with the wheel "
    "(docs/install.md)",
)
EXAMPLES = Path(__file__).resolve().parents[1] / "demos" / "examples"
SHIPPED = list_exported()


def serving_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VISIONPLAY_", "PYTHON"))}
    return {**env, "PATH": f"{Path(SERVING_PYTHON).parent}:{env.get('PATH', '')}"}


def run(tmp_path: Path, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=tmp_path, env=serving_env(), capture_output=True, text=True, timeout=300
    )


def test_the_venv_has_no_torch_and_finds_the_installed_models(tmp_path):
    no_torch = run(tmp_path, SERVING_PYTHON, "-c", "import torch")
    assert no_torch.returncode != 0 and "No module named 'torch'" in no_torch.stderr
    found = run(
        tmp_path,
        SERVING_PYTHON,
        "-c",
        "import json, visionplay\n"
        "from visionplay.inference import list_exported, models_dir\n"
        "print(json.dumps([str(models_dir()), list_exported()]))",
    )
    assert found.returncode == 0, found.stderr
    folder, models = json.loads(found.stdout)
    assert "site-packages" in folder and models == SHIPPED


def test_the_venv_has_one_flavour_of_onnxruntime(tmp_path):
    """.ci/run installs the wheel with [cpu]: onnxruntime alone, not onnxruntime-gpu beside
    it (the two install the same module, and the last one installed hides the other)."""
    listed = run(
        tmp_path,
        SERVING_PYTHON,
        "-c",
        "import json\nfrom importlib.metadata import distributions\n"
        "names = {d.metadata['Name'].lower() for d in distributions()}\n"
        "print(json.dumps(sorted(n for n in names if n.startswith('onnxruntime'))))",
    )
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == ["onnxruntime"]


# Each command that needs the training side, with flags that would keep it small and away
# from the user's folders were it to run.
TRAINING_COMMANDS = {
    "summary": ["summary", "--list"],
    "eval": ["eval", "mnist", "--data-dir", "data", "--limit", "10"],
    "experiment": ["experiment", "permute", "--data-dir", "data", "--limit", "10", "--out", "x"],
    "ensemble": ["ensemble", "a.pt", "b.pt", "--out", "c.pt"],
    "export": ["export", "--onnx", "a.pt", "--out", "models"],
    "bench": ["bench", "--no-app", "--runs", "1", "--warmup", "0", "--batch", "1", "--out", "x"],
}


@pytest.mark.parametrize("command", TRAINING_COMMANDS.values(), ids=list(TRAINING_COMMANDS))
def test_the_training_commands_say_what_to_install(tmp_path, command):
    answer = run(tmp_path, "visionplay", *command)
    assert answer.returncode == 2 and answer.stdout == ""
    assert re.fullmatch(
        f"visionplay {command[0]}: error: this command needs the training side "
        r'\((torch|onnx) is not installed\): pip install "visionplay\[train\]"\n',
        answer.stderr,
    ), answer.stderr
    assert list(tmp_path.iterdir()) == []  # nothing made before it said so


def test_predict_works_from_the_wheel(tmp_path):
    picture = tmp_path / "seven.png"
    picture.write_bytes(png_bytes(digit_drawing(seed=7)))
    answer = run(tmp_path, "visionplay", "predict", str(picture), "-m", "mnist", "--json")
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout)[str(picture)][0]["score"] > 0.5
    missing = run(tmp_path, "visionplay", "predict", str(picture), "-m", "nope")
    assert missing.returncode == 2 and "site-packages" in missing.stderr  # where it looked


@pytest.fixture(scope="module")
def wheel_server(tmp_path_factory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("elsewhere")
    port = free_port()
    log = (folder / "serve.log").open("wb")
    server = subprocess.Popen(
        ["visionplay", "serve", "--port", str(port)],
        cwd=folder,
        env=serving_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert server.poll() is None, (folder / "serve.log").read_text()[-2000:]
            try:
                if httpx.get(url + "v2/health/ready", timeout=2).is_success:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def body_for(name: str) -> bytes:
    if name == "timeseries":
        return ", ".join(str(0.1 * (i % 7)) for i in range(50)).encode()
    if name == "mnist":
        return png_bytes(digit_drawing(seed=1))
    if name.endswith("_gan"):  # a generator draws the class the body names
        return b"3"
    return (sorted(EXAMPLES.glob(f"{name}-*"))[0]).read_bytes()


@pytest.mark.parametrize("name", SHIPPED)
def test_serve_from_the_wheel_answers_every_model(wheel_server, name):
    answer = httpx.post(f"{wheel_server}predict/{name}", content=body_for(name), timeout=60)
    assert answer.status_code == 200, answer.text
    assert {"predictions", "faces", "forecast", "pictures"} & set(answer.json())


def test_serve_from_the_wheel_answers_every_tab(wheel_server, tmp_path):
    from gradio_client import Client, handle_file

    client = Client(wheel_server, verbose=False)
    # The Learn tab trains with torch: here it says how to add it, and offers no endpoint.
    served = httpx.get(f"{wheel_server}gradio_api/info", timeout=30).json()["named_endpoints"]
    assert set(served) == {
        "/draw",
        "/photo",
        "/faces",
        "/new_series",
        "/forecast",
        "/generate",
        "/generate_read",
        "/generate_walk",
    }
    assert "visionplay[train]" in httpx.get(f"{wheel_server}config", timeout=30).text
    assert client.predict(digit_strokes("7", seed=2), api_name="/draw")["label"].isdigit()
    photo = handle_file(str(EXAMPLES / "fashion_mnist-trouser.png"))
    assert client.predict(photo, "fashion_mnist", api_name="/photo")[0]["label"] == "Trouser"
    face = handle_file(str(EXAMPLES / "face_keypoints-two-faces.jpg"))
    assert "2 faces found" in client.predict(face, True, api_name="/faces")[1]
    text = client.predict(0, api_name="/new_series")[0]
    assert "Next 10" in client.predict(text, 10, api_name="/forecast")[1]
