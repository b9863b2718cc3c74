"""Heavy work from every entry point at once, and a small request beside it.

Eight clients send heavy work back to back, two of each kind: a 16-megapixel PNG photo
of a face through the Face tab, 64 digits drawn and read through the Generate tab, a
5,000-value series through the Forecast tab, and a 64-row CIFAR-10 batch over REST.
Meanwhile a drawn digit goes to ``POST /predict/mnist`` every 100 ms: its latency is
what one admission policy for every entry point is for (:mod:`visionplay.admission`).
The same probe runs first on the idle server, for comparison, then beside one client
sending the REST batch back to back: a lone large batch, which a server of one thread per
request reads a share per core while nothing else wants one (``Model.run``; compare a run
with ``VISIONPLAY_SPREAD=0``).
"""

from __future__ import annotations

import http.client
import json
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..locations import examples_dir
from .inputs import digit_drawing, png_bytes
from .server import free_port, start_server, stop_server
from .timing import percentiles

PROBE_EVERY_S = 0.1
# 16 megapixels, the most a picture may have, as a PNG: decoded whole (a large JPEG is
# decoded reduced), the heaviest photo a client can send.
PHOTO_SIZE = (4000, 4000)
SERIES_VALUES = 5000
BATCH_ROWS = 64


def bench_mixed(directory: Path, seconds: float = 30.0) -> dict[str, Any]:
    """Start ``visionplay serve``, probe it idle, then under the eight heavy clients for
    ``seconds``; the probe's latency both ways and what each heavy kind got done."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        photo = folder / "face.png"
        face = sorted(examples_dir().glob("face_keypoints-*.jpg"))[0]
        Image.open(face).convert("RGB").resize(PHOTO_SIZE).save(photo)
        port = free_port()
        server, _ = start_server(directory, port, folder / "server.log", ready="v2/health/ready")
        url = f"http://127.0.0.1:{port}/"
        try:
            heavy = heavy_senders(url, photo)
            for send in heavy.values():  # each once, untimed: models load, caches fill
                send()
            idle = probe(port, min(seconds, 10.0))
            lone = lone_batch(heavy["cifar10 64 rows (REST)"], port, min(seconds, 10.0))
            stop = threading.Event()
            done: dict[str, list[float]] = {name: [] for name in heavy}
            workers = [
                threading.Thread(target=keep_sending, args=(send, stop, done[name]))
                for name in heavy
                for _ in range(2)
            ]
            for worker in workers:
                worker.start()
            loaded = probe(port, seconds)
            stop.set()
            for worker in workers:
                worker.join()
        finally:
            stop_server(server)
    return {
        "seconds": seconds,
        "probe_idle": idle,
        "probe_loaded": loaded,
        "lone_batch": lone,
        "heavy": {
            name: {"done": len(times), **(percentiles(times) if times else {})}
            for name, times in done.items()
        },
    }


def lone_batch(send: Callable[[], Any], port: int, seconds: float) -> dict[str, Any]:
    """The batch alone (ten times), then sent back to back by one client while the probe
    runs: both batch timings and the probe's."""
    alone = []
    for _ in range(10):
        began = time.perf_counter()
        send()
        alone.append(time.perf_counter() - began)
    stop, beside = threading.Event(), []
    sender = threading.Thread(target=keep_sending, args=(send, stop, beside))
    sender.start()
    probed = probe(port, seconds)
    stop.set()
    sender.join()
    return {"alone": percentiles(alone), "beside": percentiles(beside), "probe": probed}


def heavy_senders(url: str, photo: Path) -> dict[str, Callable[[], Any]]:
    """One call of each heavy kind, by name: each makes its own connection when first
    called from a thread (gradio_client's are not shared between threads)."""
    from gradio_client import Client, handle_file

    local = threading.local()

    def client() -> Client:
        if not hasattr(local, "client"):
            local.client = Client(url, verbose=False)
        return local.client

    values = np.sin(np.arange(SERIES_VALUES) / 7.0) + np.random.default_rng(0).normal(
        0, 0.1, SERIES_VALUES
    )
    series = ", ".join(f"{v:.4f}" for v in values)
    batch = np.random.default_rng(1).random((BATCH_ROWS, 3, 32, 32), np.float32)
    tensor = {
        "name": "input",
        "datatype": "FP32",
        "shape": list(batch.shape),
        "data": batch.ravel().round(4).tolist(),
    }
    infer = json.dumps({"inputs": [tensor]}).encode()
    seeds = iter(range(1_000_000))  # next() on it is atomic under the GIL

    return {
        "face (Face tab, 16 MP)": lambda: client().predict(
            handle_file(str(photo)), True, api_name="/faces"
        ),
        "generate and read 64 (Generate tab)": lambda: client().predict(
            "mnist_gan", "7", 64, next(seeds), None, api_name="/generate_read"
        ),
        "forecast 5,000 values (Forecast tab)": lambda: client().predict(
            series, 10, api_name="/forecast"
        ),
        "cifar10 64 rows (REST)": lambda: post(url, "/v2/models/cifar10/infer", infer),
    }


def post(url: str, path: str, body: bytes) -> bytes:
    address = url.split("//")[1].rstrip("/")
    host, port = address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        answer = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {answer[:200]!r}")
        return answer
    finally:
        connection.close()


def keep_sending(send: Callable[[], Any], stop: threading.Event, times: list[float]) -> None:
    """``send()`` back to back until ``stop``, each one's seconds into ``times``."""
    while not stop.is_set():
        began = time.perf_counter()
        send()
        times.append(time.perf_counter() - began)


def probe(port: int, seconds: float) -> dict[str, Any]:
    """A drawn digit to ``POST /predict/mnist`` every :data:`PROBE_EVERY_S` for
    ``seconds`` (on one keep-alive connection): its latencies' percentiles."""
    body = png_bytes(digit_drawing(seed=5))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies, errors = [], 0
    ends = time.perf_counter() + seconds
    next_at = time.perf_counter()
    try:
        while next_at < ends:
            time.sleep(max(0.0, next_at - time.perf_counter()))
            began = time.perf_counter()
            connection.request(
                "POST", "/predict/mnist", body=body, headers={"Content-Type": "image/png"}
            )
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                latencies.append(time.perf_counter() - began)
            else:
                errors += 1
            next_at += PROBE_EVERY_S
    finally:
        connection.close()
    return {
        "requests": len(latencies) + errors,
        "errors": errors,
        **percentiles(latencies),
        "max_ms": round(max(latencies) * 1000, 3),
    }


def format_mixed(result: dict[str, Any]) -> list[str]:
    """The report's lines for the mixed-load part."""
    idle, loaded = result["probe_idle"], result["probe_loaded"]
    lines = [
        f"Small request beside heavy work ({result['seconds']:g} s): POST /predict/mnist "
        f"every {PROBE_EVERY_S * 1000:.0f} ms",
        f"  idle server: p50 {idle['p50_ms']:.1f} ms, p95 {idle['p95_ms']:.1f} ms",
        f"  8 heavy clients: p50 {loaded['p50_ms']:.1f} ms, p95 {loaded['p95_ms']:.1f} ms, "
        f"max {loaded['max_ms']:.1f} ms ({loaded['requests']} requests, {loaded['errors']} "
        "errors)",
    ]
    for name, heavy in result["heavy"].items():
        median = f", p50 {heavy['p50_ms'] / 1000:.2f} s each" if heavy["done"] else ""
        lines.append(f"  {name}: {heavy['done']} done{median}")
    lone = result.get("lone_batch")
    if lone:
        lines += [
            f"  one client sending the cifar10 batch: p50 {lone['probe']['p50_ms']:.1f} ms, "
            f"p95 {lone['probe']['p95_ms']:.1f} ms; the batch p50 {lone['beside']['p50_ms']:.0f} "
            f"ms (alone: {lone['alone']['p50_ms']:.0f} ms)",
        ]
    return lines
