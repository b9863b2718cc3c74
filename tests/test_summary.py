"""``visionplay summary``: layer tables over the whole registry."""

from __future__ import annotations

import pytest

from visionplay.cli.main import main as cli
from visionplay.models.registry import create_model, list_models
from visionplay.train.build import count_parameters
from visionplay.train.summary import summarize


@pytest.mark.parametrize("name", list_models())
def test_layer_table_accounts_for_every_parameter(name):
    layers = summarize(name)
    assert layers and all(layer.output_shape[0] == 1 for layer in layers)
    assert sum(layer.parameters for layer in layers) == count_parameters(create_model(name))


def test_lenet5_table_is_the_tutorials():
    shapes = {layer.kind: layer.output_shape for layer in summarize("lenet5")}
    assert shapes["Flatten"] == (1, 400)
    assert summarize("lenet5")[-1].output_shape == (1, 10)


def test_cli_lists_and_prints(capsys):
    assert cli(["summary", "--list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in list_models())
    assert cli(["summary", "fc2", "--model-kwargs", '{"n_hidden": 8}']) == 0
    assert "total parameters: 6,442" in capsys.readouterr().out
    assert cli(["summary", "nope"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err


def test_the_tutorials_shapes():
    mlp = summarize("mlp_1024")
    linear_out = [layer.output_shape for layer in mlp if layer.kind in ("Flatten", "Linear")]
    assert linear_out == [(1, 1024), (1, 2048), (1, 512), (1, 20)]

    flat = next(layer for layer in summarize("alexnet_style") if layer.kind == "Flatten")
    assert flat.output_shape == (1, 43264)

    unpool = summarize("unpool_autoencoder")
    sides = [layer.output_shape[-1] for layer in unpool if "pool" in layer.kind.lower()]
    assert sides == [112, 56, 28, 56, 112, 224]
    assert (
        sum(layer.kind == "MaxUnpool2d" for layer in unpool) == 3
    )  # real unpooling, no transposed convs
    assert unpool[-1].output_shape == (1, 1, 224, 224)


def test_uniform_init_option_of_mlp_1024():
    net = create_model("mlp_1024", uniform_init=True)
    weights, bias = net[1].weight.detach(), net[1].bias.detach()
    assert weights.min() >= 0 and weights.max() <= 1 and bias.abs().max() == 0
