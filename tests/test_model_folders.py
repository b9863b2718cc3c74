"""Model folders stack: ``--models-dir`` and ``$VISIONPLAY_MODELS`` (several of each) come
before the shipped models instead of hiding them; ``load``, the REST routes, the tabs and
``visionplay list`` see every model, the first folder's where two share a name."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import visionplay
from visionplay.cli.main import build_parser
from visionplay.cli.main import main as cli
from visionplay.errors import ModelNotFoundError
from visionplay.locations import MODELS_ENV, models_dirs, shipped_models_dir
from visionplay.serve.rest import ServeSettings, create_app

SHIPPED = shipped_models_dir()


@pytest.fixture
def mine(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """Two folders of one's own in $VISIONPLAY_MODELS: a "lenet5" (a copy of the shipped
    reader) in the first, and in the second an "mnist" that the shipped one stands behind."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    shutil.copy(SHIPPED / "mnist.onnx", first / "lenet5.onnx")
    shutil.copy(SHIPPED / "fashion_mnist.onnx", second / "mnist.onnx")
    monkeypatch.setenv(MODELS_ENV, os.pathsep.join([str(first), str(second)]))
    return first, second


def test_the_env_folders_come_before_the_shipped_models(mine):
    first, second = mine
    assert models_dirs() == (first, second, SHIPPED)
    assert visionplay.load("lenet5").path == first / "lenet5.onnx"
    assert visionplay.load("mnist").path == second / "mnist.onnx"  # the earlier folder's
    assert visionplay.load("face_keypoints").path == SHIPPED / "face_keypoints.onnx"
    assert {"lenet5", "mnist", "timeseries", "mnist_gan"} <= set(visionplay.list_exported())
    # a folder given to load() is searched alone
    assert visionplay.load("mnist", SHIPPED).path == SHIPPED / "mnist.onnx"
    with pytest.raises(
        ModelNotFoundError, match=re.escape(f"looked in {first.parent}, {SHIPPED};")
    ):
        visionplay.load("lenet5", [first.parent, SHIPPED])


def test_models_dir_flags_come_first_and_repeat(mine, tmp_path):
    args = build_parser().parse_args(["serve", "--models-dir", "a", "--models", "b"])
    assert models_dirs(args.models_dir) == (Path("a"), Path("b"), *mine, SHIPPED)


@pytest.mark.parametrize("name", ["", ".lenet5", "../first/lenet5", "lenet5/.."])
def test_a_name_is_never_a_path_or_a_hidden_file(mine, name):
    shutil.copy(mine[0] / "lenet5.onnx", mine[0] / ".lenet5.onnx")  # export's staged copies
    with pytest.raises(ModelNotFoundError):
        visionplay.load(name)
    assert ".lenet5" not in visionplay.list_exported()


def test_rest_serves_every_folder_of_the_stack(mine):
    client = TestClient(create_app(ServeSettings(models_dirs())))
    ready = client.get("/v2/health/ready").json()["models"]
    assert {"lenet5", "mnist", "face_keypoints"} <= set(ready)
    assert client.get("/v2/models/lenet5").status_code == 200
    assert client.get("/v2/models/nope").status_code == 404


def test_a_tab_finds_a_model_of_an_env_folder(mine):
    from visionplay.ui.widgets import try_load

    model, problem = try_load("lenet5", None)
    assert model is not None and problem == "" and model.path.parent == mine[0]


def test_list_shows_every_model_where_it_comes_from_and_its_figure(mine, capsys):
    first, second = mine
    assert cli(["list", "--json"]) == 0
    listed = {(m["name"], m["from"]): m for m in json.loads(capsys.readouterr().out)}
    assert listed["lenet5", str(first)]["task"] == "classification"
    assert listed["mnist", str(second)]["hidden_by"] is None
    shipped = listed["mnist", "shipped"]
    assert shipped["hidden_by"] == str(second / "mnist.onnx")
    assert shipped["figure"] == "accuracy 99.63% (eval)"  # the ensemble's, from eval
    assert re.fullmatch(r"NME 0\.\d+ \(eval\)", listed["face_keypoints", "shipped"]["figure"])
    assert listed["mnist_gan", "shipped"]["figure"].startswith("read as asked")
    assert cli(["list"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["model", "task", "figure", "from"]
    assert any(line.startswith("lenet5 ") and str(first) in line for line in table)
    assert any("(hidden by" in line for line in table)


def test_ray_carries_the_stack_in_one_folder(mine):
    pytest.importorskip("ray.serve", reason="Ray Serve is the optional extra visionplay[ray]")
    from visionplay.serve.ray_serve import models_folder

    carried = models_folder(models_dirs())
    names = sorted(p.name for p in carried.glob("*.onnx"))
    assert {"lenet5.onnx", "mnist.onnx", "timeseries.onnx"} <= set(names)
    assert (carried / "mnist.onnx").read_bytes() == (mine[1] / "mnist.onnx").read_bytes()
    assert models_folder(SHIPPED) == SHIPPED.resolve()  # one folder travels as it is


def test_every_tab_offers_every_model_of_its_kind_the_shipped_first(mine):
    from visionplay.ui.draw import reads_the_canvas
    from visionplay.ui.photo import PHOTO_MODELS
    from visionplay.ui.widgets import offered

    drawn = offered(None, "classification", ("mnist",), fits=reads_the_canvas)
    assert list(drawn.models) == ["mnist", "fashion_mnist", "lenet5"]  # not cifar10's RGB
    assert drawn.models["mnist"].path == mine[1] / "mnist.onnx"  # the first folder's
    photos = offered(None, "classification", PHOTO_MODELS)
    assert list(photos.models) == ["fashion_mnist", "cifar10", "lenet5", "mnist"]
    assert photos.cards["lenet5"].startswith("**lenet5** (your own) reads a 28x28 grey")
    shipped = "**cifar10** (shipped) reads a 32x32 colour picture as one of 10 classes: airplane"
    assert photos.cards["cifar10"].startswith(shipped)
    assert "accuracy" in photos.cards["cifar10"]
    assert list(offered(None, "keypoints", ("face_keypoints",)).models) == ["face_keypoints"]
    assert list(offered(None, "generation", ("mnist_gan",)).models) == ["mnist_gan", "fashion_gan"]
    nothing = offered(mine[0], "forecast", ("timeseries",))
    assert not nothing.models and "The timeseries model is not available" in nothing.problem


def test_a_page_asking_for_a_model_its_tab_lacks_gets_one_line(mine):
    import gradio as gr

    from visionplay.ui.app import build_app

    demo = build_app()
    pages = {b.elem_id: b for b in demo.blocks.values() if isinstance(b, gr.HTML)}
    seven = json.dumps([{"width": 18, "points": [[200, 100], [300, 100], [220, 320]]}])
    answer = pages["digit-draw"].answer([seven, "lenet5"])
    assert answer["model"] == "lenet5" and answer["label"] is not None
    assert pages["digit-draw"].answer(seven)["model"] == "mnist"  # no model named: the first
    refused = pages["digit-draw"].answer([seven, "cifar10" + "x" * 5000])
    assert refused["label"] is None and len(refused["message"]) < 200
    assert refused["message"].startswith("this tab has no model 'cifar10xxx")
    live = next(b for b in demo.blocks.values() if isinstance(b, gr.HTML) and hasattr(b, "follow"))
    assert live.follow(["{}", "../../etc/passwd"])["error"].startswith("this tab has no model")
