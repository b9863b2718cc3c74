"""The attacks a server on a network meets, and what it does with them: this machine only
unless asked, only files uploaded to it as file inputs, bounded uploads, pictures, batches
and series, one-line 4xx answers for bad requests, and messages that name no server path."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from memory import memory_mb
from PIL import Image, PngImagePlugin

import visionplay
from visionplay.bench.inputs import digit_drawing, png_bytes
from visionplay.bench.server import free_port, start_server, stop_server
from visionplay.cli import serve
from visionplay.cli.main import main
from visionplay.errors import InvalidInputError
from visionplay.serve.rest import create_app
from visionplay.serve.uploads import UploadedFilesOnly, gradio_app_kwargs
from visionplay.ui.app import build_app

ROOT = Path(__file__).resolve().parents[1]


def serve_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serve.add_parser(parser.add_subparsers())
    return parser.parse_args(["serve", *argv])


def test_serve_binds_this_machine_only_by_default():
    args = serve_args()
    assert args.host == "127.0.0.1" and args.share is False
    assert args.max_upload_mb == 10 and args.keep_uploads_s == 300
    assert serve_args("--host", "0.0.0.0", "--share").share is True


def test_serve_refuses_nonsense_limits(capsys):
    assert main(["serve", "--max-upload-mb", "0"]) == 2
    assert "--max-upload-mb" in capsys.readouterr().err
    assert main(["serve", "--threads", "0"]) == 2
    assert "--threads" in capsys.readouterr().err
    assert main(["serve", "--queue-per-client", "0"]) == 2
    assert "--queue-per-client" in capsys.readouterr().err
    assert main(["serve", "--ray", "--share"]) == 2
    assert "--ray does not serve" in capsys.readouterr().err


@pytest.mark.parametrize("ray", [[], ["--ray"]])
def test_serve_says_when_its_port_is_taken(capsys, ray):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["serve", "--port", str(taken.getsockname()[1]), *ray]) == 2
    assert "cannot listen on 127.0.0.1:" in capsys.readouterr().err


@pytest.fixture(scope="module")
def small_upload_server():
    """The app as `visionplay serve --max-upload-mb 1 --keep-uploads-s 60` launches it."""
    demo = build_app(keep_uploads_s=60)
    port = free_port()
    demo.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        max_file_size=1024 * 1024,
    )
    try:
        yield demo, f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def test_uploads_are_bounded_and_expire(small_upload_server):
    demo, url = small_upload_server
    assert demo.delete_cache == (60, 60)
    with httpx.Client(base_url=url, timeout=30) as client:
        small = client.post("gradio_api/upload", files={"files": ("a.png", b"x" * 1000)})
        assert small.status_code == 200
        big = client.post("gradio_api/upload", files={"files": ("b.png", b"x" * 2_000_000)})
        assert big.status_code == 413


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "../../../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd", "~/.bashrc"]
)
def test_no_file_outside_the_temp_area(small_upload_server, path):
    _, url = small_upload_server
    response = httpx.get(f"{url}gradio_api/file={path}", timeout=30)
    assert response.status_code in (403, 404)
    assert "root:" not in response.text


def test_serve_ray_without_ray_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    assert main(["serve", "--ray", "--port", str(free_port())]) == 2
    assert "pip install 'visionplay[ray]'" in capsys.readouterr().err


# --- 1. A file input takes only files uploaded to this app -------------------------------

SECRET_TOKEN = "visionplay-secret-" + secrets.token_hex(8)


@pytest.fixture(scope="module")
def secret(tmp_path_factory) -> Path:
    """A readable file outside the upload folder, as /etc/passwd or exported/*.pt would be:
    a valid PNG (so a server that took it would also process it) carrying a token."""
    path = tmp_path_factory.mktemp("private") / "secret.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("secret", SECRET_TOKEN)
    Image.new("RGB", (64, 64), "white").save(path, pnginfo=info)
    return path


def start(command: list[str], port: int, temp_dir: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "GRADIO_TEMP_DIR": str(temp_dir), "GRADIO_SERVER_PORT": str(port)}
    with open(log, "wb") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()[-2000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/gradio_api/info", timeout=2).is_success:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    stop_server(server)
    raise AssertionError(f"no server on port {port}: {log.read_text()[-2000:]}")


SERVERS = {
    "visionplay serve": lambda port: [
        sys.executable,
        "-m",
        "visionplay.cli.main",
        "serve",
        "--port",
        str(port),
    ],
    "python demos/app.py": lambda port: [sys.executable, str(ROOT / "demos" / "app.py")],
}


@pytest.fixture(scope="module", params=list(SERVERS))
def real_server(request, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """A real server in its own process, with its own upload folder: (url, that folder)."""
    port, temp_dir = free_port(), tmp_path_factory.mktemp("gradio-temp")
    log = tmp_path_factory.mktemp("log") / "server.log"
    server = start(SERVERS[request.param](port), port, temp_dir, log)
    try:
        yield f"http://127.0.0.1:{port}/", temp_dir
    finally:
        stop_server(server)


def with_file(value: Any, path: str) -> Any:
    """An endpoint's example input with every file in it replaced by ``path``."""
    if isinstance(value, dict):
        if "path" in value or value.get("meta", {}).get("_type") == "gradio.FileData":
            return {"path": path, "meta": {"_type": "gradio.FileData"}}
        return {key: with_file(item, path) for key, item in value.items()}
    if isinstance(value, list):
        return [with_file(item, path) for item in value]
    return value


def call(client: httpx.Client, endpoint: str, data: list) -> str:
    """Everything a client gets back from one call of ``endpoint`` with ``data``."""
    started = client.post(f"gradio_api/call/{endpoint.lstrip('/')}", json={"data": data})
    if not started.is_success:
        return started.text
    event = started.json()["event_id"]
    return client.get(f"gradio_api/call/{endpoint.lstrip('/')}/{event}").text


def test_no_endpoint_takes_a_file_it_did_not_receive(real_server, secret):
    """The exploit of issue 16 against every API endpoint the app lists: name a file on the
    server as a file input, then look for its path or content in the answers, in the
    upload folder, and behind /gradio_api/file=."""
    url, temp_dir = real_server
    with httpx.Client(base_url=url, timeout=60) as client:
        endpoints = client.get("gradio_api/info").json()["named_endpoints"]
        assert {"/draw", "/photo", "/faces"} <= set(endpoints)
        for endpoint, info in endpoints.items():
            for path in (str(secret), f"{temp_dir}/../{secret.parent.name}/{secret.name}"):
                data = [with_file(p.get("example_input"), path) for p in info["parameters"]]
                answer = call(client, endpoint, data)
                assert SECRET_TOKEN not in answer and str(secret.parent) not in answer, endpoint
                for mentioned in re.findall(r"[^\s\"']*secret\.png", answer):
                    fetched = client.get(f"gradio_api/file={mentioned}")
                    assert SECRET_TOKEN not in fetched.text, (endpoint, mentioned)
    copies = [
        p for p in temp_dir.rglob("*") if p.is_file() and SECRET_TOKEN.encode() in p.read_bytes()
    ]
    assert copies == []


def test_an_uploaded_picture_is_still_read(real_server):
    """The guard lets the ordinary path through: upload, then name what the upload returned."""
    url, _ = real_server
    with httpx.Client(base_url=url, timeout=60) as client:
        uploaded = client.post(
            "gradio_api/upload", files={"files": ("7.png", png_bytes(digit_drawing(seed=3)))}
        ).json()[0]
        photo = {"path": uploaded, "meta": {"_type": "gradio.FileData"}}
        answer = call(client, "faces", [photo, True])
    assert "event: complete" in answer and "No face found" in answer


@pytest.mark.parametrize(
    ("body", "refused"),
    [
        ({"data": [{"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}]}, True),
        ({"data": [{"path": "passwd"}]}, True),  # relative: the server's working directory
        ({"data": [{"path": "{up}/../../etc/passwd"}]}, True),
        ({"data": [{"path": "{up}/link"}]}, True),  # a link in the folder to a file outside
        ({"data": [{"path": "http://127.0.0.1:9/x.png"}]}, True),  # the server would fetch it
        ({"data": [{"path": None, "meta": {"_type": "gradio.FileData"}}]}, True),
        ({"data": [{"path": "{up}/a/7.png", "url": "data:image/png;base64,AAAA"}]}, True),
        ({"data": [{"composite": {"layers": [[{"path": "/etc/hosts"}]]}}]}, True),  # nested
        ({"data": [{"path": "{up}/a", "meta": {"_type": "gradio.FileData"}}]}, True),  # folder
        ({"data": [{"path": "{up}/fifo", "meta": {"_type": "gradio.FileData"}}]}, True),
        ({"data": [{"path": "{up}/a/7.png", "meta": {"_type": "gradio.FileData"}}]}, False),
        ({"data": ["0.1, 0.2", 10, []], "fn_index": 3}, False),
    ],
)
def test_the_guard_reads_every_file_in_a_body(tmp_path, body, refused):
    upload = tmp_path / "upload"
    (upload / "a").mkdir(parents=True)
    (upload / "a" / "7.png").write_bytes(b"png")
    (upload / "link").symlink_to("/etc/passwd")
    os.mkfifo(upload / "fifo")  # inside the folder, but no regular file: never opened
    guard = UploadedFilesOnly(None, upload, max_body=1 << 20)
    text = json.dumps(body).replace("{up}", str(upload))
    assert (guard.refusal(text.encode()) is not None) == refused


def passwd(path: str = "/etc/passwd", extra: str = "") -> str:
    return json.dumps({"data": [{"path": path, "meta": {"_type": "gradio.FileData"}}]})[:-2] + (
        extra + "]}"
    )


# Bodies the standard library's json reads (and so Starlette, behind the guard) but a
# strict reader does not: each named a file the guard never saw before issue 33.
LENIENT = {
    "NaN literal": lambda path: passwd(path, ", NaN").encode(),
    "Infinity literal": lambda path: passwd(path, ", -Infinity").encode(),
    "number past a double": lambda path: passwd(path, ", 1e999").encode(),
    "lone surrogate": lambda path: passwd(path, ', "\\ud800"').encode(),
    "UTF-8 byte-order mark": lambda path: passwd(path).encode("utf-8-sig"),
    "UTF-16": lambda path: passwd(path).encode("utf-16"),
    "UTF-16-BE, no mark": lambda path: passwd(path).encode("utf-16-be"),
    "UTF-32": lambda path: passwd(path).encode("utf-32"),
    "UTF-32-LE, no mark": lambda path: passwd(path).encode("utf-32-le"),
    "integer past 64 bits": lambda path: passwd(path, ", " + "1" * 301).encode(),
}
LENIENT_BODIES = {kind: make("/etc/passwd") for kind, make in LENIENT.items()}


@pytest.mark.parametrize("kind", list(LENIENT_BODIES))
def test_the_guard_refuses_what_it_cannot_read_as_the_server_does(tmp_path, kind):
    body = LENIENT_BODIES[kind]
    assert json.loads(body)["data"][0]["path"] == "/etc/passwd"  # the server would read it
    guard = UploadedFilesOnly(None, tmp_path, max_body=1 << 20)
    assert guard.refusal(body) is not None
    assert guard.refusal(body, b"text/plain") is not None  # whatever the header claims
    assert guard.refusal(body, b"application/x-www-form-urlencoded") is not None
    assert guard.refusal(b"username=a&password=b", b"application/x-www-form-urlencoded") is None
    assert guard.refusal(b"") is None


def test_integers_within_64_bits_and_long_digit_strings_pass(tmp_path):
    guard = UploadedFilesOnly(None, tmp_path, max_body=1 << 20)
    assert guard.refusal(b'{"data": [9223372036854775807, -9223372036854775808]}') is None
    assert guard.refusal(b'{"data": ["0.10000000000000000555111512312578270211815834"]}') is None
    assert guard.refusal(b'{"data": [0.10000000000000000555111512312578270211815834]}') is None
    assert guard.refusal(b'{"data": [9223372036854775808]}') is not None


def test_gradio_s_own_file_check_is_armed_on_a_mounted_app():
    """Gradio checks a file input against its upload folder only once ``launch()`` has
    run, a private flag a mounted app never sets; ``gradio_app_kwargs`` sets it. Pinned
    Gradio: a new version may move the flag, and this test says so."""
    import gradio as gr
    from gradio import processing_utils
    from gradio.context import LocalContext
    from gradio.exceptions import InvalidPathError

    assert gr.__version__ == "6.31.0", "check that the file check is still armed this way"
    demo = gr.Blocks()
    assert demo.has_launched is False
    gradio_app_kwargs(demo, 1 << 20)
    token = LocalContext.blocks.set(demo)
    try:
        with pytest.raises(InvalidPathError):
            processing_utils._check_allowed("/etc/passwd", check_in_upload_folder=True)
    finally:
        LocalContext.blocks.reset(token)


def test_the_armed_check_holds_without_the_guard(secret, tmp_path):
    """Defence in depth: the app mounted without the guard still copies no file it did
    not receive."""
    import gradio as gr

    demo = build_app()
    demo.queue()
    gradio_app_kwargs(demo, 1 << 20)  # arms the check; its middleware is left out here
    app = gr.mount_gradio_app(FastAPI(), demo, path="/")
    photo = {"path": str(secret), "meta": {"_type": "gradio.FileData"}}
    with TestClient(app) as client:
        started = client.post("/gradio_api/call/faces", json={"data": [photo, True]})
        answer = client.get(f"/gradio_api/call/faces/{started.json()['event_id']}").text
    assert "event: error" in answer and SECRET_TOKEN not in answer
    cache = Path(demo.GRADIO_CACHE)
    copies = [
        p for p in cache.rglob("*") if p.is_file() and SECRET_TOKEN.encode() in p.read_bytes()
    ]
    assert copies == []


@pytest.mark.parametrize("kind", list(LENIENT_BODIES))
def test_a_body_read_leniently_is_refused_by_a_real_server(real_server, secret, kind):
    url, temp_dir = real_server
    body = LENIENT[kind](str(secret))
    assert json.loads(body)["data"][0]["path"] == str(secret)
    with httpx.Client(base_url=url, timeout=30) as client:
        for route in ("gradio_api/call/faces", "gradio_api/queue/join"):
            answer = client.post(route, content=body, headers={"content-type": "application/json"})
            assert answer.status_code in (400, 422), (route, answer.text)
            assert SECRET_TOKEN not in answer.text and str(secret) not in answer.text
    assert not [
        p for p in temp_dir.rglob("*") if p.is_file() and SECRET_TOKEN.encode() in p.read_bytes()
    ]


def test_a_device_named_as_a_file_never_stalls_the_server(real_server):
    """/dev/zero named as a file input: Gradio would hash it forever on its event loop."""
    url, _ = real_server
    body = LENIENT["NaN literal"]("/dev/zero")
    with httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(3):
            answer = client.post(
                "gradio_api/call/faces", content=body, headers={"content-type": "application/json"}
            )
            assert answer.status_code == 400
        assert client.get("gradio_api/info", timeout=5).is_success


def test_a_refusal_names_no_server_path(app_url):
    passwd = {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}
    response = httpx.post(
        f"{app_url}gradio_api/call/photo", timeout=30, json={"data": [passwd, "cifar10"]}
    )
    assert response.status_code == 400
    assert "/etc" not in response.text and "uploaded to this app" in response.json()["detail"]


@pytest.mark.parametrize(
    "content", [b"", b"not a picture", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, b"GIF89a" + b"\1" * 30]
)
def test_messages_name_no_server_path_nor_object(app_url, tmp_path, content):
    """A broken upload gets a message naming the file at most: no folder, no object repr,
    in the tabs and over REST."""
    from gradio_client import Client, handle_file

    path = tmp_path / "broken.png"
    path.write_bytes(content)
    client = Client(app_url, verbose=False)
    for api_name, extra in (("/photo", ["cifar10"]), ("/faces", [True])):
        result = client.predict(handle_file(str(path)), *extra, api_name=api_name)
        message = next(m for m in result if isinstance(m, str) and "Could not" in m)
        assert str(tmp_path) not in message and "gradio" not in message, message
        assert " object at 0x" not in message
    with TestClient(create_app()) as rest:
        for name in ("mnist", "face_keypoints"):
            answer = rest.post(f"/predict/{name}", content=content or b"x").json()["error"]
            assert "not a readable image" in answer and " object at 0x" not in answer, answer


# --- 2. What one request may make the server do ------------------------------------------


def fp32(shape: list[int], value: float = 0, name: str = "input") -> bytes:
    count = 1
    for size in shape:
        count *= size
    inputs = [{"name": name, "datatype": "FP32", "shape": shape, "data": [value] * count}]
    return json.dumps({"inputs": inputs}, separators=(",", ":")).encode()  # 2 bytes a zero


def png_of(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def attacks() -> dict[str, tuple[str, bytes]]:
    """The requests of issue 16 that cost gigabytes: (route, body)."""
    bomb = png_of(Image.new("1", (13_000, 13_000), 1))  # about 20 KB, under PIL's own limit
    big_rgb = png_of(Image.new("RGB", (9_400, 9_400), (200, 40, 40)))
    return {
        "1-bit 13,000 px PNG, mnist": ("/predict/mnist", bomb),
        "1-bit 13,000 px PNG, face_keypoints": ("/predict/face_keypoints", bomb),
        "RGB 9,400 px PNG, mnist": ("/predict/mnist", big_rgb),
        "FP32 [6000, 1, 28, 28], mnist": ("/v2/models/mnist/infer", fp32([6000, 1, 28, 28])),
        "FP32 [1500, 3, 32, 32], cifar10": ("/v2/models/cifar10/infer", fp32([1500, 3, 32, 32])),
        "FP32 [1, 1000000, 1], timeseries": (
            "/v2/models/timeseries/infer",
            fp32([1, 1_000_000, 1], 0.1),
        ),
    }


@pytest.fixture(scope="module")
def measured_server(tmp_path_factory) -> Iterator[tuple[str, int]]:
    """`visionplay serve` in its own process, every model warmed up: (url, its pid)."""
    port, log = free_port(), tmp_path_factory.mktemp("log") / "server.log"
    server, _ = start_server(ROOT / "exported", port, log, ready="v2/health/ready")
    url = f"http://127.0.0.1:{port}"
    try:
        for name in visionplay.inference.list_exported():
            httpx.get(f"{url}/v2/models/{name}", timeout=60).raise_for_status()
        httpx.post(f"{url}/predict/mnist", content=png_bytes(digit_drawing()), timeout=60)
        yield url, server.pid
    finally:
        stop_server(server)


def post_all(url: str, route: str, body: bytes, times: int) -> list[httpx.Response]:
    with ThreadPoolExecutor(times) as pool:
        return list(
            pool.map(lambda _: httpx.post(url + route, content=body, timeout=120), range(times))
        )


@pytest.mark.parametrize(
    "attack",
    [
        "1-bit 13,000 px PNG, mnist",
        "1-bit 13,000 px PNG, face_keypoints",
        "RGB 9,400 px PNG, mnist",
        "FP32 [6000, 1, 28, 28], mnist",
        "FP32 [1500, 3, 32, 32], cifar10",
        "FP32 [1, 1000000, 1], timeseries",
    ],
)
def test_an_attack_costs_the_server_little_memory(measured_server, attacks, attack):
    """Four at once, each refused with 400 and a reason; the server's peak resident memory
    (VmHWM, reset through clear_refs) grows by at most 300 MB."""
    url, pid = measured_server
    route, body = attacks[attack]
    before = memory_mb(pid, "VmRSS")
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak starts again from now
    answers = post_all(url, route, body, 4)
    assert [a.status_code for a in answers] == [400] * 4, answers[0].text
    assert memory_mb(pid, "VmHWM") - before <= 300
    assert (
        httpx.post(
            f"{url}/predict/mnist", content=png_bytes(digit_drawing()), timeout=30
        ).status_code
        == 200
    )


@pytest.mark.slow
def test_a_small_request_is_answered_while_the_largest_allowed_run(measured_server):
    """Four of the most expensive requests the limits allow (a 16-megapixel picture to the
    face model, a batch of 64 to cifar10 with its test-time flips), and meanwhile a drawn
    digit is still read within a second: large requests share a lane one core narrower."""
    url, _ = measured_server
    face = ("/predict/face_keypoints", png_of(Image.linear_gradient("L").resize((4000, 4000))))
    batch = ("/v2/models/cifar10/infer", fp32([64, 3, 32, 32], 0.5))
    digit = png_bytes(digit_drawing())
    with ThreadPoolExecutor(4) as pool:
        large = [pool.submit(post_all, url, *request, 1) for request in (face, batch) * 2]
        time.sleep(0.3)  # they are running or queued
        waits = []
        for _ in range(5):
            began = time.perf_counter()
            assert httpx.post(f"{url}/predict/mnist", content=digit, timeout=30).is_success
            waits.append(time.perf_counter() - began)
        busy = not all(f.done() for f in large)
        assert all(f.result()[0].status_code == 200 for f in large)
    assert busy, "the large requests ended before the small ones were timed"
    assert max(waits) < 1.0, waits


# --- 3. Bad requests get 400 and one line, never a 500 -----------------------------------

LONG = "a" * 300


@pytest.fixture(scope="module")
def rest() -> Iterator[TestClient]:
    with TestClient(create_app()) as client:
        yield client


def infer_body(**changes: Any) -> dict:
    body = {
        "inputs": [
            {"name": "input", "datatype": "FP32", "shape": [1, 1, 28, 28], "data": [0.0] * 784}
        ]
    }
    inputs = changes.pop("inputs", {})
    body["inputs"][0].update(inputs)
    return {**body, **changes}


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("POST", f"/predict/{LONG}", b"x", 404, "no model 'aaaa"),
        ("GET", f"/v2/models/{LONG}", None, 404, "no model 'aaaa"),
        ("GET", f"/v2/models/{LONG}/ready", None, 404, "no model 'aaaa"),
        ("POST", f"/v2/models/{LONG}/infer", infer_body(), 404, "no model 'aaaa"),
        ("POST", "/v2/models/mnist/infer", infer_body(parameters="x"), 400, "'parameters'"),
        ("POST", "/v2/models/mnist/infer", infer_body(parameters=[1]), 400, "'parameters'"),
        (
            "POST",
            "/v2/models/mnist/infer",
            infer_body(inputs={"parameters": 5}),
            400,
            "inputs[0].'parameters'",
        ),
        (
            "POST",
            "/v2/models/mnist/infer",
            infer_body(inputs={"shape": [1152921504606846976, 1, 28, 28], "data": []}),
            400,
            "a batch of 1 to 64",
        ),
        (
            "POST",
            "/v2/models/mnist/infer",
            infer_body(inputs={"shape": [0, 1, 28, 28], "data": []}),
            400,
            "a batch of",
        ),
        (
            "POST",
            "/v2/models/mnist/infer",
            infer_body(inputs={"data": [1e39] * 784}),
            400,
            "finite numbers",
        ),
        (
            "POST",
            "/v2/models/timeseries/infer",
            infer_body(inputs={"shape": [1, 20, 2], "data": [0.1] * 40}),
            400,
            "one channel",
        ),
        (
            "POST",
            "/v2/models/timeseries/infer",
            infer_body(inputs={"shape": [2, 6000, 1], "data": [0.1] * 12000}),
            400,
            "at most 10,000 values",
        ),
        (
            "POST",
            "/v2/models/mnist/infer",
            infer_body(inputs={"datatype": "BYTES", "shape": [65], "data": ["AAAA"] * 65}),
            400,
            "at most 64 pictures",
        ),
    ],
)
def test_bad_requests_are_400s_with_one_line(rest, method, path, body, status, message):
    answer = (
        rest.request(method, path, json=body)
        if isinstance(body, dict)
        else rest.request(method, path, content=body)
    )
    assert answer.status_code == status, answer.text
    text = answer.json()["error"]
    assert "\n" not in text and len(text) < 300 and (message is None or message in text), text
    assert rest.post("/predict/mnist", content=png_bytes(digit_drawing())).status_code == 200


def test_pictures_are_counted_before_they_are_decoded(monkeypatch):
    """The limit reads the header: a picture over it is refused without decoding a pixel,
    whatever its bytes, and the limit moves with $VISIONPLAY_MAX_PIXELS (serve
    --max-pixels); a large JPEG is decoded at a reduced scale."""
    bomb = png_of(Image.new("1", (13_000, 13_000), 1))
    with pytest.raises(InvalidInputError, match="13,000 x 13,000 pixels"):
        visionplay.load("mnist").predict(bomb)
    picture = png_of(Image.new("L", (1200, 1000), 255))
    monkeypatch.setenv("VISIONPLAY_MAX_PIXELS", "1000000")
    with pytest.raises(InvalidInputError, match="at most 1 megapixels"):
        visionplay.preprocess.open_image(picture)
    monkeypatch.setenv("VISIONPLAY_MAX_PIXELS", "2000000")
    assert visionplay.preprocess.open_image(picture).size == (1200, 1000)
    monkeypatch.delenv("VISIONPLAY_MAX_PIXELS")
    photo = io.BytesIO()
    Image.new("RGB", (4800, 3600), "white").save(photo, "JPEG")
    assert visionplay.preprocess.open_image(photo.getvalue()).size == (2400, 1800)


def test_a_missing_or_broken_model_names_no_server_folder(tmp_path, shipped_mnist, capsys):
    """Its tab says which file and how to make it; the folder goes to the server's log."""
    (tmp_path / "mnist.onnx").write_bytes(shipped_mnist.path.read_bytes()[:5000])  # broken
    demo = build_app(tmp_path)  # the others are missing
    texts = [str(getattr(block, "value", "") or "") for block in demo.blocks.values()]
    notices = [text for text in texts if "is not available" in text]
    assert any("`mnist.onnx` cannot be read" in text for text in notices)
    assert any("`face_keypoints.onnx` is missing" in text for text in notices)
    assert all(str(tmp_path) not in text for text in texts)
    assert str(tmp_path) in capsys.readouterr().err


# --- 1b. Generated variants of the exploit, against every endpoint ------------------------

ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be"]
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-16",
    "text/plain",
    None,
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
]
ODD_VALUES = ["NaN", "Infinity", "-Infinity", "1e999", '"\\ud800"', '"\\udfff x"', "1" * 40]


def escaped(text: str, which: list[bool]) -> str:
    """``text`` as a JSON string body with some characters written as \\u escapes."""
    return "".join(f"\\u{ord(c):04x}" if flag else c for c, flag in zip(text, which, strict=False))


@st.composite
def exploit_bodies(draw, endpoints: dict[str, Any], fn_indices: dict[str, int], path: str):
    """(route, body, content type): one endpoint's example input with a file named by
    ``path``, as JSON with odd literals, escapes, spacing and duplicate keys, in some
    encoding, under some content type."""
    endpoint = draw(st.sampled_from(sorted(endpoints)))
    data = [with_file(p.get("example_input"), "@@") for p in endpoints[endpoint]["parameters"]]
    text = json.dumps({"data": data}, separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])))
    quoted = escaped(path, draw(st.lists(st.booleans(), min_size=len(path), max_size=len(path))))
    text = text.replace('"@@"', f'"{quoted}"')
    extras = draw(st.lists(st.sampled_from(ODD_VALUES), max_size=3))
    if draw(st.booleans()):  # a harmless first "data", the real one last (json keeps the last)
        text = '{"data": [], ' + text[1:]
    route = f"gradio_api/call/{endpoint.lstrip('/')}"
    if draw(st.booleans()) and endpoint in fn_indices:
        text = text[:-1] + f', "fn_index": {fn_indices[endpoint]}, "session_hash": "h"}}'
        route = "gradio_api/queue/join"
    text = text[:-1] + "".join(f', "x{i}": {v}' for i, v in enumerate(extras)) + "}"
    body = text.encode(draw(st.sampled_from(ENCODINGS)), errors="surrogatepass")
    return route, body, draw(st.sampled_from(CONTENT_TYPES))


def test_generated_variants_of_the_exploit_never_reach_a_secret(real_server, secret):
    """Hypothesis throws encodings and JSON variants of the exploit at a real server, for
    every endpoint /gradio_api/info lists; the secret's content, path or a copy of it must
    never appear (a bounded number of examples: CI's time is bounded too)."""
    url, temp_dir = real_server
    with httpx.Client(base_url=url, timeout=10) as client:
        endpoints = client.get("gradio_api/info").json()["named_endpoints"]
        config = client.get("config").json()
        fn_indices = {
            f"/{d['api_name']}": d["id"] for d in config["dependencies"] if d.get("api_name")
        }

        @settings(
            max_examples=60,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate],
        )
        @given(st.data())
        def attack(data) -> None:
            around = f"{temp_dir}/../{secret.parent.name}/secret.png"
            path = data.draw(st.sampled_from([str(secret), "/dev/zero", around]))
            route, body, kind = data.draw(exploit_bodies(endpoints, fn_indices, path))
            headers = {"content-type": kind} if kind else {}
            answer = client.post(route, content=body, headers=headers)
            seen = answer.text
            if answer.is_success and route.startswith("gradio_api/call/"):
                seen += client.get(f"{route}/{answer.json()['event_id']}").text
            assert SECRET_TOKEN not in seen and str(secret.parent) not in seen, (route, body)

        attack()
        assert client.get("gradio_api/info", timeout=5).is_success  # /dev/zero stalled nothing
    copies = [
        p for p in temp_dir.rglob("*") if p.is_file() and SECRET_TOKEN.encode() in p.read_bytes()
    ]
    assert copies == []


# --- 1c. Uploads: the limit holds for a whole request, and a file needs a name ------------


def multipart(*parts: tuple[str, str | None, bytes]) -> bytes:
    """A multipart/form-data body of (field name, file name or None, content) parts."""
    body = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        body += f"--x\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
    return body + b"--x--\r\n"


FORM = {"content-type": "multipart/form-data; boundary=x"}


def files_in(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("route", "parts"),
    [
        ("gradio_api/upload", [("files", f"{i}.png", b"x" * (4 << 20)) for i in range(3)]),
        ("gradio_api/component_server", [(f"f{i}", None, b"x" * (1 << 20)) for i in range(12)]),
    ],
)
def test_a_request_s_size_is_bounded_however_it_is_encoded(real_server, route, parts):
    """Each part under the 10 MB limit, the request over it: 413, and nothing on disk."""
    url, temp_dir = real_server
    before = files_in(temp_dir)
    answer = httpx.post(url + route, content=multipart(*parts), headers=FORM, timeout=30)
    assert answer.status_code == 413, answer.text
    assert files_in(temp_dir) == before


@pytest.mark.parametrize(
    "part",
    [
        ("files", None, b"abc"),
        ("files", "", b"abc"),
        ("files", ".", b"abc"),
        ("files", "a/..", b"abc"),
        ("", "a.png", b"abc"),
    ],
)
def test_an_upload_without_a_name_is_refused_and_leaves_nothing(real_server, part):
    url, temp_dir = real_server
    before = files_in(temp_dir)
    body = multipart(("files", "7.png", b"png"), part)
    answer = httpx.post(url + "gradio_api/upload", content=body, headers=FORM, timeout=30)
    assert answer.status_code == 400 and "name" in answer.json()["detail"], answer.text
    assert files_in(temp_dir) == before
    many = multipart(*[("files", f"{i}.png", b"png") for i in range(65)])
    answer = httpx.post(url + "gradio_api/upload", content=many, headers=FORM, timeout=30)
    assert answer.status_code == 400 and "at most 64" in answer.text


def test_no_openapi_schema_is_served(real_server):
    url, _ = real_server
    for path in ("openapi.json", "docs", "redoc"):
        assert httpx.get(url + path, timeout=10).status_code == 404, path
