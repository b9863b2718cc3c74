"""The attacks a server on a network meets, and what it does with them: this machine only
unless asked, only files uploaded to it as file inputs, bounded uploads, pictures, batches
and series, one-line 4xx answers for bad requests, and messages that name no server path."""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image, PngImagePlugin

from visionplay.app import build_app
from visionplay.bench import digit_drawing, free_port, png_bytes, stop_server
from visionplay.cli import serve
from visionplay.cli.main import main
from visionplay.rest import create_app
from visionplay.uploads import UploadedFilesOnly, gradio_app_kwargs

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
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                max_file_size=1024 * 1024)  # fmt: skip
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
    "visionplay serve": lambda port: [sys.executable, "-m", "visionplay.cli.main", "serve",
                                      "--port", str(port)],
    "python demos/app.py": lambda port: [sys.executable, str(ROOT / "demos" / "app.py")],
}  # fmt: skip


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
    copies = [p for p in temp_dir.rglob("*") if p.is_file() and SECRET_TOKEN.encode() in
              p.read_bytes()]  # fmt: skip
    assert copies == []


def test_an_uploaded_picture_is_still_read(real_server):
    """The guard lets the ordinary path through: upload, then name what the upload returned."""
    url, _ = real_server
    with httpx.Client(base_url=url, timeout=60) as client:
        uploaded = client.post("gradio_api/upload", files={"files": ("7.png", png_bytes(
            digit_drawing(seed=3)))}).json()[0]  # fmt: skip
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
        ({"data": [{"path": "{up}/a/7.png", "meta": {"_type": "gradio.FileData"}}]}, False),
        ({"data": ["0.1, 0.2", 10, []], "fn_index": 3}, False),
    ],
)
def test_the_guard_reads_every_file_in_a_body(tmp_path, body, refused):
    upload = tmp_path / "upload"
    (upload / "a").mkdir(parents=True)
    (upload / "a" / "7.png").write_bytes(b"png")
    (upload / "link").symlink_to("/etc/passwd")
    guard = UploadedFilesOnly(None, upload, max_body=1 << 20)
    text = json.dumps(body).replace("{up}", str(upload))
    assert (guard.refusal(text.encode()) is not None) == refused


def test_a_refusal_names_no_server_path(app_url_guarded):
    passwd = {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}
    response = httpx.post(f"{app_url_guarded}gradio_api/call/photo", timeout=30,
                          json={"data": [passwd, "cifar10"]})  # fmt: skip
    assert response.status_code == 400
    assert "/etc" not in response.text and "uploaded to this app" in response.json()["detail"]


@pytest.fixture(scope="module")
def app_url_guarded() -> Iterator[str]:
    demo = build_app()
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                app_kwargs=gradio_app_kwargs(demo, 1 << 20))  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


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
