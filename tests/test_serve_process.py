"""``visionplay serve`` as a service manager runs it: a process of its own, stopped by SIGTERM
while a browser tab holds its heartbeat stream, and with clients that drop mid-request."""

from __future__ import annotations

import http.client
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from visionplay.bench.inputs import digit_drawing, png_bytes
from visionplay.bench.server import free_port, start_server, stop_server
from visionplay.inference import models_dir

STOP_WITHIN_S = 5.0  # "a few seconds": uvicorn's graceful-shutdown timeout, and some slack
DROPPING_CLIENTS = 50


@pytest.fixture
def server(tmp_path) -> Iterator[tuple[subprocess.Popen, int, Path]]:
    """``visionplay serve`` over the shipped models on a free port; its output in a log."""
    port, log = free_port(), tmp_path / "serve.log"
    process, _ = start_server(models_dir(), port, log, ready="gradio_api/info")
    try:
        yield process, port, log
    finally:
        stop_server(process, timeout=10)


@pytest.mark.slow
def test_sigterm_stops_it_promptly_while_a_tab_holds_its_heartbeat(server):
    process, port, log = server
    # What a browser tab keeps open for as long as it shows the app.
    heartbeat = f"http://127.0.0.1:{port}/gradio_api/heartbeat/test-tab"
    with httpx.Client(timeout=30) as client, client.stream("GET", heartbeat) as stream:
        assert stream.status_code == 200
        chunks = stream.iter_raw()  # held: a dropped iterator would close the stream
        assert next(chunks).startswith(b"data: ALIVE")
        process.terminate()
        began = time.perf_counter()
        try:
            code = process.wait(timeout=STOP_WITHIN_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {STOP_WITHIN_S:g} s after SIGTERM, held by the tab")
    assert code == 0, log.read_text()[-2000:]
    assert "Traceback" not in log.read_text(), "the stream was cancelled, not ended"
    print(f"exited {time.perf_counter() - began:.2f} s after SIGTERM")


def drop_mid_body(port: int, path: str) -> None:
    """A request announcing more body than it sends, then the connection closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n".encode()
            + b"x" * 1000
        )
        time.sleep(0.01)  # the server has begun reading the body


@pytest.mark.slow
def test_clients_dropping_mid_body_cost_at_most_a_log_line_each(server):
    _, port, log = server
    before = len(log.read_text().splitlines())
    for client in range(DROPPING_CLIENTS):
        drop_mid_body(port, "/predict/mnist" if client % 2 else "/v2/models/mnist/infer")

    # Still serving; a good request also orders the log after the drops it handled.
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", "/predict/mnist", body=png_bytes(digit_drawing()))
    response = connection.getresponse()
    assert response.status == 200, response.read()
    connection.close()

    logged = log.read_text().splitlines()[before:]
    assert not any("Traceback" in line for line in logged), "\n".join(logged[:40])
    assert len(logged) <= DROPPING_CLIENTS, "\n".join(logged[:40])
