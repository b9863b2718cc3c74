"""The Open Inference Protocol v2 routes and /predict, as plain HTTP clients call them."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from fastapi.testclient import TestClient

import visionplay
from visionplay.bench import EXAMPLES, digit_drawing, png_bytes
from visionplay.inference import list_exported
from visionplay.rest import create_app

SHIPPED = list_exported()


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(max_body=2 << 20)) as client:
        yield client


def drawn_digit() -> bytes:
    return png_bytes(digit_drawing())


def test_health(client):
    assert client.get("/v2").json() == {
        "name": "visionplay",
        "version": visionplay.__version__,
        "extensions": [],
    }
    assert client.get("/v2/health/live").json() == {"live": True}
    ready = client.get("/v2/health/ready").json()
    assert ready["ready"] and set(SHIPPED) <= set(ready["models"])


@pytest.mark.parametrize("name", SHIPPED)
def test_metadata_and_fp32_infer_for_every_shipped_model(client, name):
    model = visionplay.load(name)
    meta = client.get(f"/v2/models/{name}").json()
    assert meta["name"] == name and meta["platform"] == "onnxruntime_onnx"
    shape = [-1, *model.cfg.input_size]
    if model.cfg.task == "forecast":
        shape[1] = -1  # any number of steps
    assert meta["inputs"][0]["shape"] == shape
    assert meta["parameters"]["labels"] == list(model.labels)
    assert client.get(f"/v2/models/{name}/ready").json()["ready"] is True

    batch = np.random.default_rng(0).random((2, *model.cfg.input_size), dtype=np.float32)
    tensor = {"name": meta["inputs"][0]["name"], "datatype": "FP32",
              "shape": list(batch.shape), "data": batch.ravel().tolist()}  # fmt: skip
    body = {"id": "r1", "inputs": [tensor]}
    answer = client.post(f"/v2/models/{name}/infer", json=body)
    assert answer.status_code == 200, answer.text
    answer = answer.json()
    assert answer["model_name"] == name and answer["id"] == "r1"
    first = answer["outputs"][0]
    values = np.array(first["data"], np.float32).reshape(first["shape"])
    if model.cfg.task == "forecast":
        expected = model.forecast_batch(batch[:, :, 0])
    else:
        expected = model.run(batch)
    np.testing.assert_allclose(values, expected, atol=1e-5)


def test_bytes_infer_prepares_like_predict(client):
    encoded = base64.b64encode(drawn_digit()).decode()
    body = {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": [encoded]}],
            "parameters": {"top_k": 2}}  # fmt: skip
    outputs = {
        o["name"]: o for o in client.post("/v2/models/mnist/infer", json=body).json()["outputs"]
    }
    assert outputs["labels"]["shape"] == [1, 2] and outputs["labels"]["data"][0] == "7"
    expected = visionplay.load("mnist").predict(drawn_digit(), 2)
    assert outputs["scores"]["data"][0] == pytest.approx(expected[0].score, rel=1e-5)
    assert outputs["probabilities"]["shape"] == [1, 10]

    face = sorted(EXAMPLES.glob("face_keypoints-*.jpg"))[0].read_bytes()
    body["inputs"][0]["data"] = [base64.b64encode(face).decode()]
    outputs = {
        o["name"]: o
        for o in client.post("/v2/models/face_keypoints/infer", json=body).json()["outputs"]
    }
    assert outputs["boxes"]["shape"] == [1, 4] and outputs["points"]["shape"] == [1, 68, 2]


def test_predict_route_for_curl(client):
    answer = client.post("/predict/mnist?k=3", content=drawn_digit()).json()
    assert answer["model"] == "mnist" and answer["predictions"][0]["label"] == "7"
    assert len(answer["predictions"]) == 3


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/v2/models/nope/infer", {"inputs": []}, 404, "no model 'nope' here; served: cifar10"),
        ("/v2/models/mnist.onnx/infer", {"inputs": []}, 404, "no model 'mnist.onnx'"),
        ("/v2/models/mnist/infer", b"{not json", 400, "not JSON"),
        ("/v2/models/mnist/infer", [1, 2], 400, "JSON object"),
        ("/v2/models/mnist/infer", {"inputs": []}, 400, "one input"),
        ("/v2/models/mnist/infer", {"inputs": [{"name": "image", "datatype": "FP32",
          "shape": [1, 3, 28, 28], "data": [0.0] * 2352}]}, 400, "takes shape [N, 1, 28, 28]"),
        ("/v2/models/mnist/infer", {"inputs": [{"name": "image", "datatype": "FP32",
          "shape": [1, 1, 28, 28], "data": [0.0] * 5}]}, 400, "holds 784 values"),
        ("/v2/models/mnist/infer", {"inputs": [{"name": "image", "datatype": "INT64",
          "shape": [1], "data": [1]}]}, 400, "datatype 'INT64' is not taken"),
        ("/v2/models/mnist/infer", {"inputs": [{"name": "image", "datatype": "BYTES",
          "shape": [1], "data": ["%%%"]}]}, 400, "not valid base64"),
        ("/v2/models/mnist/infer", {"inputs": [{"name": "image", "datatype": "BYTES",
          "shape": [1], "data": [base64.b64encode(b"text").decode()]}]}, 400, "not a readable"),
        ("/predict/mnist", b"", 400, "empty"),
        ("/predict/mnist", b"not a picture", 400, "not a readable image"),
        ("/predict/nope", b"x", 404, "no model 'nope'"),
        ("/predict/mnist", b"x" * (3 << 20), 413, "at most 2,097,152"),
    ],
)  # fmt: skip
def test_bad_requests_get_the_protocols_error_and_the_server_goes_on(
    client, path, body, status, message
):
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
    answer = client.post(path, **kwargs)
    assert answer.status_code == status
    assert message in answer.json()["error"]
    assert client.post("/predict/mnist", content=drawn_digit()).status_code == 200
