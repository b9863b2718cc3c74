"""The connections ``visionplay serve`` keeps: only those naming a host it was started for
(DNS rebinding), none for ever to a client that sends its requests slowly, and none past
its grace once SIGTERM comes, however much work is queued."""

from __future__ import annotations

import argparse
import asyncio
import http.client
import importlib.util
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from visionplay.admission import MOST_PER_CLIENT
from visionplay.bench.server import free_port, start_server, stop_server
from visionplay.cli import serve
from visionplay.cli.main import main
from visionplay.errors import InvalidInputError
from visionplay.inference import models_dir
from visionplay.serve import connections
from visionplay.serve.connections import AllowedHosts, deadline_protocol, host_rule

HEADERS_S, BODY_S = 1.0, 1.5  # the deadlines of the test server, short to keep tests short
SLACK_S = 1.0  # for a busy two-core machine
SLOW_APP_S = 2.7  # an answer taking longer than both deadlines together
EVIL = "rebound.attacker.example"


def serve_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serve.add_parser(parser.add_subparsers())
    return parser.parse_args(["serve", *argv])


# --- Host header: DNS rebinding -----------------------------------------------------------


@pytest.mark.parametrize(
    ("bind", "allowed", "host", "answered"),
    [
        ("127.0.0.1", [], "localhost:7860", True),
        ("127.0.0.1", [], "LOCALHOST.", True),
        ("127.0.0.1", [], "127.0.0.1:7860", True),
        ("127.0.0.1", [], "[::1]:7860", True),
        ("127.0.0.1", [], f"{EVIL}:7860", False),
        ("127.0.0.1", [], "192.168.1.20:7860", False),  # an address it does not listen on
        ("192.168.1.20", [], "192.168.1.20:7860", True),
        ("myhost.lan", [], "MyHost.lan:7860", True),
        ("::1", [], "[0:0:0:0:0:0:0:1]", True),
        ("0.0.0.0", [], "10.1.2.3:7860", True),  # DNS cannot rebind an address
        ("0.0.0.0", [], "[fe80::1]:7860", True),
        ("0.0.0.0", [], socket.gethostname(), True),
        ("::", [], "172.16.0.9", True),
        ("0.0.0.0", [], f"{EVIL}:7860", False),
        ("0.0.0.0", ["models.example.org,other.example"], "other.example:443", True),
        ("127.0.0.1", ["*.example.org"], "a.b.example.org", True),
        ("127.0.0.1", ["*.example.org"], "example.org.evil.example", False),
        ("127.0.0.1", ["a.example", "*"], EVIL, True),  # * switches the check off
    ],
)
def test_the_host_rule(bind, allowed, host, answered):
    assert host_rule(bind, allowed).allows(host) is answered


def test_allowed_hosts_repeat_and_split_on_commas():
    args = serve_args("--allowed-hosts", "a.example,b.example", "--allowed-hosts", "c.example")
    rule = host_rule(args.host, args.allowed_hosts)
    assert all(rule.allows(name) for name in ("a.example", "b.example", "c.example:80"))
    assert serve_args().allowed_hosts == []
    with pytest.raises(InvalidInputError, match="host names"):
        host_rule("127.0.0.1", ["http://a.example/"])


def test_serve_says_what_allowed_hosts_takes(capsys):
    assert main(["serve", "--allowed-hosts", "https://a.example", "--port", "1"]) == 2
    assert "--allowed-hosts takes host names" in capsys.readouterr().err


def test_a_refused_host_gets_a_one_line_400():
    app = FastAPI()
    app.get("/")(lambda: {"ok": True})
    app.websocket("/ws")(lambda websocket: websocket.accept())
    client = TestClient(AllowedHosts(app, host_rule("127.0.0.1")), base_url="http://localhost")
    assert client.get("/").status_code == 200
    long_name = "x" * 100 + ".example"
    refused = client.get("/", headers={"host": long_name})
    assert refused.status_code == 400
    detail = refused.json()["detail"]
    assert "x" * 40 + "..." in detail and long_name not in detail
    assert "--allowed-hosts" in detail and "\n" not in detail
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect("/ws", headers={"host": EVIL}),
    ):
        pass


@pytest.fixture(scope="module")
def real_server(tmp_path_factory) -> Iterator[tuple[subprocess.Popen, int, Path]]:
    """``visionplay serve`` on 127.0.0.1, its output in a log; the last test here stops it."""
    port, log = free_port(), tmp_path_factory.mktemp("serve") / "serve.log"
    process, _ = start_server(models_dir(), port, log, ready="gradio_api/info")
    try:
        yield process, port, log
    finally:
        stop_server(process, timeout=10)


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/", "/gradio_api/info", "/v2/health/ready"])
def test_serve_answers_only_the_hosts_it_was_started_for(real_server, path):
    _, port, _ = real_server
    url = f"http://127.0.0.1:{port}{path}"
    for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
        assert httpx.get(url, headers={"host": host}, timeout=30).status_code == 200
    refused = httpx.get(url, headers={"host": f"{EVIL}:{port}"}, timeout=30)
    assert refused.status_code == 400
    assert EVIL in refused.json()["detail"] and "--allowed-hosts" in refused.json()["detail"]


def test_serve_hands_uvicorn_the_guarded_app_and_the_deadlines(monkeypatch):
    """Without starting it: what ``serve_until_stopped`` gives uvicorn."""
    given = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda server, sockets=None: given.append(server))
    monkeypatch.setattr(serve.signal, "signal", lambda *_: None)  # leave pytest's handlers
    monkeypatch.setattr(serve, "mounted_gradio", lambda app: None)  # no Gradio to import
    with pytest.raises(serve.VisionplayError, match="did not start"):  # as the stub leaves it
        serve.serve_until_stopped(FastAPI(), "0.0.0.0", 7860)
    config = given[0].config
    assert isinstance(config.app, AllowedHosts) and config.app.rule.any_address
    assert issubclass(config.http, connections.Deadline)
    assert (config.http.headers_s, config.http.body_s) == (
        connections.HEADERS_S,
        connections.BODY_S,
    )


# --- Slow clients -------------------------------------------------------------------------


async def echo_length(scope, receive, send) -> None:
    """Answers the length of the body it read; on /slow, after ``SLOW_APP_S``."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/slow":
        await asyncio.sleep(SLOW_APP_S)
    answer = str(len(body)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(answer)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": answer})


@pytest.fixture(params=["httptools", "h11"])
def deadline_server(request) -> Iterator[int]:
    """A real uvicorn on 127.0.0.1 with the deadlines at ``HEADERS_S`` and ``BODY_S``."""
    pytest.importorskip(request.param)
    port = free_port()
    config = uvicorn.Config(
        echo_length,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        http=deadline_protocol(HEADERS_S, BODY_S, request.param),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


def trickle(sock: socket.socket, piece: bytes, within: float = 8) -> tuple[float, bytes]:
    """Send ``piece`` four times a second until the server closes the connection; returns
    when that was (seconds from now) and what the server sent."""
    began, received = time.monotonic(), b""
    sock.settimeout(0.25)
    while time.monotonic() - began < within:
        try:  # read first: an answer is waiting before the close
            data = sock.recv(4096)
        except TimeoutError:
            data = None
        except OSError:
            break
        if data == b"":
            break
        received += data or b""
        try:
            sock.sendall(piece)
        except OSError:
            break
    return time.monotonic() - began, received


def test_headers_sent_slowly_are_cut_off(deadline_server):
    with socket.create_connection(("127.0.0.1", deadline_server)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        took, received = trickle(sock, b"X-Slow: 1\r\n")
    assert took < HEADERS_S + SLACK_S, f"still open after {took:.1f} s"
    assert received.startswith(b"HTTP/1.1 408"), received
    assert b"headers took over 1 s" in received


def test_a_body_sent_slowly_is_cut_off(deadline_server):
    with socket.create_connection(("127.0.0.1", deadline_server)) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n")
        took, received = trickle(sock, b"x")
    assert BODY_S - 0.3 < took < BODY_S + SLACK_S, f"closed after {took:.1f} s"
    assert received.startswith(b"HTTP/1.1 408"), received


def test_requests_in_time_are_answered_on_a_kept_alive_connection(deadline_server):
    connection = http.client.HTTPConnection("127.0.0.1", deadline_server, timeout=10)
    answers = []
    for method, path, body in [
        ("GET", "/", None),
        ("POST", "/", b"hello"),
        ("POST", "/slow", b"x" * 100_000),
        ("GET", "/", None),
    ]:
        connection.request(method, path, body=body)
        response = connection.getresponse()
        answers.append((response.status, response.read()))
        if not answers[1:]:
            first = connection.sock
        time.sleep(HEADERS_S / 2)  # a pause between requests, within the deadline
    assert answers == [(200, b"0"), (200, b"5"), (200, b"100000"), (200, b"0")]
    assert connection.sock is first, "the connection was not kept"
    connection.close()


def test_an_idle_connection_is_closed_without_an_answer(deadline_server):
    with socket.create_connection(("127.0.0.1", deadline_server), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        time.sleep(0.2)
        assert sock.recv(4096).endswith(b"\r\n\r\n0")
        began = time.monotonic()
        assert sock.recv(4096) == b"", "something came unasked"
        assert time.monotonic() - began < HEADERS_S + SLACK_S


def test_many_slow_connections_are_all_closed_in_time(deadline_server):
    count = 50
    sockets = [socket.create_connection(("127.0.0.1", deadline_server)) for _ in range(count)]
    began, closed = time.monotonic(), {}
    for sock in sockets:
        sock.sendall(b"GET / HTTP/1.1\r\n")
        sock.setblocking(False)
    try:
        while len(closed) < count and time.monotonic() - began < 8:
            for index, sock in enumerate(sockets):
                if index in closed:
                    continue
                try:
                    gone = sock.recv(4096) == b""
                except BlockingIOError:
                    gone = False
                except OSError:
                    gone = True
                if not gone:
                    try:
                        sock.send(b"X-Slow: 1\r\n")
                    except OSError:
                        gone = True
                if gone:
                    closed[index] = time.monotonic() - began
            time.sleep(0.25)
    finally:
        for sock in sockets:
            sock.close()
    assert len(closed) == count, f"{count - len(closed)} still open after 8 s"
    assert max(closed.values()) < HEADERS_S + SLACK_S + 0.5, sorted(closed.values())[-5:]


# --- SIGTERM with work queued -------------------------------------------------------------


@pytest.mark.slow
def test_sigterm_with_work_queued_stops_within_the_grace(real_server):
    """Last in this file: it stops the module's server."""
    if importlib.util.find_spec("torch") is None:  # found, not imported: that takes seconds
        pytest.skip("the Learn tab's line fit, the slow call queued here, needs torch")
    process, port, log = real_server
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        events = [
            client.post("/gradio_api/call/fit_line", json={"data": [10000, "1e-8", 0]}).json()[
                "event_id"
            ]
            for _ in range(MOST_PER_CLIENT)
        ]
    last: list[str] = []  # what the client of the last event, still queued, is told
    reading = threading.Thread(target=read_stream, args=(port, events[-1], last))
    reading.start()
    time.sleep(1.5)  # the first ones have started
    process.terminate()
    began = time.perf_counter()
    try:
        code = process.wait(timeout=serve.GRACE_S + 2)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {serve.GRACE_S + 2} s after SIGTERM, held by the queue")
    took = time.perf_counter() - began
    reading.join(5)
    assert code == 0, log.read_text()[-2000:]
    # Told, whether it waited in Gradio's queue (an error event) or for its turn (the
    # tab's own message)
    assert serve.STOPPING in "".join(last), last
    print(f"exited {took:.2f} s after SIGTERM")


def read_stream(port: int, event_id: str, lines: list[str]) -> None:
    url = f"http://127.0.0.1:{port}/gradio_api/call/fit_line/{event_id}"
    try:
        with httpx.stream("GET", url, timeout=30) as stream:
            lines.extend(stream.iter_lines())
    except httpx.HTTPError as err:
        lines.append(f"{type(err).__name__}: {err}")
