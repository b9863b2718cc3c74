"""``visionplay summary``: layer tables over the whole registry."""

from __future__ import annotations

import pytest

from visionplay.cli.main import main as cli
from visionplay.registry import create_model, list_models
from visionplay.summary import summarize
from visionplay.training import count_parameters


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
