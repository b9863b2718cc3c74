"""The Open Inference Protocol v2 routes and /predict, as plain HTTP clients call them."""

from __future__ import annotations

import base64
import threading
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

import visionplay
from visionplay import strokes
from visionplay.bench.inputs import EXAMPLES, digit_drawing, png_bytes
from visionplay.bench.server import free_port
from visionplay.inference import list_exported
from visionplay.serve.rest import ServeSettings, create_app, model_version
from visionplay.train import handwriting

SHIPPED = list_exported()


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(ServeSettings(max_body=2 << 20))) as client:
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

    arrays = type(model).example_inputs(model.cfg, 2)  # a generator's z and label, else one
    # Floats sent to three places: two rows of a 3x192x192 picture then fit the body limit.
    sent = [np.round(a.astype(np.float64), 3) if a.dtype.kind == "f" else a for a in arrays]
    arrays = tuple(s.astype(a.dtype) for s, a in zip(sent, arrays, strict=True))
    tensors = [
        {
            "name": spec["name"],
            "datatype": spec["datatype"],
            "shape": list(array.shape),
            "data": array.ravel().tolist(),
        }
        for spec, array in zip(meta["inputs"], sent, strict=True)
    ]
    body = {"id": "r1", "inputs": tensors}
    answer = client.post(f"/v2/models/{name}/infer", json=body)
    assert answer.status_code == 200, answer.text
    answer = answer.json()
    assert answer["model_name"] == name and answer["id"] == "r1"
    first = answer["outputs"][0]
    values = np.array(first["data"], np.float32).reshape(first["shape"])
    if model.cfg.task == "forecast":
        expected = model.forecast_batch(arrays[0][:, :, 0])
    else:
        expected = model.run(*arrays)
    np.testing.assert_allclose(values, expected, atol=1e-5)


def test_bytes_infer_prepares_like_predict(client):
    encoded = base64.b64encode(drawn_digit()).decode()
    body = {
        "inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": [encoded]}],
        "parameters": {"top_k": 2},
    }
    outputs = {
        o["name"]: o for o in client.post("/v2/models/mnist/infer", json=body).json()["outputs"]
    }
    assert outputs["labels"]["shape"] == [1, 2] and outputs["labels"]["data"][0] == "7"
    expected = visionplay.load("mnist").predict(drawn_digit(), 2)
    assert outputs["scores"]["data"][0] == pytest.approx(expected[0].score, rel=1e-5)
    assert outputs["probabilities"]["shape"] == [1, len(visionplay.load("mnist").labels)]

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


def test_a_drawing_that_is_no_digit_is_called_so_over_rest(client):
    star = next(t for t in handwriting.SHAPES_TRAIN if t.name == "star")
    page = strokes.render(handwriting.drawn(star, np.random.default_rng(3)))
    answer = client.post("/predict/mnist", content=png_bytes(page)).json()
    assert answer["predictions"][0]["label"] == "not a digit"


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/v2/models/nope/infer", {"inputs": []}, 404, "no model 'nope' here; served: cifar10"),
        ("/v2/models/mnist.onnx/infer", {"inputs": []}, 404, "no model 'mnist.onnx'"),
        ("/v2/models/mnist/infer", b"{not json", 400, "not JSON"),
        ("/v2/models/mnist/infer", [1, 2], 400, "JSON object"),
        ("/v2/models/mnist/infer", {"inputs": []}, 400, "one input"),
        (
            "/v2/models/mnist/infer",
            {
                "inputs": [
                    {
                        "name": "image",
                        "datatype": "FP32",
                        "shape": [1, 3, 28, 28],
                        "data": [0.0] * 2352,
                    }
                ]
            },
            400,
            "takes a batch of shape (N, 1, 28, 28)",
        ),
        (
            "/v2/models/mnist/infer",
            {
                "inputs": [
                    {
                        "name": "image",
                        "datatype": "FP32",
                        "shape": [1, 1, 28, 28],
                        "data": [0.0] * 5,
                    }
                ]
            },
            400,
            "holds 784 values",
        ),
        (
            "/v2/models/mnist/infer",
            {"inputs": [{"name": "image", "datatype": "INT64", "shape": [1], "data": [1]}]},
            400,
            "datatype 'INT64' is not taken",
        ),
        (
            "/v2/models/mnist/infer",
            {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": ["%%%"]}]},
            400,
            "not valid base64",
        ),
        (
            "/v2/models/mnist/infer",
            {
                "inputs": [
                    {
                        "name": "image",
                        "datatype": "BYTES",
                        "shape": [1],
                        "data": [base64.b64encode(b"text").decode()],
                    }
                ]
            },
            400,
            "not a readable",
        ),
        (
            "/v2/models/mnist/infer",
            {
                "inputs": [
                    {
                        "name": "image",
                        "datatype": "FP32",
                        "shape": [1, 1, 28, 28],
                        "data": [0.0] * 784,
                    }
                ],
                "outputs": [{"name": ["x"]}],
            },
            400,
            "'outputs' must be a list",
        ),
        ("/predict/mnist", b"", 400, "empty"),
        ("/predict/mnist", b"not a picture", 400, "not a readable image"),
        ("/predict/nope", b"x", 404, "no model 'nope'"),
        ("/predict/mnist?k=abc", b"x", 400, "query k: Input should be a valid integer"),
        ("/predict/mnist?k=0", drawn_digit(), 400, "k must be at least 1"),
        ("/predict/mnist", b"x" * (3 << 20), 413, "at most 2,097,152"),
    ],
)
def test_bad_requests_get_the_protocols_error_and_the_server_goes_on(
    client, path, body, status, message
):
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
    answer = client.post(path, **kwargs)
    assert answer.status_code == status
    assert message in answer.json()["error"]
    assert client.post("/predict/mnist", content=drawn_digit()).status_code == 200


def triton_inputs(tritonclient, meta: dict, arrays) -> list:
    """One of Triton's InferInputs per input the model's metadata declares, holding ``arrays``."""
    tensors = []
    for spec, array in zip(meta["inputs"], arrays, strict=True):
        tensor = tritonclient.InferInput(spec["name"], list(array.shape), spec["datatype"])
        tensor.set_data_from_numpy(array, binary_data=False)
        tensors.append(tensor)
    return tensors


@pytest.fixture(scope="module")
def triton_client():
    """Triton's own HTTP client against the routes on a real socket (uvicorn in a thread)."""
    tritonclient = pytest.importorskip("tritonclient.http")
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_app(), port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.02)
    client = tritonclient.InferenceServerClient(f"127.0.0.1:{server.config.port}")
    try:
        yield tritonclient, client
    finally:
        client.close()
        server.should_exit = True
        thread.join(timeout=10)


def test_tritons_client_calls_every_shipped_model(triton_client):
    tritonclient, client = triton_client
    assert client.is_server_live() and client.is_server_ready()
    assert client.get_server_metadata()["name"] == "visionplay"
    rng = np.random.default_rng(1)
    for name in SHIPPED:
        model = visionplay.load(name)
        assert client.is_model_ready(name)
        meta = client.get_model_metadata(name)
        if len(meta["inputs"]) == 1:
            arrays = (rng.random((2, *model.cfg.input_size), dtype=np.float32),)
        else:  # a generator's z and label
            arrays = type(model).example_inputs(model.cfg, 2, seed=1)
        first = meta["outputs"][0]["name"]
        result = client.infer(
            name,
            triton_inputs(tritonclient, meta, arrays),
            outputs=[tritonclient.InferRequestedOutput(first, binary_data=False)],
        )
        if first == "forecast":
            expected = model.forecast_batch(arrays[0][:, :, 0])
        else:
            expected = model.run(*arrays)
        np.testing.assert_allclose(result.as_numpy(first), expected, atol=1e-5)

    digit = tritonclient.InferInput("image", [1], "BYTES")
    # In JSON, Triton's client sends BYTES as text: the picture in base64, as documented
    digit.set_data_from_numpy(
        np.array([base64.b64encode(drawn_digit())], dtype=object), binary_data=False
    )
    result = client.infer(
        "mnist", [digit], outputs=[tritonclient.InferRequestedOutput("labels", binary_data=False)]
    )
    assert result.as_numpy("labels")[0][0] in ("7", b"7")
    assert [o["name"] for o in result.get_response()["outputs"]] == ["labels"]


def test_tritons_client_pins_a_version(triton_client):
    """tritonclient's model_version= calls the protocol's versioned paths."""
    tritonclient, client = triton_client
    for name in SHIPPED:
        model = visionplay.load(name)
        version = model_version(model)  # the manifest's, else "1"
        assert client.is_model_ready(name, version)
        meta = client.get_model_metadata(name, version)
        assert meta["versions"] == [version]
        zeros = [np.zeros_like(a) for a in type(model).example_inputs(model.cfg, 1)]
        tensors = triton_inputs(tritonclient, meta, zeros)
        result = client.infer(name, tensors, model_version=version)
        assert result.get_response()["model_version"] == version
        assert not client.is_model_ready(name, "999")
        with pytest.raises(tritonclient.InferenceServerException, match="no version '999'"):
            client.get_model_metadata(name, "999")


def test_tritons_binary_extension_and_unknown_outputs_are_refused_clearly(triton_client):
    tritonclient, client = triton_client
    tensor = tritonclient.InferInput("image", [1, 1, 28, 28], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 1, 28, 28), np.float32))  # binary by default
    with pytest.raises(tritonclient.InferenceServerException, match="binary_data=False"):
        client.infer("mnist", [tensor])
    tensor.set_data_from_numpy(np.zeros((1, 1, 28, 28), np.float32), binary_data=False)
    with pytest.raises(tritonclient.InferenceServerException, match="no output 'logits'"):
        client.infer("mnist", [tensor], outputs=[tritonclient.InferRequestedOutput("logits")])
    assert client.infer("mnist", [tensor]).as_numpy("probabilities").shape == (1, 11)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/predict/mnist", "POST"),
        ("PUT", "/predict/nope", "POST"),
        ("POST", "/generate/mnist_gan", "GET"),
        ("DELETE", "/generate/mnist_gan?label=1", "GET"),
        ("GET", "/live/face_keypoints", "POST"),
    ],
)
def test_a_wrong_method_on_the_short_routes_is_the_protocols_405(client, method, path, allowed):
    answer = client.request(method, path)
    assert answer.status_code == 405 and answer.headers["allow"] == allowed
    assert answer.headers["content-type"] == "application/json"
    assert list(answer.json()) == ["error"] and f"takes {allowed}, not {method}" in answer.text
    beyond = client.post("/predict/mnist/more")  # no such route: the same JSON, 404
    assert beyond.status_code == 404 and list(beyond.json()) == ["error"]
