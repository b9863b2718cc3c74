"""``visionplay bench``: how fast the shipped models answer, measured, not assumed.

Two parts, one report:

* models: for every shipped model, one forward pass at batch 1 (p50/p95 over many runs,
  after warm-up) and throughput at batch 32, through onnxruntime and through PyTorch eager
  on the same weights (``exported/<name>.pt``) and the same inputs, in the same process.
  The ratio is the figure to quote: these machines are noisy, absolute times drift.
  Where onnxruntime's CUDA provider and torch.cuda both work, the same on the GPU.
  Beside them, ``load(name).predict`` end to end on an example input (decoding and
  preprocessing included), which is what a caller waits for.
* app: ``visionplay serve`` started on a free port (its time to a ready page measured),
  then driven by gradio_client with 1, 8 and 32 concurrent clients on the Draw and Photo
  tabs and the Generate tab's two buttons: client-side latency and requests per second,
  and the server's own time per request from Gradio's monitoring summary; then its REST
  route with 1 and 8 clients.
* mixed: heavy work from every entry point at once (the Face, Generate and Forecast tabs
  and REST), and a small REST request every 100 ms beside it (:mod:`.mixed`).
* browser: Chromium draws digits on the Draw tab, and on a bare Gradio Sketchpad for
  comparison; pen-up -> answer timed inside the page (:mod:`.browser`).
* live: the Face tab's live camera view in Chromium, a fake camera playing youtube-faces
  test frames: answers a second, capture -> drawn latency, still-face jitter, NME, four
  cameras at once beside the 100 ms probe; and Gradio's own webcam streaming with a handler
  that does nothing, for comparison (:mod:`.live`, :mod:`.streaming`).

Here: :func:`run_bench` and the drivers of the app and of Ray Serve. Around it: ``timing``
(durations and percentiles), ``inputs`` (what is sent), ``server`` (a ``visionplay serve``
child process, which the tests use too), ``clients`` (the load generator) and ``report``
(tables, chart, files, and the summary of headline figures that the docs quote); the
PyTorch side is :mod:`visionplay.train.compare`, imported only when the models part runs.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import VisionplayError
from ..inference import list_exported, models_dir
from .browser import bench_browser, digit_strokes
from .clients import drive, drive_rest_levels, server_times
from .engines import bench_model, cuda_available, machine
from .inputs import digit_drawing, photo_variants, png_bytes
from .live import bench_live
from .mixed import bench_mixed
from .report import environment, load_average, now
from .server import free_port, start_server, stop_server


def run_bench(
    directory: str | os.PathLike | None = None,
    names: Sequence[str] | None = None,
    runs: int = 200,
    warmup: int = 20,
    batch: int = 32,
    app_levels: Sequence[int] = (1, 8, 32),
    app_requests: int = 64,
    cuda: bool | None = None,
    ray_replicas: Sequence[int] = (),
    browser_drawings: int = 0,
    mixed_seconds: float = 0,
    live_seconds: float = 0,
) -> dict[str, Any]:
    """The whole report (see the module's docstring); ``app_levels=()`` skips the app,
    ``ray_replicas`` adds the REST route served by Ray Serve with each number of replicas,
    ``browser_drawings`` the browser part with that many digits drawn on each page,
    ``mixed_seconds`` that long a run of heavy work from every entry point at once
    (:mod:`.mixed`), ``live_seconds`` the live part with each of its parts that long
    (:mod:`.live`)."""
    directory = Path(directory or models_dir())
    asked = names
    names = list(names or list_exported(directory))
    if not names:
        raise VisionplayError(f"no exported models in {directory}")
    devices = ["cpu"] + (["cuda"] if (cuda_available() if cuda is None else cuda) else [])
    report: dict[str, Any] = {
        "date": now(),
        "machine": {**machine(), **environment()},
        # All that asked for this report: its summary names the command that measures it.
        "settings": {
            "runs": runs,
            "warmup": warmup,
            "batch": batch,
            "models": list(asked or []),
            "clients": list(app_levels),
            "requests": app_requests,
            "drawings": browser_drawings,
            "mixed_s": mixed_seconds,
            "live_s": live_seconds,
            "ray": list(ray_replicas),
            "cuda": cuda,
        },
        "models": [
            bench_model(name, directory, runs, warmup, batch, device)
            for device in devices
            for name in names
        ],
    }
    if app_levels:
        report["app"] = bench_app(directory, app_levels, app_requests)
    if ray_replicas:
        report["ray"] = bench_ray(directory, ray_replicas, app_levels or (1, 8), app_requests)
    if mixed_seconds:
        report["mixed"] = bench_mixed(directory, mixed_seconds)
    if browser_drawings:
        report["browser"] = bench_browser(directory, browser_drawings)
    if live_seconds:
        report["live"] = bench_live(directory, live_seconds)
    report["load_average_after"] = load_average()  # beside machine's, taken at the start
    return report


def bench_app(directory: Path, levels: Sequence[int], requests: int) -> dict[str, Any]:
    """Start the app, drive its Draw and Photo tabs and the Generate tab's two buttons
    (64 digits drawn, and drawn and read) at each concurrency level, stop it.
    Every request carries a different drawing or picture: identical answers at the same
    moment would race in Gradio's file cache (it rewrites a cached output in place while
    serving it)."""
    from gradio_client import handle_file

    from ..tasks.generation import MOST_IN_GRID

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i in range(max(levels) * 2):
            digit_drawing(seed=i).save(folder / f"digit-{i}.png")
        for i, photo in enumerate(photo_variants(max(levels) * 2)):
            photo.save(folder / f"photo-{i}.png")
        photos = sorted(folder.glob("photo-*"))
        strokes = [digit_strokes("7", seed=i) for i in range(max(levels) * 2)]
        counter = itertools.count()  # next() on it is atomic under the GIL

        def draw() -> tuple:  # strokes JSON, as the Draw tab's canvas sends it
            return (strokes[next(counter) % len(strokes)],)

        def photo() -> tuple:
            return handle_file(str(photos[next(counter) % len(photos)])), "fashion_mnist"

        def most_digits() -> tuple:  # model, class, how many, seed
            return "mnist_gan", "7", MOST_IN_GRID, next(counter)

        port = free_port()
        # Every client here comes from 127.0.0.1: one address, as many as the levels ask.
        options = ["--queue-per-client", str(max(levels))]
        server, startup = start_server(directory, port, folder / "server.log", options=options)
        url = f"http://127.0.0.1:{port}/"
        try:
            server_times(url)  # start from an empty trace
            runs: dict[str, list] = {}
            routes = (
                ("draw", draw),
                ("photo", photo),
                ("generate", most_digits),
                ("generate_read", most_digits),
            )
            for tab, payload in routes:
                for clients in levels:
                    run = drive(url, f"/{tab}", payload, clients, max(1, requests // clients))
                    run["server"] = server_times(url).get(tab, {})
                    runs.setdefault(tab, []).append(run)
            rest = drive_rest_levels(url, (folder / "digit-0.png").read_bytes(), levels, requests)
        finally:
            stop_server(server)
    return {"startup_s": round(startup, 2), "tabs": runs, "rest": rest}


def bench_ray(
    directory: Path, replica_counts: Sequence[int], levels: Sequence[int], requests: int
) -> list[dict[str, Any]]:
    """``visionplay serve --ray --replicas N`` for each N, its REST route driven as in
    :func:`bench_app`, then stopped (which shuts its local Ray down)."""
    body = png_bytes(digit_drawing())
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for replicas in replica_counts:
            port = free_port()
            options = ["--ray", "--replicas", str(replicas)]
            server, startup = start_server(
                directory,
                port,
                Path(tmp, "ray.log"),
                timeout=300,
                options=options,
                ready="v2/health/ready",
            )
            try:
                runs = drive_rest_levels(f"http://127.0.0.1:{port}/", body, levels, requests)
            finally:
                stop_server(server)
            results.append({"replicas": replicas, "startup_s": round(startup, 2), "rest": runs})
    return results
