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
  tabs: client-side latency and requests per second, and the server's own time per
  request from Gradio's monitoring summary.
"""

from __future__ import annotations

import http.client
import io
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from .errors import VisionplayError
from .files import atomic_write, write_json
from .inference import list_exported, load, models_dir
from .locations import examples_dir
from .plots import pyplot

EXAMPLES = examples_dir()
IDLE_S = 0.5  # pause before timing an engine, longer than OpenMP's spin-wait (0.2 s)


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    """p50 and p95 of a list of durations, in milliseconds."""
    p50, p95 = np.percentile(np.asarray(seconds) * 1000, [50, 95])
    return {"p50_ms": round(float(p50), 3), "p95_ms": round(float(p95), 3)}


def time_calls(call: Callable[[], Any], runs: int, warmup: int) -> list[float]:
    """Durations of ``runs`` calls, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        call()
    durations = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        durations.append(time.perf_counter() - began)
    return durations


def measure(call: Callable[[np.ndarray], Any], one: np.ndarray, many: np.ndarray,
            runs: int, warmup: int) -> dict[str, float]:  # fmt: skip
    """Latency at batch 1 and items per second at the batch size of ``many``."""
    latency = percentiles(time_calls(lambda: call(one), runs, warmup))
    batch_runs = max(3, runs // 10)
    per_batch = np.median(time_calls(lambda: call(many), batch_runs, max(1, warmup // 10)))
    return {**latency, "batch_per_s": round(len(many) / float(per_batch), 1)}


def eager_model(name: str, directory: Path, device: str):
    """The PyTorch model behind ``<name>.onnx``, from the weights shipped beside it."""
    from .config import DataConfig
    from .export import servable
    from .training import load_checkpoint, model_from_checkpoint

    path = directory / f"{name}.pt"
    if not path.is_file():
        raise VisionplayError(
            f"no weights at {path} to run {name} in PyTorch; "
            "`visionplay export --onnx` writes them beside the ONNX file"
        )
    checkpoint = load_checkpoint(path)
    model = servable(model_from_checkpoint(checkpoint), DataConfig.from_dict(checkpoint["cfg"]))
    return model.eval().to(device)


def example_input(model) -> Any:
    """What a caller hands ``predict``/``forecast``: a picture, or 50 values of a series."""
    task, dataset = model.cfg.task, model.cfg.dataset
    if task == "forecast":
        from .series import generate

        return generate(1, model.cfg.input_size[0], seed=0)[0]
    if dataset == "mnist":
        return digit_drawing()
    matches = sorted(EXAMPLES.glob(f"{model.name}-*"))
    if not matches:
        return Image.fromarray(np.random.default_rng(0).integers(0, 255, (240, 320, 3), np.uint8))
    return Image.open(matches[0]).convert("RGB")


def digit_drawing(size: int = 400, seed: int | None = None) -> Image.Image:
    """A 7 drawn as on the Draw tab's canvas: black strokes on a transparent square; with
    a seed, shifted and stretched a little, as no two hands draw it alike."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    rng = np.random.default_rng(seed)
    jitter = rng.uniform(-30, 30, (3, 2)) if seed is not None else np.zeros((3, 2))
    points = (np.array([(120, 110), (280, 110), (170, 300)]) + jitter) * size / 400
    ImageDraw.Draw(image).line([tuple(p) for p in points], fill=(0, 0, 0, 255),
                               width=int(18 * size / 400), joint="curve")  # fmt: skip
    return image


def png_bytes(image: Image.Image) -> bytes:
    """The picture as a PNG file's bytes, as an upload or a REST body carries it."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def photo_variants(count: int) -> list[Image.Image]:
    """The Fashion-MNIST example photos, each cropped a little differently."""
    rng = np.random.default_rng(0)
    photos = [Image.open(p).convert("RGB") for p in sorted(EXAMPLES.glob("fashion_mnist-*"))]
    variants = []
    for i in range(count):
        photo = photos[i % len(photos)]
        left, top = (
            rng.integers(0, max(1, photo.width // 20)),
            rng.integers(0, max(1, photo.height // 20)),
        )
        variants.append(photo.crop((left, top, photo.width - left, photo.height - top)))
    return variants


def bench_model(name: str, directory: Path, runs: int, warmup: int, batch: int,
                device: str = "cpu") -> dict[str, Any]:  # fmt: skip
    """onnxruntime vs PyTorch eager for one model on one device."""
    import torch

    providers = ["CUDAExecutionProvider"] if device == "cuda" else ["CPUExecutionProvider"]
    model = load(name, directory, providers=providers)
    eager = eager_model(name, directory, device)
    shape = tuple(model.cfg.input_size)
    rng = np.random.default_rng(0)
    one, many = (rng.random((n, *shape), dtype=np.float32) for n in (1, batch))

    def run_onnx(x: np.ndarray) -> np.ndarray:
        return model.session.run(None, {model.input_name: x})[0]

    @torch.inference_mode()
    def run_torch(x: np.ndarray) -> np.ndarray:
        out = eager(torch.from_numpy(x).to(device))
        return out.cpu().numpy()  # back on the host, as onnxruntime's answer is

    result: dict[str, Any] = {
        "model": name,
        "device": device,
        "input": list(shape),
    }
    # PyTorch's OpenMP workers spin for a while after their last parallel region; on 2 cores
    # that halved onnxruntime's speed when it was timed right after a PyTorch call. So each
    # engine is timed after a pause, onnxruntime before PyTorch has run at all.
    for engine, call in (("onnxruntime", run_onnx), ("torch", run_torch)):
        time.sleep(IDLE_S)
        result[engine] = measure(call, one, many, runs, warmup)
    result["max_abs_diff"] = float(np.abs(run_onnx(many) - run_torch(many)).max())
    result["speedup_p50"] = round(result["torch"]["p50_ms"] / result["onnxruntime"]["p50_ms"], 2)
    result["speedup_batch"] = round(
        result["onnxruntime"]["batch_per_s"] / result["torch"]["batch_per_s"], 2
    )
    if device == "cpu":
        example = example_input(model)
        call = (lambda: model.forecast(example, 10)) if model.cfg.task == "forecast" else (
            lambda: model.predict(example))  # fmt: skip
        result["predict"] = percentiles(time_calls(call, max(10, runs // 4), 3))
    return result


def cuda_available() -> bool:
    import onnxruntime as ort
    import torch

    return "CUDAExecutionProvider" in ort.get_available_providers() and torch.cuda.is_available()


# The app, end to end


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    directory: Path,
    port: int,
    log: Path,
    timeout: float = 120,
    options: Sequence[str] = (),
    ready: str = "",
) -> tuple[subprocess.Popen, float]:
    """``visionplay serve [options]`` in a child process, its output to ``log`` (a pipe
    nobody reads would fill up and stall it); returns it and its seconds until ``ready``
    (a path under the server's root) answers 200."""
    command = [sys.executable, "-m", "visionplay.cli.main", "serve", "--port", str(port),
               "--models-dir", str(directory), *options]  # fmt: skip
    began = time.perf_counter()
    with open(log, "wb") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                                  env={**os.environ, "GRADIO_PROFILING": "1"})  # fmt: skip
    url = f"http://127.0.0.1:{port}/{ready}"
    while time.perf_counter() - began < timeout:
        if server.poll() is not None:
            raise VisionplayError(f"the server exited: {log.read_text()[-500:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return server, time.perf_counter() - began
        except OSError:
            time.sleep(0.05)
    stop_server(server)
    raise VisionplayError(f"the server did not answer on {url} within {timeout:.0f} s")


def stop_server(server: subprocess.Popen, timeout: float = 60) -> int:
    """SIGTERM, as a service manager would (``--ray`` then shuts its Ray down); SIGKILL if
    it has not gone within ``timeout`` seconds. Returns its exit code."""
    server.terminate()
    try:
        return server.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        server.kill()
        return server.wait()


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


def drive(url: str, api_name: str, payload: Callable[[], tuple], clients: int,
          requests_per_client: int) -> dict[str, Any]:  # fmt: skip
    """A Gradio tab through gradio_client, one client per thread."""
    from gradio_client import Client

    return run_clients(
        clients, requests_per_client,
        connect=lambda: Client(url, verbose=False),
        send=lambda client: client.predict(*payload(), api_name=api_name),
    )  # fmt: skip


def drive_rest(url: str, body: bytes, clients: int, requests_per_client: int) -> dict[str, Any]:
    """``POST /predict/mnist`` with the PNG's bytes, one keep-alive connection per thread,
    as a program calling the REST route would. The client is the standard library's
    http.client: httpx spends enough CPU a request to be measured as the server's."""
    address = urllib.parse.urlsplit(url)

    def connect() -> http.client.HTTPConnection:
        return http.client.HTTPConnection(address.hostname, address.port, timeout=60)

    def send(connection: http.client.HTTPConnection) -> None:
        connection.request("POST", "/predict/mnist", body=body,
                           headers={"Content-Type": "image/png"})  # fmt: skip
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
            times[name] |= {f"{phase}_p50_ms": round(float(p50), 2),
                            f"{phase}_p95_ms": round(float(p95), 2)}  # fmt: skip
    return times


def bench_app(directory: Path, levels: Sequence[int], requests: int) -> dict[str, Any]:
    """Start the app, drive its Draw and Photo tabs at each concurrency level, stop it.
    Every request carries a different picture: identical answers at the same moment would
    race in Gradio's file cache (it rewrites a cached output in place while serving it)."""
    from gradio_client import handle_file

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i in range(max(levels) * 2):
            digit_drawing(seed=i).save(folder / f"digit-{i}.png")
        for i, photo in enumerate(photo_variants(max(levels) * 2)):
            photo.save(folder / f"photo-{i}.png")
        digits, photos = sorted(folder.glob("digit-*")), sorted(folder.glob("photo-*"))
        counter = itertools.count()  # next() on it is atomic under the GIL

        def draw() -> tuple:
            path = digits[next(counter) % len(digits)]
            return ({"background": None, "layers": [], "composite": handle_file(str(path))},)

        def photo() -> tuple:
            return handle_file(str(photos[next(counter) % len(photos)])), "fashion_mnist"

        port = free_port()
        server, startup = start_server(directory, port, folder / "server.log")
        url = f"http://127.0.0.1:{port}/"
        try:
            server_times(url)  # start from an empty trace
            runs: dict[str, list] = {}
            for tab, payload in (("draw", draw), ("photo", photo)):
                for clients in levels:
                    run = drive(url, f"/{tab}", payload, clients, max(1, requests // clients))
                    run["server"] = server_times(url).get(tab, {})
                    runs.setdefault(tab, []).append(run)
            rest = drive_rest_levels(url, (folder / "digit-0.png").read_bytes(), levels, requests)
        finally:
            stop_server(server)
    return {"startup_s": round(startup, 2), "tabs": runs, "rest": rest}


def drive_rest_levels(url: str, body: bytes, levels: Sequence[int], requests: int) -> list[dict]:
    """:func:`drive_rest` at 1 client and at each level up to 8 (the targets' levels)."""
    return [drive_rest(url, body, clients, max(50, 4 * requests // clients))
            for clients in sorted({1, *[c for c in levels if c <= 8]})]  # fmt: skip


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
            server, startup = start_server(directory, port, Path(tmp, "ray.log"), timeout=300,
                                           options=options, ready="v2/health/ready")  # fmt: skip
            try:
                runs = drive_rest_levels(f"http://127.0.0.1:{port}/", body, levels, requests)
            finally:
                stop_server(server)
            results.append({"replicas": replicas, "startup_s": round(startup, 2), "rest": runs})
    return results


# The report


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"{'model':<16}{'device':<7}{'ort p50':>9}{'p95':>8}{'torch p50':>11}{'p95':>8}"
        f"{'ratio':>7}{'ort b32/s':>11}{'torch b32/s':>13}{'predict p50':>13}"
    ]
    for row in report["models"]:
        o, t = row["onnxruntime"], row["torch"]
        predict = f"{row['predict']['p50_ms']:.2f}" if "predict" in row else "-"
        lines.append(
            f"{row['model']:<16}{row['device']:<7}{o['p50_ms']:>9.3f}{o['p95_ms']:>8.3f}"
            f"{t['p50_ms']:>11.3f}{t['p95_ms']:>8.3f}{row['speedup_p50']:>6.1f}x"
            f"{o['batch_per_s']:>11,.0f}{t['batch_per_s']:>13,.0f}{predict:>13}"
        )
    lines.append(
        "(times in ms; ratio = torch p50 / onnxruntime p50; b32/s = items per second at "
        "batch 32; predict = load().predict on an example, preprocessing included)"
    )
    app, nan = report.get("app"), float("nan")
    if app:
        lines += [
            "",
            f"app: ready {app['startup_s']:.2f} s after `visionplay serve` started; client = "
            "gradio_client round trip (upload, queue, answer, download); server = Gradio's "
            "trace, request taken to answer ready",
            f"{'tab':<8}{'clients':>8}{'requests':>10}{'errors':>8}{'client p50':>12}{'p95':>8}"
            f"{'req/s':>8}{'server p50':>12}{'p95':>8}{'our fn p50':>12}",
        ]
        for tab, runs in app["tabs"].items():
            for run in runs:
                server = {k: run.get("server", {}).get(k, nan) for k in
                          ("total_p50_ms", "total_p95_ms", "fn_call_p50_ms")}  # fmt: skip
                lines.append(
                    f"{tab:<8}{run['clients']:>8}{run['requests']:>10}{run['errors']:>8}"
                    f"{run.get('p50_ms', nan):>12.1f}{run.get('p95_ms', nan):>8.1f}"
                    f"{run['requests_per_s']:>8.1f}{server['total_p50_ms']:>12.1f}"
                    f"{server['total_p95_ms']:>8.1f}{server['fn_call_p50_ms']:>12.1f}"
                )
        if app.get("rest"):
            lines += ["", "REST: POST /predict/mnist with a 400x400 PNG drawing, keep-alive "
                      "(http.client)", *rest_table(app["rest"])]  # fmt: skip
    for run in report.get("ray", []):
        title = (f"Ray Serve, {run['replicas']} replica(s), ready in {run['startup_s']:.1f} s: "
                 "the same REST route through Ray's proxy")  # fmt: skip
        lines += ["", title, *rest_table(run["rest"])]
    return "\n".join(lines)


def rest_table(runs: list[dict[str, Any]]) -> list[str]:
    nan = float("nan")
    lines = [f"{'clients':>8}{'requests':>10}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'req/s':>8}"]
    for run in runs:
        lines.append(
            f"{run['clients']:>8}{run['requests']:>10}{run['errors']:>8}"
            f"{run.get('p50_ms', nan):>9.2f}{run.get('p95_ms', nan):>9.2f}"
            f"{run['requests_per_s']:>8.1f}"
        )
    return lines


def save_chart(report: dict[str, Any], path: Path) -> Path:
    """Bars: batch-1 p50 per model, onnxruntime beside PyTorch; and requests per second
    by concurrent clients for each path measured (the tabs, REST, Ray Serve)."""
    plt = pyplot()

    app = report.get("app")
    fig, axes = plt.subplots(1, 2 if app else 1, figsize=(12 if app else 7, 4), squeeze=False)
    rows = report["models"]
    names = [f"{r['model']}\n({r['device']})" if r["device"] != "cpu" else r["model"] for r in rows]
    positions = np.arange(len(rows))
    ax = axes[0, 0]
    for offset, engine in ((-0.2, "onnxruntime"), (0.2, "torch")):
        values = [r[engine]["p50_ms"] for r in rows]
        bars = ax.bar(positions + offset, values, width=0.4, label=engine)
        ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=7)
    ax.set(xticks=positions, yscale="log", ylabel="ms, batch 1, p50",
           title="one forward pass: onnxruntime vs PyTorch eager")  # fmt: skip
    ax.set_xticklabels(names, fontsize=8)
    ax.legend()
    if app:
        # Every path a request can take, on one log axis: the tabs and REST differ by more
        # than an order of magnitude.
        paths = {f"{tab} tab (gradio_client)": runs for tab, runs in app["tabs"].items()}
        paths["REST /predict/mnist"] = app.get("rest", [])
        paths.update({f"REST via Ray Serve, {run['replicas']} replica(s)": run["rest"]
                      for run in report.get("ray", [])})  # fmt: skip
        ax = axes[0, 1]
        for label, runs in paths.items():
            if runs:
                ax.plot([r["clients"] for r in runs], [r["requests_per_s"] for r in runs],
                        "o-", label=label)  # fmt: skip
        ax.set(xscale="log", yscale="log", xlabel="concurrent clients",
               ylabel="requests per second", title="the server, by the path taken")  # fmt: skip
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)
    return path


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
) -> dict[str, Any]:
    """The whole report (see the module's docstring); ``app_levels=()`` skips the app,
    ``ray_replicas`` adds the REST route served by Ray Serve with each number of replicas."""
    import onnxruntime as ort
    import torch

    directory = Path(directory or models_dir())
    names = list(names or list_exported(directory))
    if not names:
        raise VisionplayError(f"no exported models in {directory}")
    devices = ["cpu"] + (["cuda"] if (cuda_available() if cuda is None else cuda) else [])
    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "onnxruntime": ort.__version__,
            "providers": ort.get_available_providers(),
        },  # fmt: skip
        "settings": {"runs": runs, "warmup": warmup, "batch": batch},
        "models": [
            bench_model(name, directory, runs, warmup, batch, device)
            for device in devices
            for name in names
        ],  # fmt: skip
    }
    if app_levels:
        report["app"] = bench_app(directory, app_levels, app_requests)
    if ray_replicas:
        report["ray"] = bench_ray(directory, ray_replicas, app_levels or (1, 8), app_requests)
    return report


def save_report(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    return write_json(out_dir / "bench.json", report), save_chart(report, out_dir / "bench.png")
