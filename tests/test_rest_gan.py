"""A generator over REST: its two inputs in the protocol (FP32 ``z``, INT64 ``label``), their
refusals, and GET /generate's PNG grid. The generator is an untrained one, exported here:
its pictures are noise, its contract is not."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

import visionplay
from visionplay.locations import models_dir
from visionplay.models.registry import get_config
from visionplay.serve.rest import ServeSettings, create_app
from visionplay.tasks import Generator
from visionplay.train.build import build_model
from visionplay.train.checkpoints import save_checkpoint
from visionplay.train.export import export_checkpoint

NAME = "mnist_gan"
PNG_HEADER = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A models folder of its own: an untrained mnist_gan and a copy of the shipped mnist."""
    root = tmp_path_factory.mktemp("gan")
    torch.manual_seed(0)
    model = build_model(NAME).eval()
    checkpoint = save_checkpoint(
        root / f"{NAME}.pt",
        name=NAME,
        model=model,
        cfg=get_config(NAME),
        args={},
        model_kwargs={},
        history=[],
    )
    export_checkpoint(checkpoint, root / "exported")
    shutil.copy(Path(models_dir()) / "mnist.onnx", root / "exported" / "mnist.onnx")
    return root / "exported"


@pytest.fixture(scope="module")
def generator(folder) -> Generator:
    return visionplay.load(NAME, folder)


@pytest.fixture(scope="module")
def client(folder):
    with TestClient(create_app(ServeSettings(folder, max_body=2 << 20))) as client:
        yield client


def tensors(z: np.ndarray, labels: np.ndarray) -> list[dict]:
    return [
        {"name": "z", "datatype": "FP32", "shape": list(z.shape), "data": z.ravel().tolist()},
        {"name": "label", "datatype": "INT64", "shape": [len(labels)], "data": labels.tolist()},
    ]


def refused(answer, status: int, folder: Path) -> str:
    """The protocol's one-line error, naming no path of the server's."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body) == {"error"} and isinstance(body["error"], str)
    message = body["error"]
    assert message and "\n" not in message and "Traceback" not in message
    assert str(folder) not in message and str(Path(__file__).parents[1]) not in message
    return message


def test_generator_metadata_lists_both_inputs_and_the_pictures(client, generator):
    meta = client.get(f"/v2/models/{NAME}").json()
    assert meta["inputs"] == [
        {"name": "z", "datatype": "FP32", "shape": [-1, generator.latent]},
        {"name": "label", "datatype": "INT64", "shape": [-1]},
    ]
    assert meta["outputs"] == [{"name": "pictures", "datatype": "FP32", "shape": [-1, 1, 28, 28]}]
    assert meta["parameters"]["task"] == "generation"
    assert meta["parameters"]["labels"] == list(generator.labels)
    assert client.get(f"/v2/models/{NAME}/versions/1").json() == meta


@pytest.mark.parametrize(
    "path", [f"/v2/models/{NAME}/infer", f"/v2/models/{NAME}/versions/1/infer"]
)
@pytest.mark.parametrize("count", [1, 3, 12])  # 12: past the large lane's threshold
def test_infer_answers_what_run_does(client, generator, path, count):
    z = np.random.default_rng(count).standard_normal((count, generator.latent), np.float32)
    labels = np.arange(count, dtype=np.int64) % 10
    body = {"id": "g1", "inputs": list(reversed(tensors(z, labels)))}  # by name, in any order
    answer = client.post(path, json=body)
    assert answer.status_code == 200, answer.text
    answer = answer.json()
    assert answer["model_name"] == NAME and answer["id"] == "g1"
    assert [o["name"] for o in answer["outputs"]] == ["pictures"]
    pictures = answer["outputs"][0]
    assert pictures["datatype"] == "FP32" and pictures["shape"] == [count, 1, 28, 28]
    values = np.array(pictures["data"], np.float32).reshape(pictures["shape"])
    np.testing.assert_allclose(values, generator.run(z, labels), atol=1e-6)


def test_infer_takes_nested_data_as_the_protocol_allows(client, generator):
    z = np.zeros((2, generator.latent), np.float32)
    body = {"inputs": tensors(z, np.array([3, 4]))}
    body["inputs"][0]["data"] = z.tolist()
    answer = client.post(f"/v2/models/{NAME}/infer", json=body)
    assert answer.status_code == 200, answer.text


def body_with(change: dict | None = None, **by_input: dict) -> dict:
    """A valid two-row request with the fields of ``z`` or ``label`` replaced."""
    z = np.zeros((2, 64), np.float32)
    inputs = tensors(z, np.array([1, 2]))
    for spec in inputs:
        spec.update(by_input.get(spec["name"], {}))
    return {"inputs": inputs, **(change or {})}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            body_with(label={"datatype": "FP32"}),
            "input 'label': datatype 'FP32' is not taken: mnist_gan's label is INT64",
        ),
        (body_with(z={"datatype": "INT64"}), "datatype 'INT64' is not taken"),
        (body_with(z={"datatype": "BYTES", "data": ["aGk="]}), "datatype 'BYTES' is not taken"),
        (
            body_with(label={"shape": [3], "data": [1, 2, 3]}),
            "mnist_gan's inputs must hold one batch size; got z 2, label 3",
        ),
        (body_with(label={"data": [1, 10]}), "mnist_gan has no class 10; its classes: 0 (0)"),
        (body_with(label={"data": [1, -1]}), "has no class -1"),
        (body_with(label={"data": [1, 2**70]}), "INT64 'data' must be whole numbers"),
        (body_with(label={"data": [1, 2.5]}), "INT64 'data' must be whole numbers"),
        (body_with(label={"data": [1, True]}), "INT64 'data' must be whole numbers"),
        (body_with(label={"data": [1, "2"]}), "INT64 'data' must be whole numbers"),
        (body_with(label={"data": [1]}), "shape [2] holds 2 values"),
        (body_with(label={"shape": [2, 1], "data": [1, 2]}), "takes shape (N); got [2, 1]"),
        (
            body_with(z={"shape": [2, 63], "data": [0.0] * 126}),
            "mnist_gan takes z of shape (N, 64); got (2, 63)",
        ),
        (body_with(z={"shape": [2, 65], "data": [0.0] * 130}), "takes z of shape (N, 64)"),
        (body_with(z={"data": [0.0] * 127 + [1e39]}), "'data' must be finite numbers"),
        (body_with(z={"data": [0.0] * 127 + ["nan"]}), "'data' must be finite numbers"),
        (body_with(z={"data": [0.0] * 127 + [None]}), "'data' must be finite numbers"),
        (body_with(z={"data": [0.0] * 127 + [{"a": 1}]}), "'data' must be numbers"),
        (body_with(z={"data": [[0.0] * 64, [0.0] * 63]}), "'data' must be numbers"),
        (body_with(z={"data": [0.0] * 5}), "shape [2, 64] holds 128 values"),
        (body_with(z={"shape": "2x64"}), "'shape' must be a list of sizes"),
        (body_with(z={"shape": [-2, 64]}), "'shape' must be a list of sizes"),
        (
            body_with(z={"shape": [0, 64], "data": []}, label={"shape": [0], "data": []}),
            "a batch of 1 to 64 is taken; got 0",
        ),
        (
            body_with(
                z={"shape": [65, 64], "data": [0.0] * 65 * 64},
                label={"shape": [65], "data": [0] * 65},
            ),
            "a batch of 1 to 64 is taken",
        ),
        (body_with(label={"name": "z"}), "takes the inputs z, label, each once by name; got 'z'"),
        (body_with(label={"name": "labels"}), "got 'labels'"),
        (body_with(z={"parameters": {"binary_data_size": 512}}), "binary_data=False"),
        (
            {"inputs": tensors(np.zeros((1, 64), np.float32), np.array([1]))[:1]},
            "'inputs' must be a list of 2 inputs, by name: z, label",
        ),
        ({"inputs": [*body_with()["inputs"], body_with()["inputs"][0]]}, "list of 2 inputs"),
        (
            body_with({"outputs": [{"name": "probabilities"}]}),
            "mnist_gan has no output 'probabilities' for this input; it gives pictures",
        ),
    ],
)
def test_infer_refusals_are_one_line_and_the_server_goes_on(client, folder, body, message):
    assert message in refused(client.post(f"/v2/models/{NAME}/infer", json=body), 400, folder)
    assert client.post(f"/v2/models/{NAME}/infer", json=body_with()).status_code == 200


def test_a_bare_nan_is_refused_as_not_json(client, folder):
    """JSON has no NaN (Python's json writes one anyway); the finite check above takes the
    NaN and infinity that do arrive, as text or past float32's range."""
    body = body_with(z={"data": [float("nan")] * 128})
    answer = client.post(f"/v2/models/{NAME}/infer", content=json.dumps(body).encode())
    assert "the body is not JSON" in refused(answer, 400, folder)


def grid(answer) -> Image.Image:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/png"
    assert answer.content.startswith(b"\x89PNG\r\n\x1a\n")
    picture = Image.open(io.BytesIO(answer.content))
    assert picture.format == "PNG" and picture.mode == "L"
    return picture


@pytest.mark.parametrize(
    ("query", "size"),
    [
        ("label=7", (4 * 30 + 2, 4 * 30 + 2)),  # 16 pictures, 4 by 4, 2 pixels apart
        ("label=7&count=5&columns=5", (5 * 30 + 2, 32)),
        ("label=3&count=64&seed=9", (8 * 30 + 2, 8 * 30 + 2)),
        ("label=0&count=1", (32, 32)),
        ("label=1&count=10&columns=3", (3 * 30 + 2, 4 * 30 + 2)),
        ("label=7&scale=3", (3 * (4 * 30 + 2), 3 * (4 * 30 + 2))),  # each pixel 3 x 3
        ("label=0&count=1&scale=8", (8 * 32, 8 * 32)),
    ],
)
def test_the_png_route_draws_a_grid_of_the_right_size(client, query, size):
    assert grid(client.get(f"/generate/{NAME}?{query}")).size == size


def test_the_png_route_is_generate_in_a_grid_and_a_seed_draws_the_same_bytes(client, generator):
    first = client.get(f"/generate/{NAME}?label=4&count=6&seed=11&columns=3")
    pixels = np.asarray(grid(first))
    expected = generator.generate([4] * 6, seed=11)
    np.testing.assert_array_equal(pixels[2:30, 2:30], expected[0])
    np.testing.assert_array_equal(pixels[32:60, 62:90], expected[5])
    again = client.get(f"/generate/{NAME}?label=4&count=6&seed=11&columns=3")
    assert again.content == first.content
    other = client.get(f"/generate/{NAME}?label=4&count=6&seed=12&columns=3")
    assert grid(other).size == grid(first).size and other.content != first.content


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        (f"/generate/{NAME}", 400, "query label: Field required"),
        (f"/generate/{NAME}?label=10", 400, "mnist_gan has no class 10; its classes: 0 (0)"),
        (f"/generate/{NAME}?label=Trouser", 400, "has no class 'Trouser'"),
        (f"/generate/{NAME}?label=", 400, "has no class ''"),
        (f"/generate/{NAME}?label={'x' * 5000}", 400, "label must be at most 100 characters"),
        (f"/generate/{NAME}?label=1&count=0", 400, "count must be 1 to 64; got 0"),
        (f"/generate/{NAME}?label=1&count=65", 400, "count must be 1 to 64; got 65"),
        (
            f"/generate/{NAME}?label=1&count=1e3",
            400,
            "query count: Input should be a valid integer",
        ),
        (f"/generate/{NAME}?label=1&count={'9' * 5000}", 400, "query count:"),
        (f"/generate/{NAME}?label=1&seed=-1", 400, "seed must be 0 or more; got -1"),
        (f"/generate/{NAME}?label=1&seed=x", 400, "query seed: Input should be a valid integer"),
        (f"/generate/{NAME}?label=1&count=4&columns=0", 400, "columns must be 1 to count (4)"),
        (f"/generate/{NAME}?label=1&count=4&columns=5", 400, "got 5"),
        (f"/generate/{NAME}?label=1&scale=0", 400, "scale must be 1 to 8; got 0"),
        (f"/generate/{NAME}?label=1&scale=9", 400, "scale must be 1 to 8; got 9"),
        ("/generate/mnist?label=1", 400, "mnist draws no pictures: it is a classification model"),
        ("/generate/nope?label=1", 404, "no model 'nope' here; served: mnist, mnist_gan"),
    ],
)
def test_the_png_route_refuses_bad_parameters_in_one_json_line(
    client, folder, path, status, message
):
    assert message in refused(client.get(path), status, folder)
    assert client.get(f"/generate/{NAME}?label=1&count=1").status_code == 200


def test_the_png_route_keeps_to_the_servers_batch_limit(folder):
    client = TestClient(create_app(ServeSettings(folder, max_batch=4)))
    assert grid(client.get(f"/generate/{NAME}?label=2")).size == (2 * 30 + 2, 2 * 30 + 2)
    assert "count must be 1 to 4" in refused(
        client.get(f"/generate/{NAME}?label=2&count=5"), 400, folder
    )


def test_a_scaled_grid_is_each_pixel_enlarged(client):
    plain = np.asarray(grid(client.get(f"/generate/{NAME}?label=4&count=2&seed=1")))
    scaled = np.asarray(grid(client.get(f"/generate/{NAME}?label=4&count=2&seed=1&scale=2")))
    np.testing.assert_array_equal(scaled, plain.repeat(2, axis=0).repeat(2, axis=1))


def test_a_picture_sent_to_a_generator_is_refused_for_what_it_is(client, generator, folder):
    picture = PNG_HEADER
    message = refused(client.post(f"/predict/{NAME}", content=picture), 400, folder)
    assert "takes a class" in message and "PNG" not in message
    with pytest.raises(visionplay.VisionplayError, match="not a picture"):
        generator.predict(picture)
    assert generator.predict(b"7").shape == (28, 28)  # a label sent as bytes still draws
