"""The registry and every architecture in it: shape, finiteness, ONNX round trip."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from visionplay import load
from visionplay.config import MNIST, DataConfig
from visionplay.errors import ModelNotFoundError
from visionplay.models.common import Normalize
from visionplay.models.registry import create_model, get_config, list_models, register_model
from visionplay.models.sequences import forecast_config
from visionplay.tasks import task_class
from visionplay.train.build import build_model, count_parameters
from visionplay.train.checkpoints import save_checkpoint
from visionplay.train.export import export_checkpoint, servable

ALL = list_models()
# As timm's tests leave their largest models out of the export tests: these two are in the
# zoo for the layer table (100M+ parameters, never trained or shipped); exporting them
# writes gigabytes and uses no layer the others do not.
LAYER_TABLE_GIANTS = {"alexnet_style", "vgg11"}


def test_mnist_zoo_is_registered():
    assert {"lenet5", "fc2", "cnn_small", "mnist"} <= set(list_models("mnist"))


def test_face_zoo_is_registered():
    assert set(list_models("youtube_faces")) == {
        "face_keypoints",
        "keypoint_cnn",
        "keypoint_resnet18",
    }


def test_duplicate_name_raises():
    with pytest.raises(ValueError, match="already registered"):
        register_model(MNIST, name="lenet5")(lambda: None)


def test_unknown_name_names_the_known_ones():
    with pytest.raises(ModelNotFoundError, match="unknown model 'nope'.*lenet5"):
        create_model("nope")


FIRST_READERS = """
import threading, time
import visionplay  # what serving has imported; the models come later
counts = []

def read():  # each thread's first import: one is still importing the models as others read
    from visionplay.models.registry import list_models
    counts.append(len(list_models()))

readers = [threading.Thread(target=read) for _ in range(8)]
for reader in readers:  # arriving one after another, as requests do
    reader.start()
    time.sleep(0.05)
for reader in readers: reader.join()
print(counts)
"""


def test_concurrent_first_readers_see_the_whole_registry():
    """The app's first requests can read the registry from several threads at once, each
    importing it for the first time while another is still importing the model modules."""
    done = subprocess.run(
        [sys.executable, "-c", FIRST_READERS], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == [len(list_models())] * 8


@pytest.mark.parametrize(
    ("name", "kwargs", "expected"),
    [("fc2", {"n_hidden": 8}, 6442), ("cnn_small", {"n_features": 6}, 6422)],
)
def test_seed_parameter_budgets(name, kwargs, expected):
    assert count_parameters(create_model(name, **kwargs)) == expected


def test_lenet5_flattens_to_400():
    net = create_model("lenet5")
    flat = net[:7](torch.zeros(1, 1, 28, 28))  # up to and including Flatten
    assert flat.shape == (1, 400)


def test_configs_written_with_fields_since_removed_still_load():
    """Files exported before ``channel_order`` was dropped carry it: reading ignores it."""
    older = {**MNIST.to_dict(), "channel_order": "NCHW"}
    assert DataConfig.from_dict(older) == MNIST
    assert DataConfig.from_json(json.dumps(older)) == MNIST
    assert "channel_order" not in MNIST.to_dict()


def test_the_model_names_its_parts_and_keeps_its_weight_keys():
    model = build_model("mnist")
    assert isinstance(model.normalize, Normalize) and model.net is model[1]
    assert {key.split(".")[0] for key in model.state_dict()} == {"0", "1"}  # as checkpoints hold
    assert isinstance(build_model("timeseries").normalize, torch.nn.Identity)


FORECASTERS = list_models("timeseries")


@pytest.mark.parametrize("name", FORECASTERS)
@pytest.mark.parametrize("kwargs", [{}, {"horizon": 3}])
def test_forecast_config_is_known_before_the_model_is_built(name, kwargs):
    cfg = forecast_config(name, **kwargs)
    model = build_model(name, **kwargs).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, 50, 1))
    assert out.shape == (2, cfg.settings.horizon)
    assert cfg.settings.window == model.net.window
    if not kwargs:
        assert cfg.settings.horizon == get_config(name).settings.horizon


@pytest.mark.parametrize("name", ALL)
def test_forward_shape_and_finite(name):
    cfg = get_config(name)
    model = build_model(name).eval()
    inputs = task_class(cfg.task).example_inputs(cfg, 3)
    with torch.no_grad():
        out = model(*(torch.from_numpy(x) for x in inputs))
    assert out.shape == (3, *task_class(cfg.task).output_shape(cfg))
    assert torch.isfinite(out).all()


def test_the_models_left_out_of_the_export_test_are_the_zoos_giants():
    assert set(ALL) >= LAYER_TABLE_GIANTS
    assert all(count_parameters(build_model(name)) > 100_000_000 for name in LAYER_TABLE_GIANTS)


@pytest.mark.parametrize("name", sorted(set(ALL) - LAYER_TABLE_GIANTS))
def test_onnx_round_trip(name, tmp_path):
    cfg = get_config(name)
    torch.manual_seed(0)
    model = build_model(name).eval()
    checkpoint = save_checkpoint(
        tmp_path / f"{name}.pt",
        name=name,
        model=model,
        cfg=cfg,
        args={},
        model_kwargs={},
        history=[],
    )
    result = export_checkpoint(checkpoint, tmp_path / "exported")
    assert result.max_abs_diff < 1e-4

    served = load(name, tmp_path / "exported")
    assert served.cfg == cfg
    inputs = task_class(cfg.task).example_inputs(cfg, 5, seed=1)
    with torch.no_grad():
        expected = servable(model, cfg)(*(torch.from_numpy(x) for x in inputs)).numpy()
    np.testing.assert_allclose(served.run(*inputs), expected, rtol=1e-4, atol=1e-5)
    if cfg.task == "classification":
        np.testing.assert_allclose(served.run(*inputs).sum(1), 1.0, atol=1e-5)
