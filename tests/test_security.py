"""What the server exposes: this machine only unless asked, bounded uploads, kept briefly,
and no path from a request outside Gradio's temp area."""

from __future__ import annotations

import argparse
import socket
import sys

import httpx
import pytest

from visionplay.app import build_app
from visionplay.bench import free_port
from visionplay.cli import serve
from visionplay.cli.main import main


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
