"""The bench's report: the tables it prints, the chart it draws, and the files it saves.

Beside the whole report (``bench.json``) and its chart, :func:`save_report` writes
``summary.json``: the headline figures (:func:`summarize`), small enough to commit. The
docs quote the bench from the committed copy, ``docs/bench-summary.json``, through
``docs/figures.py``; ``python -m visionplay.bench.report runs/bench/bench.json`` makes
it again from a saved report.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..cli.bench import DEFAULT_DRAWINGS, DEFAULT_LIVE_S, DEFAULT_MIXED_S, DEFAULTS
from ..files import atomic_write, write_json
from ..plots import pyplot


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
            f"{'tab':<14}{'clients':>8}{'requests':>10}{'errors':>8}{'client p50':>12}{'p95':>8}"
            f"{'req/s':>8}{'server p50':>12}{'p95':>8}{'our fn p50':>12}",
        ]
        for tab, runs in app["tabs"].items():
            for run in runs:
                server = {
                    k: run.get("server", {}).get(k, nan)
                    for k in ("total_p50_ms", "total_p95_ms", "fn_call_p50_ms")
                }
                lines.append(
                    f"{tab:<14}{run['clients']:>8}{run['requests']:>10}{run['errors']:>8}"
                    f"{run.get('p50_ms', nan):>12.1f}{run.get('p95_ms', nan):>8.1f}"
                    f"{run['requests_per_s']:>8.1f}{server['total_p50_ms']:>12.1f}"
                    f"{server['total_p95_ms']:>8.1f}{server['fn_call_p50_ms']:>12.1f}"
                )
        if app.get("rest"):
            lines += [
                "",
                "REST: POST /predict/mnist with a 400x400 PNG drawing, keep-alive (http.client)",
                *rest_table(app["rest"]),
            ]
    for run in report.get("ray", []):
        title = (
            f"Ray Serve, {run['replicas']} replica(s), ready in {run['startup_s']:.1f} s: "
            "the same REST route through Ray's proxy"
        )
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
    ax.set(
        xticks=positions,
        yscale="log",
        ylabel="ms, batch 1, p50",
        title="one forward pass: onnxruntime vs PyTorch eager",
    )
    ax.set_xticklabels(names, fontsize=8)
    ax.legend()
    if app:
        # Every path a request can take, on one log axis: the tabs and REST differ by more
        # than an order of magnitude.
        paths = {f"{tab} tab (gradio_client)": runs for tab, runs in app["tabs"].items()}
        paths["REST /predict/mnist"] = app.get("rest", [])
        paths.update(
            {
                f"REST via Ray Serve, {run['replicas']} replica(s)": run["rest"]
                for run in report.get("ray", [])
            }
        )
        ax = axes[0, 1]
        for label, runs in paths.items():
            if runs:
                ax.plot(
                    [r["clients"] for r in runs],
                    [r["requests_per_s"] for r in runs],
                    "o-",
                    label=label,
                )
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="concurrent clients",
            ylabel="requests per second",
            title="the server, by the path taken",
        )
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)
    return path


def save_report(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """``bench.json`` and ``bench.png`` (returned), and ``summary.json`` beside them."""
    write_json(out_dir / SUMMARY_NAME, summarize(report))
    return write_json(out_dir / "bench.json", report), save_chart(report, out_dir / "bench.png")


SUMMARY_NAME = "summary.json"


def environment() -> dict[str, Any]:
    """What :func:`~visionplay.bench.engines.machine` leaves out and a summary names: the
    processor and the versions of what serves."""
    import gradio

    from .. import __version__

    return {
        "cpu": processor(),
        "load_average": load_average(),
        "python": platform.python_version(),
        "gradio": gradio.__version__,
        "visionplay": __version__,
    }


def now() -> str:
    """When a report was measured: local time, to the second, with its offset."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def load_average() -> float | None:
    """The machine's load over the last minute (None where the system does not say): on
    a shared machine, what the figures were measured beside."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def processor() -> str:
    """The processor's model name (``/proc/cpuinfo`` on Linux), else what ``platform``
    says, else ``"unknown"``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def bench_command(settings: dict[str, Any]) -> str | None:
    """The ``visionplay bench`` command line that asks for ``settings`` (the report's),
    defaults left out; None for a report that predates the settings it needs."""
    if "clients" not in settings:
        return None
    words = ["visionplay", "bench", *(settings.get("models") or [])]
    for flag in ("runs", "warmup", "batch"):
        if settings[flag] != DEFAULTS[flag]:
            words += [f"--{flag}", str(settings[flag])]
    if not settings["clients"]:
        words.append("--no-app")
    else:
        if list(settings["clients"]) != DEFAULTS["clients"]:
            words += ["--clients", *map(str, settings["clients"])]
        if settings["requests"] != DEFAULTS["requests"]:
            words += ["--requests", str(settings["requests"])]
        if not settings["drawings"]:
            words.append("--no-browser")
        elif settings["drawings"] != DEFAULT_DRAWINGS:
            words += ["--drawings", str(settings["drawings"])]
        if settings["mixed_s"] != DEFAULT_MIXED_S:
            words += ["--mixed", f"{settings['mixed_s']:g}"]
        # A report from before the live part has no setting for it: its command as it was.
        live = settings.get("live_s", DEFAULT_LIVE_S)
        if settings["drawings"] and live != DEFAULT_LIVE_S:
            words += ["--live", f"{live:g}"]
    if settings.get("ray"):
        words += ["--ray", *map(str, settings["ray"])]
    if settings.get("cuda") is not None:
        words.append("--cuda" if settings["cuda"] else "--no-cuda")
    return " ".join(words)


def summarize(report: dict[str, Any], command: str | None = None) -> dict[str, Any]:
    """The headline figures of a bench report, copied from it, none measured or typed
    anew: per model its onnxruntime p50 at batch 1, the ratio to PyTorch eager and
    ``predict``'s p50; the Draw tab's pen-up -> answer p50 in Chromium; the server's
    figures the docs quote (the tabs' server-side p50 with the fewest clients, the REST
    route, the small request beside heavy work, Ray Serve); the live camera view's figures
    beside Gradio's webcam streaming, with their targets; when, on what, with which
    versions, and the command that measured them (``command``, else as the report's
    settings ask). A part the run left out is absent."""
    machine = report.get("machine", {})
    summary: dict[str, Any] = {
        "date": report.get("date"),
        "command": command or bench_command(report.get("settings", {})),
        "machine": {
            "cpus": machine.get("cpus"),
            "cpu": machine.get("cpu"),
            "gpu": any(row["device"] == "cuda" for row in report["models"]),
        },
        "versions": {
            name: machine.get(name)
            for name in ("visionplay", "python", "onnxruntime", "torch", "gradio")
        },
    }
    load = [machine.get("load_average"), report.get("load_average_after")]
    if any(x is not None for x in load):  # the machine's load at the start and at the end
        summary["machine"]["load_average"] = load
    for device in ("cpu", "cuda"):
        rows = {
            row["model"]: {
                "onnxruntime_p50_ms": row["onnxruntime"]["p50_ms"],
                "torch_p50_ms": row["torch"]["p50_ms"],
                "ratio": row["speedup_p50"],
                **({"predict_p50_ms": row["predict"]["p50_ms"]} if "predict" in row else {}),
            }
            for row in report["models"]
            if row["device"] == device
        }
        if rows:
            summary["models" if device == "cpu" else "models_cuda"] = rows
    if app := report.get("app"):
        tabs = {}
        for tab, runs in app["tabs"].items():
            run = min(runs, key=lambda r: r["clients"])
            server = run.get("server", {})
            tabs[tab] = {
                "clients": run["clients"],
                "errors": run["errors"],
                "server_p50_ms": server.get("total_p50_ms"),
                "function_p50_ms": server.get("fn_call_p50_ms"),
            }
        summary["server"] = {"startup_s": app["startup_s"], "tabs": tabs}
        if app.get("rest"):
            summary["server"]["rest"] = rest_summary(app["rest"])
    if mixed := report.get("mixed"):
        loaded = mixed["probe_loaded"]
        summary["mixed"] = {
            "seconds": mixed["seconds"],
            "idle_p50_ms": mixed["probe_idle"]["p50_ms"],
            "loaded_p50_ms": loaded["p50_ms"],
            "loaded_p95_ms": loaded["p95_ms"],
            "loaded_max_ms": loaded["max_ms"],
            "errors": loaded["errors"],
        }
    if ray := report.get("ray"):
        summary["ray"] = [
            {"replicas": run["replicas"], "rest": rest_summary(run["rest"])} for run in ray
        ]
    if browser := report.get("browser"):
        if "skipped" in browser:
            summary["draw"] = {"skipped": browser["skipped"]}
        else:
            summary["draw"] = {
                page: {
                    key: figures[key]
                    for key in ("drawings", "answered", "read_right", "p50_ms", "p95_ms")
                    if key in figures
                }
                for page, figures in browser.items()
            }
    if live := report.get("live"):
        summary["live"] = live_summary(live)
    return summary


def live_summary(live: dict[str, Any]) -> dict[str, Any]:
    """The live part's headline figures (:mod:`.live`), its targets beside them."""
    if "skipped" in live:
        return {"skipped": live["skipped"]}
    keep = {
        "face_live": (
            "answers_per_s",
            "p50_ms",
            "p95_ms",
            "nme",
            "answers_scored",
            "missed_share",
            "found_p50_ms",
        ),
        "still": ("answers_per_s", "jitter_pct", "jitter_max_pct"),
        "gradio_streaming": ("stream_every_s", "updates_per_s", "p50_ms", "p95_ms"),
        "cameras": (),
        "replayed_cameras": (),
    }
    summary: dict[str, Any] = {"seconds": live["seconds"], "targets": live["targets"]}
    for part, keys in keep.items():
        if part in live:
            keys = ("skipped", *keys)
            summary[part] = {key: live[part][key] for key in keys if key in live[part]}
    for part in ("cameras", "replayed_cameras"):
        cameras = live.get(part)
        if not cameras or "skipped" in cameras:
            continue
        keys = ("cameras", "answers_per_s", "min_answers_per_s", "p50_ms", "p95_ms")
        summary[part] = {key: cameras[key] for key in keys if key in cameras}
        if probed := cameras.get("probe"):
            summary[part] |= {
                "probe_p50_ms": probed["p50_ms"],
                "probe_p95_ms": probed["p95_ms"],
                "probe_errors": probed["errors"],
            }
    return summary


def rest_summary(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "clients": run["clients"],
            "errors": run["errors"],
            "p50_ms": run.get("p50_ms"),
            "requests_per_s": run["requests_per_s"],
        }
        for run in runs
    ]


def main(argv: list[str] | None = None) -> int:
    """``python -m visionplay.bench.report BENCH_JSON``: the summary of a saved report."""
    import json

    parser = argparse.ArgumentParser(
        prog="python -m visionplay.bench.report", description=main.__doc__
    )
    parser.add_argument("report", type=Path, help="a bench.json that `visionplay bench` saved")
    parser.add_argument("--out", type=Path, help="default: summary.json beside the report")
    parser.add_argument("--command", help="the command that made it, where the report lacks it")
    args = parser.parse_args(argv)
    report = json.loads(args.report.read_text())
    if not report.get("date"):
        # A report saved before it carried its date: the file's own time.
        mtime = datetime.fromtimestamp(os.stat(args.report).st_mtime).astimezone()
        report["date"] = mtime.isoformat(timespec="seconds")
    out = args.out or args.report.with_name(SUMMARY_NAME)
    write_json(out, summarize(report, args.command))
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
