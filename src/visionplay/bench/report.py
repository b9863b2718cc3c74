"""The bench's report: the tables it prints, the chart it draws, and the files it saves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

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
    return write_json(out_dir / "bench.json", report), save_chart(report, out_dir / "bench.png")
