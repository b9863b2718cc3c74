"""The app under load: 32 concurrent clients x 100 requests across the tabs, against
``visionplay serve`` in its own process on 127.0.0.1, through Gradio's plain HTTP API.
Zero errors, latency percentiles printed, and the server answers a health request
(its config) all along."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest

from visionplay.bench.browser import digit_strokes
from visionplay.bench.inputs import photo_variants
from visionplay.bench.server import free_port, start_server
from visionplay.inference import models_dir

CLIENTS, REQUESTS = 32, 100


def upload(client: httpx.Client, path: Path) -> dict:
    """The file on the server, as Gradio's API takes it."""
    with path.open("rb") as file:
        response = client.post("gradio_api/upload", files={"files": (path.name, file)})
    response.raise_for_status()
    return {"path": response.json()[0], "meta": {"_type": "gradio.FileData"}}


def call(client: httpx.Client, api_name: str, data: list) -> list:
    """One prediction: join the queue, then read the answer from the event stream."""
    joined = client.post(f"gradio_api/call/{api_name}", json={"data": data})
    joined.raise_for_status()
    stream = client.get(f"gradio_api/call/{api_name}/{joined.json()['event_id']}")
    event, payload = None, None
    for line in stream.text.splitlines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event in ("complete", "error"):
            payload = line.split(":", 1)[1].strip()
    if event != "complete":
        raise RuntimeError(f"{api_name}: {event} {payload}")
    return json.loads(payload)


@pytest.mark.load
def test_32_clients_100_requests_each(tmp_path):
    port = free_port()
    server, _ = start_server(
        models_dir(), port, tmp_path / "server.log", options=["--queue-per-client", "64"]
    )  # every client is 127.0.0.1
    base = f"http://127.0.0.1:{port}/"
    try:
        with httpx.Client(base_url=base, timeout=60) as setup:
            photos = []
            for i, photo in enumerate(photo_variants(8)):
                photo.save(tmp_path / f"photo-{i}.png")
                photos.append(upload(setup, tmp_path / f"photo-{i}.png"))
            faces = [upload(setup, p) for p in sorted(Path("demos/examples").glob("face_*"))]
            series = ", ".join(f"{v:.3f}" for v in np.sin(np.linspace(0, 6, 50)))
        requests = [
            (
                "draw",
                lambda i: [digit_strokes("7", seed=i % 8)],
                lambda out: out[0]["message"] == "" and out[0]["label"] == "7",
            ),
            ("photo", lambda i: [photos[i % 8], "fashion_mnist"], lambda out: out[2] == ""),
            ("faces", lambda i: [faces[i % len(faces)], True], lambda out: "found" in out[1]),
            ("forecast", lambda i: [series, 10], lambda out: out[1].startswith("**Next 10")),
        ]
        latencies: dict[str, list[float]] = {name: [] for name, *_ in requests}
        errors: list[str] = []
        health: list[float] = []
        done = threading.Event()

        def client_work(number: int) -> None:
            with httpx.Client(base_url=base, timeout=120) as client:
                for i in range(REQUESTS):
                    name, data, check = requests[(number + i) % len(requests)]
                    began = time.perf_counter()
                    try:
                        answer = call(client, name, data(number + i))
                        assert check(answer), f"{name}: unexpected answer {str(answer)[:200]}"
                    except Exception as err:  # every failure is counted, none hidden
                        errors.append(f"{name}: {err}"[:300])
                        continue
                    latencies[name].append(time.perf_counter() - began)

        def probe_health() -> None:
            with httpx.Client(base_url=base, timeout=10) as client:
                while not done.is_set():
                    began = time.perf_counter()
                    response = client.get("config")
                    if response.status_code != 200:
                        errors.append(f"health: HTTP {response.status_code}")
                    health.append(time.perf_counter() - began)
                    done.wait(0.5)

        prober = threading.Thread(target=probe_health)
        prober.start()
        began = time.perf_counter()
        try:
            with ThreadPoolExecutor(CLIENTS) as pool:
                list(pool.map(client_work, range(CLIENTS)))
        finally:
            done.set()
            prober.join()
        wall = time.perf_counter() - began
    finally:
        server.terminate()
        server.wait(timeout=30)

    def ms(values: list[float]) -> str:
        p50, p95, p99 = np.percentile(np.array(values) * 1000, [50, 95, 99])
        return f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms"

    total = sum(len(v) for v in latencies.values())
    print(f"\n{total} requests from {CLIENTS} clients in {wall:.0f} s ({total / wall:.1f}/s)")
    for name, values in latencies.items():
        print(f"  {name:<9}{len(values):>5} requests  {ms(values)}")
    print(f"  health   {len(health):>5} probes    {ms(health)}, max {max(health) * 1000:.0f} ms")
    assert errors == [], errors[:5]
    assert total == CLIENTS * REQUESTS
    assert len(health) >= 3  # it answered all along the run, not just before or after
