"""The load generator: concurrent clients on a Gradio tab (gradio_client) or on the REST
route (http.client), and Gradio's own per-request trace of what the server spent."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..errors import VisionplayError
from .timing import percentiles


def run_clients(
    clients: int,
    requests_per_client: int,
    connect: Callable[[], Any],
    send: Callable[[Any], Any],
) -> dict[str, Any]:
    """``clients`` threads, each with its own connection from ``connect()`` (closed at the
    end), each calling ``send(connection)`` ``requests_per_client`` times one after another;
    per-request latency and the requests per second of the whole. A request that raises
    is counted as an error, not timed."""
    connections = [connect() for _ in range(clients)]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def work(connection) -> None:
        for _ in range(requests_per_client):
            began = time.perf_counter()
            try:
                send(connection)
            except Exception as err:  # an error is a result here: counted and reported
                with lock:
                    errors.append(str(err)[:200])
                continue
            with lock:
                latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(work, connections))
    wall = time.perf_counter() - began
    for connection in connections:
        connection.close()
    return {
        "clients": clients,
        "requests": clients * requests_per_client,
        "errors": len(errors),
        **(percentiles(latencies) if latencies else {}),
        "requests_per_s": round(len(latencies) / wall, 1),
        **({"first_error": errors[0]} if errors else {}),
    }


def drive(
    url: str, api_name: str, payload: Callable[[], tuple], clients: int, requests_per_client: int
) -> dict[str, Any]:
    """A Gradio tab through gradio_client, one client per thread."""
    from gradio_client import Client

    return run_clients(
        clients,
        requests_per_client,
        connect=lambda: Client(url, verbose=False),
        send=lambda client: client.predict(*payload(), api_name=api_name),
    )


def drive_rest(url: str, body: bytes, clients: int, requests_per_client: int) -> dict[str, Any]:
    """``POST /predict/mnist`` with the PNG's bytes, one keep-alive connection per thread,
    as a program calling the REST route would. The client is the standard library's
    http.client: httpx spends enough CPU a request to be measured as the server's."""
    address = urllib.parse.urlsplit(url)

    def connect() -> http.client.HTTPConnection:
        return http.client.HTTPConnection(address.hostname, address.port, timeout=60)

    def send(connection: http.client.HTTPConnection) -> None:
        connection.request(
            "POST", "/predict/mnist", body=body, headers={"Content-Type": "image/png"}
        )
        response = connection.getresponse()
        answer = response.read()
        if response.status != 200:
            raise VisionplayError(f"HTTP {response.status}: {answer[:200]!r}")

    return run_clients(clients, requests_per_client, connect, send)


def server_times(url: str) -> dict[str, dict[str, float]]:
    """Gradio's own trace of each request since the last call (the server runs with
    GRADIO_PROFILING=1), per API name: p50/p95 of the time in its queue, in
    preprocessing, in our function, in postprocessing, and in all, in ms."""
    base = url + "gradio_api/profiling/"
    with urllib.request.urlopen(base + "traces", timeout=10) as response:
        traces = [t for t in json.load(response) if t["fn_name"] != "gradio_file_upload"]
    urllib.request.urlopen(urllib.request.Request(base + "clear", method="POST"), timeout=10)
    times: dict[str, dict[str, float]] = {}
    for name in sorted({t["fn_name"] for t in traces}):
        mine = [t for t in traces if t["fn_name"] == name]
        times[name] = {"requests": len(mine)}
        for phase in ("queue_wait", "preprocess", "fn_call", "postprocess", "total"):
            p50, p95 = np.percentile([t[f"{phase}_ms"] for t in mine], [50, 95])
            times[name] |= {
                f"{phase}_p50_ms": round(float(p50), 2),
                f"{phase}_p95_ms": round(float(p95), 2),
            }
    return times


def drive_rest_levels(url: str, body: bytes, levels: Sequence[int], requests: int) -> list[dict]:
    """:func:`drive_rest` at 1 client and at each level up to 8 (the targets' levels)."""
    return [
        drive_rest(url, body, clients, max(50, 4 * requests // clients))
        for clients in sorted({1, *[c for c in levels if c <= 8]})
    ]
