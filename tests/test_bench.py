"""``visionplay bench`` on a tiny exported model, and on the app over the shipped ones."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from visionplay.bench.timing import measure
from visionplay.cli.main import main
from visionplay.models.registry import get_config
from visionplay.train.build import build_model
from visionplay.train.checkpoints import save_checkpoint
from visionplay.train.export import export_checkpoint


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """fc2 (6,442 parameters), untrained, exported as visionplay export does it."""
    folder = tmp_path_factory.mktemp("tiny")
    checkpoint = save_checkpoint(
        folder / "fc2-checkpoint.pt",
        name="fc2",
        model=build_model("fc2"),
        cfg=get_config("fc2"),
        args={},
        model_kwargs={},
        history=[],
    )
    export_checkpoint(checkpoint, folder)
    return folder


def test_bench_compares_onnxruntime_with_pytorch(tiny_models, tmp_path, capsys):
    argv = [
        "bench",
        "fc2",
        "--models-dir",
        str(tiny_models),
        "--runs",
        "5",
        "--warmup",
        "1",
        "--batch",
        "4",
        "--no-app",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "fc2" in printed and "ratio" in printed
    report = json.loads((tmp_path / "bench.json").read_text())
    (row,) = report["models"]
    assert row["model"] == "fc2" and row["device"] == "cpu"
    assert row["max_abs_diff"] < 1e-5  # the same weights on both engines
    for engine in ("onnxruntime", "torch"):
        assert 0 < row[engine]["p50_ms"] <= row[engine]["p95_ms"]
        assert row[engine]["batch_per_s"] > 0
    assert row["speedup_p50"] == pytest.approx(
        row["torch"]["p50_ms"] / row["onnxruntime"]["p50_ms"], rel=0.01
    )
    assert row["speedup_batch"] == pytest.approx(
        row["onnxruntime"]["batch_per_s"] / row["torch"]["batch_per_s"], rel=0.01
    )
    assert 0 < row["predict"]["p50_ms"] <= row["predict"]["p95_ms"]
    assert "app" not in report
    assert (tmp_path / "bench.png").read_bytes()[:4] == b"\x89PNG"


def test_measure_reports_what_the_calls_took():
    # A call that takes a known time per item: the latency is one item's, and the
    # throughput is the batch's size over its time, never more.
    per_item_s = 0.002

    def call(inputs):
        time.sleep(per_item_s * len(inputs[0]))

    figures = measure(call, (np.zeros((1, 3)),), (np.zeros((8, 3)),), runs=10, warmup=1)
    assert per_item_s * 1000 <= figures["p50_ms"] <= figures["p95_ms"] < 10 * per_item_s * 1000
    assert 0.1 / per_item_s < figures["batch_per_s"] <= 1 / per_item_s


def test_bench_without_weights_says_how_to_make_them(tiny_models, tmp_path, capsys):
    models = tmp_path / "models"
    models.mkdir()
    (models / "fc2.onnx").write_bytes((tiny_models / "fc2.onnx").read_bytes())
    assert main(["bench", "fc2", "--models-dir", str(models), "--no-app"]) == 2
    error = capsys.readouterr().err
    assert "no weights at" in error and "visionplay export --onnx" in error
    assert main(["bench", "--runs", "0", "--no-app"]) == 2
    assert "--runs must be at least 1" in capsys.readouterr().err


def test_bench_drives_the_app(tmp_path, capsys):
    argv = [
        "bench",
        "mnist",
        "--runs",
        "3",
        "--warmup",
        "1",
        "--batch",
        "2",
        "--clients",
        "1",
        "2",
        "--requests",
        "4",
        "--no-browser",
        "--mixed",
        "2",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    report = json.loads((tmp_path / "bench.json").read_text())
    mixed = report["mixed"]  # heavy work from every entry point, a small request beside it
    assert mixed["probe_loaded"]["errors"] == 0 and mixed["probe_loaded"]["requests"] >= 15
    assert len(mixed["heavy"]) == 4 and all(h["done"] >= 2 for h in mixed["heavy"].values())
    app = report["app"]
    assert app["startup_s"] > 0
    for tab in ("draw", "photo", "generate", "generate_read"):
        runs = app["tabs"][tab]
        assert [run["clients"] for run in runs] == [1, 2]
        for run in runs:
            assert run["errors"] == 0 and run["requests"] == 4 and run["requests_per_s"] > 0
            assert run["server"]["requests"] == 4  # Gradio's own trace saw each request
            assert 0 < run["server"]["fn_call_p50_ms"] <= run["server"]["total_p50_ms"]
    out = capsys.readouterr().out
    assert "server p50" in out and "8 heavy clients: p50" in out


def test_the_app_starts_without_torch():
    """Serving needs onnxruntime only: torch is imported when a Learn panel computes."""
    code = "import sys, visionplay.ui.app as a; a.build_app(); print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
